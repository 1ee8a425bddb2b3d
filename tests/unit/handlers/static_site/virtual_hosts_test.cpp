// Virtual hosts: the request's host (http::request_host), the --vhost NAME=DIR syntax, the
// matcher (exact names, then the longest wildcard), and VirtualHosts through a real
// conn::Connection (no sockets) serving each host its own root.
#include "handlers/static_site/virtual_hosts.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "http/request_host.hpp"
#include "unit/support/connection_harness.hpp"

namespace zhttp::handlers::static_site {
namespace {

namespace fs = std::filesystem;

TEST(RequestHost, HostNameDropsUserinfoPortAndTrailingDot) {
  EXPECT_EQ(http::host_name("example.com"), "example.com");
  EXPECT_EQ(http::host_name("Example.COM:8080"), "Example.COM");
  EXPECT_EQ(http::host_name("example.com.:80"), "example.com");
  EXPECT_EQ(http::host_name("example.com."), "example.com");
  EXPECT_EQ(http::host_name("user:pw@example.com:81"), "example.com");
  EXPECT_EQ(http::host_name("[::1]:8080"), "[::1]");
  EXPECT_EQ(http::host_name("[2001:db8::1]"), "[2001:db8::1]");
  EXPECT_EQ(http::host_name("127.0.0.1:80"), "127.0.0.1");
  EXPECT_EQ(http::host_name(""), "");
  EXPECT_EQ(http::host_name(":80"), "");
}

TEST(RequestHost, AbsoluteFormAuthorityWinsOverHost) {
  using http::request_host;
  EXPECT_EQ(request_host(TargetForm::kOrigin, "/x", "a.test:80"), "a.test");
  EXPECT_EQ(request_host(TargetForm::kOrigin, "/x", ""), "");
  EXPECT_EQ(request_host(TargetForm::kAbsolute, "http://B.test:8080/x?q", "other"), "B.test");
  EXPECT_EQ(request_host(TargetForm::kAbsolute, "http://b.test", "other"), "b.test");
  EXPECT_EQ(request_host(TargetForm::kAbsolute, "http://b.test?q", "other"), "b.test");
  EXPECT_EQ(request_host(TargetForm::kAbsolute, "http://u@[::1]:1/", "other"), "[::1]");
  EXPECT_EQ(request_host(TargetForm::kAbsolute, "urn:x", "other"), "other");
  EXPECT_EQ(request_host(TargetForm::kAuthority, "c.test:443", "other"), "c.test");
}

TEST(VirtualHostSyntax, NameAndDirectory) {
  VirtualHost h;
  std::string error;
  ASSERT_TRUE(parse_virtual_host("Example.COM=/srv/a=b", &h, &error)) << error;
  EXPECT_EQ(h.name, "example.com");
  EXPECT_EQ(h.root, "/srv/a=b");
  ASSERT_TRUE(parse_virtual_host("*.b-2.test=/srv/b", &h, &error)) << error;
  EXPECT_EQ(h.name, "*.b-2.test");
  ASSERT_TRUE(parse_virtual_host("localhost=.", &h, &error)) << error;
  EXPECT_EQ(h.name, "localhost");
}

TEST(VirtualHostSyntax, RefusesWhatIsNoHostName) {
  const char* cases[][2] = {
      {"example.com", "is not NAME=DIR"},
      {"=/srv", "is not a host name: the name is empty"},
      {"a.test=", "names no directory"},
      {"a..test=/srv", "an empty label"},
      {".a.test=/srv", "an empty label"},
      {"a.test.=/srv", "an empty label"},
      {"*=/srv", "not a letter, digit"},
      {"*.=/srv", "the name is empty"},
      {"a.*.test=/srv", "not a letter, digit"},
      {"*a.test=/srv", "not a letter, digit"},
      {"a_b.test=/srv", "not a letter, digit"},
      {"a.test:80=/srv", "not a letter, digit"},
      {"-a.test=/srv", "starting or ending with '-'"},
      {"a-.test=/srv", "starting or ending with '-'"},
  };
  for (const auto& c : cases) {
    VirtualHost h;
    std::string error;
    EXPECT_FALSE(parse_virtual_host(c[0], &h, &error)) << c[0];
    EXPECT_NE(error.find(c[1]), std::string::npos) << c[0] << ": " << error;
  }
  VirtualHost h;
  std::string error;
  EXPECT_FALSE(parse_virtual_host(std::string(64, 'a') + ".test=/srv", &h, &error));
  EXPECT_NE(error.find("longer than 63"), std::string::npos) << error;
  std::string long_name;
  for (int i = 0; i < 64; ++i) long_name += "abc.";
  EXPECT_FALSE(parse_virtual_host(long_name + "test=/srv", &h, &error));
  EXPECT_NE(error.find("longer than 253"), std::string::npos) << error;
}

TEST(HostMatcher, ExactFirstThenTheLongestWildcard) {
  const HostMatcher m({"*.example.com", "www.example.com", "*.static.example.com", "a.test"});
  EXPECT_EQ(m.match("www.example.com"), 1);
  EXPECT_EQ(m.match("WWW.Example.Com"), 1);
  EXPECT_EQ(m.match("a.example.com"), 0);
  EXPECT_EQ(m.match("a.b.example.com"), 0);
  EXPECT_EQ(m.match("img.static.example.com"), 2);
  EXPECT_EQ(m.match("static.example.com"), 0);  // below example.com, not below static
  EXPECT_EQ(m.match("example.com"), -1);        // a wildcard names what is below, only
  EXPECT_EQ(m.match(".example.com"), -1);
  EXPECT_EQ(m.match("xexample.com"), -1);
  EXPECT_EQ(m.match("a.test"), 3);
  EXPECT_EQ(m.match("b.a.test"), -1);
  EXPECT_EQ(m.match("a.tes"), -1);
  EXPECT_EQ(m.match(""), -1);
  EXPECT_EQ(HostMatcher({}).match("a.test"), -1);
}

using Harness = conn::ConnectionHarness<VirtualHosts>;

class VirtualHostsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/zhttp-vhosts-XXXXXX";
    base_ = ::mkdtemp(tmpl);
    for (const char* site : {"default", "a", "b"}) {
      fs::create_directories(base_ / site);
      std::ofstream(base_ / site / "who.txt") << site;
    }
    defaults_.root = (base_ / "default").string();
    defaults_.mime_types = "";
    hosts_ = {{"a.test", (base_ / "a").string()}, {"*.b.test", (base_ / "b").string()}};
    harness_ = std::make_unique<Harness>(conn::ConnectionConfig{}, defaults_, hosts_);
  }
  void TearDown() override {
    harness_.reset();
    fs::remove_all(base_);
  }
  // The body answered to this request head (without its final empty line).
  std::string body(const std::string& head) {
    harness_->sent.clear();
    harness_->feed(head + "\r\n");
    const size_t end = harness_->sent.find("\r\n\r\n");
    return end == std::string::npos ? "(no answer)" : harness_->sent.substr(end + 4);
  }

  fs::path base_;
  StaticFilesOptions defaults_;
  std::vector<VirtualHost> hosts_;
  std::unique_ptr<Harness> harness_;
};

TEST_F(VirtualHostsTest, EachHostGetsItsRoot) {
  EXPECT_EQ(body("GET /who.txt HTTP/1.1\r\nHost: a.test\r\n"), "a");
  EXPECT_EQ(body("GET /who.txt HTTP/1.1\r\nHost: A.Test.:8080\r\n"), "a");
  EXPECT_EQ(body("GET /who.txt HTTP/1.1\r\nHost: x.b.test\r\n"), "b");
  EXPECT_EQ(body("GET /who.txt HTTP/1.1\r\nHost: x.y.b.test\r\n"), "b");
  EXPECT_EQ(body("GET /who.txt HTTP/1.1\r\nHost: b.test\r\n"), "default");
  EXPECT_EQ(body("GET /who.txt HTTP/1.1\r\nHost: other\r\n"), "default");
  EXPECT_EQ(body("GET /who.txt HTTP/1.1\r\nHost: 127.0.0.1:80\r\n"), "default");
}

TEST_F(VirtualHostsTest, AbsoluteFormTargetNamesTheHost) {
  EXPECT_EQ(body("GET http://x.b.test/who.txt HTTP/1.1\r\nHost: a.test\r\n"), "b");
  EXPECT_EQ(body("GET http://other:81/who.txt HTTP/1.1\r\nHost: a.test\r\n"), "default");
}

TEST_F(VirtualHostsTest, NoHostGetsTheDefaultRoot) {
  EXPECT_EQ(body("GET /who.txt HTTP/1.0\r\nConnection: keep-alive\r\n"), "default");
}

TEST_F(VirtualHostsTest, ARootThatCannotBeOpenedThrows) {
  std::vector<VirtualHost> bad = {{"c.test", (base_ / "missing").string()}};
  EXPECT_THROW(VirtualHosts(defaults_, bad), std::runtime_error);
}

}  // namespace
}  // namespace zhttp::handlers::static_site
