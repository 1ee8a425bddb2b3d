// zhttp::serve(): one worker in a thread of its own; the calling thread waits for signals.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "io/listener.hpp"
#include "io/worker.hpp"
#include "zhttp/server.hpp"

namespace zhttp {

int serve(Handler& handler, const ServeOptions& options) {
  std::vector<int> listeners;
  for (const std::string& address : options.listen) {
    std::string error;
    int fd = io::open_listener(address, &error);
    if (fd < 0) {
      std::fprintf(stderr, "zhttpd: cannot listen on %s: %s\n", address.c_str(), error.c_str());
      for (int l : listeners) ::close(l);
      return 1;
    }
    listeners.push_back(fd);
  }
  // Signals go to sigwait below, never to the worker thread.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGINT, SIGTERM, SIGQUIT}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  io::Worker worker(io::WorkerConfig{}, handler, listeners);
  std::thread loop([&worker] { worker.run(); });
  int received = 0;
  sigwait(&signals, &received);
  if (received == SIGQUIT) {
    worker.drain();
  } else {
    worker.stop();
  }
  loop.join();
  for (int l : listeners) ::close(l);
  return 0;
}

}  // namespace zhttp
