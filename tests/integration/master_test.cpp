// The zhttpd master process as an operator drives it: pre-forked workers and their respawn,
// reload (SIGHUP) under load and with a changed or broken config file, graceful (SIGQUIT) and
// fast (SIGTERM) stop, the death of the master itself, the shared segment's name, log reopening
// (SIGUSR1), and the -t / -s command line. Every test starts the real binary of this build on a
// loopback port over a temporary directory (server_process.hpp), which stops whatever still runs
// at the end of the test.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "server_process.hpp"
#include "shm/segment.hpp"
#include "socket_util.hpp"

namespace zhttp::test {
namespace {

using Clock = std::chrono::steady_clock;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// Liveness bounds (how long to wait for something that should happen) are multiplied by this:
// the sanitized binary starts and forks much more slowly.
constexpr double kSlack = kSanitized ? 3.0 : 1.0;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

Clock::time_point after(Clock::time_point t, double seconds) {
  return t + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

void sleep_for(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool exited_zero(int status) {
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string pids_text(const std::vector<pid_t>& pids) {
  std::string s;
  for (pid_t p : pids) s += (s.empty() ? "" : " ") + std::to_string(p);
  return "[" + s + "]";
}

std::vector<pid_t> sorted(std::vector<pid_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

bool contains(const std::vector<pid_t>& v, pid_t p) {
  return std::find(v.begin(), v.end(), p) != v.end();
}

// The paths process `pid` has open (targets of /proc/PID/fd/*).
std::vector<std::string> open_paths(pid_t pid) {
  std::vector<std::string> out;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    char target[4096];
    ssize_t n = ::readlink((dir + "/" + e->d_name).c_str(), target, sizeof target);
    if (n > 0) out.emplace_back(target, static_cast<size_t>(n));
  }
  ::closedir(d);
  return out;
}

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(gen() & 0xff);
  return s;
}

class MasterProcess : public ::testing::Test {
 protected:
  static constexpr const char* kBinary = ZHTTP_BUILD_DIR "/zhttpd";
  static constexpr const char* kWrk = "/usr/bin/wrk";

  // The masters run over the helper's directory; it stops whatever still runs at the end of the
  // test (and checks that it had not died, stops cleanly and takes its workers along), removes
  // the segment and the directory.
  void SetUp() override {
    ASSERT_FALSE(server_.dir().empty());
    base_ = server_.dir();
    root_ = base_ + "/root";
    pid_file_ = base_ + "/zhttpd.pid";
    access_log_ = base_ + "/access.log";
    error_log_ = base_ + "/error.log";
    static int counter = 0;
    shm_name_ =
        "zhttpd-master-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
    shm_path_ = "/dev/shm/" + shm_name_;
    hello_ = "hello from " + base_ + "\n";
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
    ASSERT_NO_FATAL_FAILURE(write_file(root_ + "/hello.txt", hello_));
  }

  // Starts a master on a free port and waits for its banner and an answer. `workers` 0 leaves
  // --workers out (a config file may set it); `with_root` false leaves --root out.
  void start(int workers, const std::vector<std::string>& extra = {}, bool with_root = true) {
    std::vector<std::string> args = {"--listen",     "{address}", "--pid-file",  pid_file_,
                                     "--access-log", access_log_, "--error-log", error_log_,
                                     "--log-level",  "info",      "--shm-name",  shm_name_};
    if (workers > 0) args.insert(args.end(), {"--workers", std::to_string(workers)});
    if (with_root) args.insert(args.end(), {"--root", root_});
    args.insert(args.end(), extra.begin(), extra.end());
    ServerOptions o = ServerOptions::zhttpd(std::move(args));
    o.probe_path = "/hello.txt";  // whatever the status: a config file may point elsewhere
    o.ready_seconds = 15 * kSlack;
    o.error_log = error_log_;
    o.access_log = access_log_;
    o.shm_name = shm_name_;
    ASSERT_NO_FATAL_FAILURE(server_.start(std::move(o)));
  }

  pid_t master() const { return server_.pid(); }
  uint16_t port() const { return server_.port(); }

  // The segment file holds a zhttpd header written by the running master.
  void expect_segment_of_master(const std::string& which) {
    std::string segment = read_file(shm_path_);
    ASSERT_GE(segment.size(), sizeof(shm::SegmentHeader));
    uint64_t magic = 0;
    int64_t owner = 0;
    std::memcpy(&magic, segment.data() + offsetof(shm::SegmentHeader, magic), sizeof magic);
    std::memcpy(&owner, segment.data() + offsetof(shm::SegmentHeader, master_pid), sizeof owner);
    EXPECT_EQ(magic, shm::kMagic);
    EXPECT_EQ(owner, master()) << "the segment is not the master's" << which;
  }

  // The master's children now (zombies included); the helper checks at the end that they are gone.
  std::vector<pid_t> workers() { return server_.workers(); }

  std::string error_log() const { return server_.error_log(); }

  bool error_log_has(std::string_view text, double seconds) const {
    return eventually([&] { return error_log().find(text) != std::string::npos; }, seconds);
  }

  // Worker pid -> generation, from the "worker I started: pid P, generation G" lines.
  std::map<pid_t, unsigned> generations() const {
    std::map<pid_t, unsigned> out;
    std::istringstream in(error_log());
    std::string line;
    while (std::getline(in, line)) {
      size_t at = line.find("] ");
      at = at == std::string::npos ? std::string::npos : line.find(": worker ", at);
      unsigned index = 0, generation = 0;
      int pid = 0;
      if (at != std::string::npos &&
          std::sscanf(line.c_str() + at, ": worker %u started: pid %d, generation %u", &index, &pid,
                      &generation) == 3) {
        out[pid] = generation;
      }
    }
    return out;
  }

  // Waits until the master has exactly `n` children, all of generation `generation`.
  bool only_generation(size_t n, unsigned generation, double seconds,
                       std::vector<pid_t>* now = nullptr) {
    std::vector<pid_t> seen;
    bool ok = eventually(
        [&] {
          seen = workers();
          if (seen.size() != n) return false;
          std::map<pid_t, unsigned> g = generations();
          for (pid_t p : seen) {
            auto it = g.find(p);
            if (it == g.end() || it->second != generation || process_gone(p)) return false;
          }
          return true;
        },
        seconds);
    if (now) *now = seen;
    return ok;
  }

  std::string children_report() {
    std::string s = "children " + pids_text(workers()) + "; generations:";
    for (auto [pid, g] : generations()) s += " " + std::to_string(pid) + ":" + std::to_string(g);
    return s;
  }

  // Runs wrk (2 threads, 40 connections, 10 s) against the master while sending it `hups`
  // SIGHUPs 0.6 s apart, and checks that not one request failed.
  void wrk_with_reloads(bool keep_alive, int hups) {
    std::vector<std::string> args = {kWrk, "-t2", "-c40", "-d10s", "--timeout", "5s"};
    if (!keep_alive) {
      args.push_back("-H");
      args.push_back("Connection: close");
    }
    args.push_back("http://127.0.0.1:" + std::to_string(port()) + "/hello.txt");
    Spawned s = spawn_program(args);
    ASSERT_GT(s.pid, 0) << "cannot start " << kWrk;
    auto began = Clock::now();
    std::string master_died;
    for (int i = 0; i < hups && master_died.empty(); ++i) {
      std::this_thread::sleep_until(after(began, 1.5 + 0.6 * i));
      int status = 0;
      if (server_.wait_exit(0, &status)) {
        master_died = describe_status(status);
      } else {
        EXPECT_EQ(::kill(master(), SIGHUP), 0);
      }
    }
    ProgramResult run = collect(s, after(Clock::now(), 30));
    const bool finished = run.finished;
    const int status = run.status;
    const std::string& out = run.out;
    const std::string& err = run.err;
    const char* mode = keep_alive ? "keep-alive" : "Connection: close";
    std::istringstream lines(out + err);
    std::string line;
    while (std::getline(lines, line)) std::printf("[ wrk %-13s ] %s\n", mode, line.c_str());
    std::fflush(stdout);
    ASSERT_TRUE(master_died.empty()) << "the master died under load: " << master_died;
    ASSERT_TRUE(finished) << "wrk did not finish within 30 s";
    EXPECT_TRUE(exited_zero(status)) << "wrk " << describe_status(status) << "\n" << err;

    EXPECT_EQ(out.find("Socket errors:"), std::string::npos)
        << "connections failed (" << mode << ") while reloading:\n"
        << out;
    EXPECT_EQ(out.find("Non-2xx or 3xx responses:"), std::string::npos)
        << "error responses (" << mode << ") while reloading:\n"
        << out;
    size_t at = out.find(" requests in ");
    ASSERT_NE(at, std::string::npos) << "no request count in wrk's output:\n" << out;
    size_t line_start = out.rfind('\n', at);
    uint64_t requests = std::strtoull(
        out.c_str() + (line_start == std::string::npos ? 0 : line_start + 1), nullptr, 10);
    EXPECT_GT(requests, 1000u) << out;
  }

  ServerProcess server_{"zhttpd-master-test"};
  std::string base_, root_, pid_file_, access_log_, error_log_, shm_name_, shm_path_, hello_;
};

// 1. Pre-forked workers, and the respawn of one that is killed.

TEST_F(MasterProcess, KilledWorkerIsReplacedWhileRequestsKeepSucceeding) {
  ASSERT_NO_FATAL_FAILURE(start(3));
  std::vector<pid_t> before = workers();
  ASSERT_EQ(before.size(), 3u) << pids_text(before);
  sleep_for(0.3);  // and no more appear
  ASSERT_EQ(sorted(workers()), sorted(before));
  for (pid_t w : before) EXPECT_FALSE(process_gone(w)) << w;

  const pid_t victim = before[1];
  ASSERT_EQ(::kill(victim, SIGKILL), 0);

  // 50 requests, each on a fresh connection: 25 at once (while the master respawns), 25 once
  // the replacement is there.
  int ok = 0;
  std::string failures;
  auto fetch = [&](int i) {
    OneShotResponse r = get_once(port(), "/hello.txt?n=" + std::to_string(i), 10 * kSlack);
    if (r.complete && r.status == 200 && r.body == hello_) {
      ++ok;
    } else {
      failures += "request " + std::to_string(i) + ": complete=" + std::to_string(r.complete) +
                  " status=" + std::to_string(r.status) + "\n";
    }
  };
  for (int i = 0; i < 25; ++i) fetch(i);

  std::vector<pid_t> now;
  bool replaced = eventually(
      [&] {
        now = workers();
        if (now.size() != 3 || contains(now, victim)) return false;
        for (pid_t w : now) {
          if (process_gone(w)) return false;
        }
        return true;
      },
      5 * kSlack);
  EXPECT_TRUE(replaced) << "no replacement within " << 5 * kSlack << " s: " << pids_text(now)
                        << "\n"
                        << error_log();
  for (int i = 25; i < 50; ++i) fetch(i);
  EXPECT_EQ(ok, 50) << failures;

  std::vector<pid_t> fresh;
  for (pid_t w : now) {
    if (!contains(before, w)) fresh.push_back(w);
  }
  ASSERT_EQ(fresh.size(), 1u) << "before " << pids_text(before) << ", now " << pids_text(now);
  EXPECT_TRUE(process_gone(victim));
  EXPECT_TRUE(
      error_log_has("(pid " + std::to_string(victim) + ") killed by signal 9 (Killed)", 5 * kSlack))
      << error_log();
  EXPECT_TRUE(error_log_has("started: pid " + std::to_string(fresh[0]) + ", generation 1", 5))
      << error_log();
}

// 2. Reload under load: the acceptance test.

TEST_F(MasterProcess, TenReloadsUnderWrkLoadLoseNoRequest) {
  ASSERT_EQ(::access(kWrk, X_OK), 0) << kWrk << " is missing (Debian package wrk)";
  ASSERT_NO_FATAL_FAILURE(start(2, {"--drain-timeout", "3"}));
  const std::vector<pid_t> initial = workers();
  ASSERT_EQ(initial.size(), 2u) << pids_text(initial);
  std::vector<pid_t> previous = initial;
  unsigned reloads = 0;
  for (bool keep_alive : {true, false}) {
    SCOPED_TRACE(keep_alive ? "wrk with keep-alive" : "wrk with Connection: close");
    ASSERT_NO_FATAL_FAILURE(wrk_with_reloads(keep_alive, 10));
    reloads += 10;
    EXPECT_TRUE(eventually([&] { return count_of(error_log(), "reloaded: generation") == reloads; },
                           10 * kSlack))
        << "expected " << reloads << " reloads:\n"
        << error_log();
    EXPECT_EQ(error_log().find("reload refused"), std::string::npos) << error_log();

    // Once the old generations have drained: exactly the 2 workers of the last one.
    std::vector<pid_t> now;
    EXPECT_TRUE(only_generation(2, reloads + 1, 3 + 5 * kSlack, &now)) << children_report();
    for (pid_t w : now) {
      EXPECT_FALSE(contains(initial, w)) << w << " is an initial worker";
      EXPECT_FALSE(contains(previous, w)) << w << " served before these reloads";
    }
    previous = now;
  }
  OneShotResponse r = get_once(port(), "/hello.txt", 10 * kSlack);
  EXPECT_TRUE(r.complete && r.status == 200 && r.body == hello_) << r.head;
}

// 3. Reload with a changed config file, then with a broken one.

TEST_F(MasterProcess, ReloadServesTheNewRootAndRefusesAnInvalidConfig) {
  const std::string a = base_ + "/a", b = base_ + "/b", conf = base_ + "/zhttpd.conf";
  ASSERT_EQ(::mkdir(a.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(b.c_str(), 0755), 0);
  ASSERT_NO_FATAL_FAILURE(write_file(a + "/which.txt", "site A\n"));
  ASSERT_NO_FATAL_FAILURE(write_file(b + "/which.txt", "site B\n"));
  ASSERT_NO_FATAL_FAILURE(write_file(conf, "root = \"" + a + "\"\nworkers = 2\n"));
  // --workers and --root only in the file: the command line would win over it.
  ASSERT_NO_FATAL_FAILURE(start(0, {"--config", conf}, /*with_root=*/false));
  OneShotResponse r = get_once(port(), "/which.txt", 10 * kSlack);
  ASSERT_TRUE(r.complete && r.status == 200) << r.head;
  EXPECT_EQ(r.body, "site A\n");
  ASSERT_EQ(workers().size(), 2u);

  ASSERT_NO_FATAL_FAILURE(write_file(conf, "root = \"" + b + "\"\nworkers = 2\n"));
  ASSERT_EQ(::kill(master(), SIGHUP), 0);
  EXPECT_TRUE(error_log_has("reloaded: generation 2, 2 workers", 5 * kSlack)) << error_log();
  std::string body;
  EXPECT_TRUE(eventually(
      [&] {
        OneShotResponse got = get_once(port(), "/which.txt", 10 * kSlack);
        body = got.body;
        return got.complete && got.status == 200 && got.body == "site B\n";
      },
      5 * kSlack))
      << "still \"" << body << "\" after the reload";
  std::vector<pid_t> serving;
  ASSERT_TRUE(only_generation(2, 2, 5 * kSlack, &serving)) << children_report();

  const std::string invalid[] = {
      "root = \"" + b + "\"\nworkers = \"many\"\n",
      "root = \"" + base_ + "/nonexistent\"\nworkers = 2\n",
  };
  size_t refused = 0;
  for (const std::string& text : invalid) {
    SCOPED_TRACE(text);
    ASSERT_NO_FATAL_FAILURE(write_file(conf, text));
    ASSERT_EQ(::kill(master(), SIGHUP), 0);
    ++refused;
    EXPECT_TRUE(
        eventually([&] { return count_of(error_log(), "reload refused") == refused; }, 5 * kSlack))
        << error_log();
    for (int i = 0; i < 5; ++i) {
      OneShotResponse got = get_once(port(), "/which.txt", 10 * kSlack);
      EXPECT_TRUE(got.complete && got.status == 200) << got.head;
      EXPECT_EQ(got.body, "site B\n");
    }
    EXPECT_EQ(sorted(workers()), sorted(serving)) << children_report();
    std::string log = error_log();
    EXPECT_EQ(log.find("generation 3"), std::string::npos) << log;
    EXPECT_EQ(count_of(log, "reloaded:"), 1u) << log;
  }
}

// The shared cache's region was laid out for its size and entry limit: a reload may change
// neither, but may change the rest of its options.
TEST_F(MasterProcess, ReloadRefusesANewCacheSizeAndTakesTheOtherCacheOptions) {
  const std::string conf = base_ + "/zhttpd.conf";
  ASSERT_NO_FATAL_FAILURE(write_file(conf, "cache-size = \"1m\"\n"));
  ASSERT_NO_FATAL_FAILURE(start(1, {"--config", conf}));
  const std::string changed[] = {"cache-size = \"2m\"\n", "cache-size = 0\n",
                                 "cache-size = \"1m\"\ncache-max-entry = \"4k\"\n"};
  size_t refused = 0;
  for (const std::string& text : changed) {
    SCOPED_TRACE(text);
    ASSERT_NO_FATAL_FAILURE(write_file(conf, text));
    ASSERT_EQ(::kill(master(), SIGHUP), 0);
    ++refused;
    EXPECT_TRUE(
        eventually([&] { return count_of(error_log(), "reload refused") == refused; }, 5 * kSlack))
        << error_log();
  }
  EXPECT_EQ(count_of(error_log(), "--cache-size and --cache-max-entry cannot change on reload"),
            refused)
      << error_log();
  ASSERT_NO_FATAL_FAILURE(
      write_file(conf, "cache-size = \"1m\"\ncache-lock-timeout = 100\ncache-cookie = true\n"));
  ASSERT_EQ(::kill(master(), SIGHUP), 0);
  EXPECT_TRUE(error_log_has("reloaded: generation 2", 5 * kSlack)) << error_log();
  OneShotResponse r = get_once(port(), "/hello.txt", 10 * kSlack);
  EXPECT_TRUE(r.complete && r.status == 200) << r.head;
}

// 4. Graceful stop with a slow download in flight.

TEST_F(MasterProcess, SigquitLetsASlowDownloadFinishThenCleansUp) {
  const std::string big = random_bytes(8 << 20, 4242);
  ASSERT_NO_FATAL_FAILURE(write_file(root_ + "/big.bin", big));
  ASSERT_NO_FATAL_FAILURE(start(2, {"--drain-timeout", "20"}));
  const std::vector<pid_t> ws = workers();
  ASSERT_EQ(read_file(pid_file_), std::to_string(master()) + "\n");
  ASSERT_TRUE(exists(shm_path_)) << shm_path_;

  int fd = connect_loopback(port(), 8192);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, "GET /big.bin HTTP/1.1\r\nHost: test\r\n\r\n"));
  // Read slowly: at most 16 KiB every 4 ms (about 2 s for the file).
  std::string got;
  bool quit_sent = false, exited_early = false, closed = false;
  size_t bytes_at_exit = 0;
  int status = 0;
  size_t expected = 0;
  auto deadline = after(Clock::now(), 60);
  while (Clock::now() < deadline) {
    if (expected == 0) {
      size_t head_end = got.find("\r\n\r\n");
      if (head_end != std::string::npos) expected = head_end + 4 + big.size();
    }
    if (expected != 0 && got.size() >= expected) break;
    if (!quit_sent && got.size() >= 256 * 1024) {
      ASSERT_EQ(::kill(master(), SIGQUIT), 0);
      quit_sent = true;
    }
    if (quit_sent && !exited_early && server_.wait_exit(0, &status)) {
      exited_early = true;
      bytes_at_exit = got.size();
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    char chunk[16384];
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) {
      closed = true;
      break;
    }
    got.append(chunk, static_cast<size_t>(n));
    sleep_for(0.004);
  }
  ::close(fd);
  ASSERT_TRUE(quit_sent) << "only " << got.size() << " bytes came";
  EXPECT_FALSE(exited_early) << "the master exited while the response was in flight, at byte "
                             << bytes_at_exit;
  EXPECT_FALSE(closed && got.size() < expected) << "the connection closed at byte " << got.size();
  size_t head_end = got.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << got.substr(0, 200);
  EXPECT_EQ(got.rfind("HTTP/1.1 200 ", 0), 0u) << got.substr(0, head_end);
  EXPECT_EQ(got.size(), head_end + 4 + big.size()) << "bytes received";
  EXPECT_TRUE(got.compare(head_end + 4, std::string::npos, big) == 0) << "the body differs";

  if (!exited_early) {
    ASSERT_TRUE(server_.wait_exit(25, &status)) << "the master did not exit after SIGQUIT\n"
                                                << error_log();
  }
  EXPECT_TRUE(exited_zero(status)) << describe_status(status);
  for (pid_t w : ws) EXPECT_TRUE(process_gone(w)) << "worker " << w;
  EXPECT_FALSE(exists(pid_file_)) << pid_file_;
  EXPECT_FALSE(exists(shm_path_)) << shm_path_;
  EXPECT_TRUE(error_log_has("stopped", 1)) << error_log();
}

// 5. Fast stop.

TEST_F(MasterProcess, SigtermStopsMasterAndWorkersAtOnce) {
  ASSERT_NO_FATAL_FAILURE(write_file(root_ + "/big.bin", random_bytes(8 << 20, 7)));
  ASSERT_NO_FATAL_FAILURE(start(3));
  const std::vector<pid_t> ws = workers();
  ASSERT_EQ(ws.size(), 3u);
  // An idle keep-alive connection and a download nobody reads: neither may hold up the stop.
  int idle = connect_loopback(port());
  ASSERT_GE(idle, 0);
  ASSERT_TRUE(send_all(idle, "GET /hello.txt HTTP/1.1\r\nHost: test\r\n\r\n"));
  auto one = [](const std::string& s) { return count_responses(s) >= 1; };
  ASSERT_EQ(count_responses(read_until(idle, one, 10 * kSlack)), 1);
  int stalled = connect_loopback(port(), 4096);
  ASSERT_GE(stalled, 0);
  ASSERT_TRUE(send_all(stalled, "GET /big.bin HTTP/1.1\r\nHost: test\r\n\r\n"));
  sleep_for(0.3);

  auto began = Clock::now();
  ASSERT_EQ(::kill(master(), SIGTERM), 0);
  int status = 0;
  bool master_gone = server_.wait_exit(10 * kSlack, &status);
  bool all_gone = eventually(
      [&] {
        for (pid_t w : ws) {
          if (!process_gone(w)) return false;
        }
        return true;
      },
      10 * kSlack);
  double took = seconds_since(began);
  ::close(idle);
  ::close(stalled);
  ASSERT_TRUE(master_gone) << "the master still runs " << 10 * kSlack << " s after SIGTERM";
  ASSERT_TRUE(all_gone) << "workers still run after SIGTERM";
  const double bound = kSanitized ? 2.0 : 1.0;
  EXPECT_LE(took, bound) << "the stop took " << took << " s";
  std::printf("[ info     ] master and 3 workers gone %.3f s after SIGTERM\n", took);
  EXPECT_TRUE(exited_zero(status)) << describe_status(status);
  EXPECT_FALSE(exists(pid_file_));
  EXPECT_FALSE(exists(shm_path_));
}

// 6. The master killed: its workers die with it, and the segment it leaves is replaced.

TEST_F(MasterProcess, KilledMasterTakesItsWorkersAndItsSegmentIsReplaced) {
  ASSERT_NO_FATAL_FAILURE(start(2));
  const pid_t first = master();
  const std::vector<pid_t> ws = workers();
  ASSERT_EQ(ws.size(), 2u);
  ASSERT_TRUE(exists(shm_path_));

  ASSERT_EQ(::kill(first, SIGKILL), 0);
  int status = 0;
  ASSERT_TRUE(server_.wait_exit(10, &status));
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << describe_status(status);
  std::string alive;
  EXPECT_TRUE(eventually(
      [&] {
        alive.clear();
        for (pid_t w : ws) {
          if (!process_gone(w)) alive += std::to_string(w) + " (state " + process_state(w) + ") ";
        }
        return alive.empty();
      },
      5 * kSlack))
      << "workers alive " << 5 * kSlack << " s after their master was killed: " << alive;

  // The dead master left its segment behind; a new one with the same name starts anyway.
  ASSERT_TRUE(exists(shm_path_)) << "expected the killed master's segment to remain";
  ASSERT_NO_FATAL_FAILURE(start(2));
  ASSERT_NE(master(), first);
  std::vector<pid_t> now = workers();
  EXPECT_EQ(now.size(), 2u);
  for (pid_t w : now) EXPECT_FALSE(contains(ws, w));
  ASSERT_NO_FATAL_FAILURE(expect_segment_of_master(" (the new one)"));
  OneShotResponse r = get_once(port(), "/hello.txt", 10 * kSlack);
  EXPECT_TRUE(r.complete && r.status == 200 && r.body == hello_);
}

TEST_F(MasterProcess, StaleSegmentFileIsReplacedAndRemovedAtStop) {
  int fd = ::open(shm_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0) << shm_path_ << ": " << std::strerror(errno);
  std::string junk(100, 'x');
  ASSERT_EQ(::write(fd, junk.data(), junk.size()), static_cast<ssize_t>(junk.size()));
  ::close(fd);

  ASSERT_NO_FATAL_FAILURE(start(2));
  ASSERT_NO_FATAL_FAILURE(expect_segment_of_master(""));
  struct stat st {};
  ASSERT_EQ(::stat(shm_path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  ASSERT_EQ(::kill(master(), SIGTERM), 0);
  int status = 0;
  ASSERT_TRUE(server_.wait_exit(10 * kSlack, &status));
  EXPECT_TRUE(exited_zero(status)) << describe_status(status);
  EXPECT_FALSE(exists(shm_path_));
  EXPECT_FALSE(exists(pid_file_));
}

// 7. Log rotation.

TEST_F(MasterProcess, Usr1ReopensTheAccessLogAtItsPath) {
  ASSERT_NO_FATAL_FAILURE(start(2));
  const std::vector<pid_t> ws = workers();
  ASSERT_EQ(ws.size(), 2u);
  auto fetch = [&](const std::string& tag) {
    OneShotResponse r = get_once(port(), "/hello.txt?" + tag, 10 * kSlack);
    EXPECT_TRUE(r.complete && r.status == 200) << tag << ": " << r.head;
  };
  auto all_in = [](const std::string& text, const char* tag) {
    for (int i = 0; i < 5; ++i) {
      if (text.find("/hello.txt?" + std::string(tag) + std::to_string(i) + " HTTP/1.1\" 200 ") ==
          std::string::npos) {
        return false;
      }
    }
    return true;
  };
  for (int i = 0; i < 5; ++i) fetch("before" + std::to_string(i));
  // Lines are flushed at least once a second.
  ASSERT_TRUE(eventually([&] { return all_in(server_.access_log(), "before"); }, 5 * kSlack))
      << server_.access_log();

  const std::string rotated = access_log_ + ".1";
  ASSERT_EQ(::rename(access_log_.c_str(), rotated.c_str()), 0);
  ASSERT_EQ(::kill(master(), SIGUSR1), 0);
  // Each worker has the file at the original path open, and the rotated one no longer.
  std::string report;
  EXPECT_TRUE(eventually(
      [&] {
        report.clear();
        for (pid_t w : ws) {
          std::vector<std::string> open = open_paths(w);
          bool has_new = std::find(open.begin(), open.end(), access_log_) != open.end();
          bool has_old = std::find(open.begin(), open.end(), rotated) != open.end();
          if (!has_new || has_old) {
            report += "worker " + std::to_string(w) + ": new " + std::to_string(has_new) +
                      ", old " + std::to_string(has_old) + "\n";
          }
        }
        return report.empty();
      },
      5 * kSlack))
      << report;
  EXPECT_TRUE(error_log_has("logs reopened", 5 * kSlack)) << error_log();

  for (int i = 0; i < 5; ++i) fetch("after" + std::to_string(i));
  EXPECT_TRUE(eventually([&] { return all_in(server_.access_log(), "after"); }, 5 * kSlack))
      << server_.access_log();
  sleep_for(1.2);  // another flush: nothing may land in the rotated file
  std::string old_text = read_file(rotated), new_text = server_.access_log();
  EXPECT_TRUE(all_in(old_text, "before")) << old_text;
  EXPECT_EQ(old_text.find("?after"), std::string::npos) << old_text;
  EXPECT_EQ(new_text.find("?before"), std::string::npos) << new_text;
  EXPECT_EQ(sorted(workers()), sorted(ws)) << "USR1 must not replace the workers";
}

// 8. The command line: -t and -s.

TEST_F(MasterProcess, TestConfigAcceptsAGoodFileAndNamesTheProblemOfABadOne) {
  ASSERT_EQ(::access(kBinary, X_OK), 0) << kBinary;
  const std::string good = base_ + "/good.conf";
  ASSERT_NO_FATAL_FAILURE(write_file(good, "root = \"" + root_ +
                                               "\"\nworkers = 2\n"
                                               "access-log = \"" +
                                               access_log_ +
                                               "\"\n"
                                               "error-log = \"" +
                                               error_log_ + "\"\n"));
  ProgramResult ok = run_program({kBinary, "-t", "--config", good});
  ASSERT_TRUE(ok.finished);
  EXPECT_TRUE(exited_zero(ok.status)) << describe_status(ok.status) << "\n" << ok.err;
  EXPECT_NE(ok.out.find("zhttpd: the configuration is ok"), std::string::npos) << ok.out;

  const std::string missing = base_ + "/no-such-root";
  const std::string bad_root = base_ + "/bad-root.conf";
  ASSERT_NO_FATAL_FAILURE(write_file(bad_root, "root = \"" + missing + "\"\n"));
  ProgramResult bad = run_program({kBinary, "-t", "--config", bad_root});
  ASSERT_TRUE(bad.finished);
  EXPECT_FALSE(exited_zero(bad.status)) << describe_status(bad.status);
  EXPECT_NE(bad.err.find("root"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find(missing), std::string::npos) << bad.err;
  EXPECT_EQ(bad.out.find("is ok"), std::string::npos) << bad.out;

  // A log in a directory that does not exist: the command line accepts it, the check does not.
  const std::string unwritable = base_ + "/no-such-dir/access.log";
  const std::string bad_log = base_ + "/bad-log.conf";
  ASSERT_NO_FATAL_FAILURE(
      write_file(bad_log, "root = \"" + root_ + "\"\naccess-log = \"" + unwritable + "\"\n"));
  bad = run_program({kBinary, "-t", "--config", bad_log});
  ASSERT_TRUE(bad.finished);
  EXPECT_FALSE(exited_zero(bad.status)) << describe_status(bad.status);
  EXPECT_NE(bad.err.find(unwritable), std::string::npos) << bad.err;
  EXPECT_EQ(bad.out.find("is ok"), std::string::npos) << bad.out;
}

TEST_F(MasterProcess, WorkersDropToTheUserWhileTheMasterKeepsItsOwn) {
  ASSERT_EQ(::geteuid(), 0u) << "the tests run as root (CI does)";
  ASSERT_EQ(::chmod(base_.c_str(), 0755), 0);  // nobody must reach the root
  ASSERT_NO_FATAL_FAILURE(start(1, {"--user", "nobody"}));
  auto uid_of = [](pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("Uid:", 0) == 0) return std::stoul(line.substr(4));
    }
    return ~0ul;
  };
  std::vector<pid_t> pids = workers();
  ASSERT_EQ(pids.size(), 1u);
  EXPECT_EQ(uid_of(pids[0]), 65534ul);
  EXPECT_EQ(uid_of(master()), 0ul);
  OneShotResponse r = get_once(port(), "/hello.txt");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, hello_);
}

// Only root can switch users: a master that cannot is refused up front, not left respawning
// workers that fail.
TEST_F(MasterProcess, UserSwitchWithoutRootIsRefusedByTheCheck) {
  ASSERT_EQ(::chmod(base_.c_str(), 0755), 0);
  ProgramResult r =
      run_program({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", kBinary,
                   "-t", "--root", root_, "--user", "root"});
  ASSERT_TRUE(r.finished);
  EXPECT_FALSE(exited_zero(r.status)) << describe_status(r.status);
  EXPECT_NE(r.err.find("--user: switching to root needs the master to run as root"),
            std::string::npos)
      << r.err;
}

// A cache larger than /dev/shm has free: the master refuses to start, in one line naming both
// sizes and the option, instead of serving until a worker touching a page past the space dies of
// SIGBUS (the segment is sparse).
TEST_F(MasterProcess, CacheLargerThanTheFreeShmIsRefusedAtStart) {
  struct statvfs fs {};
  ASSERT_EQ(::statvfs("/dev/shm", &fs), 0);
  if (fs.f_blocks == 0 || static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize >= uint64_t{1} << 40) {
    GTEST_SKIP() << "/dev/shm has no limit below 1 TiB";
  }
  const int status =
      server_.run_to_exit(ServerOptions::zhttpd({"--root", root_, "--listen", "{address}",
                                                 "--shm-name", shm_name_, "--cache-size", "1024g"}),
                          10 * kSlack);
  ASSERT_NE(status, ServerProcess::kStillRunning) << "still running: the segment was made";
  EXPECT_FALSE(exited_zero(status)) << describe_status(status);
  const std::string err = server_.err();
  // 1 TiB of cache and the other regions (a few MiB at most).
  EXPECT_NE(err.find("cannot create the shared segment: it needs 104857"), std::string::npos)
      << err;
  EXPECT_NE(err.find("MiB free; lower --cache-size"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  const bool made = exists(shm_path_);
  EXPECT_FALSE(made);
  if (made) ::unlink(shm_path_.c_str());  // a 1 TiB sparse file a killed master left
}

TEST_F(MasterProcess, SignalOptionReloadsAndStopsTheRunningMaster) {
  ProgramResult none = run_program({kBinary, "-s", "reload", "--pid-file", base_ + "/none.pid"});
  ASSERT_TRUE(none.finished);
  EXPECT_FALSE(exited_zero(none.status)) << "-s without a running master";
  EXPECT_NE(none.err.find("none.pid"), std::string::npos) << none.err;

  ASSERT_NO_FATAL_FAILURE(start(2));
  const std::vector<pid_t> ws = workers();
  ASSERT_EQ(ws.size(), 2u);
  ProgramResult reload = run_program({kBinary, "-s", "reload", "--pid-file", pid_file_});
  ASSERT_TRUE(reload.finished);
  EXPECT_TRUE(exited_zero(reload.status)) << describe_status(reload.status) << "\n" << reload.err;
  EXPECT_TRUE(error_log_has("reloading", 5 * kSlack)) << error_log();
  std::vector<pid_t> now;
  EXPECT_TRUE(only_generation(2, 2, 10 * kSlack, &now)) << children_report();
  for (pid_t w : now) EXPECT_FALSE(contains(ws, w)) << w << " is an old worker";
  OneShotResponse r = get_once(port(), "/hello.txt", 10 * kSlack);
  EXPECT_TRUE(r.complete && r.status == 200 && r.body == hello_);

  ProgramResult stop = run_program({kBinary, "-s", "stop", "--pid-file", pid_file_});
  ASSERT_TRUE(stop.finished);
  EXPECT_TRUE(exited_zero(stop.status)) << describe_status(stop.status) << "\n" << stop.err;
  int status = 0;
  ASSERT_TRUE(server_.wait_exit(10 * kSlack, &status)) << "-s stop did not stop the master";
  EXPECT_TRUE(exited_zero(status)) << describe_status(status);
  for (pid_t w : now) {
    EXPECT_TRUE(eventually([&] { return process_gone(w); }, 5 * kSlack)) << "worker " << w;
  }
  EXPECT_FALSE(exists(pid_file_));
}

}  // namespace
}  // namespace zhttp::test
