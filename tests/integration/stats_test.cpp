// Statistics end to end: a real master with two workers, an exact number of requests of known
// statuses over several connections, then `zhttpstat --json` must count exactly those, per
// status, with per-worker rows summing to the totals; totals never go back when a worker is
// killed or the server reloads.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "server_process.hpp"
#include "socket_util.hpp"

namespace zhttp::test {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

class StatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(server_.dir().empty());
    dir_ = server_.dir();
    fs::create_directories(dir_ / "www");
    std::ofstream(dir_ / "www" / "index.html") << "<h1>stats</h1>";
    shm_name_ = "zhttpd-test-stats-" + std::to_string(::getpid());
  }
  // Serving once its banner came and a GET / is answered 200 (that request is counted).
  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "--listen",        "{address}", "--root",      (dir_ / "www").string(),
        "--workers",       "2",         "--shm-name",  shm_name_,
        "--drain-timeout", "2",         "--error-log", (dir_ / "error.log").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    ServerOptions o = ServerOptions::zhttpd(std::move(args));
    o.probe_path = "/";
    o.probe_status = 200;
    o.error_log = (dir_ / "error.log").string();
    o.shm_name = shm_name_;
    ASSERT_NO_FATAL_FAILURE(server_.start(std::move(o)));
    port_ = server_.port();
  }
  // Totals only grow (workers write as they serve; give them a moment to finish the last one).
  Json settled_stats(uint64_t expected_requests) {
    Json j;
    for (int i = 0; i < 100; ++i) {
      j = server_.stats_json();
      if (j.contains("totals") && j["totals"]["requests"].get<uint64_t>() >= expected_requests) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return j;
  }

  ServerProcess server_{"zhttp-stats"};
  fs::path dir_;
  std::string shm_name_;
  uint16_t port_ = 0;
};

TEST_F(StatsTest, CountsExactlyTheRequestsSentPerStatus) {
  ASSERT_NO_FATAL_FAILURE(start());  // one GET / answered 200 to see it start (or a few)
  Json before = settled_stats(1);
  ASSERT_TRUE(before.contains("totals")) << before.dump();
  const uint64_t base_requests = before["totals"]["requests"].get<uint64_t>();
  const uint64_t base_200 = before["totals"]["responses_200"].get<uint64_t>();

  // 30 x 200, 12 x 404, 5 x 405, over 47 fresh connections; 3 keep-alive requests on one more
  // connection (200, 304 by If-None-Match "*", 206); then 2 bad requests (400, no request).
  for (int i = 0; i < 30; ++i) ASSERT_EQ(get_once(port_, "/").status, 200);
  for (int i = 0; i < 12; ++i) ASSERT_EQ(get_once(port_, "/missing").status, 404);
  for (int i = 0; i < 5; ++i) {
    int fd = connect_loopback(port_);
    ASSERT_TRUE(send_all(fd, "DELETE / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    bool closed = false;
    std::string got = read_until(
        fd, [](const std::string&) { return false; }, 5, &closed);
    EXPECT_EQ(got.rfind("HTTP/1.1 405", 0), 0u) << got;
    ::close(fd);
  }
  int fd = connect_loopback(port_);
  ASSERT_TRUE(
      send_all(fd,
               "GET / HTTP/1.1\r\nHost: t\r\n\r\n"
               "GET / HTTP/1.1\r\nHost: t\r\nIf-None-Match: *\r\n\r\n"
               "GET / HTTP/1.1\r\nHost: t\r\nRange: bytes=0-3\r\nConnection: close\r\n\r\n"));
  bool closed = false;
  read_until(
      fd, [](const std::string&) { return false; }, 5, &closed);
  ::close(fd);
  for (int i = 0; i < 2; ++i) {
    fd = connect_loopback(port_);
    ASSERT_TRUE(send_all(fd, "GET / HTTP/1.1\nHost: t\n\n"));  // bare LF: 400
    read_until(
        fd, [](const std::string&) { return false; }, 5, &closed);
    ::close(fd);
  }

  const uint64_t sent = 30 + 12 + 5 + 3;
  Json after = settled_stats(base_requests + sent);
  ASSERT_TRUE(after.contains("totals")) << after.dump();
  const Json& t = after["totals"];
  EXPECT_EQ(t["requests"].get<uint64_t>(), base_requests + sent);
  EXPECT_EQ(t["responses_200"].get<uint64_t>(), base_200 + 31);
  EXPECT_EQ(t["responses_404"].get<uint64_t>(),
            before["totals"]["responses_404"].get<uint64_t>() + 12);
  EXPECT_EQ(t["responses_304"].get<uint64_t>(), 1u);
  EXPECT_EQ(t["responses_206"].get<uint64_t>(), 1u);
  EXPECT_EQ(t["responses_400"].get<uint64_t>(), 2u);
  EXPECT_EQ(t["parse_errors"].get<uint64_t>(), 2u);
  EXPECT_EQ(t["keepalive_reuses"].get<uint64_t>(),
            before["totals"]["keepalive_reuses"].get<uint64_t>() + 2);
  EXPECT_EQ(t["responses_4xx"].get<uint64_t>(),
            before["totals"]["responses_4xx"].get<uint64_t>() + 12 + 5 + 2);
  EXPECT_GE(t["connections_accepted"].get<uint64_t>(), 30u + 12 + 5 + 1 + 2);
  EXPECT_GT(t["bytes_in"].get<uint64_t>(), 0u);
  EXPECT_GT(t["bytes_out"].get<uint64_t>(), 0u);

  // Per-worker rows sum to the totals (nothing retired yet).
  ASSERT_EQ(after["workers"].size(), 2u);
  for (const char* name : {"requests", "responses_200", "responses_404", "bytes_out"}) {
    uint64_t sum = 0;
    for (const Json& w : after["workers"]) sum += w[name].get<uint64_t>();
    EXPECT_EQ(sum, t[name].get<uint64_t>()) << name;
  }
}

TEST_F(StatsTest, TotalsNeverGoBackAcrossWorkerDeathAndReloads) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (int i = 0; i < 40; ++i) ASSERT_EQ(get_once(port_, "/").status, 200);
  Json j = settled_stats(40);
  uint64_t last = j["totals"]["requests"].get<uint64_t>();
  ASSERT_GE(last, 40u);
  auto check_not_lower = [&](const char* when) {
    for (int i = 0; i < 20; ++i) {
      Json now = server_.stats_json();
      ASSERT_TRUE(now.contains("totals")) << now.dump();
      uint64_t requests = now["totals"]["requests"].get<uint64_t>();
      EXPECT_GE(requests, last) << when;
      last = std::max(last, requests);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };
  std::vector<pid_t> workers = server_.workers();
  ASSERT_EQ(workers.size(), 2u);
  ASSERT_EQ(::kill(workers[0], SIGKILL), 0);
  check_not_lower("after kill -9 of a worker");
  for (int reload = 0; reload < 2; ++reload) {
    ASSERT_TRUE(server_.hup());
    for (int i = 0; i < 10; ++i) ASSERT_EQ(get_once(port_, "/").status, 200);
    check_not_lower("after a reload");
  }
  Json end = settled_stats(last + 0);
  EXPECT_GE(end["totals"]["requests"].get<uint64_t>(), 40u + 20u);
}

TEST_F(StatsTest, MetricsPathServesThePrometheusTextToAllowedClientsOnly) {
  ASSERT_NO_FATAL_FAILURE(start({"--metrics-path", "/metrics", "--metrics-allow", "127.0.0.1"}));
  for (int i = 0; i < 5; ++i) ASSERT_EQ(get_once(port_, "/missing").status, 404);
  OneShotResponse r = get_once(port_, "/metrics");
  ASSERT_EQ(r.status, 200) << r.head;
  EXPECT_TRUE(r.complete);
  EXPECT_NE(r.head.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << r.head;
  EXPECT_NE(r.body.find("# TYPE zhttpd_requests_total counter\n"), std::string::npos);
  EXPECT_NE(r.body.find("\nzhttpd_responses_404_total 5\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("zhttpd_request_duration_seconds_bucket{le=\"+Inf\"}"), std::string::npos);
  EXPECT_NE(r.body.find("\nzhttpd_workers 2\n"), std::string::npos);
  // The shared cache (on by default, 64m): its counters and its store's figures.
  EXPECT_NE(r.body.find("# TYPE zhttpd_cache_lookups_total counter\n"), std::string::npos);
  EXPECT_NE(r.body.find("\nzhttpd_cache_entries 0\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\nzhttpd_cache_bytes 67108864\n"), std::string::npos) << r.body;
  // The same text as zhttpstat --prometheus, but for counters that moved since.
  ProgramResult tool =
      run_program({ZHTTP_BUILD_DIR "/zhttpstat", "--prometheus", "--shm-name", shm_name_}, 10);
  EXPECT_TRUE(tool.finished && exited_with(tool.status, 0)) << describe_status(tool.status);
  EXPECT_NE(tool.out.find("\nzhttpd_responses_404_total 5\n"), std::string::npos) << tool.out;
  EXPECT_NE(tool.out.find("\nzhttpd_cache_bytes 67108864\n"), std::string::npos) << tool.out;
}

TEST_F(StatsTest, MetricsWithoutACacheHaveNoCacheFamilies) {
  ASSERT_NO_FATAL_FAILURE(start({"--metrics-path", "/metrics", "--cache-size", "0"}));
  OneShotResponse r = get_once(port_, "/metrics");
  ASSERT_EQ(r.status, 200) << r.head;
  EXPECT_NE(r.body.find("\nzhttpd_workers 2\n"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("zhttpd_cache_"), std::string::npos) << r.body;
}

TEST_F(StatsTest, MetricsPathRefusesOtherClients) {
  ASSERT_NO_FATAL_FAILURE(start({"--metrics-path", "/metrics", "--metrics-allow", "10.1.2.3"}));
  EXPECT_EQ(get_once(port_, "/metrics").status, 403);
  EXPECT_EQ(get_once(port_, "/").status, 200);  // everything else is served as before
}

}  // namespace
}  // namespace zhttp::test
