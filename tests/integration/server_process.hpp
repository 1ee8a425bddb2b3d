#pragma once
// How the integration tests run a server, the one way they start one: build/zhttpd,
// build/examples/NAME or any program, as a real process on a loopback port that was free a moment
// ago (tried again on another port when the port was taken meanwhile), over a temporary directory
// the helper owns, its stdout and stderr in files there (the child never blocks on them).
//
//   ServerProcess server("zhttpd-some-test");              // makes /tmp/zhttpd-some-test-XXXXXX
//   ServerOptions o = ServerOptions::zhttpd({"--listen", "{address}", "--root", root});
//   ASSERT_NO_FATAL_FAILURE(server.start(o));              // returns once it serves
//   ... server.port(), server.pid(), server.workers(), server.signal(SIGHUP) ...
//
// start() returns once it serves: its banner line, then an HTTP answer (or only a connect, or
// nothing at all when requests must not be counted), then optionally every worker waiting in its
// event loop; otherwise it fails with the program's stderr and error log. finish(), also run by
// the destructor, reports a process that died during the test, stops a live one with SIGTERM and
// a deadline (then SIGKILL and a test failure), and checks that its workers went with it.
// run_to_exit() runs a server that must refuse to start the same way, to its end.
//
// What it says: out(), err(), error_log() and access_log() (the files named in its options), and
// stats_json() / stat_total(): build/zhttpstat --json of its segment (options.shm_name).
//
// Also here: the small process helpers the tests share (run a short program to its end, wait for
// a child, describe a wait status, read and write files, poll a condition).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "socket_util.hpp"

extern char** environ;

namespace zhttp::test {

// ---- small process and file helpers ------------------------------------------------------------

namespace process_detail {
using Clock = std::chrono::steady_clock;

inline Clock::time_point after(Clock::time_point t, double seconds) {
  return t + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

inline double seconds_until(Clock::time_point t) {
  return std::chrono::duration<double>(t - Clock::now()).count();
}
}  // namespace process_detail

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void write_file(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// Polls `condition` every 10 ms until it holds (true) or `seconds` pass (false).
template <typename Condition>
bool eventually(Condition condition, double seconds) {
  auto deadline = process_detail::after(process_detail::Clock::now(), seconds);
  for (;;) {
    if (condition()) return true;
    if (process_detail::Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// How many times `needle` occurs in `haystack` (log lines, say).
inline size_t count_of(std::string_view haystack, std::string_view needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string_view::npos;
       at = haystack.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

inline std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           ::strsignal(WTERMSIG(status)) + ")";
  }
  return "status " + std::to_string(status);
}

inline bool exited_with(int status, int code) {
  return WIFEXITED(status) && WEXITSTATUS(status) == code;
}

// Waits up to `seconds` (0: only looks) for child `pid` to exit; true with *status when it did.
inline bool wait_exit(pid_t pid, double seconds, int* status) {
  auto deadline = process_detail::after(process_detail::Clock::now(), seconds);
  for (;;) {
    pid_t w = ::waitpid(pid, status, WNOHANG);
    if (w == pid) return true;
    if (w < 0 && errno != EINTR) return false;
    if (process_detail::Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// The command name of process `pid` ("" when gone).
inline std::string process_name(pid_t pid) {
  std::string comm = read_file("/proc/" + std::to_string(pid) + "/comm");
  while (!comm.empty() && comm.back() == '\n') comm.pop_back();
  return comm;
}

// Where process `pid` sleeps in the kernel ("do_epoll_wait" for a worker idle in its loop).
inline std::string wchan(pid_t pid) {
  return read_file("/proc/" + std::to_string(pid) + "/wchan");
}

// A started program: its pid and the read ends of its stdout and stderr.
struct Spawned {
  pid_t pid = -1;
  int out = -1;
  int err = -1;
};

// fork + execv of args[0], its stdout and stderr into pipes (for short programs and clients
// such as wrk, whose output collect() reads).
inline Spawned spawn_program(const std::vector<std::string>& args) {
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out[2] = {-1, -1}, err[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0) return {};
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return {};
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDONLY);  // never the test's terminal
    ::dup2(null, STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  if (pid < 0) {
    ::close(out[0]);
    ::close(err[0]);
    return {};
  }
  return Spawned{pid, out[0], err[0]};
}

struct ProgramResult {
  int status = -1;
  bool finished = false;  // exited within the time allowed (else killed)
  std::string out, err;
};

// Reads both pipes of `s` to their end (or `deadline`), then reaps it (killed past the deadline).
inline ProgramResult collect(Spawned s, std::chrono::steady_clock::time_point deadline) {
  using process_detail::Clock;
  ProgramResult r;
  if (s.pid < 0) return r;
  int fds[2] = {s.out, s.err};
  std::string* into[2] = {&r.out, &r.err};
  while ((fds[0] >= 0 || fds[1] >= 0) && Clock::now() < deadline) {
    pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (::poll(p, 2, std::max(left, 1)) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i] < 0 || p[i].revents == 0) continue;
      char chunk[4096];
      ssize_t n = ::read(fds[i], chunk, sizeof chunk);
      if (n > 0) {
        into[i]->append(chunk, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i]);
        fds[i] = -1;
      }
    }
  }
  for (int fd : fds) {
    if (fd >= 0) ::close(fd);
  }
  r.finished = wait_exit(s.pid, std::max(process_detail::seconds_until(deadline), 0.1), &r.status);
  if (!r.finished) {
    ::kill(s.pid, SIGKILL);
    ::waitpid(s.pid, &r.status, 0);
  }
  return r;
}

// Runs a short-lived program to its end (killed after `seconds`), capturing its output.
inline ProgramResult run_program(const std::vector<std::string>& args, double seconds = 20) {
  Spawned s = spawn_program(args);
  if (s.pid < 0) return {};
  return collect(s, process_detail::after(process_detail::Clock::now(), seconds));
}

// ---- servers -----------------------------------------------------------------------------------

// What to run, and how to tell that it serves.
struct ServerOptions {
  // How to tell that it serves, once its banner (if any) came: kGet sends `GET probe_path` with
  // "Connection: close" until a complete response comes (with `probe_status`, unless 0); kConnect
  // only connects (no request); kNone sends nothing (for servers that count every request).
  enum class Ready { kNone, kConnect, kGet };

  std::string program;  // the path of the binary (argv[0])
  // argv[1...]; in each, "{address}" stands for 127.0.0.1:PORT and "{port}" for PORT.
  std::vector<std::string> args;
  std::vector<std::string> env;  // NAME=VALUE, on top of the test's environment
  std::string banner;            // when set, the first line of its stdout starts with it
  Ready ready = Ready::kGet;
  std::string probe_path = "/";
  int probe_status = 0;
  // When > 0: also wait (non-fatally) until the process has that many children (workers), each
  // waiting in epoll_wait.
  size_t workers_in_loop = 0;
  double ready_seconds = 15;  // the bound on each of the waits above
  std::string error_log;      // its error log file, quoted in failure messages
  std::string access_log;     // its access log file, for access_log()
  // Its shared segment: what stats_json() reads, and what finish() removes (a killed master
  // leaves it).
  std::string shm_name;
  // The start is tried again on another port when the process exits with code 1 and its stderr
  // or error log says this: the port was taken in the meantime.
  std::string port_taken = "cannot listen";
  int attempts = 5;
  double stop_seconds = 15;  // finish(): how long after SIGTERM it may take to exit
  // finish(): a stop is clean when it exits 0, or (when set) dies of the SIGTERM itself.
  bool sigterm_death_is_clean = false;

  // build/zhttpd with `args`: ready once it printed "zhttpd: serving ..." and answers.
  static ServerOptions zhttpd(std::vector<std::string> args = {}) {
    ServerOptions o;
    o.program = ZHTTP_BUILD_DIR "/zhttpd";
    o.args = std::move(args);
    o.banner = "zhttpd: serving ";
    return o;
  }
  // build/examples/NAME with `args`: ready once it accepts a connection.
  static ServerOptions example(std::string_view name,
                               std::vector<std::string> args = {"--listen", "{address}"}) {
    ServerOptions o;
    o.program = std::string(ZHTTP_BUILD_DIR "/examples/") + std::string(name);
    o.args = std::move(args);
    o.ready = Ready::kConnect;
    return o;
  }
};

class ServerProcess {
 public:
  // stop(): the process had not exited by the deadline (it was then killed).
  static constexpr int kStillRunning = -2;

  // Makes the temporary directory /tmp/PREFIX-XXXXXX, removed with the helper.
  explicit ServerProcess(std::string_view prefix = "zhttp-server") {
    std::string tmpl = "/tmp/" + std::string(prefix) + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp " << tmpl << ": " << std::strerror(errno);
    } else {
      dir_ = tmpl;
    }
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess() {
    finish();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);  // does not follow symlinks
    }
  }

  // The temporary directory (for a document root, logs, a pid file, config files).
  const std::string& dir() const { return dir_; }
  std::string path(std::string_view name) const { return dir_ + "/" + std::string(name); }

  // Starts the program and waits until it serves (fatal failures: call it under
  // ASSERT_NO_FATAL_FAILURE). One process at a time: a previous one must have exited (stop(),
  // wait_exit()); the workers and segment it left are checked by finish() as usual.
  void start(ServerOptions options) {
    ASSERT_FALSE(running_) << name_ << " " << pid_ << " is still running";
    ASSERT_FALSE(dir_.empty());
    options_ = std::move(options);
    name_ = std::filesystem::path(options_.program).filename().string();
    ASSERT_EQ(::access(options_.program.c_str(), X_OK), 0)
        << options_.program << " is not built (it must come from the same build as this test)";
    for (int attempt = 1;; ++attempt) {
      bool retry = false;
      std::string failure = try_start(&retry);
      if (!failure.empty()) FAIL() << failure;
      if (!retry) break;
      if (attempt >= options_.attempts) {
        FAIL() << name_ << " could not listen on " << options_.attempts << " ports in a row\n"
               << diagnostics();
      }
      if (!options_.error_log.empty()) ::unlink(options_.error_log.c_str());
    }
    if (options_.workers_in_loop > 0) wait_for_workers_in_loop();
  }

  // Runs the program as start() would (a free port, the environment, the output files) for a
  // server that must refuse to start, and waits up to `seconds` for it to exit: its wait status,
  // or kStillRunning when it was still running (it is then killed). err() holds what it said.
  int run_to_exit(ServerOptions options, double seconds) {
    EXPECT_FALSE(running_) << name_ << " " << pid_ << " is still running";
    if (running_ || dir_.empty()) return -1;
    options_ = std::move(options);
    name_ = std::filesystem::path(options_.program).filename().string();
    if (std::string failure = spawn(); !failure.empty()) {
      ADD_FAILURE() << failure;
      return -1;
    }
    int status = 0;
    if (wait_exit(seconds, &status)) return status;
    abandon();
    return kStillRunning;
  }

  // Not reaped yet (it may have died meanwhile: wait_exit(0) looks).
  bool running() const { return running_; }
  // The last process started (still known once it exited).
  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Its children now (zombies included): the workers of a master. finish() checks that every
  // one it returned, and every one there at the stop, is gone with the master.
  std::vector<pid_t> workers() {
    if (!running_) return {};
    std::vector<pid_t> pids = child_pids(pid_);
    for (pid_t p : pids) {
      if (std::find(workers_seen_.begin(), workers_seen_.end(), p) == workers_seen_.end()) {
        workers_seen_.push_back(p);
      }
    }
    return pids;
  }
  // kill -9 of workers()[index]: its pid, or -1 when there is no such worker or it failed.
  pid_t kill_worker(size_t index = 0) {
    std::vector<pid_t> ws = workers();
    if (index >= ws.size() || ::kill(ws[index], SIGKILL) != 0) return -1;
    return ws[index];
  }

  // Sends `sig` to the process; false when it is not running or kill() failed.
  bool signal(int sig) const { return running_ && ::kill(pid_, sig) == 0; }
  bool hup() const { return signal(SIGHUP); }
  bool quit() const { return signal(SIGQUIT); }
  bool term() const { return signal(SIGTERM); }

  // Waits up to `seconds` (0: only looks) for it to exit, as after a signal the test sent; true
  // (with *status) when it did, and it is reaped.
  bool wait_exit(double seconds, int* status = nullptr) {
    if (!running_) return false;
    int s = 0;
    if (!::zhttp::test::wait_exit(pid_, seconds, &s)) return false;
    running_ = false;
    if (status) *status = s;
    return true;
  }

  // Sends `sig` and reaps the process: its wait status, -1 when it was not running, or
  // kStillRunning when it had not exited `seconds` later (it is then killed).
  int stop(int sig = SIGTERM, double seconds = 10) {
    if (!running_) return -1;
    ::kill(pid_, sig);
    int status = 0;
    if (!wait_exit(seconds, &status)) {
      abandon();
      return kStillRunning;
    }
    return status;
  }

  // The end of the test (the destructor runs it too): a process that died by itself is a
  // failure; a live one gets SIGTERM and options.stop_seconds to exit cleanly (else SIGKILL and a
  // failure); its workers must be gone 2 s later (one left over is a failure, and is killed);
  // options.shm_name is removed.
  void finish() {
    if (running_) {
      workers();  // as they are now: each must go with the master
      int status = 0;
      if (wait_exit(0, &status)) {
        ADD_FAILURE() << name_ << " " << pid_
                      << " died during the test: " << describe_status(status) << "\n"
                      << diagnostics();
      } else {
        ::kill(pid_, SIGTERM);
        if (wait_exit(options_.stop_seconds, &status)) {
          bool clean =
              exited_with(status, 0) || (options_.sigterm_death_is_clean && WIFSIGNALED(status) &&
                                         WTERMSIG(status) == SIGTERM);
          EXPECT_TRUE(clean) << name_ << " " << pid_
                             << " after SIGTERM: " << describe_status(status) << "\n"
                             << diagnostics();
        } else {
          abandon();
          ADD_FAILURE() << name_ << " " << pid_ << " did not stop within " << options_.stop_seconds
                        << " s of SIGTERM\n"
                        << diagnostics();
        }
      }
    }
    // Workers die with their master (PR_SET_PDEATHSIG); one left over is killed by its pid.
    const std::string comm = name_.substr(0, 15);  // what /proc/PID/comm holds of it
    for (pid_t w : workers_seen_) {
      if (!eventually([&] { return process_gone(w); }, 2) && process_name(w) == comm) {
        ADD_FAILURE() << "worker " << w << " outlived its master " << pid_;
        ::kill(w, SIGKILL);
        eventually([&] { return process_gone(w); }, 5);
      }
    }
    workers_seen_.clear();
    if (!options_.shm_name.empty()) ::unlink(("/dev/shm/" + options_.shm_name).c_str());
  }

  // What it wrote (of the last start).
  std::string out() const { return read_file(path("stdout.txt")); }
  std::string err() const { return read_file(path("stderr.txt")); }
  std::string error_log() const {
    return options_.error_log.empty() ? std::string() : read_file(options_.error_log);
  }
  std::string access_log() const {
    return options_.access_log.empty() ? std::string() : read_file(options_.access_log);
  }

  // build/zhttpstat --json of its segment (options.shm_name), parsed; an empty object (and a test
  // failure) when it cannot be read.
  nlohmann::json stats_json() const {
    if (options_.shm_name.empty()) {
      ADD_FAILURE() << "stats_json(): " << name_ << " was started without options.shm_name";
      return nlohmann::json::object();
    }
    ProgramResult r =
        run_program({ZHTTP_BUILD_DIR "/zhttpstat", "--shm-name", options_.shm_name, "--json"}, 10);
    if (!r.finished || !exited_with(r.status, 0)) {
      ADD_FAILURE() << "zhttpstat --json: " << describe_status(r.status) << "\n" << r.err;
      return nlohmann::json::object();
    }
    try {
      return nlohmann::json::parse(r.out);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "zhttpstat --json is not JSON (" << e.what() << "): " << r.out;
      return nlohmann::json::object();
    }
  }
  // A number under "totals" of stats_json(): a server statistic, or an app counter by its name;
  // 0 when absent.
  uint64_t stat_total(std::string_view name) const {
    nlohmann::json s = stats_json();
    return s.contains("totals") ? s["totals"].value(std::string(name), uint64_t{0}) : 0;
  }
  // Its stderr and error log (their last 4000 bytes each), for failure messages.
  std::string diagnostics() const {
    auto tail = [](std::string s) {
      if (s.empty()) return std::string("(empty)\n");
      if (s.size() > 4000) s = "..." + s.substr(s.size() - 4000);
      if (s.back() != '\n') s += '\n';
      return s;
    };
    std::string d = "--- stderr of " + name_ + " ---\n" + tail(err());
    if (!options_.error_log.empty()) {
      d += "--- " + options_.error_log + " ---\n" + tail(error_log());
    }
    return d;
  }

 private:
  using Clock = process_detail::Clock;

  // Forks and execs the program on a free port, its output into the files: "" once it runs, else
  // what went wrong.
  std::string spawn() {
    const uint16_t port = free_loopback_port();
    if (port == 0) return "no free loopback port";
    const std::string port_text = std::to_string(port);
    std::vector<std::string> args = {options_.program};
    for (std::string a : options_.args) {
      replace_all(&a, "{address}", "127.0.0.1:" + port_text);
      replace_all(&a, "{port}", port_text);
      args.push_back(std::move(a));
    }
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string_view entry(*e);
      bool replaced = std::any_of(options_.env.begin(), options_.env.end(), [&](const auto& mine) {
        return entry.substr(0, entry.find('=')) == mine.substr(0, mine.find('='));
      });
      if (!replaced) env.emplace_back(entry);
    }
    env.insert(env.end(), options_.env.begin(), options_.env.end());
    std::vector<char*> envp;
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);

    int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out_fd = ::open(path("stdout.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err_fd = ::open(path("stderr.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (in < 0 || out_fd < 0 || err_fd < 0) {
      for (int fd : {in, out_fd, err_fd}) {
        if (fd >= 0) ::close(fd);
      }
      return "cannot open the output files in " + dir_ + ": " + std::strerror(errno);
    }
    pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(in, STDIN_FILENO);
      ::dup2(out_fd, STDOUT_FILENO);
      ::dup2(err_fd, STDERR_FILENO);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    for (int fd : {in, out_fd, err_fd}) ::close(fd);
    if (pid < 0) return std::string("cannot fork: ") + std::strerror(errno);
    pid_ = pid;
    port_ = port;
    running_ = true;
    return "";
  }

  // One attempt on one port: "" once it serves, or when the port was taken meanwhile (*retry);
  // else what went wrong.
  std::string try_start(bool* retry) {
    *retry = false;
    if (std::string failure = spawn(); !failure.empty()) return failure;

    auto deadline = process_detail::after(Clock::now(), options_.ready_seconds);
    if (!options_.banner.empty()) {
      std::string first_line;
      for (;;) {
        std::string text = out();
        if (size_t eol = text.find('\n'); eol != std::string::npos) {
          first_line = text.substr(0, eol);
          break;
        }
        int status = 0;
        if (wait_exit(0, &status)) {
          return exited_early(status, retry);
        }
        if (Clock::now() >= deadline) {
          abandon();
          std::ostringstream m;
          m << name_ << " printed no banner within " << options_.ready_seconds << " s: \"" << text
            << "\"\n"
            << diagnostics();
          return m.str();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      if (first_line.rfind(options_.banner, 0) != 0) {
        abandon();
        return name_ + " printed \"" + first_line + "\", not its banner \"" + options_.banner +
               "...\"\n" + diagnostics();
      }
    }

    if (options_.ready == ServerOptions::Ready::kNone) return "";
    deadline = process_detail::after(Clock::now(), options_.ready_seconds);
    std::string last_answer;
    for (;;) {
      bool ok = false;
      if (options_.ready == ServerOptions::Ready::kConnect) {
        int fd = connect_loopback(port_);
        if (fd >= 0) {
          ::close(fd);
          ok = true;
        }
      } else {
        OneShotResponse r = get_once(port_, options_.probe_path,
                                     std::max(process_detail::seconds_until(deadline), 0.1));
        ok = r.complete && (options_.probe_status == 0 || r.status == options_.probe_status);
        if (!r.head.empty()) last_answer = r.head.substr(0, r.head.find("\r\n"));
      }
      if (ok) return "";
      int status = 0;
      if (wait_exit(0, &status)) {
        return exited_early(status, retry);
      }
      if (Clock::now() >= deadline) {
        abandon();
        std::ostringstream m;
        m << name_ << " does not answer on port " << port_ << " within " << options_.ready_seconds
          << " s" << (last_answer.empty() ? "" : " (last answer: \"" + last_answer + "\")") << "\n"
          << diagnostics();
        return m.str();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // It exited (reaped) before it served: the port was taken (*retry), or a failure.
  std::string exited_early(int status, bool* retry) {
    std::string said = err() + error_log();
    if (exited_with(status, 1) && said.find(options_.port_taken) != std::string::npos) {
      *retry = true;
      return "";
    }
    return name_ + " failed to start: " + describe_status(status) + "\n" + diagnostics();
  }

  void wait_for_workers_in_loop() {
    std::string report;
    bool ready = eventually(
        [&] {
          std::vector<pid_t> ws = workers();
          if (ws.size() < options_.workers_in_loop) {
            report = std::to_string(ws.size()) + " workers";
            return false;
          }
          for (pid_t w : ws) {
            std::string where = wchan(w);
            if (where.rfind("do_epoll_wait", 0) != 0) {
              report = "worker " + std::to_string(w) + " in \"" + where + "\"";
              return false;
            }
          }
          return true;
        },
        options_.ready_seconds);
    EXPECT_TRUE(ready) << "the workers of " << name_ << " " << pid_
                       << " did not reach their loop in " << options_.ready_seconds << " s ("
                       << report << ")\n"
                       << diagnostics();
  }

  // Kills and reaps the process, quietly.
  void abandon() {
    if (!running_) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    running_ = false;
  }

  static void replace_all(std::string* s, std::string_view from, const std::string& to) {
    for (size_t at = s->find(from); at != std::string::npos; at = s->find(from, at + to.size())) {
      s->replace(at, from.size(), to);
    }
  }

  std::string dir_;
  ServerOptions options_;
  std::string name_ = "server";
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  bool running_ = false;
  std::vector<pid_t> workers_seen_;
};

}  // namespace zhttp::test
