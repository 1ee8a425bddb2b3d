// The shared cache in front of proxied paths (issue 18, "The shared cache in front"), with 4
// workers and a Python backend that counts what reaches it: 200 concurrent requests for one cold
// cacheable URL (max-age=60, answered after 300 ms) reach the backend exactly once; with
// --proxy-cache off every one may reach it. An uncacheable answer (no-store) does not make later
// requests for it queue behind each other: two at once are both in the backend at once (its own
// count of requests in flight, not a timing), also past the 3 s an older marker lasted.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy_fixture.hpp"

namespace zhttp::test::proxy {
namespace {

constexpr int kWorkers = 4;

class ProxyCache : public ::testing::Test {
 protected:
  void start(std::vector<std::string> extra = {}) {
    ASSERT_NO_FATAL_FAILURE(app_.start());
    std::vector<std::string> args = {"--cache-size",          "8m",      "--upstream",
                                     "app " + app_.address(), "--proxy", "/=http://app"};
    args.insert(args.end(), extra.begin(), extra.end());
    ASSERT_NO_FATAL_FAILURE(proxy_.start(args, kWorkers));
  }

  std::vector<HttpResponse> at_once(const std::string& target, size_t n) {
    return fetch_at_once(proxy_.port(), std::vector<LoadRequest>(n, http_request(target)), 30);
  }

  PythonBackend app_{"app"};
  Proxy proxy_;
};

TEST_F(ProxyCache, TwoHundredConcurrentRequestsForAColdUrlReachTheBackendOnce) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string target = "/cold?sleep_ms=300&cc=max-age=60";
  std::vector<HttpResponse> rs = at_once(target, 200);
  for (size_t i = 0; i < rs.size(); ++i) {
    ASSERT_EQ(rs[i].status, 200) << i << ": " << rs[i].head << "\n" << proxy_.diagnostics();
    ASSERT_EQ(rs[i].body, rs[0].body) << i;
  }
  EXPECT_EQ(backend_json(rs[0].body).value("target", ""), target);
  EXPECT_EQ(app_.hits(target), 1u);
  // And then hits, still without the backend.
  rs = at_once(target, 50);
  for (const HttpResponse& r : rs) EXPECT_EQ(r.status, 200);
  EXPECT_EQ(app_.hits(target), 1u);
}

TEST_F(ProxyCache, WithProxyCacheOffConcurrentRequestsAllReachTheBackend) {
  ASSERT_NO_FATAL_FAILURE(start({"--proxy-cache", "off"}));
  const std::string target = "/cold?sleep_ms=300&cc=max-age=60";
  std::vector<HttpResponse> rs = at_once(target, 200);
  for (size_t i = 0; i < rs.size(); ++i) {
    ASSERT_EQ(rs[i].status, 200) << i << ": " << rs[i].head << "\n" << proxy_.diagnostics();
    EXPECT_FALSE(rs[i].field("Cache-Status").has_value()) << rs[i].head;
  }
  EXPECT_GT(app_.hits(target), 1u);
  EXPECT_EQ(app_.hits(target), 200u) << "nothing stands between the clients and the backend";
}

TEST_F(ProxyCache, UncacheableAnswersDoNotMakeConcurrentRequestsQueue) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string target = "/private?sleep_ms=500&cc=no-store";
  // The first answer tells the cache this URL is not to be stored.
  HttpResponse first = fetch(proxy_.port(), http_request(target));
  ASSERT_EQ(first.status, 200) << first.head << "\n" << proxy_.diagnostics();
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "right after the first answer" : "3.5 s later");
    if (round == 1) std::this_thread::sleep_for(std::chrono::milliseconds(3500));
    ASSERT_NO_FATAL_FAILURE(app_.reset());
    std::vector<HttpResponse> rs = at_once(target, 2);
    for (const HttpResponse& r : rs) EXPECT_EQ(r.status, 200) << r.head;
    EXPECT_EQ(app_.hits(target), 2u);
    EXPECT_EQ(app_.max_in_flight(target), 2u)
        << "the second request waited for the first instead of going to the backend with it";
  }
}

}  // namespace
}  // namespace zhttp::test::proxy
