// The proxy's option texts: --upstream, --upstream-options and --proxy parsed into a
// ProxyConfig, their addresses resolved, and every refusal a one-line reason naming the option.
#include "handlers/proxy/proxy_spec.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/un.h>

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
  ProxyConfig c = built({"app 127.0.0.1:1"},
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

}  // namespace
}  // namespace zhttp::handlers::proxy
