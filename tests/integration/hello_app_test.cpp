// The embedding example as a whole server (issue #10's acceptance): build/examples/hello with
// three workers under one master, its --greeting option (command line, config file, -t), its
// greetings counter in zhttpstat exact and never going back across a kill -9, and ten reloads
// under wrk losing nothing.
#include <gtest/gtest.h>
#include <signal.h>
#include <nlohmann/json.hpp>

#include <string>
#include <thread>
#include <vector>

#include "server_process.hpp"
#include "socket_util.hpp"

namespace zhttp::test {
namespace {

using json = nlohmann::json;
using process_detail::after;
using process_detail::Clock;

constexpr const char* kHello = ZHTTP_BUILD_DIR "/examples/hello";

// GET `path` on a fresh connection (Connection: close): the body of a 200, else "".
std::string get_body(uint16_t port, const std::string& path) {
  int fd = connect_loopback(port);
  if (fd < 0) return "";
  std::string got;
  if (send_all(fd, "GET " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")) {
    bool closed = false;
    got = read_until(
        fd, [](const std::string&) { return false; }, 5, &closed);
  }
  ::close(fd);
  if (got.rfind("HTTP/1.1 200 ", 0) != 0) return "";
  size_t end = got.find("\r\n\r\n");
  return end == std::string::npos ? "" : got.substr(end + 4);
}

class HelloApp : public ::testing::Test {
 protected:
  void start(std::vector<std::string> extra) {
    const std::string shm =
        "zhttp-hello-app-" + std::to_string(::getpid()) + "-" + std::to_string(++count_);
    std::vector<std::string> args = {"--listen",    "{address}",
                                     "--workers",   "3",
                                     "--pid-file",  server_.path("hello.pid"),
                                     "--shm-name",  shm,
                                     "--error-log", server_.path("error.log")};
    args.insert(args.end(), extra.begin(), extra.end());
    ServerOptions o = ServerOptions::example("hello", args);
    o.banner = "zhttpd: serving ";
    o.ready = ServerOptions::Ready::kNone;  // every greeting is counted: send none
    o.workers_in_loop = 3;
    o.shm_name = shm;
    o.error_log = server_.path("error.log");
    ASSERT_NO_FATAL_FAILURE(server_.start(o));
  }

  // The greetings counter of the running server, in zhttpstat.
  uint64_t greetings() const { return server_.stat_total("greetings"); }

  ServerProcess server_{"zhttp-hello-app"};
  int count_ = 0;
};

TEST_F(HelloApp, ThreeWorkersGreetAndCountExactlyAcrossAKill) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  EXPECT_EQ(server_.workers().size(), 3u);
  EXPECT_EQ(get_body(server_.port(), "/hello/world"), "Hello, world!");
  // Greetings over several connections, so over several workers.
  for (int i = 1; i < 40; ++i) ASSERT_EQ(get_body(server_.port(), "/hello/x"), "Hello, x!") << i;
  EXPECT_EQ(greetings(), 40u);
  // A worker killed: it is replaced, and what it counted stays.
  pid_t killed = server_.kill_worker(0);
  ASSERT_GT(killed, 0);
  EXPECT_TRUE(eventually(
      [&] {
        std::vector<pid_t> ws = server_.workers();
        return ws.size() == 3 && std::find(ws.begin(), ws.end(), killed) == ws.end();
      },
      5))
      << server_.diagnostics();
  EXPECT_EQ(greetings(), 40u);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(get_body(server_.port(), "/hello/y"), "Hello, y!");
  EXPECT_EQ(greetings(), 50u);
  json s = server_.stats_json();
  EXPECT_EQ(s["totals"].value("requests", uint64_t{0}), 50u);  // no request the test did not count
}

TEST_F(HelloApp, GreetingFromTheCommandLineAndTheConfigFileAndReloaded) {
  ASSERT_NO_FATAL_FAILURE(start({"--greeting", "Hi"}));
  EXPECT_EQ(get_body(server_.port(), "/hello/world"), "Hi, world!");
  ASSERT_EQ(server_.stop(), 0) << server_.diagnostics();
  const std::string conf = server_.path("hello.conf");
  write_file(conf, "greeting = \"Salut\"\n");
  ASSERT_NO_FATAL_FAILURE(start({"--config", conf}));
  EXPECT_EQ(get_body(server_.port(), "/hello/world"), "Salut, world!");
  // A reload reads the file again: the new generation greets with the new word.
  write_file(conf, "greeting = \"Hey\"\n");
  ASSERT_TRUE(server_.hup());
  EXPECT_TRUE(eventually([&] { return get_body(server_.port(), "/hello/w") == "Hey, w!"; }, 5))
      << server_.diagnostics();
  // A bad value on reload is refused, and the server goes on with the last good one.
  write_file(conf, "greeting = \"\"\n");
  ASSERT_TRUE(server_.hup());
  EXPECT_TRUE(eventually(
      [&] { return server_.error_log().find("reload refused") != std::string::npos; }, 5));
  EXPECT_EQ(get_body(server_.port(), "/hello/w"), "Hey, w!");
}

TEST(HelloAppCommandLine, TestConfigRejectsABadGreetingWithOneLineAndExitTwo) {
  ProgramResult bad = run_program({kHello, "--greeting", "", "-t"}, 10);
  ASSERT_TRUE(bad.finished);
  EXPECT_TRUE(exited_with(bad.status, 2)) << describe_status(bad.status);
  EXPECT_EQ(bad.err, "zhttpd: --greeting: a greeting of 1-64 bytes\n");
  ProgramResult good = run_program({kHello, "--greeting", "Hi", "-t"}, 10);
  EXPECT_TRUE(exited_with(good.status, 0)) << good.err;
  ProgramResult help = run_program({kHello, "--help"}, 10);
  EXPECT_NE(help.out.find("--greeting"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("--workers"), std::string::npos) << help.out;  // zhttpd's too
}

TEST_F(HelloApp, TenReloadsUnderWrkLoseNothingAndTheCountNeverGoesBack) {
  ASSERT_EQ(::access("/usr/bin/wrk", X_OK), 0) << "wrk is missing (Debian package wrk)";
  ASSERT_NO_FATAL_FAILURE(start({}));
  Spawned wrk =
      spawn_program({"/usr/bin/wrk", "-t2", "-c40", "-d10s",
                     "http://127.0.0.1:" + std::to_string(server_.port()) + "/hello/world"});
  ASSERT_GT(wrk.pid, 0);
  const auto began = Clock::now();
  uint64_t last = 0;
  for (int i = 1; i <= 10; ++i) {
    std::this_thread::sleep_until(after(began, 0.8 * i));
    ASSERT_TRUE(server_.hup());
    uint64_t now = greetings();
    EXPECT_GE(now, last) << "the greetings total went back at reload " << i;
    last = now;
  }
  ProgramResult r = collect(wrk, after(began, 30));
  ASSERT_TRUE(r.finished) << "wrk did not finish";
  std::printf("%s", r.out.c_str());
  EXPECT_EQ(r.out.find("Socket errors"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Non-2xx"), std::string::npos) << r.out;
  size_t at = r.out.find(" requests in ");
  ASSERT_NE(at, std::string::npos) << r.out;
  uint64_t done = std::stoull(r.out.substr(r.out.rfind('\n', at) + 1));
  // wrk may close with responses in flight it did not count: the server counted at least those.
  EXPECT_GE(greetings(), done);
  EXPECT_LE(greetings(), done + 40);
}

}  // namespace
}  // namespace zhttp::test
