// The master's per-worker exit hook (shm/worker_exit.hpp) on a real segment holding every region
// kind: the exited worker's stats counters, latency, rate limiter rows and app counters land in
// the retired totals (so the totals read before and after are the same), its gauges (stats and
// app) are zeroed, its words in every connection table are emptied while another worker's stay,
// its slot is freed, all within one fold sequence; the other workers are untouched. A segment
// with only the stats region, a connection table never laid out, and a slot out of range. The
// cache: a dead writer's slot and lease reset, its counters folded, the resets counted.
#include "shm/worker_exit.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>

#include "shm/app_counters.hpp"
#include "shm/cache_counters.hpp"
#include "shm/cache_store.hpp"
#include "shm/conn_table.hpp"
#include "shm/limits.hpp"
#include "shm/rate_table.hpp"
#include "shm/segment.hpp"
#include "shm/stats.hpp"

namespace zhttp::shm {
namespace {

constexpr uint32_t kSlots = 64;
constexpr uint32_t kGone = 3;  // the stats slot of the worker that exits
constexpr uint32_t kStays = 5;

std::string unique_name() {
  static int n = 0;
  return "zhttpd-exit-test-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

class WorkerExitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    segment_ = Segment::create(
        unique_name(), static_cast<uint64_t>(::getpid()),
        {{RegionKind::kLimits, kLimitsVersion, LimitsRegion::bytes_for(3), ""},
         {RegionKind::kRateTable, kRateTableVersion, RateTable::bytes_for(kSlots), "req"},
         {RegionKind::kConnTable, kConnTableVersion, ConnTable::bytes_for(kSlots), "conn"},
         {RegionKind::kConnTable, kConnTableVersion, ConnTable::bytes_for(kSlots), "conn2"},
         {RegionKind::kAppCounters, kAppCountersVersion, AppCountersRegion::bytes_for(2), ""}});
    limits_ = static_cast<LimitsRegion*>(segment_->region(RegionKind::kLimits));
    app_ = static_cast<AppCountersRegion*>(segment_->region(RegionKind::kAppCounters));
    ASSERT_NE(limits_, nullptr);
    ASSERT_NE(app_, nullptr);
    limits_->zone_count = 3;
    limits_->zones[0].kind = kRequestZone;
    limits_->zones[1].kind = kConnectionZone;
    limits_->zones[2].kind = kConnectionZone;
    ASSERT_TRUE(RateTable::create(segment_->region(RegionKind::kRateTable, "req"),
                                  RateTable::bytes_for(kSlots), kSlots, SipKey{1, 2}, 0));
    conn_ = ConnTable::create(segment_->region(RegionKind::kConnTable, "conn"),
                              ConnTable::bytes_for(kSlots), kSlots, SipKey{3, 4});
    conn2_ = ConnTable::create(segment_->region(RegionKind::kConnTable, "conn2"),
                               ConnTable::bytes_for(kSlots), kSlots, SipKey{5, 6});
    ASSERT_TRUE(conn_ && conn2_);
    const AppValueDecl values[] = {{"greetings", "", kAppCounter}, {"busy", "", kAppGauge}};
    ASSERT_TRUE(lay_out_app_values(*app_, values));

    stats().retired.add(Counter::kRequests, 100);
    app_->word(-1, 0).store(1000);
    limits_->counters(-1, 0).table.passed.add(50);
    fill_worker(kGone, 10);
    fill_worker(kStays, 20);
  }

  StatsRegion& stats() { return segment_->stats(); }

  void fill_worker(uint32_t slot, uint64_t n) {
    WorkerStats& w = stats().slots[slot];
    w.in_use.store(1);
    w.add(Counter::kRequests, n);
    w.add(Counter::kLatencySumUs, n * 7);
    w.latency[4].store(n);
    w.set(Gauge::kConnectionsActive, n);
    limits_->counters(static_cast<int>(slot), 0).table.passed.add(n);
    limits_->counters(static_cast<int>(slot), 1).table.refused.add(n);
    AppValueWriter(worker_word(*app_, static_cast<int>(slot), 0)).add(static_cast<int64_t>(n));
    AppValueWriter(worker_word(*app_, static_cast<int>(slot), 1)).set(static_cast<int64_t>(n));
    ConnHandle h = 0;
    ASSERT_EQ(conn_->acquire(conn_->hash("10.0.0.1"), slot, 100, &h),
              ConnTable::Outcome::kAdmitted);
    ASSERT_EQ(conn2_->acquire(conn2_->hash("10.0.0.2"), slot, 100, &h),
              ConnTable::Outcome::kAdmitted);
  }

  std::unique_ptr<Segment> segment_;
  LimitsRegion* limits_ = nullptr;
  AppCountersRegion* app_ = nullptr;
  std::optional<ConnTable> conn_, conn2_;
};

TEST_F(WorkerExitTest, FoldsCountersZeroesGaugesReleasesConnectionsAndFreesTheSlot) {
  auto before = std::make_unique<StatsSnapshot>();
  ASSERT_TRUE(read_stats(stats(), before.get()));
  const uint32_t sequence = stats().fold_sequence.load();

  on_worker_exit(*segment_, kGone);

  EXPECT_EQ(stats().fold_sequence.load(), sequence + 2);
  const WorkerStats& gone = stats().slots[kGone];
  EXPECT_EQ(gone.in_use.load(), 0u);
  EXPECT_EQ(gone.get(Counter::kRequests), 0u);
  EXPECT_EQ(gone.get(Gauge::kConnectionsActive), 0u);
  EXPECT_EQ(gone.latency[4].load(), 0u);
  EXPECT_EQ(stats().retired.get(Counter::kRequests), 110u);
  EXPECT_EQ(stats().retired.get(Counter::kLatencySumUs), 70u);
  EXPECT_EQ(stats().retired.latency[4].load(), 10u);
  EXPECT_EQ(stats().slots[kStays].get(Counter::kRequests), 20u);  // untouched

  // The totals are the same: nothing counted twice or lost. The gauge lost the exited worker.
  auto after = std::make_unique<StatsSnapshot>();
  ASSERT_TRUE(read_stats(stats(), after.get()));
  const size_t requests = static_cast<size_t>(Counter::kRequests);
  EXPECT_EQ(after->totals.counters[requests], before->totals.counters[requests]);
  EXPECT_EQ(after->totals.counters[requests], 130u);
  EXPECT_EQ(after->totals.gauges[static_cast<size_t>(Gauge::kConnectionsActive)], 20u);

  // Rate limiter rows.
  EXPECT_EQ(limits_->counters(-1, 0).table.passed.get(), 60u);
  EXPECT_EQ(limits_->counters(-1, 1).table.refused.get(), 10u);
  EXPECT_EQ(limits_->counters(static_cast<int>(kGone), 0).table.passed.get(), 0u);
  EXPECT_EQ(limits_->counters(static_cast<int>(kStays), 0).table.passed.get(), 20u);

  // Every connection table: the exited worker's place is free, the other worker's stays.
  EXPECT_EQ(conn_->count(conn_->hash("10.0.0.1")), 1u);
  EXPECT_EQ(conn2_->count(conn2_->hash("10.0.0.2")), 1u);
  EXPECT_EQ(conn_->words_in_use(), 1u);

  // App values: the counter's total is kept, the exited worker's gauge is gone.
  AppValuesSnapshot app;
  ASSERT_TRUE(read_app_values(*app_, stats(), &app));
  EXPECT_EQ(app.values[0].total, 1030);
  EXPECT_EQ(app.values[1].total, 20);
  EXPECT_EQ(app_->word(static_cast<int>(kGone), 0).load(), 0u);
  EXPECT_EQ(app_->word(static_cast<int>(kGone), 1).load(), 0u);

  // Both workers gone: the totals still never went back.
  on_worker_exit(*segment_, kStays);
  ASSERT_TRUE(read_stats(stats(), after.get()));
  EXPECT_EQ(after->worker_count, 0u);
  EXPECT_EQ(after->totals.counters[requests], 130u);
  ASSERT_TRUE(read_app_values(*app_, stats(), &app));
  EXPECT_EQ(app.values[0].total, 1030);
  EXPECT_EQ(app.values[1].total, 0);
  EXPECT_EQ(conn_->words_in_use() + conn2_->words_in_use(), 0u);
}

TEST_F(WorkerExitTest, SlotOutOfRangeChangesNothing) {
  const uint32_t sequence = stats().fold_sequence.load();
  on_worker_exit(*segment_, static_cast<uint32_t>(kStatsSlots));
  EXPECT_EQ(stats().fold_sequence.load(), sequence);
  EXPECT_EQ(stats().retired.get(Counter::kRequests), 100u);
}

TEST(WorkerExitBareTest, SegmentWithOnlyStatsAndATableNeverLaidOut) {
  std::unique_ptr<Segment> segment = Segment::create(
      unique_name(), static_cast<uint64_t>(::getpid()),
      {{RegionKind::kConnTable, kConnTableVersion, ConnTable::bytes_for(kSlots), "empty"}});
  WorkerStats& w = segment->stats().slots[0];
  w.in_use.store(1);
  w.add(Counter::kRequests, 4);
  w.set(Gauge::kConnectionsIdle, 2);
  on_worker_exit(*segment, 0);
  EXPECT_EQ(w.in_use.load(), 0u);
  EXPECT_EQ(w.get(Gauge::kConnectionsIdle), 0u);
  EXPECT_EQ(segment->stats().retired.get(Counter::kRequests), 4u);
}

// A worker killed while storing into the cache: its claimed slot and its lease go back, another
// worker's lease stays; its cache counters are folded into the retired row, which counts the
// master's resets.
TEST(WorkerExitCacheTest, ResetsTheCacheSlotAndLeasesADeadWorkerHeld) {
  const size_t bytes = 1 << 20;
  auto segment = Segment::create(
      unique_name(), static_cast<uint64_t>(::getpid()),
      {{RegionKind::kCache, kCacheStoreVersion, bytes, ""},
       {RegionKind::kCacheCounters, kCacheCountersVersion, sizeof(CacheCountersRegion), ""}});
  ASSERT_NE(segment, nullptr);
  std::optional<CacheStore> cache =
      CacheStore::create(segment->region(RegionKind::kCache), bytes, SipKey{7, 8});
  ASSERT_TRUE(cache);
  const uint64_t now = 1'000'000;
  CacheStats stats;
  const uint64_t a = cache->hash("/a"), b = cache->hash("/b");
  ASSERT_EQ(cache->try_lease(a, kGone, now, now + 5'000'000, &stats), LeaseResult::kAcquired);
  ASSERT_EQ(cache->try_lease(b, kStays, now, now + 5'000'000, &stats), LeaseResult::kAcquired);
  CacheMeta meta;
  meta.stored_us = now;
  meta.expires_us = now + 1'000'000;
  meta.stale_until_us = meta.expires_us;
  ASSERT_GE(cache->store_abandoned_for_test(a, "/a", meta, "head", "body", kGone, now, 1), 0);
  ASSERT_EQ(cache->writing_slots(), 1u);
  segment->stats().slots[kGone].in_use.store(1);
  segment->stats().slots[kStays].in_use.store(1);
  auto* counters = static_cast<CacheCountersRegion*>(segment->region(RegionKind::kCacheCounters));
  ASSERT_NE(counters, nullptr);
  counters->row(-1).hits.add(100);
  counters->row(static_cast<int>(kGone)).hits.add(5);
  counters->row(static_cast<int>(kGone)).lease_grants.add(1);
  counters->row(static_cast<int>(kStays)).hits.add(20);
  CacheSnapshot before;
  ASSERT_TRUE(read_cache_counters(*counters, segment->stats(), &before));
  const uint32_t sequence = segment->stats().fold_sequence.load();

  on_worker_exit(*segment, kGone);
  EXPECT_EQ(segment->stats().fold_sequence.load(), sequence + 2);
  EXPECT_EQ(cache->writing_slots(), 0u);
  EXPECT_EQ(cache->lease_holder(a, now), -1);
  EXPECT_EQ(cache->lease_holder(b, now), static_cast<int>(kStays));
  EXPECT_EQ(cache->try_lease(a, kStays, now, now + 5'000'000, &stats), LeaseResult::kAcquired);

  EXPECT_EQ(counters->row(-1).hits.get(), 105u);
  EXPECT_EQ(counters->row(-1).lease_grants.get(), 1u);
  EXPECT_EQ(counters->row(-1).crash_resets.get(), 2u);  // the slot and the lease
  EXPECT_EQ(counters->row(static_cast<int>(kGone)).hits.get(), 0u);
  EXPECT_EQ(counters->row(static_cast<int>(kStays)).hits.get(), 20u);
  CacheSnapshot after;
  ASSERT_TRUE(read_cache_counters(*counters, segment->stats(), &after));
  for (size_t f = 0; f < kCacheCounterCount; ++f) {
    const bool resets = kCacheCounterFields[f].member == &CacheStats::crash_resets;
    EXPECT_EQ(after.counters[f], before.counters[f] + (resets ? 2 : 0))
        << kCacheCounterFields[f].name;
  }
}

}  // namespace
}  // namespace zhttp::shm
