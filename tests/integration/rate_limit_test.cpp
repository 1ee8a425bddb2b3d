// The rate limiter and the real client address (issue 9) over real processes: build/zhttpd on its
// own loopback port with its own segment, driven with wrk and raw sockets, and read back with
// build/zhttpstat --json ("limits"). What is checked is what the wire shows and what the server
// counted; every wait is bounded. Requests the test makes itself are charged too, so no test
// probes the server with a request before the counted part: readiness is the banner plus every
// worker waiting in epoll.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "server_process.hpp"
#include "socket_util.hpp"

namespace zhttp::test {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr const char* kBinary = ZHTTP_BUILD_DIR "/zhttpd";
constexpr const char* kWrk = "/usr/bin/wrk";

Clock::time_point after(Clock::time_point t, double seconds) {
  return t + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// ---- HTTP over raw sockets ---------------------------------------------------------------------

struct Response {
  int status = 0;
  std::string head;  // status line and fields, without the final CRLFCRLF
  std::string body;

  // The value of the first field of that name (case-insensitive), or nullopt.
  std::optional<std::string> field(std::string_view name) const {
    auto lower = [](std::string_view s) {
      std::string out(s);
      for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return out;
    };
    const std::string want = lower(name);
    std::istringstream in(head);
    std::string line;
    std::getline(in, line);  // the status line
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      size_t colon = line.find(':');
      if (colon == std::string::npos || lower(line.substr(0, colon)) != want) continue;
      size_t start = line.find_first_not_of(" \t", colon + 1);
      return start == std::string::npos ? "" : line.substr(start);
    }
    return std::nullopt;
  }
};

// Takes the complete responses (each with Content-Length) off the front of `buf`.
std::vector<Response> parse_responses(std::string* buf) {
  std::vector<Response> out;
  for (;;) {
    size_t end = buf->find("\r\n\r\n");
    if (end == std::string::npos || buf->compare(0, 9, "HTTP/1.1 ") != 0 || buf->size() < 12)
      return out;
    Response r;
    r.status = std::atoi(buf->c_str() + 9);
    r.head = buf->substr(0, end);
    std::optional<std::string> cl = r.field("Content-Length");
    size_t length = cl ? std::strtoull(cl->c_str(), nullptr, 10) : 0;
    if (buf->size() < end + 4 + length) return out;
    r.body = buf->substr(end + 4, length);
    buf->erase(0, end + 4 + length);
    out.push_back(std::move(r));
  }
}

std::string request(std::string_view extra_fields = "", std::string_view path = "/",
                    bool close = true) {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: test\r\n" +
         (close ? "Connection: close\r\n" : "") + std::string(extra_fields) + "\r\n";
}

// Sends `bytes` on a fresh connection and reads until the server closes (at most `seconds`).
// *closed says whether it did.
std::string exchange(uint16_t port, std::string_view bytes, double seconds, bool* closed) {
  *closed = false;
  int fd = connect_loopback(port);
  if (fd < 0) return "";
  std::string got;
  if (send_all(fd, bytes)) {
    got = read_until(
        fd, [](const std::string&) { return false; }, seconds, closed);
  }
  ::close(fd);
  return got;
}

// One request on a fresh connection, the response read to the server's close. status 0 when
// no complete response came within `seconds`.
Response fetch(uint16_t port, std::string_view extra_fields = "", double seconds = 5) {
  bool closed = false;
  std::string got = exchange(port, request(extra_fields), seconds, &closed);
  std::vector<Response> rs = parse_responses(&got);
  if (rs.size() != 1 || !closed) return {};
  return rs[0];
}

std::string xff(std::string_view address) {
  return "X-Forwarded-For: " + std::string(address) + "\r\n";
}

// ---- PROXY protocol headers ---------------------------------------------------------------------

std::string proxy_v2_tcp4(const char* source, const char* destination, uint16_t source_port,
                          uint16_t destination_port) {
  std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
  h += '\x21';  // version 2, PROXY
  h += '\x11';  // TCP over IPv4
  h += '\0';
  h += '\x0c';  // 12 address bytes
  in_addr a{};
  ::inet_pton(AF_INET, source, &a);
  h.append(reinterpret_cast<const char*>(&a), 4);
  ::inet_pton(AF_INET, destination, &a);
  h.append(reinterpret_cast<const char*>(&a), 4);
  uint16_t p = htons(source_port);
  h.append(reinterpret_cast<const char*>(&p), 2);
  p = htons(destination_port);
  h.append(reinterpret_cast<const char*>(&p), 2);
  return h;
}

// ---- wrk ---------------------------------------------------------------------------------------

struct WrkResult {
  bool ok = false;  // ran to its end and its summary was read
  uint64_t requests = 0;
  uint64_t non_2xx = 0;
  double seconds = 0;  // the duration wrk reports ("N requests in 4.01s")
  std::string output;
  uint64_t ok_2xx() const { return requests - non_2xx; }
};

WrkResult parse_wrk(const ProgramResult& run) {
  WrkResult w;
  w.output = run.out + run.err;
  std::printf("%s", w.output.c_str());
  std::fflush(stdout);
  if (!run.finished) return w;
  size_t at = run.out.find(" requests in ");
  if (at == std::string::npos) return w;
  size_t line_start = run.out.rfind('\n', at);
  line_start = line_start == std::string::npos ? 0 : line_start + 1;
  w.requests = std::strtoull(run.out.c_str() + line_start, nullptr, 10);
  w.seconds = std::strtod(run.out.c_str() + at + 13, nullptr);
  size_t n = run.out.find("Non-2xx or 3xx responses:");
  if (n != std::string::npos) w.non_2xx = std::strtoull(run.out.c_str() + n + 25, nullptr, 10);
  w.ok = w.seconds > 0 && w.requests > 0;
  return w;
}

std::vector<std::string> wrk_args(uint16_t port) {
  return {kWrk,
          "-t2",
          "-c20",
          "-d4s",
          "--timeout",
          "2s",
          "http://127.0.0.1:" + std::to_string(port) + "/"};
}

// ---- one server
// ----------------------------------------------------------------------------------

// build/zhttpd on a free loopback port over `root`, with its own segment, and its logs in its own
// directory.
class Server : public ServerProcess {
 public:
  Server(std::string root, std::string shm_name)
      : ServerProcess("zhttpd-rate-limit-server"),
        root_(std::move(root)),
        shm_name_(std::move(shm_name)),
        access_log_(path("access.log")),
        error_log_(path("error.log")) {}

  // Starts it with `extra` options and `workers` workers (0: leave --workers and --root out, a
  // config file sets them); `listen_flags` follow the address ("proxy_protocol"). Waits for the
  // banner and for every worker to sit in its event loop (bounded; a slow start only makes the
  // counted part shorter, which the bounds allow for); sends it no request.
  void start(const std::vector<std::string>& extra, int workers = 1,
             const std::string& listen_flags = "") {
    std::string listen = "{address}";
    if (!listen_flags.empty()) listen += " " + listen_flags;
    std::vector<std::string> args = {"--listen",    listen,     "--shm-name",   shm_name_,
                                     "--error-log", error_log_, "--access-log", access_log_,
                                     "--log-level", "info"};
    if (workers > 0) {
      args.insert(args.end(), {"--workers", std::to_string(workers), "--root", root_});
    }
    args.insert(args.end(), extra.begin(), extra.end());
    ServerOptions o = ServerOptions::zhttpd(std::move(args));
    o.ready = ServerOptions::Ready::kNone;
    o.workers_in_loop = workers > 0 ? static_cast<size_t>(workers) : 1;
    o.error_log = error_log_;
    o.access_log = access_log_;
    o.shm_name = shm_name_;
    ASSERT_NO_FATAL_FAILURE(ServerProcess::start(std::move(o)));
  }

  // The "limits" entry of `zone` in stats_json() (an empty object when missing, with a test
  // failure).
  json zone(const std::string& name = "one") const {
    json s = stats_json();
    if (s.is_object() && s.contains("limits") && s["limits"].is_array()) {
      for (const json& z : s["limits"]) {
        if (z.value("zone", "") == name) return z;
      }
    }
    ADD_FAILURE() << "no zone " << name << " in zhttpstat --json: " << s.dump();
    return json::object();
  }

  // The first fields (client addresses) of the access log lines, once at least `lines` are
  // there (it is flushed about once a second; waits at most `seconds`).
  std::vector<std::string> logged_clients(size_t lines, double seconds = 4) const {
    std::vector<std::string> clients;
    eventually(
        [&] {
          clients.clear();
          std::istringstream in(access_log());
          std::string line;
          while (std::getline(in, line)) clients.push_back(line.substr(0, line.find(' ')));
          return clients.size() >= lines;
        },
        seconds);
    return clients;
  }

 private:
  std::string root_, shm_name_, access_log_, error_log_;
};

// A temporary directory with a document root (index.html), and servers in it.
class RateLimitFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/zhttpd-rate-limit-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr) << std::strerror(errno);
    base_ = tmpl;
    root_ = base_ + "/root";
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
    ASSERT_NO_FATAL_FAILURE(write_file(root_ + "/index.html", "rate limited hello\n"));
  }

  void TearDown() override {
    servers_.clear();  // stops them
    if (!base_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(base_, ec);
    }
  }

  // A new server (not started) with its own directory and segment name.
  Server& server() {
    static int counter = 0;
    const std::string n = std::to_string(::getpid()) + "-" + std::to_string(++counter);
    servers_.push_back(std::make_unique<Server>(root_, "zhttpd-rate-limit-test-" + n));
    return *servers_.back();
  }

  std::string base_, root_;
  std::vector<std::unique_ptr<Server>> servers_;
};

constexpr const char* kRule50 = "zone=one rate=50r/s burst=10 nodelay";
constexpr const char* kRule1m = "zone=one rate=1r/m burst=0 nodelay";

// wrk -t2 -c20 -d4s against `workers` workers limited to 50 r/s with a burst of 10: the 2xx count
// within [50 d - 5, 50 d + 11 + 5], and the server's counters agree with the wire.
void expect_exact_under_wrk(Server& s, int workers) {
  ASSERT_EQ(::access(kWrk, X_OK), 0) << kWrk << " is missing (Debian package wrk)";
  ASSERT_NO_FATAL_FAILURE(s.start({"--limit-req", kRule50}, workers));
  WrkResult w = parse_wrk(run_program(wrk_args(s.port()), 20));
  ASSERT_TRUE(w.ok) << "wrk did not run to its end:\n" << w.output;
  EXPECT_EQ(w.output.find("Socket errors:"), std::string::npos) << w.output;
  const double low = 50 * w.seconds - 5, high = 50 * w.seconds + 11 + 5;
  EXPECT_GE(static_cast<double>(w.ok_2xx()), low) << w.output;
  EXPECT_LE(static_cast<double>(w.ok_2xx()), high) << w.output;
  EXPECT_GT(w.non_2xx, 1000u) << "the load did not exceed the limit:\n" << w.output;

  json z = s.zone();
  const uint64_t passed = z.value("passed", uint64_t{0});
  const uint64_t rejected = z.value("rejected", uint64_t{0});
  std::printf("[ zhttpstat  ] passed %llu, rejected %llu; wrk: %llu 2xx, %llu other in %.2f s\n",
              static_cast<unsigned long long>(passed), static_cast<unsigned long long>(rejected),
              static_cast<unsigned long long>(w.ok_2xx()),
              static_cast<unsigned long long>(w.non_2xx), w.seconds);
  // wrk counts only the responses it read before its deadline; each of its 20 connections may
  // have had one more request answered by the server that it dropped (refused, almost surely,
  // but once in a while the one that passed: the sum is what is bounded).
  EXPECT_GE(passed, w.ok_2xx()) << z.dump() << "\n" << w.output;
  EXPECT_GE(rejected, w.non_2xx) << z.dump() << "\n" << w.output;
  EXPECT_LE(passed + rejected, w.ok_2xx() + w.non_2xx + 20) << z.dump() << "\n" << w.output;
  EXPECT_EQ(z.value("delayed", uint64_t{1}), 0u) << z.dump();
  EXPECT_EQ(z.value("dry_run_rejected", uint64_t{1}), 0u) << z.dump();
  // And the server's own response counters: every refusal is a 429, every pass a 200.
  json totals = s.stats_json()["totals"];
  EXPECT_EQ(totals.value("responses_429", uint64_t{0}), rejected) << totals.dump();
  EXPECT_EQ(totals.value("responses_2xx", uint64_t{0}), passed) << totals.dump();
}

using RateLimitAcceptance = RateLimitFixture;
using RateLimitRefusal = RateLimitFixture;
using RateLimitRealIp = RateLimitFixture;
using RateLimitProxyProtocol = RateLimitFixture;
using RateLimitZone = RateLimitFixture;
using RateLimitConfig = RateLimitFixture;
using RateLimitConnections = RateLimitFixture;

// 1. Exactness across workers.

TEST_F(RateLimitAcceptance, TwoWorkersUnderWrkPassTheRateAndCountWhatTheWireSaw) {
  expect_exact_under_wrk(server(), 2);
}

TEST_F(RateLimitAcceptance, FourWorkersUnderWrkPassTheRateAndCountWhatTheWireSaw) {
  expect_exact_under_wrk(server(), 4);
}

// 3. kill -9 of a random worker every second under load.

TEST_F(RateLimitAcceptance, WorkerKilledEverySecondUnderWrkStillHoldsTheLimit) {
  ASSERT_EQ(::access(kWrk, X_OK), 0) << kWrk << " is missing (Debian package wrk)";
  Server& s = server();
  ASSERT_NO_FATAL_FAILURE(s.start({"--limit-req", kRule50}, 2));
  Spawned wrk = spawn_program(wrk_args(s.port()));
  ASSERT_GT(wrk.pid, 0);
  const auto began = Clock::now();
  // The output pipes are read after the run: wrk writes only its summary, at the end.
  std::mt19937 rng(std::random_device{}());
  int kills = 0;
  std::string killed;
  for (int second = 1; second <= 3; ++second) {
    std::this_thread::sleep_until(after(began, second));
    std::vector<pid_t> live;
    for (pid_t p : child_pids(s.pid())) {
      if (!process_gone(p)) live.push_back(p);
    }
    if (live.empty()) continue;
    pid_t victim = live[rng() % live.size()];
    if (::kill(victim, SIGKILL) == 0) {
      ++kills;
      killed += " " + std::to_string(victim);
    }
  }
  WrkResult w = parse_wrk(collect(wrk, after(began, 20)));
  ASSERT_TRUE(w.ok) << "wrk did not run to its end:\n" << w.output;
  EXPECT_GE(kills, 3) << "killed:" << killed;
  const double low = 50 * w.seconds - 5, high = 50 * w.seconds + 11 + 5 + 11.0 * kills;
  EXPECT_GE(static_cast<double>(w.ok_2xx()), low) << "killed:" << killed << "\n" << w.output;
  EXPECT_LE(static_cast<double>(w.ok_2xx()), high) << "killed:" << killed << "\n" << w.output;

  // The master replaces them and the server keeps serving.
  std::vector<pid_t> now;
  EXPECT_TRUE(eventually(
      [&] {
        now.clear();
        for (pid_t p : child_pids(s.pid())) {
          if (!process_gone(p) && wchan(p).rfind("do_epoll_wait", 0) == 0) now.push_back(p);
        }
        return now.size() == 2;
      },
      5))
      << "no 2 serving workers 5 s after the run\n"
      << s.error_log();
  Response r = fetch(s.port(), "", 2);
  EXPECT_TRUE(r.status == 200 || r.status == 429) << "status " << r.status << "\n" << r.head;
  json z = s.zone();
  std::printf("[ zhttpstat  ] %d kills (%s); zone %s; wrk: %llu 2xx in %.2f s\n", kills,
              killed.c_str(), z.dump().c_str(), static_cast<unsigned long long>(w.ok_2xx()),
              w.seconds);
  // What the wire saw passed was counted, including by the workers that died (the master folds
  // their rows).
  EXPECT_GE(z.value("passed", uint64_t{0}), w.ok_2xx()) << z.dump();
  EXPECT_GT(z.value("rejected", uint64_t{0}), 0u) << z.dump();
  EXPECT_LE(z.value("entries", uint64_t{99}), 1u) << z.dump();
}

// 2. Refusals: 429 (or --limit-req-status) with Retry-After.

void expect_refusals_with_retry_after(Server& s, int expected_status) {
  // burst + 2 = 12 requests at once on one keep-alive connection: 11 pass, the rest is refused
  // (they arrive within a few ms; the rate frees one slot every 20 ms).
  int fd = connect_loopback(s.port());
  ASSERT_GE(fd, 0);
  std::string burst;
  for (int i = 0; i < 12; ++i) burst += request("", "/", /*close=*/false);
  ASSERT_TRUE(send_all(fd, burst));
  std::string got;
  bool closed = false;
  std::vector<Response> rs;
  auto deadline = after(Clock::now(), 5);
  while (rs.size() < 12 && !closed && Clock::now() < deadline) {
    std::string more = read_until(
        fd, [](const std::string& g) { return !g.empty(); }, 0.5, &closed);
    got += more;
    for (Response& r : parse_responses(&got)) rs.push_back(std::move(r));
  }
  ::close(fd);
  ASSERT_FALSE(rs.empty());
  int passed = 0, refused = 0;
  for (size_t i = 0; i < rs.size(); ++i) {
    const Response& r = rs[i];
    if (r.status == 200) {
      ++passed;
      EXPECT_EQ(refused, 0) << "a 200 after a refusal, response " << i;
      continue;
    }
    ++refused;
    EXPECT_EQ(r.status, expected_status) << "response " << i << ":\n" << r.head;
    std::optional<std::string> retry = r.field("Retry-After");
    ASSERT_TRUE(retry.has_value()) << "response " << i << " has no Retry-After:\n" << r.head;
    EXPECT_FALSE(retry->empty());
    EXPECT_EQ(retry->find_first_not_of("0123456789"), std::string::npos) << *retry;
    EXPECT_GE(std::strtoull(retry->c_str(), nullptr, 10), 1u) << *retry;
  }
  EXPECT_EQ(passed, 11) << rs.size() << " responses";
  EXPECT_GE(refused, 1);
  // The connection stays usable (or was closed after a refusal): every request got an answer
  // unless the server closed after refusing.
  if (!closed) {
    EXPECT_EQ(rs.size(), 12u);
  }
  // And on a fresh connection, refused too (the budget is spent for a while).
  Response again = fetch(s.port());
  EXPECT_EQ(again.status, expected_status) << again.head;
  EXPECT_TRUE(again.field("Retry-After").has_value()) << again.head;
}

TEST_F(RateLimitRefusal, RefusalsAre429WithRetryAfterInWholeSeconds) {
  Server& s = server();
  ASSERT_NO_FATAL_FAILURE(s.start({"--limit-req", kRule50}));
  expect_refusals_with_retry_after(s, 429);
  EXPECT_TRUE(eventually(
      [&] { return s.error_log().find("limiting requests by zone \"one\"") != std::string::npos; },
      3))
      << s.error_log();
}

TEST_F(RateLimitRefusal, LimitReqStatus503RefusesWith503) {
  Server& s = server();
  ASSERT_NO_FATAL_FAILURE(s.start({"--limit-req", kRule50, "--limit-req-status", "503"}));
  expect_refusals_with_retry_after(s, 503);
}

// 4. The real client address from a trusted X-Forwarded-For.

TEST_F(RateLimitRealIp, FiftyForwardedClientsFromATrustedPeerEachGetTheirOwnBudget) {
  Server& s = server();
  ASSERT_NO_FATAL_FAILURE(s.start({"--real-ip-from", "127.0.0.1", "--limit-req", kRule1m}));
  for (int round = 0; round < 2; ++round) {
    for (int n = 1; n <= 50; ++n) {
      const std::string client = "10.0.0." + std::to_string(n);
      Response r = fetch(s.port(), xff(client));
      EXPECT_EQ(r.status, round == 0 ? 200 : 429) << client << ", request " << round + 1 << ":\n"
                                                  << r.head;
    }
  }
  // A chain: the rightmost untrusted hop is the client.
  Response chain = fetch(s.port(), xff("10.9.9.9, 127.0.0.1"));
  EXPECT_EQ(chain.status, 200) << chain.head;
  json z = s.zone();
  EXPECT_EQ(z.value("passed", uint64_t{0}), 51u) << z.dump();
  EXPECT_EQ(z.value("rejected", uint64_t{0}), 50u) << z.dump();
  std::vector<std::string> clients = s.logged_clients(101);
  ASSERT_EQ(clients.size(), 101u) << s.access_log();
  for (int n = 1; n <= 50; ++n) EXPECT_EQ(clients[n - 1], "10.0.0." + std::to_string(n));
  EXPECT_EQ(clients.back(), "10.9.9.9") << s.access_log();
}

TEST_F(RateLimitRealIp, ForwardedForFromAnUntrustedPeerIsIgnored) {
  Server& s = server();
  ASSERT_NO_FATAL_FAILURE(s.start({"--limit-req", kRule1m}));
  for (int n = 1; n <= 10; ++n) {
    const std::string client = "10.0.0." + std::to_string(n);
    Response r = fetch(s.port(), xff(client));
    EXPECT_EQ(r.status, n == 1 ? 200 : 429) << client << ":\n" << r.head;
  }
  Response chain = fetch(s.port(), xff("10.9.9.9, 127.0.0.1"));
  EXPECT_EQ(chain.status, 429) << chain.head;
  std::vector<std::string> clients = s.logged_clients(11);
  ASSERT_EQ(clients.size(), 11u) << s.access_log();
  for (const std::string& c : clients) EXPECT_EQ(c, "127.0.0.1") << s.access_log();
}

// 8. IPv6 prefixes (and IPv4-mapped addresses) via a trusted X-Forwarded-For.

TEST_F(RateLimitRealIp, Ipv6SlashSixtyFourSharesABudgetAndMappedIpv4IsIpv4) {
  Server& s = server();
  ASSERT_NO_FATAL_FAILURE(s.start(
      {"--real-ip-from", "127.0.0.1", "--limit-req", "zone=one rate=1r/m nodelay key=addr/64"}));
  const std::pair<const char*, int> steps[] = {
      {"2001:db8:1:2::1", 200}, {"2001:db8:1:2::ffff", 429}, {"2001:db8:1:3::1", 200},
      {"::ffff:10.1.1.1", 200}, {"10.1.1.1", 429},
  };
  for (const auto& [client, want] : steps) {
    Response r = fetch(s.port(), xff(client));
    EXPECT_EQ(r.status, want) << client << ":\n" << r.head;
  }
}

// 13. A key from a request header.

TEST_F(RateLimitRealIp, KeyByHeaderLimitsPerValueAndNotRequestsWithoutIt) {
  Server& s = server();
  ASSERT_NO_FATAL_FAILURE(
      s.start({"--limit-req", "zone=one rate=1r/m nodelay key=header:X-Api-Key"}));
  const std::pair<const char*, int> steps[] = {
      {"X-Api-Key: A\r\n", 200},
      {"X-Api-Key: A\r\n", 429},
      {"X-Api-Key: B\r\n", 200},
      {"", 200},
      {"", 200},
      {"", 200},
  };
  for (const auto& [fields, want] : steps) {
    Response r = fetch(s.port(), fields);
    EXPECT_EQ(r.status, want) << "\"" << fields << "\":\n" << r.head;
  }
}

// 5. The PROXY protocol on a listener marked proxy_protocol.

TEST_F(RateLimitProxyProtocol, V2AndV1SetTheLimitedAndLoggedAddressAndBadHeadersClose) {
  Server& s = server();
  ASSERT_NO_FATAL_FAILURE(s.start({"--limit-req", kRule1m}, 1, "proxy_protocol"));
  auto via_proxy = [&](const std::string& header) {
    bool closed = false;
    std::string got = exchange(s.port(), header + request(), 5, &closed);
    std::vector<Response> rs = parse_responses(&got);
    return rs.size() == 1 && closed ? rs[0] : Response{};
  };
  Response first = via_proxy(proxy_v2_tcp4("192.0.2.7", "127.0.0.1", 40000, 80));
  EXPECT_EQ(first.status, 200) << first.head;
  Response again = via_proxy(proxy_v2_tcp4("192.0.2.7", "127.0.0.1", 40001, 80));
  EXPECT_EQ(again.status, 429) << again.head;
  Response other = via_proxy(proxy_v2_tcp4("192.0.2.8", "127.0.0.1", 40002, 80));
  EXPECT_EQ(other.status, 200) << other.head;
  Response v1 = via_proxy("PROXY TCP4 192.0.2.9 127.0.0.1 5555 80\r\n");
  EXPECT_EQ(v1.status, 200) << v1.head;

  // No PROXY header, or a malformed one: closed without a byte.
  std::string v2_bad_version = proxy_v2_tcp4("192.0.2.10", "127.0.0.1", 40003, 80);
  v2_bad_version[12] = '\x31';
  std::string v2_short = proxy_v2_tcp4("192.0.2.11", "127.0.0.1", 40004, 80);
  v2_short[15] = '\x04';  // 4 address bytes: too few for TCP over IPv4
  v2_short.resize(16 + 4);
  std::string v2_bad_family = proxy_v2_tcp4("192.0.2.12", "127.0.0.1", 40005, 80);
  v2_bad_family[13] = '\x71';
  const std::pair<const char*, std::string> bad[] = {
      {"a plain GET", ""},
      {"a v2 header of version 3", v2_bad_version},
      {"a v2 header too short for its family", v2_short},
      {"a v2 header of an unknown family", v2_bad_family},
      {"a v1 header with a bad address", "PROXY TCP4 192.0.2.300 127.0.0.1 5555 80\r\n"},
  };
  for (const auto& [what, header] : bad) {
    bool closed = false;
    std::string got = exchange(s.port(), header + request(), 5, &closed);
    EXPECT_TRUE(closed) << what << ": not closed within 5 s";
    EXPECT_EQ(got, "") << what << ": answered";
  }

  std::vector<std::string> clients = s.logged_clients(4);
  ASSERT_EQ(clients.size(), 4u) << s.access_log();
  EXPECT_EQ(clients[0], "192.0.2.7");
  EXPECT_EQ(clients[1], "192.0.2.7");
  EXPECT_EQ(clients[2], "192.0.2.8");
  EXPECT_EQ(clients[3], "192.0.2.9");
  json z = s.zone();
  EXPECT_EQ(z.value("passed", uint64_t{0}), 3u) << z.dump();
  EXPECT_EQ(z.value("rejected", uint64_t{0}), 1u) << z.dump();
}

// 6. Dry run; 7. allow list; 9. table overflow; 10. delay mode; 14. RateLimit fields.

TEST_F(RateLimitZone, DryRunRefusesNothingAndCountsWhatItWouldHave) {
  Server& s = server();
  ASSERT_NO_FATAL_FAILURE(s.start({"--limit-req", kRule1m, "--limit-req-dry-run"}));
  for (int i = 0; i < 5; ++i) {
    Response r = fetch(s.port());
    EXPECT_EQ(r.status, 200) << "request " << i << ":\n" << r.head;
  }
  json z = s.zone();
  EXPECT_EQ(z.value("dry_run_rejected", uint64_t{0}), 4u) << z.dump();
  EXPECT_EQ(z.value("rejected", uint64_t{99}), 0u) << z.dump();
  EXPECT_EQ(z.value("passed", uint64_t{0}), 1u) << z.dump();
  EXPECT_TRUE(eventually([&] { return s.error_log().find("dry run") != std::string::npos; }, 3))
      << s.error_log();
}

TEST_F(RateLimitZone, AllowListIsNeverLimitedNorStored) {
  Server& s = server();
  ASSERT_NO_FATAL_FAILURE(s.start({"--limit-req", kRule1m, "--limit-req-allow", "127.0.0.0/8"}));
  for (int i = 0; i < 5; ++i) {
    Response r = fetch(s.port());
    EXPECT_EQ(r.status, 200) << "request " << i << ":\n" << r.head;
  }
  json z = s.zone();
  EXPECT_EQ(z.value("passed", uint64_t{99}), 0u) << z.dump();
  EXPECT_EQ(z.value("entries", uint64_t{99}), 0u) << z.dump();
  EXPECT_EQ(z.value("rejected", uint64_t{99}), 0u) << z.dump();
}

TEST_F(RateLimitZone, FullTableEvictsAndNeverBlocks) {
  Server& s = server();
  ASSERT_NO_FATAL_FAILURE(
      s.start({"--real-ip-from", "127.0.0.1", "--limit-req", "zone=one rate=1r/m nodelay size=8"}));
  int passed = 0, refused = 0;
  std::string other;
  for (int n = 0; n < 200; ++n) {
    const std::string client = "10.2." + std::to_string(n / 100) + "." + std::to_string(n % 100);
    Response r = fetch(s.port(), xff(client), 5);
    if (r.status == 200) {
      ++passed;
    } else if (r.status == 429) {
      ++refused;
    } else {
      other += client + ": status " + std::to_string(r.status) + "\n";
    }
  }
  EXPECT_EQ(other, "");
  EXPECT_EQ(passed + refused, 200);
  // Each client is new: a refusal would mean two clients share a slot's budget (allowed, rare).
  EXPECT_GT(passed, 150) << refused << " refused";
  json z = s.zone();
  EXPECT_GT(z.value("evictions", uint64_t{0}), 0u) << z.dump();
  EXPECT_LE(z.value("entries", uint64_t{99}), 8u) << z.dump();
  EXPECT_EQ(z.value("passed", uint64_t{0}), static_cast<uint64_t>(passed)) << z.dump();
  EXPECT_EQ(z.value("rejected", uint64_t{0}), static_cast<uint64_t>(refused)) << z.dump();
}

TEST_F(RateLimitZone, WithoutNodelayTheBurstIsDelayedNotRefused) {
  Server& s = server();
  ASSERT_NO_FATAL_FAILURE(s.start({"--limit-req", "zone=one rate=10r/s burst=5"}));
  std::vector<int> fds;
  for (int i = 0; i < 6; ++i) {
    int fd = connect_loopback(s.port());
    ASSERT_GE(fd, 0);
    fds.push_back(fd);
  }
  const std::string req = request();
  const auto sent = Clock::now();
  for (int fd : fds) EXPECT_TRUE(send_all(fd, req));
  std::vector<double> done(fds.size(), -1);
  std::vector<std::string> got(fds.size());
  std::vector<int> status(fds.size(), 0);
  auto deadline = after(sent, 5);
  size_t left = fds.size();
  while (left > 0 && Clock::now() < deadline) {
    std::vector<pollfd> ps;
    for (int fd : fds) ps.push_back({fd, POLLIN, 0});
    int wait_ms = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (::poll(ps.data(), ps.size(), std::max(wait_ms, 1)) <= 0) continue;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (done[i] >= 0 || ps[i].revents == 0) continue;
      char chunk[4096];
      ssize_t n = ::recv(fds[i], chunk, sizeof chunk, 0);
      if (n > 0) got[i].append(chunk, static_cast<size_t>(n));
      std::string copy = got[i];
      std::vector<Response> rs = parse_responses(&copy);
      if (!rs.empty() || n <= 0) {
        done[i] = seconds_since(sent);
        status[i] = rs.empty() ? 0 : rs[0].status;
        --left;
      }
    }
  }
  for (int fd : fds) ::close(fd);
  double first = 1e9, last = 0;
  for (size_t i = 0; i < fds.size(); ++i) {
    EXPECT_EQ(status[i], 200) << "connection " << i << " after " << done[i] << " s:\n" << got[i];
    if (done[i] >= 0) {
      first = std::min(first, done[i]);
      last = std::max(last, done[i]);
    }
  }
  EXPECT_GE(last - first, 0.35) << "first answer after " << first << " s, last after " << last;
  json z = s.zone();
  EXPECT_GE(z.value("delayed", uint64_t{0}), 4u) << z.dump();
  EXPECT_EQ(z.value("rejected", uint64_t{99}), 0u) << z.dump();
}

TEST_F(RateLimitZone, LimitReqHeadersSendRateLimitPolicyAndRateLimit) {
  Server& s = server();
  ASSERT_NO_FATAL_FAILURE(s.start({"--limit-req", kRule50, "--limit-req-headers"}));
  Response r = fetch(s.port());
  ASSERT_EQ(r.status, 200) << r.head;
  std::optional<std::string> policy = r.field("RateLimit-Policy");
  ASSERT_TRUE(policy.has_value()) << r.head;
  EXPECT_EQ(*policy, "\"one\";q=11;w=1") << r.head;
  std::optional<std::string> limit = r.field("RateLimit");
  ASSERT_TRUE(limit.has_value()) << r.head;
  EXPECT_EQ(limit->rfind("\"one\";r=", 0), 0u) << *limit;
}

TEST_F(RateLimitZone, MetricsEndpointHasEveryZoneWithItsLabel) {
  Server& s = server();
  ASSERT_NO_FATAL_FAILURE(
      s.start({"--limit-req", "zone=one rate=1r/m nodelay path=/index.html", "--limit-conn",
               "zone=c max=100", "--metrics-path", "/metrics"}));
  auto get = [&](std::string_view path) {
    bool closed = false;
    std::string got = exchange(s.port(), request("", path), 5, &closed);
    std::vector<Response> rs = parse_responses(&got);
    return rs.size() == 1 ? rs[0] : Response{};
  };
  EXPECT_EQ(get("/index.html").status, 200);
  EXPECT_EQ(get("/index.html").status, 429);
  Response m = get("/metrics");  // not under the zone's path
  ASSERT_EQ(m.status, 200) << m.head;
  EXPECT_NE(m.body.find("zhttpd_limit_requests_total{zone=\"one\",result=\"passed\"} 1\n"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("zhttpd_limit_requests_total{zone=\"one\",result=\"rejected\"} 1\n"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("zhttpd_limit_entries{zone=\"one\"} 1\n"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("zhttpd_limit_entries{zone=\"c\"}"), std::string::npos) << m.body;
  // The connection zone counts connections in its own family: the first and this one (the
  // second's request was refused before its connection was counted).
  EXPECT_NE(m.body.find("zhttpd_limit_connections_total{zone=\"c\",result=\"passed\"} 2\n"),
            std::string::npos)
      << m.body;
  EXPECT_EQ(m.body.find("zhttpd_limit_requests_total{zone=\"c\""), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("zhttpd_requests_total"), std::string::npos) << m.body;
}

// 11. The configuration: the file's limit-req list, and the values refused.

TEST_F(RateLimitConfig, ConfigFileListStartsAndTestSaysOk) {
  const std::string conf = base_ + "/zhttpd.conf";
  ASSERT_NO_FATAL_FAILURE(write_file(
      conf, "root = \"" + root_ +
                "\"\nworkers = 1\n"
                "limit-req = [\"zone=one rate=50r/s burst=10 nodelay\", \"zone=two rate=5r/s "
                "key=header:X-Api-Key\"]\n"));
  ProgramResult t = run_program({kBinary, "-t", "--config", conf}, 10);
  ASSERT_TRUE(t.finished);
  EXPECT_TRUE(exited_with(t.status, 0)) << describe_status(t.status) << "\n" << t.err;
  EXPECT_NE(t.out.find("zhttpd: the configuration is ok"), std::string::npos) << t.out << t.err;

  Server& s = server();
  ASSERT_NO_FATAL_FAILURE(s.start({"--config", conf}, 0));
  Response r = fetch(s.port());
  EXPECT_EQ(r.status, 200) << r.head;
  json one = s.zone("one");
  json two = s.zone("two");
  EXPECT_EQ(one.value("passed", uint64_t{0}), 1u) << one.dump();
  EXPECT_EQ(two.value("passed", uint64_t{99}), 0u) << "no X-Api-Key: not limited " << two.dump();
}

TEST_F(RateLimitConfig, BadValuesAreRefusedWithExitTwoNamingTheOption) {
  const std::pair<std::vector<std::string>, const char*> bad[] = {
      {{"--limit-req", "zone=one rate=0r/s"}, "--limit-req"},
      {{"--limit-req", "rate=5r/s"}, "--limit-req"},
      {{"--limit-req", "zone=one rate=5r/s", "--limit-req", "zone=one rate=6r/s"}, "--limit-req"},
      {{"--limit-req", "zone=one rate=5r/x"}, "--limit-req"},
      {{"--limit-req", "zone=one rate=5r/s size=4"}, "--limit-req"},
      {{"--real-ip-from", "10.0.0.0/33"}, "--real-ip-from"},
      {{"--limit-req-allow", "not-an-address"}, "--limit-req-allow"},
      {{"--limit-req-status", "200"}, "--limit-req-status"},
      {{"--listen", "127.0.0.1:1 proxyprotocol"}, "--listen"},
  };
  for (const auto& [options, name] : bad) {
    std::vector<std::string> args = {kBinary, "-t", "--root", root_};
    args.insert(args.end(), options.begin(), options.end());
    std::string shown;
    for (const std::string& o : options) shown += " '" + o + "'";
    ProgramResult r = run_program(args, 10);
    ASSERT_TRUE(r.finished) << shown;
    EXPECT_TRUE(exited_with(r.status, 2)) << shown << ": " << describe_status(r.status) << "\n"
                                          << r.out << r.err;
    EXPECT_NE(r.err.find(name), std::string::npos) << shown << ": " << r.err;
    EXPECT_EQ(r.out.find("is ok"), std::string::npos) << shown << ": " << r.out;
  }
}

// 12. Reload: a zone's size= cannot change, its rate can.

TEST_F(RateLimitConfig, ReloadRefusesANewSizeAndTakesANewRate) {
  const std::string conf = base_ + "/zhttpd.conf";
  auto config = [&](const std::string& rule) {
    return "root = \"" + root_ +
           "\"\nworkers = 1\nreal-ip-from = [\"127.0.0.1\"]\nlimit-req = [\"" + rule + "\"]\n";
  };
  ASSERT_NO_FATAL_FAILURE(write_file(conf, config("zone=one rate=1r/m nodelay size=64")));
  Server& s = server();
  ASSERT_NO_FATAL_FAILURE(s.start({"--config", conf}, 0));
  EXPECT_EQ(fetch(s.port(), xff("10.3.0.1")).status, 200);
  EXPECT_EQ(fetch(s.port(), xff("10.3.0.1")).status, 429);

  // A new size: refused, the old rule still holds.
  ASSERT_NO_FATAL_FAILURE(write_file(conf, config("zone=one rate=1r/m nodelay size=128")));
  ASSERT_EQ(::kill(s.pid(), SIGHUP), 0);
  EXPECT_TRUE(
      eventually([&] { return s.error_log().find("reload refused") != std::string::npos; }, 5))
      << s.error_log();
  EXPECT_NE(s.error_log().find("size="), std::string::npos) << s.error_log();
  EXPECT_EQ(fetch(s.port(), xff("10.3.0.2")).status, 200);
  EXPECT_EQ(fetch(s.port(), xff("10.3.0.2")).status, 429);
  EXPECT_EQ(s.zone().value("slots", uint64_t{0}), 64u);

  // A new rate only: taken. A fresh client then gets its burst of 20.
  ASSERT_NO_FATAL_FAILURE(write_file(conf, config("zone=one rate=50r/s burst=20 nodelay size=64")));
  ASSERT_EQ(::kill(s.pid(), SIGHUP), 0);
  EXPECT_TRUE(eventually(
      [&] { return s.error_log().find("reloaded: generation 2") != std::string::npos; }, 5))
      << s.error_log();
  int client = 0;
  std::string seen;
  bool taken = eventually(
      [&] {
        const std::string c = "10.3.1." + std::to_string(++client);
        seen.clear();
        for (int i = 0; i < 5; ++i) seen += std::to_string(fetch(s.port(), xff(c)).status) + " ";
        return seen == "200 200 200 200 200 ";
      },
      5);
  EXPECT_TRUE(taken) << "last client " << client << ": " << seen << "\n" << s.error_log();
  EXPECT_EQ(count_of(s.error_log(), "reload refused"), 1u) << s.error_log();
}

// 15. Connection limits: exact across workers, and given back when a worker is killed.

// A keep-alive connection that sent one request and got one response (status 0: none).
struct HeldConnection {
  int fd = -1;
  int status = 0;
};

HeldConnection hold_one(uint16_t port) {
  HeldConnection c;
  c.fd = connect_loopback(port);
  if (c.fd < 0 || !send_all(c.fd, request("", "/", /*close=*/false))) return c;
  bool closed = false;
  std::string got = read_until(
      c.fd,
      [](const std::string& b) {
        std::string copy = b;
        return !parse_responses(&copy).empty();
      },
      5, &closed);
  std::vector<Response> rs = parse_responses(&got);
  if (!rs.empty()) c.status = rs[0].status;
  return c;
}

TEST_F(RateLimitConnections, AtMostMaxOpenConnectionsPerClientAcrossWorkers) {
  Server& s = server();
  ASSERT_NO_FATAL_FAILURE(s.start({"--limit-conn", "zone=c max=3"}, 2));
  std::vector<HeldConnection> held;
  for (int i = 0; i < 6; ++i) held.push_back(hold_one(s.port()));
  int ok = 0, refused = 0;
  for (const HeldConnection& c : held) {
    ok += c.status == 200;
    refused += c.status == 503;
  }
  EXPECT_EQ(ok, 3);
  EXPECT_EQ(refused, 3);
  json z = s.zone("c");
  EXPECT_EQ(z.value("kind", ""), "connections") << z.dump();
  EXPECT_EQ(z.value("passed", uint64_t{0}), 3u) << z.dump();
  EXPECT_EQ(z.value("rejected", uint64_t{0}), 3u) << z.dump();
  // Closing one admitted connection gives its place to a new one.
  for (HeldConnection& c : held) {
    if (c.status == 200) {
      ::close(c.fd);
      c.fd = -1;
      break;
    }
  }
  EXPECT_TRUE(eventually(
      [&] {
        HeldConnection c = hold_one(s.port());
        bool admitted = c.status == 200;
        if (admitted)
          held.push_back(c);
        else if (c.fd >= 0)
          ::close(c.fd);
        return admitted;
      },
      3));
  for (HeldConnection& c : held) {
    if (c.fd >= 0) ::close(c.fd);
  }
}

TEST_F(RateLimitConnections, AWorkerKilledHoldingConnectionsGivesThemBack) {
  Server& s = server();
  ASSERT_NO_FATAL_FAILURE(s.start({"--limit-conn", "zone=c max=2"}, 1));
  HeldConnection a = hold_one(s.port()), b = hold_one(s.port()), c = hold_one(s.port());
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(c.status, 503);
  std::vector<pid_t> workers = child_pids(s.pid());
  ASSERT_EQ(workers.size(), 1u);
  ASSERT_EQ(::kill(workers[0], SIGKILL), 0);
  for (int fd : {a.fd, b.fd, c.fd}) {
    if (fd >= 0) ::close(fd);
  }
  // The respawned worker admits two again: the dead one's counts were cleared by the master.
  bool respawned = eventually(
      [&] {
        std::vector<pid_t> now = child_pids(s.pid());
        return now.size() == 1 && now[0] != workers[0] &&
               wchan(now[0]).rfind("do_epoll_wait", 0) == 0;
      },
      5);
  ASSERT_TRUE(respawned) << s.error_log();
  HeldConnection d = hold_one(s.port()), e = hold_one(s.port());
  EXPECT_EQ(d.status, 200);
  EXPECT_EQ(e.status, 200);
  for (int fd : {d.fd, e.fd}) {
    if (fd >= 0) ::close(fd);
  }
}

}  // namespace
}  // namespace zhttp::test
