#pragma once
// An example program of the same build (build/examples/NAME) run as a real process on a
// loopback port that was free a moment ago, until stop() or the end of the test.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "socket_util.hpp"

namespace zhttp::test {

class ExampleProcess {
 public:
  ExampleProcess() = default;
  ExampleProcess(const ExampleProcess&) = delete;
  ExampleProcess& operator=(const ExampleProcess&) = delete;
  ~ExampleProcess() {
    if (pid_ > 0) stop(SIGKILL);
  }

  // Runs ZHTTP_BUILD_DIR "/examples/" + name with `args`, in which "{address}" stands for
  // "127.0.0.1:PORT" (e.g. "--listen={address}"), and waits until it accepts connections. A program
  // that exits at once (its port was taken meanwhile) is tried again on another port. False when it
  // never accepted.
  bool start(std::string_view name, std::vector<std::string> args = {"--listen", "{address}"}) {
    std::string binary = std::string(ZHTTP_BUILD_DIR "/examples/") + std::string(name);
    for (int attempt = 0; attempt < 5; ++attempt) {
      uint16_t port = free_loopback_port();
      if (port == 0) return false;
      std::vector<std::string> argv_strings = {std::string(name)};
      for (std::string a : args) {
        if (size_t at = a.find("{address}"); at != std::string::npos) {
          a.replace(at, 9, "127.0.0.1:" + std::to_string(port));
        }
        argv_strings.push_back(std::move(a));
      }
      std::vector<char*> argv;
      for (std::string& a : argv_strings) argv.push_back(a.data());
      argv.push_back(nullptr);
      pid_t pid = ::fork();
      if (pid < 0) return false;
      if (pid == 0) {
        ::execv(binary.c_str(), argv.data());
        ::_exit(127);
      }
      for (int i = 0; i < 500; ++i) {  // up to 5 s
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
          pid = -1;  // exited: try another port
          break;
        }
        int probe = connect_loopback(port);
        if (probe >= 0) {
          ::close(probe);
          pid_ = pid;
          port_ = port;
          return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (pid > 0) {  // alive but not accepting
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        return false;
      }
    }
    return false;
  }

  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Sends `signal` and reaps the process: its wait status, -1 when it was not running, or
  // kStillRunning when it had not exited `seconds` later (it is then killed).
  static constexpr int kStillRunning = -2;
  int stop(int signal = SIGTERM, double seconds = 10) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, signal);
    int status = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (::waitpid(pid_, &status, WNOHANG) != pid_) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        status = kStillRunning;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace zhttp::test
