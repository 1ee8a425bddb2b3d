// The upstream table (shm/upstream_table.hpp): lay-out and attach checks; the map of the
// configuration's servers onto slots (a reload keeps a server's slot and counters, retires the
// removed ones, gives new ones never used slots first, refuses what does not fit and then
// changes nothing); in-flight counts with max_conns, a dead worker's row taken back by
// clear_owner and by the master's exit hook on a real segment (also after a real SIGKILL), a
// total never left below zero; the failure window shared by every caller (the max_fails-th
// takes the server out, probation after, a success clears); active checks with rise and fall;
// the checker lease; what read_upstreams shows.
#include "shm/upstream_table.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "shm/segment.hpp"
#include "shm/worker_exit.hpp"
#include "unit/support/shared_mapping.hpp"

namespace zhttp::shm {
namespace {

struct Fixture {
  explicit Fixture(uint32_t capacity = kUpstreamMinCapacity)
      : map(UpstreamTable::bytes_for(capacity)),
        table(*UpstreamTable::create(map.get(), map.size(), capacity, /*region_is_zero=*/true)) {}
  test::SharedMapping map;
  UpstreamTable table;
};

std::vector<UpstreamSpec> specs(std::initializer_list<std::pair<const char*, const char*>> list) {
  std::vector<UpstreamSpec> out;
  for (const auto& [group, address] : list) out.push_back({group, address});
  return out;
}

TEST(UpstreamTable, CapacityIsAtLeast64AndTwiceTheServers) {
  EXPECT_EQ(UpstreamTable::capacity_for(0), 64u);
  EXPECT_EQ(UpstreamTable::capacity_for(32), 64u);
  EXPECT_EQ(UpstreamTable::capacity_for(100), 200u);
  // Slots, then a row of in-flight words per stats slot, each a whole number of cache lines.
  EXPECT_EQ(UpstreamTable::bytes_for(64), 64 + 64 * sizeof(UpstreamSlot) + kStatsSlots * 256);
  EXPECT_EQ(UpstreamTable::bytes_for(65), 64 + 65 * sizeof(UpstreamSlot) + kStatsSlots * 320);
}

TEST(UpstreamTable, CreateAndAttachCheckTheRegion) {
  test::SharedMapping map(UpstreamTable::bytes_for(64));
  EXPECT_FALSE(UpstreamTable::create(nullptr, map.size(), 64));
  EXPECT_FALSE(UpstreamTable::create(map.get(), map.size() - 1, 64));
  EXPECT_FALSE(UpstreamTable::create(static_cast<char*>(map.get()) + 8, map.size() - 8, 8));
  EXPECT_FALSE(UpstreamTable::attach(map.get(), map.size()));  // not laid out yet
  ASSERT_TRUE(UpstreamTable::create(map.get(), map.size(), 64));
  std::optional<UpstreamTable> t = UpstreamTable::attach(map.get(), map.size());
  ASSERT_TRUE(t);
  EXPECT_EQ(t->capacity(), 64u);
  EXPECT_FALSE(UpstreamTable::attach(map.get(), map.size() - 1));  // shorter than it says
  static_cast<UpstreamTableHeader*>(map.get())->version = kUpstreamTableVersion + 1;
  EXPECT_FALSE(UpstreamTable::attach(map.get(), map.size()));
}

TEST(UpstreamTable, MapFindsEachServerItsSlotAndTwinsApart) {
  Fixture f;
  std::string error;
  auto s = specs({{"app", "127.0.0.1:9001"},
                  {"app", "127.0.0.1:9002"},
                  {"api", "127.0.0.1:9001"},
                  {"app", "127.0.0.1:9001"}});
  ASSERT_TRUE(f.table.map(s, &error)) << error;
  const int32_t a = f.table.find("app", "127.0.0.1:9001", 0);
  const int32_t b = f.table.find("app", "127.0.0.1:9002", 0);
  const int32_t c = f.table.find("api", "127.0.0.1:9001", 0);
  const int32_t twin = f.table.find("app", "127.0.0.1:9001", 1);  // the same address again
  for (int32_t x : {a, b, c, twin}) EXPECT_GE(x, 0);
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);  // another group: another slot
  EXPECT_NE(a, twin);
  EXPECT_EQ(f.table.find("app", "127.0.0.1:9003", 0), -1);
  EXPECT_EQ(f.table.find("app", "127.0.0.1:9001", 2), -1);
  EXPECT_EQ(f.table.map_generation(), 1u);
}

TEST(UpstreamTable, ReloadKeepsSlotsAndCountersRetiresRemovedAndReusesLast) {
  Fixture f;
  std::string error;
  ASSERT_TRUE(f.table.map(specs({{"app", "a:1"}, {"app", "b:1"}}), &error));
  const int32_t a = f.table.find("app", "a:1", 0);
  const int32_t b = f.table.find("app", "b:1", 0);
  UpstreamSlot& sa = f.table.slot(a);
  ASSERT_TRUE(acquire(sa, nullptr, 0));
  bump(sa.traffic.responses[1], 7);
  record_failure(sa, 1000, 1, 10'000);  // down until 11 s
  f.table.slot(b).traffic.requests.store(5);

  // b removed, c added; a stays with its weight changed.
  std::vector<UpstreamSpec> next = specs({{"app", "a:1"}, {"app", "c:1"}});
  next[0].weight = 3;
  ASSERT_TRUE(f.table.map(next, &error)) << error;
  EXPECT_EQ(f.table.find("app", "a:1", 0), a);
  EXPECT_EQ(f.table.find("app", "b:1", 0), -1);  // retired: no longer found
  const int32_t c = f.table.find("app", "c:1", 0);
  ASSERT_GE(c, 0);
  EXPECT_NE(c, b);  // a never used slot, not the one a draining worker may still use
  EXPECT_EQ(in_flight(sa), 1);
  EXPECT_EQ(sa.traffic.requests.load(), 1u);
  EXPECT_EQ(sa.traffic.responses[1].load(), 7u);
  EXPECT_TRUE(is_down(sa, 2000));  // its health too
  EXPECT_EQ(sa.id.weight.load(), 3u);
  EXPECT_EQ(f.table.slot(c).traffic.requests.load(), 0u);

  // b comes back: its retired slot, with its counters.
  ASSERT_TRUE(f.table.map(specs({{"app", "a:1"}, {"app", "b:1"}, {"app", "c:1"}}), &error));
  EXPECT_EQ(f.table.find("app", "b:1", 0), b);
  EXPECT_EQ(f.table.slot(b).traffic.requests.load(), 5u);
  EXPECT_EQ(f.table.map_generation(), 3u);
}

TEST(UpstreamTable, NewServersTakeRetiredSlotsOnlyWhenNoneIsFreeAndStartAtZero) {
  Fixture f(4);
  std::string error;
  ASSERT_TRUE(f.table.map(specs({{"g", "a"}, {"g", "b"}}), &error));
  const int32_t a = f.table.find("g", "a", 0);
  f.table.slot(a).traffic.requests.store(9);
  ASSERT_TRUE(f.table.map(specs({{"g", "c"}, {"g", "d"}}), &error));  // the two free slots
  ASSERT_TRUE(f.table.map(specs({{"g", "e"}, {"g", "f"}}), &error));  // a's and b's, emptied
  const int32_t e = f.table.find("g", "e", 0);
  const int32_t ff = f.table.find("g", "f", 0);
  EXPECT_TRUE(e == a || ff == a);
  EXPECT_EQ(f.table.slot(a).traffic.requests.load(), 0u);
  char group[kUpstreamGroupBytes];
  std::memcpy(group, f.table.slot(a).id.group, sizeof group);
  EXPECT_STREQ(group, "g");
}

TEST(UpstreamTable, WhatDoesNotFitIsRefusedAndChangesNothing) {
  Fixture f(4);
  std::string error;
  ASSERT_TRUE(f.table.map(specs({{"g", "a"}, {"g", "b"}, {"g", "c"}}), &error));
  // Three new ones beside one kept: only one slot is not live.
  auto bigger = specs({{"g", "a"}, {"g", "x"}, {"g", "y"}, {"g", "z"}});
  EXPECT_FALSE(f.table.fits(bigger, &error));
  EXPECT_NE(error.find("room for 4 servers"), std::string::npos) << error;
  EXPECT_FALSE(f.table.map(bigger, &error));
  for (const char* s : {"a", "b", "c"}) EXPECT_GE(f.table.find("g", s, 0), 0) << s;
  EXPECT_EQ(f.table.map_generation(), 1u);
  EXPECT_TRUE(f.table.fits(specs({{"g", "a"}, {"g", "x"}}), &error));
}

TEST(UpstreamTable, ChecksStartCheckingAndStopWhenTheGroupDropsThem) {
  Fixture f;
  std::string error;
  auto s = specs({{"g", "a"}});
  s[0].checked = true;
  ASSERT_TRUE(f.table.map(s, &error));
  UpstreamSlot& a = f.table.slot(f.table.find("g", "a", 0));
  EXPECT_EQ(state_of(a, 0), UpstreamState::kChecking);
  record_check(a, true, 10, 1, 1);
  ASSERT_TRUE(f.table.map(s, &error));  // still checked: keeps its verdict
  EXPECT_EQ(state_of(a, 0), UpstreamState::kUp);
  s[0].checked = false;
  ASSERT_TRUE(f.table.map(s, &error));
  EXPECT_EQ(a.health.check_state.load(), static_cast<uint32_t>(CheckState::kNone));
}

TEST(UpstreamTable, InFlightRespectsMaxConnsAndEachWorkersRow) {
  Fixture f;
  std::string error;
  ASSERT_TRUE(f.table.map(specs({{"g", "a"}}), &error));
  const auto i = static_cast<uint32_t>(f.table.find("g", "a", 0));
  UpstreamSlot& s = f.table.slot(i);
  std::atomic<uint32_t>* w1 = f.table.row(1, i);
  std::atomic<uint32_t>* w2 = f.table.row(2, i);
  EXPECT_EQ(f.table.row(-1, i), nullptr);
  EXPECT_EQ(f.table.row(static_cast<int>(kStatsSlots), i), nullptr);
  EXPECT_TRUE(acquire(s, w1, 2));
  EXPECT_TRUE(acquire(s, w2, 2));
  EXPECT_FALSE(acquire(s, w1, 2));  // the third, across both workers
  EXPECT_EQ(in_flight(s), 2);
  EXPECT_EQ(w1->load(), 1u);  // the refused one undone in the row too
  EXPECT_EQ(s.traffic.requests.load(), 2u);
  release(s, w2);
  EXPECT_EQ(w2->load(), 0u);
  EXPECT_TRUE(acquire(s, w1, 2));
  EXPECT_EQ(f.table.clear_owner(1), 2u);  // worker 1 died with two in flight
  EXPECT_EQ(in_flight(s), 0);
  EXPECT_EQ(w1->load(), 0u);
}

TEST(UpstreamTable, ATotalBelowZeroIsRaisedBackAndNeverOvercounts) {
  Fixture f;
  std::string error;
  ASSERT_TRUE(f.table.map(specs({{"g", "a"}}), &error));
  const auto i = static_cast<uint32_t>(f.table.find("g", "a", 0));
  UpstreamSlot& s = f.table.slot(i);
  // A worker killed between its row and the total: its row says 1, the total never got it.
  f.table.row(3, i)->store(1);
  ASSERT_TRUE(acquire(s, f.table.row(4, i), 0));  // another worker, really in flight
  EXPECT_EQ(f.table.clear_owner(3), 1u);
  EXPECT_EQ(in_flight(s), 0);  // one low while worker 4's attempt lasts, never below 0
  release(s, f.table.row(4, i));
  EXPECT_EQ(s.traffic.in_flight.load(), 0);  // raised back, not left at -1
  ASSERT_TRUE(acquire(s, f.table.row(4, i), 1));
  EXPECT_FALSE(acquire(s, f.table.row(4, i), 1));
}

TEST(UpstreamTable, FailuresOfEveryCallerShareOneWindow) {
  UpstreamSlot s{};
  // max_fails 3 within 10 s: three failures from anyone take it out at the third.
  EXPECT_FALSE(record_failure(s, 1000, 3, 10'000));
  EXPECT_FALSE(record_failure(s, 2000, 3, 10'000));
  EXPECT_FALSE(is_down(s, 2000));
  EXPECT_TRUE(record_failure(s, 3000, 3, 10'000));
  EXPECT_TRUE(is_down(s, 3000));
  EXPECT_TRUE(is_down(s, 12'999));
  EXPECT_FALSE(is_down(s, 13'000));
  EXPECT_EQ(s.events.downs.load(), 1u);
  // Probation: back at 13 s, one failure takes it out again.
  EXPECT_TRUE(record_failure(s, 14'000, 3, 10'000));
  EXPECT_TRUE(is_down(s, 14'000));
  EXPECT_EQ(s.events.downs.load(), 2u);
  // A failure while it is out extends it, not counted as another down.
  EXPECT_FALSE(record_failure(s, 15'000, 3, 10'000));
  EXPECT_TRUE(is_down(s, 24'999));
  EXPECT_EQ(s.events.downs.load(), 2u);
  // A success clears the count: three more are needed.
  record_success(s);
  EXPECT_FALSE(record_failure(s, 30'000, 3, 10'000));
  EXPECT_FALSE(is_down(s, 30'000));
}

TEST(UpstreamTable, FailuresOutsideTheWindowStartAnotherOne) {
  UpstreamSlot s{};
  EXPECT_FALSE(record_failure(s, 1000, 2, 10'000));
  EXPECT_FALSE(record_failure(s, 11'000, 2, 10'000));  // the first one's window is over
  EXPECT_FALSE(is_down(s, 11'000));
  EXPECT_TRUE(record_failure(s, 12'000, 2, 10'000));
  // max_fails 0 or fail_timeout 0: never out.
  UpstreamSlot t{};
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(record_failure(t, 1000, 0, 10'000));
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(record_failure(t, 1000, 1, 0));
  EXPECT_FALSE(is_down(t, 1000));
}

TEST(UpstreamTable, ChecksRiseAndFallAndAPassForgetsPassiveFailures) {
  UpstreamSlot s{};
  s.health.check_state.store(static_cast<uint32_t>(CheckState::kChecking));
  record_check(s, false, 100, 2, 3);
  record_check(s, false, 200, 2, 3);
  EXPECT_EQ(state_of(s, 200), UpstreamState::kChecking);
  record_check(s, false, 300, 2, 3);
  EXPECT_EQ(state_of(s, 300), UpstreamState::kDown);
  record_check(s, true, 400, 2, 3);
  EXPECT_EQ(state_of(s, 400), UpstreamState::kDown);
  record_failure(s, 450, 1, 10'000);  // passive too
  record_check(s, true, 500, 2, 3);
  EXPECT_EQ(state_of(s, 500), UpstreamState::kUp);  // passive down forgotten
  EXPECT_EQ(s.health.checks_passed.load(), 2u);
  EXPECT_EQ(s.health.checks_failed.load(), 3u);
  EXPECT_EQ(s.health.last_check_ms.load(), 500u);
  EXPECT_EQ(s.health.last_check_ok.load(), 1u);
}

TEST(UpstreamTable, OneCheckerAtATimeAndANewerGenerationTakesOver) {
  Fixture f;
  EXPECT_TRUE(f.table.claim_checker(2, 1));
  EXPECT_TRUE(f.table.claim_checker(2, 1));   // still it
  EXPECT_FALSE(f.table.claim_checker(3, 1));  // same generation: taken
  EXPECT_TRUE(f.table.claim_checker(4, 2));   // the reload's workers take over
  EXPECT_FALSE(f.table.claim_checker(2, 1));
  f.table.clear_owner(4);  // its worker died
  EXPECT_TRUE(f.table.claim_checker(5, 2));
}

TEST(UpstreamTable, ReadShowsLiveServersWithTheirState) {
  Fixture f;
  std::string error;
  auto s = specs({{"app", "127.0.0.1:9001"}, {"app", "127.0.0.1:9002"}, {"app", "c"}});
  s[1].backup = true;
  s[1].weight = 4;
  s[2].checked = true;
  ASSERT_TRUE(f.table.map(s, &error));
  ASSERT_TRUE(f.table.map({s.data(), 3}, &error));
  UpstreamSlot& a = f.table.slot(f.table.find("app", "127.0.0.1:9001", 0));
  ASSERT_TRUE(acquire(a, nullptr, 0));
  bump(a.traffic.responses[4]);
  record_failure(a, 1000, 1, 5000);
  std::vector<UpstreamRow> rows(8);
  ASSERT_EQ(read_upstreams(f.table, 2000, rows.data(), rows.size()), 3u);
  EXPECT_STREQ(rows[0].group, "app");
  EXPECT_STREQ(rows[0].server, "127.0.0.1:9001");
  EXPECT_EQ(rows[0].state, UpstreamState::kDown);
  EXPECT_EQ(rows[0].in_flight, 1);
  EXPECT_EQ(rows[0].requests, 1u);
  EXPECT_EQ(rows[0].responses[4], 1u);
  EXPECT_EQ(rows[0].downs, 1u);
  EXPECT_EQ(rows[1].state, UpstreamState::kUp);
  EXPECT_TRUE(rows[1].backup);
  EXPECT_EQ(rows[1].weight, 4u);
  EXPECT_EQ(rows[2].state, UpstreamState::kChecking);
  EXPECT_EQ(state_name(rows[2].state), "checking");
  ASSERT_EQ(read_upstreams(f.table, 6000, rows.data(), 1), 1u);  // as many as asked
  EXPECT_EQ(rows[0].state, UpstreamState::kUp);                  // its fail_timeout is over
  // Retired servers are not shown.
  ASSERT_TRUE(f.table.map({s.data(), 1}, &error));
  EXPECT_EQ(read_upstreams(f.table, 6000, rows.data(), rows.size()), 1u);
}

TEST(UpstreamTable, LongNamesAreTruncatedForDisplayButStillFound) {
  Fixture f;
  std::string error;
  const std::string group(100, 'g');
  const std::string address = "unix:/" + std::string(200, 'p');
  ASSERT_TRUE(f.table.map(std::vector<UpstreamSpec>{{group, address}}, &error));
  EXPECT_GE(f.table.find(group, address, 0), 0);
  std::vector<UpstreamRow> rows(1);
  ASSERT_EQ(read_upstreams(f.table, 0, rows.data(), 1), 1u);
  EXPECT_EQ(std::string(rows[0].group), group.substr(0, kUpstreamGroupBytes - 1));
}

std::string unique_name() {
  static int n = 0;
  return "zhttpd-upstream-test-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

// The master's exit hook on a real segment, after a real SIGKILL of a process holding attempts.
TEST(UpstreamTable, TheExitHookTakesBackAKilledWorkersInFlight) {
  const uint32_t capacity = UpstreamTable::capacity_for(2);
  std::unique_ptr<Segment> segment = Segment::create(
      unique_name(), static_cast<uint64_t>(::getpid()),
      {{RegionKind::kUpstreams, kUpstreamTableVersion, UpstreamTable::bytes_for(capacity), ""}});
  const RegionEntry* e = find_region(segment->header(), RegionKind::kUpstreams);
  ASSERT_NE(e, nullptr);
  std::optional<UpstreamTable> table = UpstreamTable::create(
      segment->region(RegionKind::kUpstreams), e->bytes, capacity, /*region_is_zero=*/true);
  ASSERT_TRUE(table);
  std::string error;
  ASSERT_TRUE(table->map(specs({{"g", "a"}, {"g", "b"}}), &error));
  const auto a = static_cast<uint32_t>(table->find("g", "a", 0));
  const auto b = static_cast<uint32_t>(table->find("g", "b", 0));
  constexpr int kDead = 3;
  constexpr int kAlive = 5;
  segment->stats().slots[kDead].in_use.store(1);
  segment->stats().slots[kAlive].in_use.store(1);
  ASSERT_TRUE(acquire(table->slot(a), table->row(kAlive, a), 0));

  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::optional<UpstreamTable> mine =
        UpstreamTable::attach(segment->region(RegionKind::kUpstreams), e->bytes);
    for (int i = 0; i < 3; ++i) acquire(mine->slot(a), mine->row(kDead, a), 0);
    acquire(mine->slot(b), mine->row(kDead, b), 0);
    (void)!::write(ready[1], "x", 1);
    for (;;) ::pause();
  }
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status));
  ::close(ready[0]);
  ::close(ready[1]);
  EXPECT_EQ(in_flight(table->slot(a)), 4);
  EXPECT_EQ(in_flight(table->slot(b)), 1);

  on_worker_exit(*segment, kDead);
  EXPECT_EQ(in_flight(table->slot(a)), 1);  // the live worker's attempt stays
  EXPECT_EQ(in_flight(table->slot(b)), 0);
  EXPECT_EQ(table->row(kDead, a)->load(), 0u);
  EXPECT_EQ(table->row(kAlive, a)->load(), 1u);
}

}  // namespace
}  // namespace zhttp::shm
