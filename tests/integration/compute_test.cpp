// The compute example on its own (--cache-size 0: nothing in front of it), as a real process:
// exact body lengths, its key= and crc= lines, n counting up, the delay honoured (from below
// only: the machine may be busy), 400s and 405, HEAD, Cache-Control and ETag, the static files
// on other paths, the computations counter in zhttpstat, and clients that leave early.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <string>
#include <thread>
#include <vector>

#include "compute_server.hpp"
#include "http_load.hpp"
#include "server_process.hpp"
#include "socket_util.hpp"

namespace zhttp::test {
namespace {

class ComputeExample : public ::testing::Test {
 protected:
  void start(int workers = 1, std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), {"--cache-size", "0"});
    ASSERT_NO_FATAL_FAILURE(server_.start(compute_options(server_, workers, extra)));
  }
  uint16_t port() const { return server_.port(); }
  uint64_t computations() { return server_.stat_total("computations"); }

  ServerProcess server_{"zhttp-compute"};
};

TEST_F(ComputeExample, BodiesHaveExactlyTheirLengthTheirKeyAndTheirCrcAndNCountsUp) {
  ASSERT_NO_FATAL_FAILURE(start());
  // One piece, around the piece size (16 KiB), and streamed ones up to the largest.
  const std::vector<size_t> lengths = {64,    65,    100,   1000,  4096,
                                       16383, 16384, 16385, 65536, 1 << 20};
  std::vector<LoadRequest> requests;
  for (size_t len : lengths) requests.push_back(http_request(compute_target("k1", 0, 5, len)));
  std::vector<HttpResponse> rs = fetch_in_turn(port(), requests);
  for (size_t i = 0; i < lengths.size(); ++i) {
    const HttpResponse& r = rs[i];
    ASSERT_EQ(r.status, 200) << lengths[i] << ": " << r.head;
    EXPECT_EQ(compute_body_error(r.body, "k1", lengths[i]), "") << lengths[i];
    EXPECT_EQ(compute_n(r.body), i + 1) << "one worker: its computations in order";
    const std::string first_line = "key=k1 n=" + std::to_string(i + 1) + "\n";
    EXPECT_EQ(r.body.substr(0, first_line.size()), first_line);
    EXPECT_EQ(r.field("Content-Type"), "text/plain");
    EXPECT_EQ(r.field("Cache-Control"), "public, max-age=5");
    EXPECT_EQ(r.field("ETag"), "\"" + compute_crc(r.body) + "\"");
  }
  EXPECT_EQ(computations(), lengths.size());
}

TEST_F(ComputeExample, DefaultsAreATtlOf2AndAThousandBytesAtOnce) {
  ASSERT_NO_FATAL_FAILURE(start());
  HttpResponse r = fetch(port(), http_request("/compute?key=plain"));
  ASSERT_EQ(r.status, 200) << r.head;
  EXPECT_EQ(compute_body_error(r.body, "plain", 1000), "");
  EXPECT_EQ(r.field("Cache-Control"), "public, max-age=2");
  // The same key and n: the same bytes (the filler depends on the position alone).
  ASSERT_EQ(server_.stop(), 0) << server_.diagnostics();
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(fetch(port(), http_request("/compute?len=1000&key=plain&ttl=2")).body, r.body);
}

TEST_F(ComputeExample, TheDelayIsHonouredForEachOfManyRequestsAtOnce) {
  ASSERT_NO_FATAL_FAILURE(start(2));
  constexpr int kClients = 50;
  std::vector<double> waits(kClients, 0);
  std::vector<bool> asked(kClients);
  std::vector<std::string> errors;
  LoadReport report = run_load(
      port(), kClients,
      [&](size_t c, LoadRequest* r) {
        if (asked[c]) return false;
        asked[c] = true;
        *r = http_request(compute_target("d" + std::to_string(c), 300, 2, 2000));
        return true;
      },
      [&](size_t c, const LoadRequest&, const HttpResponse& r, double wait_ms, int) {
        waits[c] = wait_ms;
        std::string e = r.status == 200 ? compute_body_error(r.body, "d" + std::to_string(c), 2000)
                                        : "status " + std::to_string(r.status);
        if (!e.empty()) errors.push_back(e);
      },
      30);
  EXPECT_EQ(report.responses, uint64_t{kClients});
  EXPECT_EQ(report.cuts + report.malformed + report.unfinished, 0u);
  EXPECT_TRUE(errors.empty()) << errors.front();
  for (int c = 0; c < kClients; ++c) EXPECT_GE(waits[c], 300.0) << c;
  EXPECT_EQ(computations(), uint64_t{kClients});
}

TEST_F(ComputeExample, BadParametersGet400OtherMethods405AndNeitherIsComputed) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::vector<std::string> bad = {
      "/compute",
      "/compute?ms=10",
      "/compute?key=",
      "/compute?key=" + std::string(33, 'k'),
      "/compute?key=a%20b",
      "/compute?key=a/b",
      "/compute?key=a&len=63",
      "/compute?key=a&len=1048577",
      "/compute?key=a&len=",
      "/compute?key=a&ms=30001",
      "/compute?key=a&ms=-1",
      "/compute?key=a&ttl=86401",
      "/compute?key=a&ttl=2s",
  };
  std::vector<LoadRequest> requests;
  for (const std::string& t : bad) requests.push_back(http_request(t));
  std::vector<HttpResponse> rs = fetch_in_turn(port(), requests);
  for (size_t i = 0; i < bad.size(); ++i) {
    EXPECT_EQ(rs[i].status, 400) << bad[i] << ": " << rs[i].head;
    EXPECT_NE(rs[i].body.find("usage: /compute?key=K"), std::string::npos) << rs[i].body;
  }
  HttpResponse post =
      fetch(port(), http_request("/compute?key=a", "Content-Length: 0\r\n", "POST"));
  EXPECT_EQ(post.status, 405) << post.head;
  EXPECT_EQ(post.field("Allow"), "GET, HEAD");
  // The longest key fits the smallest body.
  HttpResponse longest =
      fetch(port(), http_request(compute_target(std::string(32, 'k'), 0, 1, 64)));
  ASSERT_EQ(longest.status, 200) << longest.head;
  EXPECT_EQ(compute_body_error(longest.body, std::string(32, 'k'), 64), "");
  EXPECT_EQ(computations(), 1u);
}

TEST_F(ComputeExample, HeadGetsTheHeadOfTheGetAndTheConnectionGoesOn) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string small = compute_target("h", 0, 3, 700);
  const std::string big = compute_target("h", 50, 3, 100000);  // a streamed body, deferred
  std::vector<HttpResponse> rs =
      fetch_in_turn(port(), {http_request(small, "", "HEAD"), http_request(big, "", "HEAD"),
                             http_request(small), http_request(big)});
  for (int i : {0, 1}) {
    EXPECT_EQ(rs[i].status, 200) << rs[i].head;
    EXPECT_EQ(rs[i].body, "");
    EXPECT_EQ(rs[i].field("Cache-Control"), "public, max-age=3");
    EXPECT_EQ(rs[i].field("Content-Type"), "text/plain");
    EXPECT_TRUE(rs[i].field("ETag").has_value());
  }
  EXPECT_EQ(rs[0].field("Content-Length"), "700");
  EXPECT_EQ(rs[1].field("Content-Length"), "100000");
  EXPECT_EQ(compute_body_error(rs[2].body, "h", 700), "");
  EXPECT_EQ(compute_body_error(rs[3].body, "h", 100000), "");
  EXPECT_EQ(compute_n(rs[3].body), 4u);  // a HEAD is a computation too
  EXPECT_EQ(computations(), 4u);
}

TEST_F(ComputeExample, OtherPathsAreTheStaticFiles) {
  const std::string root = server_.path("www");
  ASSERT_EQ(::mkdir(root.c_str(), 0755), 0);
  ASSERT_NO_FATAL_FAILURE(write_file(root + "/static.txt", "a static file\n"));
  ASSERT_NO_FATAL_FAILURE(start(1, {"--root", root}));
  std::vector<HttpResponse> rs = fetch_in_turn(
      port(), {http_request("/static.txt"), http_request("/missing"), http_request("/compute/x")});
  EXPECT_EQ(rs[0].status, 200) << rs[0].head;
  EXPECT_EQ(rs[0].body, "a static file\n");
  EXPECT_EQ(rs[1].status, 404) << rs[1].head;
  EXPECT_EQ(rs[2].status, 404) << rs[2].head;  // only /compute itself computes
  EXPECT_EQ(computations(), 0u);
}

TEST_F(ComputeExample, ClientsThatLeaveBeforeTheTimerOrMidBodyDoNotHurtTheWorker) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::vector<pid_t> workers = server_.workers();
  // Rounds of requests abandoned while their timers run (each round once the worker took all
  // of them): their timers are stopped and their records reused; one firing for a gone exchange
  // would touch state that is no longer its own.
  for (uint64_t round = 1; round <= 5; ++round) {
    std::vector<int> fds;
    for (int i = 0; i < 100; ++i) {
      int fd = connect_loopback(port());
      ASSERT_GE(fd, 0);
      ASSERT_TRUE(send_all(fd, http_request(compute_target("gone", 2000, 2, 5000)).bytes));
      fds.push_back(fd);
    }
    EXPECT_TRUE(eventually([&] { return computations() == 100 * round; }, 10)) << round;
    for (int fd : fds) ::close(fd);
  }
  // A streamed megabyte left unread by a client with a small receive buffer.
  int fd = connect_loopback(port(), 4096);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, http_request(compute_target("big", 0, 2, 1 << 20)).bytes));
  std::string some = read_until(
      fd, [](const std::string& got) { return got.size() > 1000; }, 5);
  EXPECT_GT(some.size(), 1000u);
  ::close(fd);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));  // past every abandoned timer
  HttpResponse r = fetch(port(), http_request(compute_target("after", 10, 2, 3000)));
  ASSERT_EQ(r.status, 200) << r.head;
  EXPECT_EQ(compute_body_error(r.body, "after", 3000), "");
  EXPECT_EQ(compute_n(r.body), 502u);  // 500 abandoned, the megabyte, this one
  EXPECT_EQ(server_.workers(), workers) << "a worker died\n" << server_.diagnostics();
  EXPECT_EQ(computations(), 502u);
}

}  // namespace
}  // namespace zhttp::test
