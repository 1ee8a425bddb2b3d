// The upstream table from the process side (app/upstream_region.hpp) on real segments: a region
// even without groups (a reload may bring the first); the master's lay-out maps every server; a
// reload that keeps, adds and removes servers keeps the kept ones' slots and counters; one that
// does not fit, or that meets a segment without the region, is refused; a worker attaches; the
// ServerProgram asks for the region and lays it out.
#include "app/upstream_region.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "app/server_program.hpp"

namespace zhttp::app {
namespace {

using handlers::proxy::ProxyConfig;
using handlers::proxy::UpstreamGroup;

std::string unique_name() {
  static int n = 0;
  return "zhttpd-upstream-region-test-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

ProxyConfig proxy_of(std::vector<std::pair<std::string, std::vector<std::string>>> groups) {
  ProxyConfig p;
  for (auto& [name, addresses] : groups) {
    UpstreamGroup& g = p.groups.emplace_back();
    g.name = name;
    for (std::string& a : addresses) g.servers.push_back({.address = a});
  }
  return p;
}

std::unique_ptr<shm::Segment> segment_for(const ProxyConfig& proxy) {
  auto segment = shm::Segment::create(unique_name(), static_cast<uint64_t>(::getpid()),
                                      upstream_regions(proxy));
  lay_out_upstreams(*segment, proxy);
  return segment;
}

TEST(UpstreamRegion, ARegionEvenWithoutGroupsSizedForTheServers) {
  // Without a group: the smallest table, for a reload that brings the first one.
  const auto empty = upstream_regions(ProxyConfig{});
  ASSERT_EQ(empty.size(), 1u);
  EXPECT_EQ(empty[0].bytes, shm::UpstreamTable::bytes_for(64));
  const auto r = upstream_regions(proxy_of({{"app", {"a:1", "b:1"}}}));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].kind, shm::RegionKind::kUpstreams);
  EXPECT_EQ(r[0].bytes, shm::UpstreamTable::bytes_for(64));
  std::vector<std::string> many;
  for (int i = 0; i < 50; ++i) many.push_back("10.0.0." + std::to_string(i) + ":80");
  EXPECT_EQ(upstream_regions(proxy_of({{"a", many}, {"b", many}}))[0].bytes,
            shm::UpstreamTable::bytes_for(200));
}

TEST(UpstreamRegion, LayOutMapsEveryServerAndAWorkerAttaches) {
  const ProxyConfig p = proxy_of({{"app", {"a:1", "b:1"}}, {"api", {"a:1"}}});
  auto segment = segment_for(p);
  std::optional<shm::UpstreamTable> table = attach_upstreams(*segment);
  ASSERT_TRUE(table);
  EXPECT_GE(table->find("app", "a:1", 0), 0);
  EXPECT_GE(table->find("app", "b:1", 0), 0);
  EXPECT_GE(table->find("api", "a:1", 0), 0);
  auto none = shm::Segment::create(unique_name(), static_cast<uint64_t>(::getpid()), {});
  lay_out_upstreams(*none, p);  // no region: nothing to do
  EXPECT_FALSE(attach_upstreams(*none));
}

TEST(UpstreamRegion, AReloadKeepsTheServersThatStayAndRefusesWhatDoesNotFit) {
  auto segment = segment_for(proxy_of({{"app", {"a:1", "b:1"}}}));
  std::optional<shm::UpstreamTable> table = attach_upstreams(*segment);
  const int32_t a = table->find("app", "a:1", 0);
  shm::bump(table->slot(static_cast<uint32_t>(a)).traffic.requests, 3);

  const ProxyConfig next = proxy_of({{"app", {"a:1", "c:1"}}});
  std::string error;
  ASSERT_TRUE(upstreams_fit(*segment, next, &error)) << error;
  map_upstreams(*segment, next);
  EXPECT_EQ(table->find("app", "a:1", 0), a);
  EXPECT_EQ(table->slot(static_cast<uint32_t>(a)).traffic.requests.load(), 3u);
  EXPECT_EQ(table->find("app", "b:1", 0), -1);
  EXPECT_GE(table->find("app", "c:1", 0), 0);

  std::vector<std::string> many;
  for (int i = 0; i < 70; ++i) many.push_back("10.0.0." + std::to_string(i) + ":80");
  EXPECT_FALSE(upstreams_fit(*segment, proxy_of({{"app", many}}), &error));
  EXPECT_NE(error.find("restart"), std::string::npos) << error;
  EXPECT_TRUE(upstreams_fit(*segment, ProxyConfig{}, &error));  // every group removed

  auto without = shm::Segment::create(unique_name(), static_cast<uint64_t>(::getpid()), {});
  EXPECT_TRUE(upstreams_fit(*without, ProxyConfig{}, &error));
  EXPECT_FALSE(upstreams_fit(*without, next, &error));
  EXPECT_NE(error.find("--upstream"), std::string::npos) << error;
}

TEST(UpstreamRegion, AServerStartedWithoutGroupsTakesThemOnReload) {
  ServerProgram program(cli::Config{}, {"zhttpd"}, nullptr, {});
  auto segment =
      shm::Segment::create(unique_name(), static_cast<uint64_t>(::getpid()), program.regions());
  program.lay_out(*segment);
  std::string error;
  const ProxyConfig next = proxy_of({{"app", {"a:1", "b:1"}}});
  ASSERT_TRUE(upstreams_fit(*segment, next, &error)) << error;
  map_upstreams(*segment, next);
  std::optional<shm::UpstreamTable> table = attach_upstreams(*segment);
  ASSERT_TRUE(table);
  EXPECT_GE(table->find("app", "b:1", 0), 0);
}

TEST(UpstreamRegion, TheServerProgramAsksForTheRegionAndLaysItOut) {
  cli::Config config;
  config.proxy = proxy_of({{"app", {"a:1"}}});
  ServerProgram program(config, {"zhttpd"}, nullptr, {});
  std::vector<shm::RegionRequest> regions = program.regions();
  ASSERT_FALSE(regions.empty());
  EXPECT_EQ(regions.back().kind, shm::RegionKind::kUpstreams);
  auto segment = shm::Segment::create(unique_name(), static_cast<uint64_t>(::getpid()), regions);
  program.lay_out(*segment);
  std::optional<shm::UpstreamTable> table = attach_upstreams(*segment);
  ASSERT_TRUE(table);
  EXPECT_GE(table->find("app", "a:1", 0), 0);
}

}  // namespace
}  // namespace zhttp::app
