// The proxy's options as an operator meets them (issue 18, "Interface"): -t with a bad
// --upstream, --upstream-options, --proxy or timeout prints one line naming the option and exits
// 2; a config file holds the same options; a reload (SIGHUP) that sends the routes to another
// backend loses no request under load (wrk) and the new route serves once it is done; a reload
// with a broken proxy option is refused and the old routes go on.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "proxy_fixture.hpp"

namespace zhttp::test::proxy {
namespace {

constexpr const char* kZhttpd = ZHTTP_BUILD_DIR "/zhttpd";

TEST(ProxyConfig, TestModeNamesTheBadOptionInOneLineAndExits2) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--upstream", "app nohost"}, "--upstream"},
      {{"--upstream", "app 127.0.0.1:0"}, "--upstream"},
      {{"--upstream", "app 127.0.0.1:80 weight=0"}, "--upstream"},
      {{"--upstream", "app 127.0.0.1:80 colour=blue"}, "--upstream"},
      {{"--upstream", "app no-such-host.invalid:80"}, "--upstream"},
      {{"--upstream", "app 127.0.0.1:80", "--upstream-options", "app max_fails=lots"},
       "--upstream-options"},
      {{"--upstream", "app 127.0.0.1:80", "--upstream-options", "app balance=fastest"},
       "--upstream-options"},
      {{"--upstream-options", "nogroup max_fails=1"}, "--upstream-options"},
      {{"--proxy", "/x=ftp://a"}, "--proxy"},
      {{"--proxy", "x=http://127.0.0.1:1"}, "--proxy"},
      {{"--proxy", "/x=http://nogroup"}, "--proxy"},
      {{"--proxy", "/x"}, "--proxy"},
      {{"--proxy-read-timeout", "-1"}, "--proxy-read-timeout"},
      {{"--proxy-connect-timeout", "soon"}, "--proxy-connect-timeout"},
      {{"--proxy-tunnel-timeout", "0"}, "--proxy-tunnel-timeout"},
      {{"--proxy-cache", "maybe"}, "--proxy-cache"},
  };
  for (const auto& [args, option] : cases) {
    std::vector<std::string> argv = {kZhttpd, "-t"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string shown;
    for (const std::string& a : args) shown += " '" + a + "'";
    SCOPED_TRACE("zhttpd -t" + shown);
    ProgramResult r = run_program(argv, 20);
    ASSERT_TRUE(r.finished);
    EXPECT_TRUE(exited_with(r.status, 2)) << describe_status(r.status) << "\n" << r.err;
    EXPECT_EQ(count_of(r.err, "\n"), 1u) << "one line:\n" << r.err;
    EXPECT_NE(r.err.find(option), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("is ok"), std::string::npos) << r.out;
  }
  // And a good one.
  ProgramResult ok =
      run_program({kZhttpd, "-t", "--upstream", "app 127.0.0.1:80", "--upstream",
                   "app [::1]:81 weight=3 backup", "--upstream-options",
                   "app balance=least_conn max_fails=2 fail_timeout=5", "--proxy",
                   "/api/=http://app/", "--proxy", "api.example.com/=http://127.0.0.1:82"});
  ASSERT_TRUE(ok.finished);
  EXPECT_TRUE(exited_with(ok.status, 0)) << describe_status(ok.status) << "\n" << ok.err;
  EXPECT_NE(ok.out.find("the configuration is ok"), std::string::npos) << ok.out;
}

// A config file with the proxy options, as "key = value" lines.
std::string proxy_file(const std::vector<std::string>& routes, const std::string& extra = "") {
  std::string s = "proxy = [";
  for (size_t i = 0; i < routes.size(); ++i) s += (i ? ", \"" : "\"") + routes[i] + "\"";
  return s + "]\n" + extra;
}

TEST(ProxyConfig, AConfigFileHoldsTheProxyOptions) {
  PythonBackend a("a");
  ASSERT_NO_FATAL_FAILURE(a.start());
  Proxy proxy;
  const std::string file = proxy.path("zhttpd.conf");
  ASSERT_NO_FATAL_FAILURE(
      write_file(file, proxy_file({"/api/=http://app/", "/direct/=http://" + a.address()},
                                  "upstream = [\"app " + a.address() +
                                      "\"]\n"
                                      "upstream-options = [\"app max_fails=2 fail_timeout=3\"]\n"
                                      "proxy-read-timeout = 5\n"
                                      "proxy-tunnel-timeout = 30\n"
                                      "proxy-cache = \"off\"\n")));
  ProgramResult check = run_program({kZhttpd, "-t", "--config", file});
  ASSERT_TRUE(check.finished);
  EXPECT_TRUE(exited_with(check.status, 0)) << describe_status(check.status) << "\n" << check.err;

  ASSERT_NO_FATAL_FAILURE(proxy.start({"--config", file}));
  Answer api = exchange(proxy.port(), get_request("/api/users?x=1"));
  ASSERT_TRUE(api.complete) << api.raw << "\n" << proxy.diagnostics();
  EXPECT_EQ(api.status, 200);
  EXPECT_EQ(backend_json(api.body).value("target", ""), "/users?x=1");
  Answer direct = exchange(proxy.port(), get_request("/direct/y"));
  ASSERT_TRUE(direct.complete) << direct.raw;
  EXPECT_EQ(backend_json(direct.body).value("target", ""), "/direct/y");
  EXPECT_FALSE(direct.field("Cache-Status").has_value()) << "proxy-cache = off: " << direct.head;
}

class ProxyReload : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(a_.start());
    ASSERT_NO_FATAL_FAILURE(b_.start());
    file_ = proxy_.path("zhttpd.conf");
    ASSERT_NO_FATAL_FAILURE(write_file(file_, proxy_file({"/=http://" + a_.address()})));
    ASSERT_NO_FATAL_FAILURE(proxy_.start({"--config", file_, "--drain-timeout", "5"}, 2));
  }

  bool reloads_seen(size_t n, double seconds) {
    return eventually([&] { return count_of(proxy_.error_log(), "reloaded: generation") == n; },
                      seconds);
  }

  // Which backend a request on a new connection reaches.
  std::string backend_now() {
    Answer r = exchange(proxy_.port(), get_request("/which"));
    return r.complete && r.status == 200 ? r.field("X-Backend").value_or("?")
                                         : "status " + std::to_string(r.status);
  }

  PythonBackend a_{"a"};
  PythonBackend b_{"b"};
  Proxy proxy_;
  std::string file_;
};

TEST_F(ProxyReload, ReloadToAnotherBackendUnderLoadLosesNoRequest) {
  ASSERT_EQ(::access(kWrk, X_OK), 0) << kWrk << " is missing (Debian package wrk)";
  ASSERT_EQ(backend_now(), "a");
  // wrk for 6 s on 10 keep-alive connections; the routes move to b 2 s in.
  Spawned wrk = spawn_program({kWrk, "-t2", "-c10", "-d6s", "--timeout", "5s",
                               "http://127.0.0.1:" + std::to_string(proxy_.port()) + "/load"});
  ASSERT_GT(wrk.pid, 0);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  // (No fatal failure before wrk is collected: it is reaped below whatever happens.)
  EXPECT_NO_FATAL_FAILURE(write_file(file_, proxy_file({"/=http://" + b_.address()})));
  EXPECT_TRUE(proxy_.process().hup());
  const bool reloaded = reloads_seen(1, 10);
  ProgramResult run = collect(wrk, std::chrono::steady_clock::now() + std::chrono::seconds(30));
  std::istringstream lines(run.out + run.err);
  for (std::string line; std::getline(lines, line);) {
    std::printf("[ wrk          ] %s\n", line.c_str());
  }
  ASSERT_TRUE(reloaded) << proxy_.error_log();
  ASSERT_TRUE(run.finished) << "wrk did not finish";
  EXPECT_TRUE(exited_with(run.status, 0)) << describe_status(run.status) << "\n" << run.err;
  EXPECT_EQ(run.out.find("Socket errors:"), std::string::npos) << run.out << proxy_.error_log();
  EXPECT_EQ(run.out.find("Non-2xx or 3xx responses:"), std::string::npos)
      << run.out << proxy_.error_log();
  EXPECT_NE(run.out.find(" requests in "), std::string::npos) << run.out;
  // Both backends had wrk's requests, and the new route serves now.
  EXPECT_GT(a_.hits("/load"), 0u);
  EXPECT_GT(b_.hits("/load"), 0u) << "no request of wrk reached the new route";
  for (int i = 0; i < 20; ++i) EXPECT_EQ(backend_now(), "b") << i;
}

TEST_F(ProxyReload, ABrokenProxyOptionOnReloadIsRefusedAndTheOldRoutesGoOn) {
  ASSERT_NO_FATAL_FAILURE(write_file(file_, proxy_file({"/=http://nogroup"})));
  ASSERT_TRUE(proxy_.process().hup());
  EXPECT_TRUE(eventually([&] { return count_of(proxy_.error_log(), "reload refused") == 1; }, 10))
      << proxy_.error_log();
  EXPECT_NE(proxy_.error_log().find("--proxy"), std::string::npos) << proxy_.error_log();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(backend_now(), "a");
  // Fixed: taken.
  ASSERT_NO_FATAL_FAILURE(write_file(file_, proxy_file({"/=http://" + b_.address()})));
  ASSERT_TRUE(proxy_.process().hup());
  ASSERT_TRUE(reloads_seen(1, 10)) << proxy_.error_log();
  EXPECT_TRUE(eventually([&] { return backend_now() == "b"; }, 10)) << proxy_.error_log();
}

}  // namespace
}  // namespace zhttp::test::proxy
