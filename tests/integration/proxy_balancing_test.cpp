// Balancing and passive health over real processes (issue 18, "Balancing and health" and the
// acceptance): zhttpd with 2 workers in front of two Python http.server backends shares 2,000
// requests about evenly with no error; a backend killed (SIGKILL) under load costs no client an
// error for its GETs, gets at most max_fails x workers failed attempts, and once started again on
// its port gets traffic again within fail_timeout. And the retries behind that, made exact with
// a scripted server: a GET on a pooled connection to a server that died goes to the other server;
// a POST on a pooled connection closed unanswered is never sent twice.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "proxy_fixture.hpp"

namespace zhttp::test::proxy {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kWorkers = 2;
constexpr int kFailTimeout = 2;  // seconds (--upstream-options fail_timeout=), short for the test

// The answers of a load run by status and by the backend that gave them (X-Backend).
struct Tally {
  std::map<int, uint64_t> statuses;
  std::map<std::string, uint64_t> backends;
  std::string first_error;

  void add(const HttpResponse& r) {
    ++statuses[r.status];
    ++backends[r.field("X-Backend").value_or("(none)")];
    if (r.status != 200 && first_error.empty()) first_error = r.head + "\r\n\r\n" + r.body;
  }
  uint64_t not_ok() const {
    uint64_t n = 0;
    for (auto [status, count] : statuses) n += status == 200 ? 0 : count;
    return n;
  }
};

std::string describe(const LoadReport& report, const Tally& tally) {
  std::string s = "responses " + std::to_string(report.responses) + ", cuts " +
                  std::to_string(report.cuts) + ", malformed " + std::to_string(report.malformed) +
                  ", unfinished " + std::to_string(report.unfinished) + "; statuses:";
  for (auto [status, n] : tally.statuses) {
    s += " " + std::to_string(status) + "=" + std::to_string(n);
  }
  s += "; backends:";
  for (const auto& [name, n] : tally.backends) s += " " + name + "=" + std::to_string(n);
  if (!tally.first_error.empty()) s += "\nfirst error answer:\n" + tally.first_error;
  return s;
}

// The error-log lines that say a connect to `address` failed.
size_t cannot_connect_lines(const std::string& log, const std::string& address) {
  size_t n = 0;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find("upstream " + address + " ") != std::string::npos &&
        line.find("cannot connect") != std::string::npos) {
      ++n;
    }
  }
  return n;
}

class ProxyBalancing : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(a_.start());
    ASSERT_NO_FATAL_FAILURE(b_.start());
    ASSERT_NO_FATAL_FAILURE(proxy_.start(
        {
            "--upstream",
            "app " + a_.address(),
            "--upstream",
            "app " + b_.address(),
            "--upstream-options",
            "app fail_timeout=" + std::to_string(kFailTimeout),
            "--proxy",
            "/=http://app",
        },
        kWorkers));
  }

  PythonBackend a_{"a"};
  PythonBackend b_{"b"};
  Proxy proxy_;
};

TEST_F(ProxyBalancing, TwoThousandRequestsAreSharedAboutEvenlyWithNoError) {
  constexpr uint64_t kRequests = 2000;
  uint64_t given = 0;
  Tally tally;
  LoadReport report = run_load(
      proxy_.port(), 10,
      [&](size_t, LoadRequest* r) {
        if (given == kRequests) return false;
        *r = http_request("/share?n=" + std::to_string(given++));
        return true;
      },
      [&](size_t, const LoadRequest&, const HttpResponse& r, double, int) { tally.add(r); }, 60);
  const std::string what = describe(report, tally);
  ASSERT_EQ(report.responses, kRequests) << what << "\n" << proxy_.diagnostics();
  EXPECT_EQ(report.cuts, 0u) << what;
  EXPECT_EQ(report.malformed, 0u) << what;
  EXPECT_EQ(tally.not_ok(), 0u) << what << "\n" << proxy_.diagnostics();
  for (const char* name : {"a", "b"}) {
    EXPECT_GE(tally.backends[name], kRequests * 40 / 100) << name << ": " << what;
    EXPECT_LE(tally.backends[name], kRequests * 60 / 100) << name << ": " << what;
  }
  // The backends' own counts say the same.
  EXPECT_EQ(a_.total(), tally.backends["a"]);
  EXPECT_EQ(b_.total(), tally.backends["b"]);
}

// The acceptance's "kill one backend under load". Needs the shared balancer's passive health: a
// balancer that never takes a server out sends about half of all requests to the dead one first
// (each a "cannot connect", then retried on the other).
TEST_F(ProxyBalancing, KilledBackendCostsNoClientAnErrorAndComesBackWithinFailTimeout) {
  // Load on 8 keep-alive connections; a is killed once 300 requests were given out, and no new
  // request is given 1.5 s after that (less than fail_timeout: within it, a dead server is
  // tried at most max_fails times by each worker).
  constexpr uint64_t kBeforeKill = 300;
  uint64_t given = 0;
  Clock::time_point killed_at{};
  bool killed = false;
  Tally tally;
  LoadReport report = run_load(
      proxy_.port(), 8,
      [&](size_t, LoadRequest* r) {
        if (given == kBeforeKill && !killed) {
          a_.kill();
          killed = true;
          killed_at = Clock::now();
        }
        if (killed && Clock::now() - killed_at > std::chrono::milliseconds(1500)) return false;
        *r = http_request("/under-load?n=" + std::to_string(given++));
        return true;
      },
      [&](size_t, const LoadRequest&, const HttpResponse& r, double, int) { tally.add(r); }, 60);
  const std::string what = describe(report, tally);
  ASSERT_TRUE(killed) << what;
  EXPECT_GT(given, kBeforeKill + 100) << "too few requests after the kill: " << what;
  EXPECT_EQ(report.responses, given) << what;
  EXPECT_EQ(report.unfinished, 0u) << what;
  EXPECT_EQ(report.malformed, 0u) << what;
  EXPECT_EQ(report.cuts, 0u) << "GETs must not be cut: " << what;
  EXPECT_EQ(tally.not_ok(), 0u) << "no client may see an error: " << what << "\n"
                                << proxy_.diagnostics();
  const size_t failed = cannot_connect_lines(proxy_.error_log(), a_.address());
  EXPECT_GE(failed, 1u) << "the dead server was never tried?\n" << proxy_.diagnostics();
  EXPECT_LE(failed, 1u * kWorkers)
      << "max_fails (1) x workers (" << kWorkers << ") failed attempts at most; " << what << "\n"
      << proxy_.diagnostics();

  // Back on its port: it gets traffic again within fail_timeout (one request every 20 ms).
  ASSERT_NO_FATAL_FAILURE(a_.restart());
  Client c(proxy_.port());
  uint64_t sent = 0, ok = 0;
  bool back = eventually(
      [&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (!c.send(get_request("/after-restart?n=" + std::to_string(sent++)))) return false;
        Answer r = c.read(false, 10);
        if (r.complete && r.status == 200) ++ok;
        return r.field("X-Backend") == "a";
      },
      kFailTimeout + 1.0);
  EXPECT_TRUE(back) << "the restarted backend got no request within fail_timeout (" << kFailTimeout
                    << " s) and 1 s\n"
                    << proxy_.diagnostics();
  EXPECT_EQ(ok, sent) << "every request after the restart is answered";
  EXPECT_GT(a_.total(), 0u);
}

// What the kill above does to the requests in flight on pooled connections, made exact with a
// scripted server x: it answers one request on a kept-alive connection, stops listening (new
// connects are refused), and closes that connection unanswered when the next request comes on
// it. The GET on it goes on to the other server at once (x may have died: none of its pooled
// connections' requests goes back to it).
TEST(ProxyRetry, AGetOnAPooledConnectionToAServerThatDiedGoesToTheOtherServer) {
  std::atomic<int> unanswered{0};
  ScriptedBackend x([&](int& fd, const std::string&, ScriptedBackend&) {
    send_all(fd, "HTTP/1.1 200 OK\r\nX-Backend: x\r\nContent-Length: 2\r\n\r\nok");
    std::string next = read_until(
        fd, [](const std::string& in) { return in.find("\r\n\r\n") != std::string::npos; }, 10);
    if (next.find("\r\n\r\n") != std::string::npos) ++unanswered;  // closed unanswered
  });
  PythonBackend y("y");
  ASSERT_NO_FATAL_FAILURE(y.start());
  Proxy proxy;
  ASSERT_NO_FATAL_FAILURE(proxy.start({"--upstream", "app " + x.address(), "--upstream",
                                       "app " + y.address(), "--proxy", "/=http://app"}));
  Client c(proxy.port());
  std::string seen;
  for (int i = 0; i < 4 && seen.find('x') == std::string::npos; ++i) {
    ASSERT_TRUE(c.send(get_request("/before?n=" + std::to_string(i))));
    Answer a = c.read();
    ASSERT_TRUE(a.complete && a.status == 200) << a.raw << "\n" << proxy.diagnostics();
    seen += a.field("X-Backend").value_or("?");
  }
  ASSERT_NE(seen.find('x'), std::string::npos) << "x got no request: " << seen;
  x.stop_listening();
  for (int i = 0; i < 4 && unanswered == 0; ++i) {
    ASSERT_TRUE(c.send(get_request("/after?n=" + std::to_string(i))));
    Answer a = c.read();
    EXPECT_TRUE(a.complete) << a.raw;
    EXPECT_EQ(a.status, 200) << a.raw << "\n" << proxy.error_log();
    EXPECT_EQ(a.field("X-Backend"), "y") << a.head;
  }
  EXPECT_EQ(unanswered.load(), 1) << "the pooled connection to x was never reused";
  // The request left x at once for y: x was not asked again on a new connection.
  EXPECT_EQ(proxy.error_log().find("upstream " + x.address() + " (group \"app\"): cannot connect"),
            std::string::npos)
      << proxy.error_log();
}

// The other side of the idle-close race: a POST is never sent twice. Its pooled connection is
// closed unanswered by the server: a client connection that carried a request before is closed
// without an answer (a client sends it again), a new one gets 502; the server saw it once.
TEST(ProxyRetry, APostOnAPooledConnectionClosedUnansweredIsNeverRepeated) {
  std::atomic<int> posts{0};
  ScriptedBackend x([&](int& fd, const std::string& head, ScriptedBackend&) {
    std::string request = head;
    for (int i = 0; i < 2; ++i) {
      if (request.rfind("POST ", 0) == 0) {
        ++posts;
        return;  // closed unanswered
      }
      send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      request = read_until(
          fd, [](const std::string& in) { return in.find("\r\n\r\n") != std::string::npos; }, 10);
    }
  });
  Proxy proxy;
  ASSERT_NO_FATAL_FAILURE(proxy.start({"--upstream", "app " + x.address(), "--upstream-options",
                                       "app fail_timeout=0", "--proxy", "/=http://app"}));
  const std::string post = "POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc";
  {
    Client c(proxy.port());
    ASSERT_TRUE(c.send(get_request("/first")));
    Answer first = c.read();
    ASSERT_TRUE(first.complete && first.status == 200) << first.raw << proxy.diagnostics();
    ASSERT_TRUE(c.send(post));  // on the upstream connection the GET left in the pool
    Answer a = c.read();
    EXPECT_FALSE(a.complete) << "answered: " << a.raw;
    EXPECT_TRUE(a.closed) << "the client connection must be closed unanswered";
    EXPECT_TRUE(a.raw.empty()) << a.raw;
  }
  EXPECT_EQ(posts.load(), 1);
  {
    Client c(proxy.port());
    ASSERT_TRUE(c.send(get_request("/second")));
    Answer second = c.read();
    ASSERT_TRUE(second.complete && second.status == 200) << second.raw;
  }
  Answer fresh = exchange(proxy.port(), post);  // a new client connection: 502
  EXPECT_TRUE(fresh.complete) << fresh.raw;
  EXPECT_EQ(fresh.status, 502) << fresh.raw;
  EXPECT_EQ(posts.load(), 2) << "a POST was sent twice";
}

}  // namespace
}  // namespace zhttp::test::proxy
