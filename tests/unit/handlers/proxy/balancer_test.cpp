// The balancer (handlers/proxy/balancer.hpp) over configurations built by hand: smooth weighted
// round robin's exact sequence, least_conn following the in-flight counts of every worker, the
// power of two choices avoiding a loaded server, the hash ring keeping keys where they were when
// a server is added or removed (on the uri, the client address or a field), backups only when
// the others are down, `tried`, max_conns as one cap across two balancers sharing a table (two
// workers), passive health across two balancers (max_fails from both together, back after
// fail_timeout), a single server never taken out, active checks, the counters, a reload's
// re-mapping keeping a server's counters, and the table == nullptr path.
#include "handlers/proxy/balancer.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "shm/upstream_table.hpp"
#include "unit/support/address_test_util.hpp"
#include "unit/support/shared_mapping.hpp"

namespace zhttp::handlers::proxy {
namespace {

using test::ParsedRequest;

UpstreamGroup group(std::string name, std::vector<std::string> addresses,
                    Balance balance = Balance::kRoundRobin) {
  UpstreamGroup g;
  g.name = std::move(name);
  g.balance = balance;
  for (std::string& a : addresses) g.servers.push_back({.address = std::move(a)});
  return g;
}

ProxyConfig config_of(std::vector<UpstreamGroup> groups) {
  ProxyConfig c;
  c.groups = std::move(groups);
  return c;
}

// The table in a shared mapping, mapped from a configuration as the master does.
struct Table {
  explicit Table(const ProxyConfig& config)
      : map(shm::UpstreamTable::bytes_for(64)),
        table(*shm::UpstreamTable::create(map.get(), map.size(), 64, true)) {
    remap(config);
  }
  void remap(const ProxyConfig& config) {
    std::vector<shm::UpstreamSpec> specs;
    for (const UpstreamGroup& g : config.groups) {
      for (const UpstreamServer& s : g.servers) {
        specs.push_back({g.name, s.address, s.weight, s.max_conns, s.backup, !g.check.empty()});
      }
    }
    std::string error;
    ASSERT_TRUE(table.map(specs, &error)) << error;
  }
  const shm::UpstreamSlot& slot(const char* group, const char* address) {
    return table.slot(static_cast<uint32_t>(table.find(group, address, 0)));
  }
  zhttp::test::SharedMapping map;
  shm::UpstreamTable table;
};

const ParsedRequest& any_request() {
  static ParsedRequest r("/");
  return r;
}

// Picks `n` times, each finished at once with a 200; the servers' indexes in order.
std::vector<uint32_t> picks(Balancer& b, size_t n, uint32_t g = 0, uint64_t now = 1000) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < n; ++i) {
    uint32_t s = 99;
    EXPECT_EQ(b.pick(g, any_request().view, 0, now, &s), Pick::kPicked);
    b.finish(g, s, Outcome::kResponse, 200, now);
    out.push_back(s);
  }
  return out;
}

uint32_t pick_one(Balancer& b, uint64_t tried = 0, uint64_t now = 1000,
                  const RequestView* request = nullptr) {
  uint32_t s = 99;
  EXPECT_EQ(b.pick(0, request ? *request : any_request().view, tried, now, &s), Pick::kPicked);
  return s;
}

TEST(Balancer, SmoothWeightedRoundRobinGivesNginxsSequence) {
  ProxyConfig c = config_of({group("app", {"a", "b", "c"})});
  c.groups[0].servers[0].weight = 5;
  Table t(c);
  Balancer b(c, &t.table, 0);
  EXPECT_TRUE(b.shared());
  // nginx's documented example for weights 5, 1, 1: a a b a c a a, then again.
  const std::vector<uint32_t> once = {0, 0, 1, 0, 2, 0, 0};
  std::vector<uint32_t> twice = once;
  twice.insert(twice.end(), once.begin(), once.end());
  EXPECT_EQ(picks(b, 14), twice);
}

TEST(Balancer, EqualWeightsRotateAndTheTableCountsRequestsAndClasses) {
  ProxyConfig c = config_of({group("app", {"a", "b", "c"})});
  Table t(c);
  Balancer b(c, &t.table, 0);
  EXPECT_EQ(picks(b, 6), (std::vector<uint32_t>{0, 1, 2, 0, 1, 2}));
  EXPECT_EQ(t.slot("app", "a").traffic.requests.load(), 2u);
  EXPECT_EQ(t.slot("app", "a").traffic.responses[1].load(), 2u);
  EXPECT_EQ(t.slot("app", "a").traffic.in_flight.load(), 0);
}

TEST(Balancer, WithoutATableTheStateIsLocal) {
  ProxyConfig c = config_of({group("app", {"a", "b"}), group("api", {"x"})});
  c.groups[0].servers[1].weight = 2;
  Balancer b(c, nullptr, -1);
  EXPECT_FALSE(b.shared());
  EXPECT_EQ(picks(b, 3), (std::vector<uint32_t>{1, 0, 1}));
  EXPECT_EQ(picks(b, 2, 1), (std::vector<uint32_t>{0, 0}));
  uint32_t s = 0;
  EXPECT_EQ(b.pick(2, any_request().view, 0, 1000, &s), Pick::kNoneUp);  // no such group
  // Passive health works the same, in this process.
  ASSERT_EQ(b.pick(0, any_request().view, 0b10, 1000, &s), Pick::kPicked);
  b.finish(0, s, Outcome::kConnectError, 0, 1000);
  EXPECT_EQ(b.state(0, 0, 1000), ServerState::kDown);
  EXPECT_EQ(picks(b, 3), (std::vector<uint32_t>{1, 1, 1}));
}

TEST(Balancer, LeastConnFollowsTheInFlightCountsOfEveryWorker) {
  ProxyConfig c = config_of({group("app", {"a", "b", "c"}, Balance::kLeastConn)});
  Table t(c);
  Balancer w1(c, &t.table, 1);
  Balancer w2(c, &t.table, 2);
  // Three attempts held by worker 1: one on each server.
  const uint32_t x = pick_one(w1), y = pick_one(w1), z = pick_one(w1);
  EXPECT_EQ(std::set<uint32_t>({x, y, z}).size(), 3u);
  // Worker 2 finds them all at one; worker 1 ends the one on y: y is the least loaded.
  w1.finish(0, y, Outcome::kResponse, 200, 1000);
  EXPECT_EQ(pick_one(w2), y);
  EXPECT_EQ(w1.in_flight(0, y), 1u);  // worker 2's, seen by worker 1
  // Ties go round: with nothing in flight, every server gets its turn.
  w1.finish(0, x, Outcome::kResponse, 200, 1000);
  w1.finish(0, z, Outcome::kResponse, 200, 1000);
  w2.finish(0, y, Outcome::kResponse, 200, 1000);
  std::vector<uint32_t> order = picks(w2, 6);
  std::map<uint32_t, int> count;
  for (uint32_t s : order) ++count[s];
  EXPECT_EQ(count, (std::map<uint32_t, int>{{0, 2}, {1, 2}, {2, 2}}));
}

TEST(Balancer, LeastConnWeighsTheCounts) {
  ProxyConfig c = config_of({group("app", {"a", "b"}, Balance::kLeastConn)});
  c.groups[0].servers[0].weight = 3;
  Table t(c);
  Balancer b(c, &t.table, 0);
  // Held attempts: a takes three for each one of b.
  std::map<uint32_t, int> count;
  for (int i = 0; i < 8; ++i) ++count[pick_one(b)];
  EXPECT_EQ(count, (std::map<uint32_t, int>{{0, 6}, {1, 2}}));
}

TEST(Balancer, TwoChoicesAvoidALoadedServer) {
  ProxyConfig c = config_of({group("app", {"a", "b", "c"}, Balance::kRandom)});
  Table t(c);
  Balancer b(c, &t.table, 0);
  // Another worker holds ten attempts on a.
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(shm::acquire(t.table.slot(t.table.find("app", "a", 0)), nullptr, 0));
  std::map<uint32_t, int> count;
  for (uint32_t s : picks(b, 300)) ++count[s];
  EXPECT_EQ(count[0], 0);  // any two drawn include b or c, which win
  EXPECT_GT(count[1], 100);
  EXPECT_GT(count[2], 100);
  // Unloaded, it is drawn like the others.
  for (int i = 0; i < 10; ++i) shm::release(t.table.slot(t.table.find("app", "a", 0)), nullptr);
  count.clear();
  for (uint32_t s : picks(b, 600)) ++count[s];
  for (uint32_t s = 0; s < 3; ++s) EXPECT_GT(count[s], 120) << s;
}

// The server of each of `keys` under a hash group of `addresses`.
std::vector<std::string> hashed(const std::vector<std::string>& addresses,
                                const std::vector<std::string>& keys) {
  ProxyConfig c = config_of({group("app", addresses, Balance::kHash)});
  Balancer b(c, nullptr, -1);
  std::vector<std::string> out;
  for (const std::string& k : keys) {
    ParsedRequest r(k);
    const uint32_t s = pick_one(b, 0, 1000, &r.view);
    out.push_back(addresses[s]);
    b.finish(0, s, Outcome::kAbandoned, 0, 1000);
  }
  return out;
}

TEST(Balancer, HashKeepsKeysWhereTheyWereWhenAServerComesOrGoes) {
  std::vector<std::string> keys;
  for (int i = 0; i < 2000; ++i) keys.push_back("/item/" + std::to_string(i) + "?v=1");
  const std::vector<std::string> five = {"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80",
                                         "10.0.0.5:80"};
  const std::vector<std::string> before = hashed(five, keys);
  std::map<std::string, int> share;
  for (const std::string& s : before) ++share[s];
  for (const std::string& s : five) {
    EXPECT_GT(share[s], 250) << s;  // 400 each on average
    EXPECT_LT(share[s], 550) << s;
  }
  // Removed: every key of the other servers stays where it was.
  std::vector<std::string> four = five;
  four.erase(four.begin() + 2);
  const std::vector<std::string> without = hashed(four, keys);
  for (size_t k = 0; k < keys.size(); ++k) {
    if (before[k] != five[2]) {
      EXPECT_EQ(without[k], before[k]) << keys[k];
    }
  }
  // Added: keys move only to the new server, about a sixth of them.
  std::vector<std::string> six = five;
  six.push_back("10.0.0.6:80");
  const std::vector<std::string> with = hashed(six, keys);
  int moved = 0;
  for (size_t k = 0; k < keys.size(); ++k) {
    if (with[k] == before[k]) continue;
    ++moved;
    EXPECT_EQ(with[k], six.back()) << keys[k];
  }
  EXPECT_GT(moved, 2000 / 6 / 2);
  EXPECT_LT(moved, 2000 / 6 * 2);
}

TEST(Balancer, HashOnAFieldOrTheClientAddressAndTheNextServerWhenDown) {
  ProxyConfig c = config_of({group("app", {"a:1", "b:1", "c:1"}, Balance::kHash)});
  c.groups[0].hash_key = HashKey::kHeader;
  c.groups[0].hash_header = "X-User";
  Table t(c);
  Balancer b(c, &t.table, 0);
  ParsedRequest alice("/x", "X-User: alice\r\n");
  ParsedRequest alice2("/other", "x-user: alice\r\n");
  const uint32_t home = pick_one(b, 0, 1000, &alice.view);
  b.finish(0, home, Outcome::kResponse, 200, 1000);
  EXPECT_EQ(pick_one(b, 0, 1000, &alice2.view), home);  // the field, not the path
  b.finish(0, home, Outcome::kConnectError, 0, 1000);   // home is down now
  const uint32_t next = pick_one(b, 0, 1000, &alice.view);
  EXPECT_NE(next, home);
  b.finish(0, next, Outcome::kResponse, 200, 1000);
  EXPECT_EQ(pick_one(b, 0, 1000, &alice.view), next);  // the same next one every time
  b.finish(0, next, Outcome::kResponse, 200, 1000);
  EXPECT_EQ(pick_one(b, 0, 20'000, &alice.view), home);  // home again once it is back
  b.finish(0, home, Outcome::kResponse, 200, 20'000);
  // Retried: the tried one is skipped for the next on the ring.
  EXPECT_EQ(pick_one(b, uint64_t{1} << home, 20'000, &alice.view), next);
  b.finish(0, next, Outcome::kResponse, 200, 20'000);

  c.groups[0].hash_key = HashKey::kAddr;
  Balancer by_addr(c, nullptr, -1);
  ParsedRequest one("/a"), two("/b");
  const PeerAddress peer = test::addr("192.0.2.7");
  const PeerAddress mapped = test::addr("::ffff:192.0.2.7");
  RequestView v1(one.request, one.text.data(), {}, &peer);
  RequestView v2(two.request, two.text.data(), {}, &mapped);
  EXPECT_EQ(pick_one(by_addr, 0, 1000, &v1), pick_one(by_addr, 0, 1000, &v2));
}

TEST(Balancer, HashWithoutAKeySpreadsTheRequests) {
  ProxyConfig c = config_of({group("app", {"a", "b"}, Balance::kHash)});
  c.groups[0].hash_key = HashKey::kHeader;
  c.groups[0].hash_header = "X-User";
  Balancer b(c, nullptr, -1);
  EXPECT_EQ(picks(b, 4), (std::vector<uint32_t>{0, 1, 0, 1}));
}

TEST(Balancer, BackupsOnlyWhenEveryOtherServerIsDownOrTried) {
  ProxyConfig c = config_of({group("app", {"a", "b", "spare"})});
  c.groups[0].servers[2].backup = true;
  for (Balance balance :
       {Balance::kRoundRobin, Balance::kLeastConn, Balance::kRandom, Balance::kHash}) {
    c.groups[0].balance = balance;
    Table t(c);
    Balancer b(c, &t.table, 0);
    for (uint32_t s : picks(b, 20)) EXPECT_NE(s, 2u);
    EXPECT_EQ(pick_one(b, 0b011), 2u);  // both tried: a retry goes to the backup
    b.finish(0, 2, Outcome::kResponse, 200, 1000);
    for (uint64_t tried : {0b10, 0b01}) {
      const uint32_t s = pick_one(b, tried);
      b.finish(0, s, Outcome::kConnectError, 0, 1000);
    }
    EXPECT_EQ(b.state(0, 0, 1000), ServerState::kDown);
    EXPECT_EQ(picks(b, 3), (std::vector<uint32_t>{2, 2, 2}));
    // The backup down as well: nothing is up.
    b.finish(0, pick_one(b), Outcome::kTimeout, 0, 1000);
    uint32_t s = 0;
    EXPECT_EQ(b.pick(0, any_request().view, 0, 1000, &s), Pick::kNoneUp);
    // After fail_timeout (10 s), the others again.
    for (uint32_t x : picks(b, 4, 0, 11'000)) EXPECT_NE(x, 2u);
  }
}

TEST(Balancer, MaxConnsIsOneCapAcrossWorkers) {
  ProxyConfig c = config_of({group("app", {"a", "b"})});
  c.groups[0].servers[0].max_conns = 2;
  c.groups[0].servers[1].max_conns = 1;
  for (Balance balance :
       {Balance::kRoundRobin, Balance::kLeastConn, Balance::kRandom, Balance::kHash}) {
    c.groups[0].balance = balance;
    Table t(c);
    Balancer w1(c, &t.table, 1);
    Balancer w2(c, &t.table, 2);
    std::map<uint32_t, int> held;
    std::map<uint32_t, Balancer*> owner;
    for (Balancer* w : {&w1, &w2, &w1}) {
      const uint32_t s = pick_one(*w);
      ++held[s];
      owner[s] = w;
    }
    EXPECT_EQ(held, (std::map<uint32_t, int>{{0, 2}, {1, 1}}));
    uint32_t s = 0;
    EXPECT_EQ(w2.pick(0, any_request().view, 0, 1000, &s), Pick::kAllBusy);
    EXPECT_EQ(w1.pick(0, any_request().view, 0, 1000, &s), Pick::kAllBusy);
    // Busy is not down: a backup would not be used, and a tried one changes nothing.
    EXPECT_EQ(w1.pick(0, any_request().view, 0b01, 1000, &s), Pick::kAllBusy);
    EXPECT_EQ(w1.pick(0, any_request().view, 0b11, 1000, &s), Pick::kNoneUp);
    // The attempt on b ends: a place frees for anyone.
    owner[1]->finish(0, 1, Outcome::kResponse, 200, 1000);
    EXPECT_EQ(pick_one(w2), 1u);
    EXPECT_EQ(t.slot("app", "a").traffic.in_flight.load(), 2);
    EXPECT_EQ(t.slot("app", "b").traffic.in_flight.load(), 1);
  }
}

TEST(Balancer, FailuresOfTwoWorkersTogetherTakeAServerOutForBoth) {
  ProxyConfig c = config_of({group("app", {"a", "b"})});
  c.groups[0].max_fails = 3;
  c.groups[0].fail_timeout = 10;
  Table t(c);
  Balancer w1(c, &t.table, 1);
  Balancer w2(c, &t.table, 2);
  auto fail_on_a = [&](Balancer& w, uint64_t now, Outcome how) {
    ASSERT_EQ(pick_one(w, 0b10, now), 0u);
    w.finish(0, 0, how, 0, now);
  };
  fail_on_a(w1, 1000, Outcome::kConnectError);
  fail_on_a(w2, 1500, Outcome::kTimeout);
  EXPECT_EQ(w1.state(0, 0, 1500), ServerState::kUp);
  // Neither a response (even a 502) nor a client going away counts.
  ASSERT_EQ(pick_one(w1, 0b10, 1600), 0u);
  w1.finish(0, 0, Outcome::kAbandoned, 0, 1600);
  fail_on_a(w1, 2000, Outcome::kError);  // the third, from both together
  EXPECT_EQ(w2.state(0, 0, 2000), ServerState::kDown);
  for (uint32_t s : picks(w2, 5, 0, 2000)) EXPECT_EQ(s, 1u);
  for (uint32_t s : picks(w1, 5, 0, 11'999)) EXPECT_EQ(s, 1u);
  // Back after fail_timeout, for both.
  EXPECT_EQ(w2.state(0, 0, 12'000), ServerState::kUp);
  std::map<uint32_t, int> count;
  for (uint32_t s : picks(w2, 10, 0, 12'000)) ++count[s];
  EXPECT_GE(count[0], 3);
  const shm::UpstreamSlot& a = t.slot("app", "a");
  EXPECT_EQ(a.events.connect_errors.load(), 1u);
  EXPECT_EQ(a.events.timeouts.load(), 1u);
  EXPECT_EQ(a.events.errors.load(), 1u);
  EXPECT_EQ(a.events.abandoned.load(), 1u);
  EXPECT_EQ(a.events.fails.load(), 3u);
  EXPECT_EQ(a.events.downs.load(), 1u);
}

TEST(Balancer, ASingleServerIsNeverTakenOut) {
  ProxyConfig c = config_of({group("solo", {"a"})});
  Table t(c);
  Balancer b(c, &t.table, 0);
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(pick_one(b), 0u);
    b.finish(0, 0, Outcome::kConnectError, 0, 1000);
  }
  EXPECT_EQ(b.state(0, 0, 1000), ServerState::kUp);
  EXPECT_EQ(pick_one(b), 0u);
  EXPECT_EQ(t.slot("solo", "a").events.fails.load(), 10u);
}

TEST(Balancer, ActiveChecksTakeServersOutAndBackForEveryWorker) {
  ProxyConfig c = config_of({group("app", {"a", "b"})});
  c.groups[0].check = "/health";
  c.groups[0].rise = 2;
  c.groups[0].fall = 2;
  Table t(c);
  Balancer checker(c, &t.table, 1);
  Balancer other(c, &t.table, 2);
  EXPECT_TRUE(checker.claim_checks(1));
  EXPECT_FALSE(other.claim_checks(1));
  EXPECT_EQ(other.state(0, 0, 1000), ServerState::kChecking);
  EXPECT_EQ(picks(other, 2), (std::vector<uint32_t>{0, 1}));  // used meanwhile
  checker.record_check(0, 0, false, 1000);
  checker.record_check(0, 0, false, 3000);
  checker.record_check(0, 1, true, 3000);
  checker.record_check(0, 1, true, 3000);
  EXPECT_EQ(other.state(0, 0, 3000), ServerState::kDown);
  EXPECT_EQ(other.state(0, 1, 3000), ServerState::kUp);
  for (uint32_t s : picks(other, 4, 0, 3000)) EXPECT_EQ(s, 1u);
  checker.record_check(0, 0, true, 5000);
  checker.record_check(0, 0, true, 7000);
  EXPECT_EQ(picks(other, 2, 0, 7000).size(), 2u);
  EXPECT_EQ(other.state(0, 0, 7000), ServerState::kUp);
  // A single server checked down is out too (only failures never take it out).
  ProxyConfig solo = config_of({group("solo", {"s"})});
  solo.groups[0].check = "/health";
  solo.groups[0].fall = 1;
  Balancer alone(solo, nullptr, -1);
  EXPECT_TRUE(alone.claim_checks(7));
  alone.record_check(0, 0, false, 1000);
  uint32_t s = 0;
  EXPECT_EQ(alone.pick(0, any_request().view, 0, 1000, &s), Pick::kNoneUp);
}

TEST(Balancer, CountersOfRetriesAndConnections) {
  ProxyConfig c = config_of({group("app", {"a"})});
  Table t(c);
  Balancer b(c, &t.table, 0);
  const uint32_t s = pick_one(b);
  b.count_connection(0, s, false);
  b.finish(0, s, Outcome::kError, 0, 1000);
  b.count_retry(0, s);
  b.count_connection(0, pick_one(b), true);
  b.finish(0, 0, Outcome::kResponse, 304, 1000);
  b.count_retry(3, 0);  // out of range: ignored
  b.count_connection(0, 9, true);
  b.finish(0, 9, Outcome::kResponse, 200, 1000);
  const shm::UpstreamSlot& a = t.slot("app", "a");
  EXPECT_EQ(a.traffic.requests.load(), 2u);
  EXPECT_EQ(a.traffic.responses[2].load(), 1u);
  EXPECT_EQ(a.traffic.reused_connections.load(), 1u);
  EXPECT_EQ(a.events.new_connections.load(), 1u);
  EXPECT_EQ(a.events.retries.load(), 1u);
  EXPECT_EQ(a.events.errors.load(), 1u);
  EXPECT_EQ(a.traffic.in_flight.load(), 0);
}

TEST(Balancer, AReloadsBalancerFindsTheSameSlotsAndTheirCounters) {
  ProxyConfig before = config_of({group("app", {"a", "b"})});
  Table t(before);
  {
    Balancer old_worker(before, &t.table, 1);
    picks(old_worker, 4);
  }
  ProxyConfig after = config_of({group("app", {"c", "a"}), group("new", {"b"})});
  t.remap(after);
  Balancer b(after, &t.table, 2);
  EXPECT_TRUE(b.shared());
  EXPECT_EQ(t.slot("app", "a").traffic.requests.load(), 2u);  // kept across the reload
  picks(b, 2);
  EXPECT_EQ(t.slot("app", "a").traffic.requests.load(), 3u);
  EXPECT_EQ(t.slot("app", "c").traffic.requests.load(), 1u);
  EXPECT_EQ(t.slot("new", "b").traffic.requests.load(), 0u);  // another group: another slot
  // A server the table does not know (not mapped) gets a local slot; the others stay shared.
  ProxyConfig unknown = config_of({group("app", {"a", "zz"})});
  Balancer partial(unknown, &t.table, 3);
  EXPECT_FALSE(partial.shared());
  picks(partial, 2);
  EXPECT_EQ(t.slot("app", "a").traffic.requests.load(), 4u);
}

TEST(Balancer, TriedServersPast63AreNeverSkipped) {
  std::vector<std::string> many;
  for (int i = 0; i < 70; ++i) many.push_back("s" + std::to_string(i));
  ProxyConfig c = config_of({group("big", many)});
  Balancer b(c, nullptr, -1);
  // Every bit set: only the servers past 63 can be picked.
  for (int i = 0; i < 12; ++i) {
    const uint32_t s = pick_one(b, ~uint64_t{0});
    EXPECT_GE(s, 64u);
    b.finish(0, s, Outcome::kResponse, 200, 1000);
  }
}

}  // namespace
}  // namespace zhttp::handlers::proxy
