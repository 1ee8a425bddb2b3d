// The balancer's request path allocates nothing once built: pick() and finish() under every
// balance mode (the hash ring walked on the uri, a field and the client address, with servers
// down, tried, at max_conns and backups), the counters, and active check results.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <string>
#include <vector>

#include "alloc_counter.hpp"
#include "handlers/common/client_address.hpp"
#include "handlers/proxy/balancer.hpp"
#include "shm/upstream_table.hpp"
#include "zhttp/parser.hpp"

namespace zhttp::handlers::proxy {
namespace {

ProxyConfig config() {
  ProxyConfig c;
  const Balance modes[] = {Balance::kRoundRobin, Balance::kLeastConn, Balance::kRandom,
                           Balance::kHash,       Balance::kHash,      Balance::kHash};
  const HashKey keys[] = {HashKey::kUri, HashKey::kUri,    HashKey::kUri,
                          HashKey::kUri, HashKey::kHeader, HashKey::kAddr};
  for (size_t g = 0; g < std::size(modes); ++g) {
    UpstreamGroup group;
    group.name = "g" + std::to_string(g);
    group.balance = modes[g];
    group.hash_key = keys[g];
    group.hash_header = "X-User";
    group.check = "/health";
    group.max_fails = 2;
    group.fail_timeout = 0.05;  // back soon: the test goes on picking
    for (int s = 0; s < 5; ++s) {
      UpstreamServer server;
      server.address = "10.0.0." + std::to_string(s + 1) + ":80";
      server.weight = static_cast<uint32_t>(s + 1);
      server.max_conns = s == 1 ? 1 : 0;
      server.backup = s == 4;
      group.servers.push_back(server);
    }
    c.groups.push_back(group);
  }
  return c;
}

TEST(BalancerAllocations, PickAndFinishAllocateNothing) {
  const ProxyConfig c = config();
  const uint32_t capacity = shm::UpstreamTable::capacity_for(30);
  const size_t bytes = shm::UpstreamTable::bytes_for(capacity);
  void* region = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(region, MAP_FAILED);
  auto table = shm::UpstreamTable::create(region, bytes, capacity, true);
  ASSERT_TRUE(table);
  std::vector<shm::UpstreamSpec> specs;
  for (const UpstreamGroup& g : c.groups) {
    for (const UpstreamServer& s : g.servers) {
      specs.push_back({g.name, s.address, s.weight, s.max_conns, s.backup, true});
    }
  }
  std::string error;
  ASSERT_TRUE(table->map(specs, &error)) << error;
  Balancer balancer(c, &*table, 3);

  std::vector<std::string> texts;
  for (int i = 0; i < 64; ++i) {
    texts.push_back("GET /item/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\nX-User: u" +
                    std::to_string(i % 7) + "\r\n\r\n");
  }
  std::vector<Request> requests(texts.size());
  std::vector<std::vector<Header>> headers(texts.size(), std::vector<Header>(8));
  std::vector<PeerAddress> peers(texts.size());
  std::vector<RequestView> views;
  for (size_t i = 0; i < texts.size(); ++i) {
    ASSERT_EQ(parse_request(texts[i], ParserLimits{}, requests[i], {headers[i].data(), 8}).status,
              ParseStatus::kComplete);
    ASSERT_TRUE(common::parse_address("192.0.2." + std::to_string(i), &peers[i]));
    views.emplace_back(requests[i], texts[i].data(), std::string_view(), &peers[i]);
  }
  const Outcome outcomes[] = {Outcome::kResponse, Outcome::kResponse, Outcome::kConnectError,
                              Outcome::kResponse, Outcome::kTimeout,  Outcome::kAbandoned,
                              Outcome::kError};
  long picked = 0;
  long allocations = 0;
  {
    test::AllocationWindow window;
    uint64_t now = 1'000'000;
    uint32_t held[6] = {};
    bool holding[6] = {};
    for (int i = 0; i < 20000; ++i, now += 3) {
      const auto g = static_cast<uint32_t>(i % c.groups.size());
      const RequestView& view = views[static_cast<size_t>(i) % views.size()];
      uint32_t server = 0;
      const uint64_t tried = (i % 5 == 0) ? 0b11 : 0;
      if (balancer.pick(g, view, tried, now, &server) == Pick::kPicked) {
        ++picked;
        balancer.count_connection(g, server, i % 3 != 0);
        if (i % 11 == 0) balancer.count_retry(g, server);
        if (!holding[g] && i % 4 == 0) {  // hold one attempt a while: max_conns, least_conn
          held[g] = server;
          holding[g] = true;
        } else {
          balancer.finish(g, server, outcomes[i % std::size(outcomes)],
                          static_cast<uint16_t>(200 + 100 * (i % 4)), now);
        }
      }
      if (holding[g] && i % 9 == 0) {
        balancer.finish(g, held[g], Outcome::kResponse, 200, now);
        holding[g] = false;
      }
      if (i % 50 == 0 && balancer.claim_checks(1)) {
        balancer.record_check(g, static_cast<uint32_t>(i % 5), i % 3 != 0, now);
      }
      (void)balancer.state(g, 0, now);
      (void)balancer.in_flight(g, 0);
    }
    allocations = window.allocations();
  }
  EXPECT_GT(picked, 10000);
  EXPECT_EQ(allocations, 0) << "allocations in " << picked << " picks";
  ::munmap(region, bytes);
}

}  // namespace
}  // namespace zhttp::handlers::proxy
