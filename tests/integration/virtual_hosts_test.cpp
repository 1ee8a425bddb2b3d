// Virtual hosts through the real zhttpd binary and curl: two --vhost roots and --root, picked by
// the Host field (case and port ignored, wildcards) or an absolute-form target's authority; the
// access log (vhost_combined, the default with --vhost) records each host; bad --vhost values
// are refused at start naming the option.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server_process.hpp"

namespace zhttp::test {
namespace {

const std::string kZhttpd = ZHTTP_BUILD_DIR "/zhttpd";

class VirtualHostSite : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(server_.dir().empty());
    for (const char* site : {"default", "a", "b"}) {
      const std::string dir = server_.path(site);
      ASSERT_TRUE(std::filesystem::create_directories(dir));
      ASSERT_NO_FATAL_FAILURE(write_file(dir + "/index.html", std::string(site) + "\n"));
    }
  }

  void start(std::vector<std::string> extra) {
    std::vector<std::string> args = {
        "--listen",  "{address}", "--root",       root("default"),
        "--workers", "1",         "--access-log", server_.path("access.log")};
    args.insert(args.end(), extra.begin(), extra.end());
    ServerOptions o = ServerOptions::zhttpd(std::move(args));
    o.probe_path = "/index.html";
    o.access_log = server_.path("access.log");
    o.sigterm_death_is_clean = true;
    ASSERT_NO_FATAL_FAILURE(server_.start(std::move(o)));
  }

  std::string root(const std::string& site) { return server_.path(site); }

  // curl's body for `path` with `options` before it.
  std::string curl(const std::string& path, std::vector<std::string> options = {}) {
    std::vector<std::string> args = {"/usr/bin/curl", "--noproxy", "*", "--max-time", "10", "-s"};
    args.insert(args.end(), options.begin(), options.end());
    args.push_back("http://127.0.0.1:" + std::to_string(server_.port()) + path);
    ProgramResult r = run_program(args, 15);
    EXPECT_TRUE(r.finished && exited_with(r.status, 0)) << path << ": " << r.err;
    return r.out;
  }

  ServerProcess server_{"zhttpd-vhost-test"};
};

TEST_F(VirtualHostSite, EachHostGetsItsOwnRootAndTheLogSaysWhich) {
  ASSERT_NO_FATAL_FAILURE(
      start({"--vhost", "a.test=" + root("a"), "--vhost", "*.b.test=" + root("b")}));
  EXPECT_EQ(curl("/", {"-H", "Host: a.test"}), "a\n");
  EXPECT_EQ(curl("/index.html", {"-H", "Host: A.TEST:8080"}), "a\n");
  EXPECT_EQ(curl("/", {"-H", "Host: www.b.test."}), "b\n");
  EXPECT_EQ(curl("/", {"-H", "Host: b.test"}), "default\n");  // a wildcard is what is below
  EXPECT_EQ(curl("/", {"-H", "Host: other"}), "default\n");
  // The authority of an absolute-form target wins over Host.
  EXPECT_EQ(curl("/", {"--request-target", "http://img.b.test/index.html", "-H", "Host: a.test"}),
            "b\n");
  // HTTP/1.0 without Host.
  EXPECT_EQ(curl("/", {"--http1.0", "-H", "Host:"}), "default\n");

  // Each request's line starts with its host (the worker writes its log out once a second).
  const std::vector<std::string> hosts = {"a.test", "a.test",     "www.b.test", "b.test",
                                          "other",  "img.b.test", "-"};
  auto logged = [&] {
    const std::string log = "\n" + server_.access_log();
    size_t at = 0;
    for (const std::string& host : hosts) {  // in order: one request at a time
      at = log.find("\n" + host + " 127.0.0.1 - - [", at);
      if (at == std::string::npos) return false;
      ++at;
    }
    return true;
  };
  EXPECT_TRUE(eventually(logged, 10)) << server_.access_log();
  EXPECT_NE(server_.access_log().find("\"GET http://img.b.test/index.html HTTP/1.1\" 200 2 "),
            std::string::npos)
      << server_.access_log();
}

TEST_F(VirtualHostSite, ExtendedFormatEndsWithHostAndContentEncoding) {
  ASSERT_NO_FATAL_FAILURE(start({"--vhost", "a.test=" + root("a"), "--access-log-format",
                                 "extended", "--add-header", "*=Content-Encoding: identity"}));
  EXPECT_EQ(curl("/", {"-H", "Host: A.test:80"}), "a\n");
  auto logged = [&] {
    return server_.access_log().find("\"GET / HTTP/1.1\" 200 2 \"-\" \"curl/") !=
               std::string::npos &&
           server_.access_log().find(" \"a.test\" \"identity\" \"-\" - -\n") != std::string::npos;
  };
  EXPECT_TRUE(eventually(logged, 10)) << server_.access_log();
}

TEST_F(VirtualHostSite, BadValuesAreRefusedAtStartNamingTheOption) {
  struct Bad {
    std::vector<std::string> args;
    std::string message;
  };
  const Bad cases[] = {
      {{"--vhost", "a.test"}, "zhttpd: --vhost: value a.test is not NAME=DIR\n"},
      {{"--vhost", "a b=/tmp"},
       "zhttpd: --vhost: \"a b\" is not a host name: a byte that is not a letter, digit, '-' or "
       "'.'\n"},
      {{"--vhost", "a.test=/nonexistent"},
       "zhttpd: --vhost: directory does not exist: /nonexistent\n"},
      {{"--vhost", "a.test=/tmp", "--vhost", "A.test=/tmp"},
       "zhttpd: --vhost: a.test is given twice\n"},
      {{"--access-log-format", "common"},
       "zhttpd: --access-log-format: value common is not one of combined, vhost_combined, "
       "extended\n"},
  };
  for (const Bad& bad : cases) {
    std::vector<std::string> args = {kZhttpd, "--root", root("default"), "-t"};
    args.insert(args.end(), bad.args.begin(), bad.args.end());
    ProgramResult r = run_program(args, 10);
    ASSERT_TRUE(r.finished);
    EXPECT_TRUE(exited_with(r.status, 2)) << describe_status(r.status) << " " << r.err;
    EXPECT_EQ(r.err, bad.message);
  }
  // And good ones pass the check (which opens every root).
  ProgramResult ok = run_program({kZhttpd, "--root", root("default"), "-t", "--vhost",
                                  "a.test=" + root("a"), "--vhost", "*.b.test=" + root("b")},
                                 10);
  ASSERT_TRUE(ok.finished);
  EXPECT_TRUE(exited_with(ok.status, 0)) << describe_status(ok.status) << " " << ok.err;
}

}  // namespace
}  // namespace zhttp::test
