// Which --proxy route a request takes: the longest prefix, a host's routes before any host's.
#include "handlers/proxy/route_table.hpp"

#include <gtest/gtest.h>

namespace zhttp::handlers::proxy {
namespace {

ProxyRoute route(std::string host, std::string prefix, uint32_t group) {
  ProxyRoute r;
  r.host = std::move(host);
  r.prefix = std::move(prefix);
  r.group = group;
  return r;
}

TEST(RouteTable, TheLongestPrefixWins) {
  RouteTable t({route("", "/", 0), route("", "/api/", 1), route("", "/api/v2/", 2)});
  EXPECT_EQ(t.match("h", "/")->group, 0u);
  EXPECT_EQ(t.match("h", "/page")->group, 0u);
  EXPECT_EQ(t.match("h", "/api/x")->group, 1u);
  EXPECT_EQ(t.match("h", "/api/v2/x")->group, 2u);
  EXPECT_EQ(t.match("h", "/api")->group, 0u);
}

TEST(RouteTable, AHostsRoutesComeFirstAndNoMatchIsNull) {
  RouteTable t({route("", "/api/long/", 0), route("api.example.com", "/", 1)});
  EXPECT_EQ(t.match("API.example.COM", "/api/long/x")->group, 1u);
  EXPECT_EQ(t.match("www.example.com", "/api/long/x")->group, 0u);
  EXPECT_EQ(t.match("www.example.com", "/other"), nullptr);
  EXPECT_TRUE(RouteTable({}).empty());
}

}  // namespace
}  // namespace zhttp::handlers::proxy
