// kill -9 of a worker under load through the proxy (issue 18, "kill -9 of workers under load"):
// the master respawns it, and the requests keep succeeding. The connections the killed worker
// held are cut (the load client sends their request again on a new connection, as clients do);
// no request gets an error answer, and none is lost.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "proxy_fixture.hpp"

namespace zhttp::test::proxy {
namespace {

constexpr int kWorkers = 2;
constexpr size_t kConnections = 8;

TEST(ProxyWorkers, AWorkerKilledUnderLoadIsRespawnedAndRequestsKeepSucceeding) {
  PythonBackend app("app");
  ASSERT_NO_FATAL_FAILURE(app.start());
  Proxy proxy;
  ASSERT_NO_FATAL_FAILURE(
      proxy.start({"--upstream", "app " + app.address(), "--proxy", "/=http://app"}, kWorkers));
  const std::vector<pid_t> before = proxy.process().workers();
  ASSERT_EQ(before.size(), static_cast<size_t>(kWorkers));

  constexpr uint64_t kRequests = 1500, kKillAt = 300;
  uint64_t given = 0;
  pid_t victim = -1;
  std::map<int, uint64_t> statuses;
  std::string first_error;
  LoadReport report = run_load(
      proxy.port(), kConnections,
      [&](size_t, LoadRequest* r) {
        if (given == kKillAt && victim < 0) victim = proxy.process().kill_worker(0);
        if (given == kRequests) return false;
        *r = http_request("/w?n=" + std::to_string(given++));
        return true;
      },
      [&](size_t, const LoadRequest& q, const HttpResponse& r, double, int) {
        ++statuses[r.status];
        // Each answer is the backend's to this very request.
        const std::string target = q.bytes.substr(4, q.bytes.find(' ', 4) - 4);
        if ((r.status != 200 || backend_json(r.body).value("target", "") != target) &&
            first_error.empty()) {
          first_error = target + ": " + r.head + "\r\n\r\n" + r.body;
        }
      },
      60);
  ASSERT_GT(victim, 0) << "no worker to kill";
  EXPECT_EQ(report.responses, kRequests);
  EXPECT_EQ(report.unfinished, 0u);
  EXPECT_EQ(report.malformed, 0u);
  EXPECT_LE(report.cuts, kConnections) << "only the killed worker's connections are cut";
  EXPECT_EQ(statuses[200], kRequests) << first_error << "\n" << proxy.diagnostics();
  EXPECT_TRUE(first_error.empty()) << first_error;

  // The replacement is there, and serves proxied requests like the others.
  std::vector<pid_t> now;
  EXPECT_TRUE(eventually(
      [&] {
        now = proxy.process().workers();
        return now.size() == static_cast<size_t>(kWorkers) &&
               std::find(now.begin(), now.end(), victim) == now.end() &&
               std::all_of(now.begin(), now.end(), [](pid_t w) { return !process_gone(w); });
      },
      10))
      << proxy.error_log();
  EXPECT_NE(proxy.error_log().find("(pid " + std::to_string(victim) + ") killed by signal 9"),
            std::string::npos)
      << proxy.error_log();
  for (int i = 0; i < 40; ++i) {
    Answer a = exchange(proxy.port(), get_request("/after?n=" + std::to_string(i)));
    EXPECT_TRUE(a.complete && a.status == 200) << a.raw;
  }
}

}  // namespace
}  // namespace zhttp::test::proxy
