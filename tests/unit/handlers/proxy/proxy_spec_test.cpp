// The proxy's option texts: --upstream, --upstream-options and --proxy parsed into a
// ProxyConfig, their addresses resolved, and every refusal a one-line reason naming the option.
#include "handlers/proxy/proxy_spec.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "handlers/proxy/route_table.hpp"

namespace zhttp::handlers::proxy {
namespace {

ProxyConfig built(std::vector<std::string> upstreams, std::vector<std::string> options,
                  std::vector<std::string> routes) {
  ProxyConfig c;
  std::string error;
  EXPECT_TRUE(build_proxy_config(upstreams, options, routes, &c, &error)) << error;
  return c;
}

std::string refusal(std::vector<std::string> upstreams, std::vector<std::string> options,
                    std::vector<std::string> routes) {
  ProxyConfig c;
  std::string error;
  EXPECT_FALSE(build_proxy_config(upstreams, options, routes, &c, &error));
  EXPECT_EQ(error.find('\n'), std::string::npos);
  return error;
}

TEST(ProxySpec, UpstreamsMakeGroupsInOrder) {
  ProxyConfig c = built({"app 127.0.0.1:9001 weight=3", "app [::1]:9002 max_conns=10 backup",
                         "api unix:/run/api.sock"},
                        {}, {"/=http://app"});
  ASSERT_EQ(c.groups.size(), 2u);
  EXPECT_EQ(c.groups[0].name, "app");
  ASSERT_EQ(c.groups[0].servers.size(), 2u);
  const UpstreamServer& a = c.groups[0].servers[0];
  EXPECT_EQ(a.address, "127.0.0.1:9001");
  EXPECT_EQ(a.weight, 3u);
  EXPECT_EQ(a.sockaddr.ss_family, AF_INET);
  EXPECT_EQ(ntohs(reinterpret_cast<const sockaddr_in&>(a.sockaddr).sin_port), 9001);
  const UpstreamServer& b = c.groups[0].servers[1];
  EXPECT_EQ(b.sockaddr.ss_family, AF_INET6);
  EXPECT_EQ(b.max_conns, 10u);
  EXPECT_TRUE(b.backup);
  const UpstreamServer& u = c.groups[1].servers[0];
  EXPECT_EQ(u.sockaddr.ss_family, AF_UNIX);
  EXPECT_STREQ(reinterpret_cast<const sockaddr_un&>(u.sockaddr).sun_path, "/run/api.sock");
  // Defaults of a group without --upstream-options.
  const UpstreamGroup& g = c.groups[0];
  EXPECT_EQ(g.balance, Balance::kRoundRobin);
  EXPECT_EQ(g.keepalive, 32u);
  EXPECT_EQ(g.keepalive_timeout, 4);
  EXPECT_EQ(g.max_fails, 1u);
  EXPECT_EQ(g.fail_timeout, 10);
  EXPECT_EQ(g.check, "");
  EXPECT_EQ(g.check_interval, 2);
  EXPECT_EQ(g.rise, 2u);
  EXPECT_EQ(g.fall, 3u);
}

TEST(ProxySpec, HostNamesAreResolved) {
  ProxyConfig c = built({"app localhost:80"}, {}, {"/=http://app"});
  int family = c.groups[0].servers[0].sockaddr.ss_family;
  EXPECT_TRUE(family == AF_INET || family == AF_INET6);
  EXPECT_NE(refusal({"app no-such-host.invalid:80"}, {}, {}).find("cannot resolve"),
            std::string::npos);
}

TEST(ProxySpec, GroupOptionsAreSet) {
  ProxyConfig c =
      built({"app 127.0.0.1:1"},
            {"app balance=hash hash_key=header:X-User keepalive=8 "
             "keepalive_timeout=500ms max_fails=3 fail_timeout=0 check=/health "
             "check_interval=1.5 rise=1 fall=5 keepalive_requests=10 keepalive_time=60s"},
            {"/=http://app"});
  const UpstreamGroup& g = c.groups[0];
  EXPECT_EQ(g.balance, Balance::kHash);
  EXPECT_EQ(g.hash_key, HashKey::kHeader);
  EXPECT_EQ(g.hash_header, "X-User");
  EXPECT_EQ(g.keepalive, 8u);
  EXPECT_DOUBLE_EQ(g.keepalive_timeout, 0.5);
  EXPECT_EQ(g.max_fails, 3u);
  EXPECT_EQ(g.fail_timeout, 0);
  EXPECT_EQ(g.check, "/health");
  EXPECT_DOUBLE_EQ(g.check_interval, 1.5);
  EXPECT_EQ(g.rise, 1u);
  EXPECT_EQ(g.fall, 5u);
  EXPECT_EQ(g.keepalive_requests, 10u);
  EXPECT_EQ(g.keepalive_time, 60);
  for (const char* b : {"least_conn", "random", "round_robin"}) {
    ProxyConfig d = built({"app 127.0.0.1:1"}, {std::string("app balance=") + b}, {});
    EXPECT_NE(d.groups[0].balance, Balance::kHash) << b;
  }
}

TEST(ProxySpec, RoutesNameGroupsOrAddressesOfTheirOwn) {
  ProxyConfig c = built({"app 127.0.0.1:9001"}, {},
                        {"/=http://app", "/api/=http://app/v2/", "/legacy=http://127.0.0.1:9005",
                         "API.Example.com/=http://unix:/run/a.sock:/x", "/six=http://[::1]:9006"});
  ASSERT_EQ(c.routes.size(), 5u);
  EXPECT_EQ(c.routes[0].prefix, "/");
  EXPECT_FALSE(c.routes[0].rewrite);
  EXPECT_EQ(c.routes[1].replacement, "/v2/");
  EXPECT_TRUE(c.routes[1].rewrite);
  EXPECT_EQ(c.routes[1].group, 0u);
  ASSERT_EQ(c.groups.size(), 4u);
  EXPECT_TRUE(c.groups[c.routes[2].group].implicit);
  EXPECT_EQ(c.groups[c.routes[2].group].name, "127.0.0.1:9005");
  EXPECT_EQ(c.routes[3].host, "api.example.com");
  EXPECT_EQ(c.routes[3].replacement, "/x");
  EXPECT_EQ(c.groups[c.routes[3].group].servers[0].sockaddr.ss_family, AF_UNIX);
  EXPECT_EQ(c.groups[c.routes[4].group].servers[0].sockaddr.ss_family, AF_INET6);
  // Two routes to one address share its group.
  ProxyConfig d = built({}, {}, {"/a=http://127.0.0.1:1", "/b=http://127.0.0.1:1"});
  EXPECT_EQ(d.groups.size(), 1u);
}

TEST(ProxySpec, EveryRefusalNamesItsOption) {
  EXPECT_TRUE(refusal({"app"}, {}, {}).starts_with("--upstream: "));
  EXPECT_TRUE(refusal({"a/b 127.0.0.1:1"}, {}, {}).starts_with("--upstream: group name"));
  EXPECT_TRUE(refusal({"app 127.0.0.1"}, {}, {}).starts_with("--upstream: "));
  EXPECT_TRUE(refusal({"app 127.0.0.1:70000"}, {}, {}).starts_with("--upstream: "));
  EXPECT_TRUE(refusal({"app 127.0.0.1:1 weight=0"}, {}, {}).starts_with("--upstream: weight=0"));
  EXPECT_TRUE(refusal({"app 127.0.0.1:1 heavy"}, {}, {}).starts_with("--upstream: unknown"));
  EXPECT_TRUE(refusal({"app unix:relative"}, {}, {}).starts_with("--upstream: "));
  EXPECT_TRUE(refusal({}, {"app keepalive=1"}, {}).starts_with("--upstream-options: group"));
  EXPECT_TRUE(refusal({"app 127.0.0.1:1"}, {"app max_fails=1", "app rise=1"}, {})
                  .starts_with("--upstream-options: group \"app\" is given twice"));
  EXPECT_TRUE(refusal({"app 127.0.0.1:1"}, {"app balance=fastest"}, {})
                  .starts_with("--upstream-options: balance=fastest"));
  EXPECT_TRUE(refusal({"app 127.0.0.1:1"}, {"app fail_timeout=-1"}, {})
                  .starts_with("--upstream-options: fail_timeout"));
  EXPECT_TRUE(refusal({"app 127.0.0.1:1"}, {"app check=health"}, {})
                  .starts_with("--upstream-options: check"));
  EXPECT_TRUE(refusal({"app 127.0.0.1:1"}, {"app hash_key=cookie"}, {})
                  .starts_with("--upstream-options: hash_key"));
  EXPECT_TRUE(refusal({}, {}, {"/=http://nobody"}).starts_with("--proxy: target \"nobody\""));
  EXPECT_TRUE(refusal({}, {}, {"/=https://127.0.0.1:1"}).starts_with("--proxy: https"));
  EXPECT_TRUE(refusal({}, {}, {"/=ftp://127.0.0.1:1"}).starts_with("--proxy: "));
  EXPECT_TRUE(refusal({}, {}, {"noslash=http://127.0.0.1:1"}).starts_with("--proxy: prefix"));
  EXPECT_TRUE(refusal({}, {}, {"/a=http://127.0.0.1:1", "/a=http://127.0.0.1:2"})
                  .starts_with("--proxy: prefix \"/a\" is given twice"));
}

// The --upstream-options value of `text` (for group "app") in seconds, or -1 when refused.
double seconds_of(const std::string& key, const std::string& value) {
  UpstreamGroup g;
  std::string error;
  if (!parse_upstream_options("app " + key + "=" + value, &g, &error)) return -1;
  if (key == "keepalive_timeout") return g.keepalive_timeout;
  if (key == "keepalive_time") return g.keepalive_time;
  if (key == "fail_timeout") return g.fail_timeout;
  return g.check_interval;
}

TEST(ProxySpec, SecondsAreDecimalWithAnOptionalUnit) {
  EXPECT_DOUBLE_EQ(seconds_of("keepalive_timeout", "4"), 4);
  EXPECT_DOUBLE_EQ(seconds_of("keepalive_timeout", "0.5"), 0.5);
  EXPECT_DOUBLE_EQ(seconds_of("keepalive_timeout", "2s"), 2);
  EXPECT_DOUBLE_EQ(seconds_of("keepalive_timeout", "250ms"), 0.25);
  EXPECT_DOUBLE_EQ(seconds_of("check_interval", "1.5s"), 1.5);
  EXPECT_DOUBLE_EQ(seconds_of("keepalive_time", "31536000"), 31536000);
  EXPECT_DOUBLE_EQ(seconds_of("fail_timeout", "0"), 0);  // 0: a server is never taken out
  for (const char* bad : {"", "s", "ms", "-1", "+1", "0x10", "inf", "nan", "1e400", "1m", "1h",
                          "1,5", ".5", "31536001"}) {
    EXPECT_EQ(seconds_of("keepalive_timeout", bad), -1) << bad;
  }
  EXPECT_EQ(seconds_of("keepalive_timeout", "0"), -1);
  EXPECT_EQ(seconds_of("check_interval", "0ms"), -1);
  EXPECT_EQ(seconds_of("keepalive_time", "0"), -1);
  EXPECT_EQ(seconds_of("fail_timeout", "-0.5"), -1);
}

TEST(ProxySpec, NumbersAreBoundedDecimals) {
  UpstreamGroup g;
  std::string error;
  EXPECT_TRUE(parse_upstream_options("app keepalive=0 max_fails=0 rise=100 fall=1", &g, &error));
  EXPECT_EQ(g.keepalive, 0u);
  EXPECT_EQ(g.max_fails, 0u);
  EXPECT_EQ(g.rise, 100u);
  EXPECT_EQ(g.fall, 1u);
  for (const char* bad : {"keepalive=10001", "keepalive=0x1", "keepalive=", "max_fails=1001",
                          "rise=0", "rise=101", "fall=0", "keepalive_requests=0", "keepalive"}) {
    EXPECT_FALSE(parse_upstream_options(std::string("app ") + bad, &g, &error)) << bad;
  }
  std::string name;
  UpstreamServer s;
  EXPECT_TRUE(parse_upstream("app 127.0.0.1:1 weight=1000 max_conns=0", &name, &s, &error));
  EXPECT_EQ(s.weight, 1000u);
  EXPECT_EQ(s.max_conns, 0u);
  for (const char* bad :
       {"weight=1001", "weight=0", "weight=", "weight", "max_conns=x", "backup=1", "weight=010x"}) {
    EXPECT_FALSE(parse_upstream(std::string("app 127.0.0.1:1 ") + bad, &name, &s, &error)) << bad;
  }
}

TEST(ProxySpec, GroupNames) {
  std::string name;
  UpstreamServer s;
  std::string error;
  const std::string longest(31, 'a');
  for (const std::string& good : {std::string("a"), std::string("App_1-v2.internal"), longest}) {
    EXPECT_TRUE(parse_upstream(good + " 127.0.0.1:1", &name, &s, &error)) << good;
    EXPECT_EQ(name, good);
  }
  for (const std::string& bad : {longest + "a", std::string("a:b"), std::string("a/b"),
                                 std::string("é"), std::string("a*")}) {
    EXPECT_FALSE(parse_upstream(bad + " 127.0.0.1:1", &name, &s, &error)) << bad;
    EXPECT_TRUE(error.starts_with("group name")) << error;
  }
}

TEST(ProxySpec, Addresses) {
  UpstreamServer s;
  std::string error;
  ASSERT_TRUE(resolve_address("[::1]:8080", &s, &error)) << error;
  EXPECT_EQ(s.address, "[::1]:8080");
  EXPECT_EQ(s.sockaddr.ss_family, AF_INET6);
  EXPECT_EQ(s.sockaddr_len, sizeof(sockaddr_in6));
  const auto& six = reinterpret_cast<const sockaddr_in6&>(s.sockaddr);
  EXPECT_EQ(ntohs(six.sin6_port), 8080);
  EXPECT_TRUE(IN6_IS_ADDR_LOOPBACK(&six.sin6_addr));

  ASSERT_TRUE(resolve_address("10.1.2.3:80", &s, &error)) << error;
  EXPECT_EQ(s.sockaddr.ss_family, AF_INET);
  EXPECT_EQ(s.sockaddr_len, sizeof(sockaddr_in));
  const auto& four = reinterpret_cast<const sockaddr_in&>(s.sockaddr);
  EXPECT_EQ(four.sin_addr.s_addr, inet_addr("10.1.2.3"));

  const std::string path = "/" + std::string(106, 'p');  // the longest sun_path takes
  ASSERT_TRUE(resolve_address("unix:" + path, &s, &error)) << error;
  EXPECT_EQ(s.sockaddr.ss_family, AF_UNIX);
  EXPECT_EQ(reinterpret_cast<const sockaddr_un&>(s.sockaddr).sun_path, path);
  EXPECT_EQ(s.sockaddr_len, offsetof(sockaddr_un, sun_path) + path.size() + 1);

  for (const std::string& bad :
       {std::string("unix:/") + std::string(107, 'p'), std::string("unix:"),
        std::string("unix:a.sock"), std::string("::1:80"), std::string("[::1]"),
        std::string("[::1]80"), std::string("[::g]:80"), std::string("[localhost]:80"),
        std::string("[10.0.0.1]:80"), std::string("127.0.0.1"), std::string(":80"),
        std::string("127.0.0.1:"), std::string("127.0.0.1:http"), std::string("127.0.0.1:65536"),
        std::string("127.0.0.1:-1")}) {
    EXPECT_FALSE(resolve_address(bad, &s, &error)) << bad;
    EXPECT_EQ(error.find('\n'), std::string::npos);
  }
}

TEST(ProxySpec, RoutePrefixesAndPaths) {
  RouteSpec r;
  std::string error;
  ASSERT_TRUE(parse_route("/=http://app/", &r, &error)) << error;
  EXPECT_TRUE(r.route.rewrite);
  EXPECT_EQ(r.route.replacement, "/");
  EXPECT_FALSE(r.target_is_address);
  ASSERT_TRUE(parse_route("/%7Euser/=http://app", &r, &error)) << error;
  EXPECT_EQ(r.route.prefix, "/%7Euser/");
  EXPECT_FALSE(r.route.rewrite);
  ASSERT_TRUE(parse_route("10.0.0.1/=http://app", &r, &error)) << error;
  EXPECT_EQ(r.route.host, "10.0.0.1");
  ASSERT_TRUE(parse_route("/=http://unix:/run/a.sock", &r, &error)) << error;
  EXPECT_EQ(r.target, "unix:/run/a.sock");
  EXPECT_TRUE(r.target_is_address);
  EXPECT_FALSE(r.route.rewrite);
  ASSERT_TRUE(parse_route("/=http://unix:/run/a.sock:", &r, &error)) << error;
  EXPECT_EQ(r.target, "unix:/run/a.sock");
  EXPECT_FALSE(r.route.rewrite);
  ASSERT_TRUE(parse_route("/v6/=http://[::1]:80/x/", &r, &error)) << error;
  EXPECT_EQ(r.target, "[::1]:80");
  EXPECT_TRUE(r.target_is_address);
  EXPECT_EQ(r.route.replacement, "/x/");
  for (const char* bad : {"",
                          "/",
                          "=http://app",
                          "api=http://app",
                          "/a b=http://app",
                          "/a?b=http://app",
                          "/a#b=http://app",
                          "/caf\xc3\xa9=http://app",
                          "api.example.com:80/=http://app",
                          "api..example.com/=http://app",
                          "-api.example.com/=http://app",
                          "api_x.example.com/=http://app",
                          "api.example.com./=http://app",
                          "/=http://",
                          "/=http:///x",
                          "/=app",
                          "/=HTTP://app",
                          "/=https://app",
                          "/=http://app/a b",
                          "/=http://app/a?b",
                          "/=http://app/a\x01",
                          "/=http://unix:/a.sock:x"}) {
    EXPECT_FALSE(parse_route(bad, &r, &error)) << bad;
    EXPECT_EQ(error.find('\n'), std::string::npos);
  }
}

TEST(ProxySpec, CheckPathsAndHashHeaders) {
  UpstreamGroup g;
  std::string error;
  ASSERT_TRUE(
      parse_upstream_options("app check=/healthz?full=1 hash_key=header:X-Api-Key", &g, &error))
      << error;
  EXPECT_EQ(g.check, "/healthz?full=1");
  EXPECT_EQ(g.hash_header, "X-Api-Key");
  ASSERT_TRUE(parse_upstream_options("app hash_key=addr", &g, &error));
  EXPECT_EQ(g.hash_key, HashKey::kAddr);
  for (const char* bad :
       {"check=", "check=health", "check=/caf\xc3\xa9", "check=/a\x7f", "hash_key=header:X:Y",
        "hash_key=header:X(", "hash_key=Uri", "balance=", "balance=RANDOM"}) {
    EXPECT_FALSE(parse_upstream_options(std::string("app ") + bad, &g, &error)) << bad;
  }
}

// The config keeps every route as given; which one a request takes (the longest prefix, a
// host's routes first) is the route table's choice over that data.
TEST(ProxySpec, RoutesKeepTheirPrefixesForTheLongestMatch) {
  ProxyConfig c = built({"app 127.0.0.1:1", "api 127.0.0.1:2", "v2 127.0.0.1:3"}, {},
                        {"/=http://app", "/api/v2/=http://v2", "/api/=http://api",
                         "Api.Example.COM/=http://v2", "www.example.com/api/=http://app"});
  ASSERT_EQ(c.routes.size(), 5u);
  EXPECT_EQ(c.routes[1].prefix, "/api/v2/");
  EXPECT_EQ(c.routes[3].host, "api.example.com");
  EXPECT_EQ(c.routes[4].host, "www.example.com");
  EXPECT_EQ(c.routes[4].prefix, "/api/");
  const RouteTable t(c.routes);
  auto group = [&](std::string_view host, std::string_view path) {
    const ProxyRoute* r = t.match(host, path);
    return r == nullptr ? std::string("none") : c.groups[r->group].name;
  };
  EXPECT_EQ(group("x", "/"), "app");
  EXPECT_EQ(group("x", "/api/"), "api");
  EXPECT_EQ(group("x", "/api/v2/users"), "v2");
  EXPECT_EQ(group("api.example.com", "/api/"), "v2");
  EXPECT_EQ(group("www.example.com", "/api/v2/"), "app");
  EXPECT_EQ(group("www.example.com", "/other"), "app");
  // A host route and an any-host route may share a prefix; the same host twice may not.
  built({"app 127.0.0.1:1"}, {}, {"/=http://app", "a.example/=http://app"});
  EXPECT_TRUE(refusal({"app 127.0.0.1:1"}, {}, {"A.example/x=http://app", "a.EXAMPLE/x=http://app"})
                  .starts_with("--proxy: prefix \"a.example/x\" is given twice"));
}

TEST(ProxySpec, ImplicitGroupsComeAfterTheNamedOnes) {
  ProxyConfig c = built({"app 127.0.0.1:1"}, {},
                        {"/a=http://[::1]:9", "/b=http://app", "/c=http://[::1]:9/c",
                         "/d=http://unix:/run/d.sock:/", "/e=http://unix:/run/d.sock"});
  ASSERT_EQ(c.groups.size(), 3u);
  EXPECT_FALSE(c.groups[0].implicit);
  EXPECT_TRUE(c.groups[1].implicit);
  EXPECT_EQ(c.groups[1].name, "[::1]:9");
  EXPECT_EQ(c.groups[2].name, "unix:/run/d.sock");
  ASSERT_EQ(c.groups[2].servers.size(), 1u);
  EXPECT_EQ(c.groups[2].servers[0].address, "unix:/run/d.sock");
  EXPECT_EQ(c.routes[0].group, 1u);
  EXPECT_EQ(c.routes[2].group, 1u);
  EXPECT_EQ(c.routes[3].group, 2u);
  EXPECT_EQ(c.routes[4].group, 2u);
  // Implicit groups take the defaults.
  EXPECT_EQ(c.groups[1].keepalive, 32u);
  EXPECT_EQ(c.groups[1].balance, Balance::kRoundRobin);
  EXPECT_EQ(c.groups[1].servers[0].weight, 1u);
  // A name without a port is no address: an unknown group, named in the message.
  EXPECT_EQ(refusal({}, {}, {"/=http://backend.internal/x"}),
            "--proxy: target \"backend.internal\" is no --upstream group (an address needs a "
            "port: HOST:PORT)");
}

}  // namespace
}  // namespace zhttp::handlers::proxy
