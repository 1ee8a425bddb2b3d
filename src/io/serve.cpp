// One worker in a thread of its own; the calling thread waits for signals.
#include "io/serve.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "io/listener.hpp"
#include "zhttp/server.hpp"

namespace zhttp {
namespace io {

int serve_in_process(Handler& handler, const std::vector<std::string>& listen,
                     const WorkerConfig& config, void (*on_ready)()) {
  std::vector<int> listeners;
  for (const std::string& address : listen) {
    std::string error;
    int fd = open_listener(address, &error);
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

  Worker worker(config, handler, listeners);
  std::thread loop([&worker] { worker.run(); });
  if (on_ready) on_ready();
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

}  // namespace io

int serve(Handler& handler, const ServeOptions& options) {
  return io::serve_in_process(handler, options.listen, io::WorkerConfig{});
}

}  // namespace zhttp
