// The reverse proxy's options through parse_command_line: --upstream, --upstream-options,
// --proxy, --proxy-*-timeout and --proxy-cache, their defaults, the config file, -t, and every
// refusal one line naming the option (exit code 2). What the option texts may say is
// tests/unit/handlers/proxy/proxy_spec_test.cpp's subject; this file is about the command line.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <string>
#include <utility>
#include <vector>

#include "cli/config.hpp"
#include "unit/support/parse_command_line.hpp"
#include "unit/support/test_files.hpp"

namespace zhttp::cli {
namespace {

using handlers::proxy::Balance;
using handlers::proxy::HashKey;
using handlers::proxy::ProxyConfig;
using handlers::proxy::UpstreamGroup;
using test::TempFile;
using testing::internal::CaptureStderr;
using testing::internal::CaptureStdout;
using testing::internal::GetCapturedStderr;
using testing::internal::GetCapturedStdout;

// Parses args that must be accepted, and returns the proxy's part.
ProxyConfig accepted(const std::vector<std::string>& args) {
  const Parsed p = parse(args);
  EXPECT_EQ(p.command.kind, Command::Kind::kServe) << p.err;
  EXPECT_EQ(p.err, "");
  return p.config.proxy;
}

// Parses args that must be refused: one line on stderr, "zhttpd: " then `expected` (the start of
// the message, which names the option), exit code 2, and the Config left as it was.
void expect_refused(const std::vector<std::string>& args, const std::string& expected) {
  std::string joined;
  for (const std::string& a : args) joined += a + " ";
  const Parsed p = parse(args);
  EXPECT_EQ(p.command.kind, Command::Kind::kExit) << joined;
  EXPECT_EQ(p.command.exit_code, 2) << joined;
  EXPECT_EQ(p.out, "") << joined;
  ASSERT_FALSE(p.err.empty()) << joined;
  EXPECT_EQ(p.err.find('\n'), p.err.size() - 1) << joined << ": " << p.err;
  EXPECT_EQ(p.err.rfind("zhttpd: " + expected, 0), 0u) << joined << ": " << p.err;
  EXPECT_EQ(p.command.error + "\n", p.err.substr(8)) << joined;
  EXPECT_TRUE(p.config.proxy.groups.empty()) << joined;
}

uint16_t port_of(const handlers::proxy::UpstreamServer& s) {
  if (s.sockaddr.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6&>(s.sockaddr).sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in&>(s.sockaddr).sin_port);
}

TEST(ProxyOptions, Defaults) {
  const ProxyConfig p = accepted({});
  EXPECT_FALSE(p.enabled());
  EXPECT_TRUE(p.groups.empty());
  EXPECT_TRUE(p.routes.empty());
  EXPECT_EQ(p.timeouts.connect, 5);
  EXPECT_EQ(p.timeouts.read, 60);
  EXPECT_EQ(p.timeouts.send, 60);
  EXPECT_EQ(p.timeouts.tunnel, 300);
  EXPECT_TRUE(p.cache);
}

TEST(ProxyOptions, EachOptionSetsItsField) {
  const ProxyConfig p = accepted({"--upstream",
                                  "app 127.0.0.1:9001",
                                  "--upstream",
                                  "app 127.0.0.1:9002 weight=3 max_conns=7",
                                  "--upstream",
                                  "app [::1]:9003 backup",
                                  "--upstream-options",
                                  "app balance=least_conn keepalive=4",
                                  "--proxy",
                                  "/=http://app",
                                  "--proxy",
                                  "/api/=http://app/v1/",
                                  "--proxy-connect-timeout",
                                  "1.5",
                                  "--proxy-read-timeout",
                                  "30",
                                  "--proxy-send-timeout",
                                  "20",
                                  "--proxy-tunnel-timeout",
                                  "600",
                                  "--proxy-cache",
                                  "off"});
  EXPECT_TRUE(p.enabled());
  ASSERT_EQ(p.groups.size(), 1u);
  const UpstreamGroup& g = p.groups[0];
  EXPECT_EQ(g.name, "app");
  EXPECT_FALSE(g.implicit);
  ASSERT_EQ(g.servers.size(), 3u);
  EXPECT_EQ(g.servers[0].address, "127.0.0.1:9001");
  EXPECT_EQ(port_of(g.servers[0]), 9001);
  EXPECT_EQ(g.servers[1].weight, 3u);
  EXPECT_EQ(g.servers[1].max_conns, 7u);
  EXPECT_EQ(g.servers[2].sockaddr.ss_family, AF_INET6);
  EXPECT_TRUE(g.servers[2].backup);
  EXPECT_EQ(g.balance, Balance::kLeastConn);
  EXPECT_EQ(g.keepalive, 4u);
  EXPECT_EQ(g.keepalive_timeout, 4);  // not named: its default
  ASSERT_EQ(p.routes.size(), 2u);
  EXPECT_EQ(p.routes[0].prefix, "/");
  EXPECT_FALSE(p.routes[0].rewrite);
  EXPECT_EQ(p.routes[1].prefix, "/api/");
  EXPECT_TRUE(p.routes[1].rewrite);
  EXPECT_EQ(p.routes[1].replacement, "/v1/");
  EXPECT_EQ(p.timeouts.connect, 1.5);
  EXPECT_EQ(p.timeouts.read, 30);
  EXPECT_EQ(p.timeouts.send, 20);
  EXPECT_EQ(p.timeouts.tunnel, 600);
  EXPECT_FALSE(p.cache);
}

TEST(ProxyOptions, EqualsSyntaxAndCacheOn) {
  const ProxyConfig p = accepted({"--upstream=app 127.0.0.1:1", "--proxy=/=http://app",
                                  "--proxy-cache=on", "--proxy-read-timeout=0.25"});
  ASSERT_EQ(p.routes.size(), 1u);
  EXPECT_TRUE(p.cache);
  EXPECT_EQ(p.timeouts.read, 0.25);
}

// A route may name a group declared after it: the texts are read once everything is parsed.
TEST(ProxyOptions, OrderOfOptionsDoesNotMatter) {
  const ProxyConfig p = accepted({"--proxy", "/=http://app", "--upstream-options",
                                  "app balance=random", "--upstream", "app 127.0.0.1:1"});
  ASSERT_EQ(p.groups.size(), 1u);
  EXPECT_EQ(p.groups[0].balance, Balance::kRandom);
  EXPECT_EQ(p.routes[0].group, 0u);
}

TEST(ProxyOptions, AddressesOfTheirOwnMakeImplicitGroups) {
  const ProxyConfig p =
      accepted({"--upstream", "app 127.0.0.1:9001", "--proxy", "/=http://app", "--proxy",
                "/a/=http://127.0.0.1:9005", "--proxy", "/b/=http://127.0.0.1:9005/b2/", "--proxy",
                "/six/=http://[::1]:9006", "--proxy", "/sock/=http://unix:/run/app.sock:/api/"});
  ASSERT_EQ(p.groups.size(), 4u);  // app, and three addresses: /a/ and /b/ share one
  const UpstreamGroup& a = p.groups[p.routes[1].group];
  EXPECT_TRUE(a.implicit);
  EXPECT_EQ(a.name, "127.0.0.1:9005");
  ASSERT_EQ(a.servers.size(), 1u);
  EXPECT_EQ(port_of(a.servers[0]), 9005);
  EXPECT_EQ(p.routes[2].group, p.routes[1].group);
  EXPECT_EQ(p.routes[2].replacement, "/b2/");
  const UpstreamGroup& six = p.groups[p.routes[3].group];
  EXPECT_EQ(six.name, "[::1]:9006");
  EXPECT_EQ(six.servers[0].sockaddr.ss_family, AF_INET6);
  const UpstreamGroup& sock = p.groups[p.routes[4].group];
  EXPECT_EQ(sock.name, "unix:/run/app.sock");
  EXPECT_EQ(sock.servers[0].sockaddr.ss_family, AF_UNIX);
  EXPECT_STREQ(reinterpret_cast<const sockaddr_un&>(sock.servers[0].sockaddr).sun_path,
               "/run/app.sock");
  EXPECT_EQ(p.routes[4].replacement, "/api/");
  EXPECT_FALSE(p.groups[p.routes[0].group].implicit);
}

TEST(ProxyOptions, HostRoutes) {
  const ProxyConfig p = accepted({"--upstream", "api 127.0.0.1:1", "--proxy",
                                  "API.Example.com/=http://api", "--proxy", "/=http://api"});
  ASSERT_EQ(p.routes.size(), 2u);
  EXPECT_EQ(p.routes[0].host, "api.example.com");
  EXPECT_EQ(p.routes[0].prefix, "/");
  EXPECT_EQ(p.routes[1].host, "");
}

TEST(ProxyOptions, ConfigFile) {
  TempFile file(
      "upstream = [\"app 127.0.0.1:9001\", \"app 127.0.0.1:9002 weight=2\"]\n"
      "upstream-options = \"app balance=hash hash_key=header:X-User check=/health\"\n"
      "proxy = [\"/=http://app\", \"/sock/=http://unix:/run/a.sock:/v1/\"]\n"
      "proxy-connect-timeout = 2.5\n"
      "proxy-read-timeout = 9\n"
      "proxy-send-timeout = 8\n"
      "proxy-tunnel-timeout = 7\n"
      "proxy-cache = \"off\"\n");
  const ProxyConfig p = accepted({"--config", file.path()});
  ASSERT_EQ(p.groups.size(), 2u);
  ASSERT_EQ(p.groups[0].servers.size(), 2u);
  EXPECT_EQ(p.groups[0].servers[1].weight, 2u);
  EXPECT_EQ(p.groups[0].balance, Balance::kHash);
  EXPECT_EQ(p.groups[0].hash_key, HashKey::kHeader);
  EXPECT_EQ(p.groups[0].hash_header, "X-User");
  EXPECT_EQ(p.groups[0].check, "/health");
  EXPECT_TRUE(p.groups[1].implicit);
  ASSERT_EQ(p.routes.size(), 2u);
  EXPECT_EQ(p.routes[1].replacement, "/v1/");
  EXPECT_EQ(p.timeouts.connect, 2.5);
  EXPECT_EQ(p.timeouts.read, 9);
  EXPECT_EQ(p.timeouts.send, 8);
  EXPECT_EQ(p.timeouts.tunnel, 7);
  EXPECT_FALSE(p.cache);
}

// A key given on several lines of the file keeps every line, as an array would.
TEST(ProxyOptions, ConfigFileRepeatedKeys) {
  TempFile file(
      "upstream = \"app 127.0.0.1:9001\"\n"
      "upstream = \"app 127.0.0.1:9002\"\n"
      "proxy = \"/a/=http://app\"\n"
      "proxy = \"/b/=http://app\"\n");
  const ProxyConfig p = accepted({"--config", file.path()});
  ASSERT_EQ(p.groups.size(), 1u);
  EXPECT_EQ(p.groups[0].servers.size(), 2u);
  EXPECT_EQ(p.routes.size(), 2u);
}

// As for every repeatable option, the command line's values replace the file's.
TEST(ProxyOptions, CommandLineWinsOverConfigFile) {
  TempFile file(
      "upstream = [\"app 127.0.0.1:9001\", \"app 127.0.0.1:9002\"]\n"
      "proxy = \"/=http://app\"\n"
      "proxy-read-timeout = 9\n"
      "proxy-cache = \"off\"\n");
  const ProxyConfig p = accepted({"--config", file.path(), "--upstream", "app 127.0.0.1:9003",
                                  "--proxy-read-timeout", "3", "--proxy-cache", "on"});
  ASSERT_EQ(p.groups.size(), 1u);
  ASSERT_EQ(p.groups[0].servers.size(), 1u);
  EXPECT_EQ(p.groups[0].servers[0].address, "127.0.0.1:9003");
  EXPECT_EQ(p.routes.size(), 1u);  // from the file
  EXPECT_EQ(p.timeouts.read, 3);
  EXPECT_TRUE(p.cache);
}

// A reload parses again from the defaults: groups and routes do not pile up.
TEST(ProxyOptions, ParsingAgainStartsFromDefaults) {
  const std::vector<std::string> args = {"--upstream", "app 127.0.0.1:1", "--proxy",
                                         "/=http://127.0.0.1:2"};
  const ProxyConfig first = accepted(args);
  const ProxyConfig second = accepted(args);
  EXPECT_EQ(second.groups.size(), first.groups.size());
  EXPECT_EQ(second.routes.size(), 1u);
}

TEST(ProxyOptions, TestConfigChecksThem) {
  Parsed p = parse({"-t", "--upstream", "app 127.0.0.1:1", "--proxy", "/=http://app"});
  EXPECT_EQ(p.command.kind, Command::Kind::kTestConfig) << p.err;
  EXPECT_EQ(p.config.proxy.routes.size(), 1u);
  expect_refused({"-t", "--upstream", "app 127.0.0.1:1", "--proxy", "/=http://ap"},
                 "--proxy: target \"ap\"");
}

TEST(ProxyOptions, BadValuesPrintOneLineNamingTheOption) {
  const std::string up = "--upstream";
  const std::string app = "app 127.0.0.1:1";
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{up}, "--upstream: missing value"},
      {{up, "app"}, "--upstream: value \"app\" is not NAME ADDRESS"},
      {{up, "app 127.0.0.1"}, "--upstream: address \"127.0.0.1\" is not HOST:PORT"},
      {{up, "app ::1:80"}, "--upstream: address \"::1:80\": an IPv6 address needs brackets"},
      {{up, "app [localhost]:80"}, "--upstream: address \"[localhost]:80\": \"localhost\" is not"},
      {{up, "app [::1]"}, "--upstream: address \"[::1]\" is not [IPv6]:PORT"},
      {{up, "app unix:run/a.sock"}, "--upstream: address \"unix:run/a.sock\": a unix socket"},
      {{up, "app 127.0.0.1:0"}, "--upstream: address \"127.0.0.1:0\" has no port from 1"},
      {{up, "app no-such-host.invalid:80"}, "--upstream: cannot resolve \"no-such-host.invalid\""},
      {{up, "a/b 127.0.0.1:1"}, "--upstream: group name \"a/b\" is not 1-31 of"},
      {{up, std::string(32, 'g') + " 127.0.0.1:1"}, "--upstream: group name \"gggg"},
      {{up, "app 127.0.0.1:1 weight=1001"}, "--upstream: weight=1001 is not a whole number"},
      {{up, "app 127.0.0.1:1 weight=0"}, "--upstream: weight=0 is not a whole number"},
      {{up, "app 127.0.0.1:1 max_conns=-1"}, "--upstream: max_conns=-1 is not a whole number"},
      {{up, "app 127.0.0.1:1 down"}, "--upstream: unknown parameter \"down\""},
      {{"--upstream-options", "app keepalive=1"},
       "--upstream-options: group \"app\" has no --upstream server"},
      {{up, app, "--upstream-options", ""}, "--upstream-options: the value is empty"},
      {{up, app, "--upstream-options", "app rise=2", "--upstream-options", "app fall=2"},
       "--upstream-options: group \"app\" is given twice"},
      {{up, app, "--upstream-options", "app balance=ip_hash"},
       "--upstream-options: balance=ip_hash is not one of"},
      {{up, app, "--upstream-options", "app hash_key=header:"},
       "--upstream-options: hash_key=header: is not uri, addr or header:NAME"},
      {{up, app, "--upstream-options", "app keepalive_timeout=0"},
       "--upstream-options: keepalive_timeout=0 is not a number of seconds above 0"},
      {{up, app, "--upstream-options", "app check_interval=0x10"},
       "--upstream-options: check_interval=0x10 is not a number of seconds"},
      {{up, app, "--upstream-options", "app fail_timeout=forever"},
       "--upstream-options: fail_timeout=forever is not a number of seconds"},
      {{up, app, "--upstream-options", "app keepalive=-1"},
       "--upstream-options: keepalive=-1 is not a whole number"},
      {{up, app, "--upstream-options", "app rise=0"},
       "--upstream-options: rise=0 is not a whole number from 1"},
      {{up, app, "--upstream-options", "app check=health"},
       "--upstream-options: check=health is not a path"},
      {{up, app, "--upstream-options", "app slow_start=30"},
       "--upstream-options: unknown parameter \"slow_start\""},
      {{"--proxy", "/=http://nobody"}, "--proxy: target \"nobody\" is no --upstream group"},
      {{"--proxy", "/=https://127.0.0.1:1"}, "--proxy: https upstreams are not supported yet"},
      {{"--proxy", "/=127.0.0.1:1"}, "--proxy: target \"127.0.0.1:1\" does not begin with http://"},
      {{"--proxy", "/"}, "--proxy: value \"/\" is not PREFIX=http://TARGET[/PATH]"},
      {{"--proxy", "api=http://127.0.0.1:1"}, "--proxy: prefix \"api\" is not /PATH or HOST/PATH"},
      {{"--proxy", "api.example.com:8080/=http://127.0.0.1:1"},
       "--proxy: prefix \"api.example.com:8080/\": \"api.example.com:8080\" is not a host name"},
      {{"--proxy", "/a b=http://127.0.0.1:1"}, "--proxy: prefix \"/a b\" is not a path"},
      {{"--proxy", "/=http://127.0.0.1:1/a b"}, "--proxy: target \"http://127.0.0.1:1/a b\":"},
      {{"--proxy", "/=http://no-such-host.invalid:80"},
       "--proxy: cannot resolve \"no-such-host.invalid\""},
      {{"--proxy", "/a=http://127.0.0.1:1", "--proxy", "/a=http://127.0.0.1:2"},
       "--proxy: prefix \"/a\" is given twice"},
      {{"--proxy-connect-timeout", "0"}, "--proxy-connect-timeout: value 0 is not above 0 seconds"},
      {{"--proxy-read-timeout", "soon"}, "--proxy-read-timeout: value soon is not a number"},
      {{"--proxy-send-timeout", "-1"}, "--proxy-send-timeout: value -1 is not above 0 seconds"},
      {{"--proxy-tunnel-timeout", "nan"}, "--proxy-tunnel-timeout: value nan is not a number"},
      {{"--proxy-tunnel-timeout"}, "--proxy-tunnel-timeout: missing value"},
      {{"--proxy-cache", "yes"}, "--proxy-cache: value yes is not one of on, off"},
  };
  for (const auto& [args, expected] : cases) expect_refused(args, expected);
}

// A bad value in the config file is refused the same way.
TEST(ProxyOptions, BadValuesInTheConfigFile) {
  TempFile route("proxy = \"/=http://nobody\"\n");
  expect_refused({"--config", route.path()}, "--proxy: target \"nobody\"");
  TempFile timeout("proxy-connect-timeout = 0\n");
  expect_refused(
      {"--config", timeout.path()},
      "--proxy-connect-timeout: value 0 is not above 0 seconds (in " + timeout.path() + ")");
  TempFile cache("proxy-cache = \"maybe\"\n");
  expect_refused({"--config", cache.path()}, "--proxy-cache: value maybe is not one of on, off");
  TempFile resolve("upstream = \"app no-such-host.invalid:80\"\n");
  expect_refused({"--config", resolve.path()}, "--upstream: cannot resolve");
}

TEST(ProxyOptions, Help) {
  const Parsed p = parse({"--help"});
  EXPECT_EQ(p.command.exit_code, 0);
  const size_t cache = p.out.find("\nShared response cache:\n");
  const size_t proxy = p.out.find("\nReverse proxy:\n");
  const size_t timeouts = p.out.find("\nTimeouts:\n");
  ASSERT_NE(proxy, std::string::npos);
  EXPECT_LT(cache, proxy);
  EXPECT_LT(proxy, timeouts);
  const std::string block = p.out.substr(proxy, timeouts - proxy);
  for (const char* option : {"--upstream SPEC", "--upstream-options SPEC", "--proxy ROUTE",
                             "--proxy-connect-timeout SECONDS=5", "--proxy-read-timeout SECONDS=60",
                             "--proxy-send-timeout SECONDS=60",
                             "--proxy-tunnel-timeout SECONDS=300", "--proxy-cache on|off=on"}) {
    EXPECT_NE(block.find(option), std::string::npos) << option;
  }
}

}  // namespace
}  // namespace zhttp::cli
