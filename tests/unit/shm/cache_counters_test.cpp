// The cache counters region (shm/cache_counters.hpp): the field table covers every counter of a
// CacheStats row, in the order zhttpstat shows them; a read sums the retired row and the rows of
// the workers in use (not the others), consistently with a fold; a fold moves a row into the
// retired one (totals unchanged); the store's figures (live entries, slots, bytes).
#include "shm/cache_counters.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "unit/support/shared_mapping.hpp"

namespace zhttp::shm {
namespace {

size_t field_index(std::string_view name) {
  for (size_t f = 0; f < kCacheCounterCount; ++f) {
    if (kCacheCounterFields[f].name == name) return f;
  }
  return kCacheCounterCount;
}

TEST(CacheCounters, TheFieldsAreEveryCounterOfARowOnce) {
  CacheStats row;
  std::vector<size_t> offsets;
  std::set<std::string_view> names;
  for (const CacheCounterField& f : kCacheCounterFields) {
    offsets.push_back(static_cast<size_t>(reinterpret_cast<const char*>(&(row.*f.member)) -
                                          reinterpret_cast<const char*>(&row)));
    names.insert(f.name);
    EXPECT_FALSE(f.help.empty()) << f.name;
  }
  std::sort(offsets.begin(), offsets.end());
  for (size_t i = 0; i < offsets.size(); ++i) EXPECT_EQ(offsets[i], i * sizeof(Tally));
  // No counter after the last one: the row's padding is less than one cache line.
  EXPECT_GT(kCacheCounterCount * sizeof(Tally) + 64, sizeof(CacheStats));
  EXPECT_EQ(names.size(), kCacheCounterCount);

  // What zhttpstat and /metrics show, in this order (an interface).
  const std::vector<std::string_view> shown = {
      "lookups",       "hits",    "stale_hits",   "misses",      "bypasses",
      "stores",        "too_big", "evictions",    "torn_reads",  "coalesced_waits",
      "lock_timeouts", "purges",  "crash_resets", "uncacheable", "lease_waits"};
  std::vector<std::string_view> got;
  for (const CacheCounterField& f : kCacheCounterFields) {
    if (f.shown) got.push_back(f.name);
  }
  EXPECT_EQ(got, shown);
}

class CacheCountersRead : public ::testing::Test {
 protected:
  void SetUp() override {
    stats_->slots[0].in_use.store(1);
    stats_->slots[3].in_use.store(1);
    region_->row(-1).lookups.add(100);
    region_->row(-1).crash_resets.add(2);
    region_->row(0).lookups.add(10);
    region_->row(0).hits.add(7);
    region_->row(3).lookups.add(20);
    region_->row(3).lease_no_room.add(1);
    region_->row(1).lookups.add(5000);  // stats slot 1 is not in use: not counted
  }

  uint64_t value(const CacheSnapshot& s, std::string_view name) {
    return s.counters[field_index(name)];
  }

  std::unique_ptr<StatsRegion> stats_ = std::make_unique<StatsRegion>();
  std::unique_ptr<CacheCountersRegion> region_ = std::make_unique<CacheCountersRegion>();
};

TEST_F(CacheCountersRead, SumsTheRetiredRowAndTheRowsInUse) {
  CacheSnapshot s;
  ASSERT_TRUE(read_cache_counters(*region_, *stats_, &s));
  EXPECT_EQ(value(s, "lookups"), 130u);
  EXPECT_EQ(value(s, "hits"), 7u);
  EXPECT_EQ(value(s, "crash_resets"), 2u);
  EXPECT_EQ(value(s, "lease_no_room"), 1u);
  EXPECT_EQ(value(s, "misses"), 0u);
  ASSERT_TRUE(read_cache_counters(*region_, *stats_, &s));  // a second read starts from zero
  EXPECT_EQ(value(s, "lookups"), 130u);
}

TEST_F(CacheCountersRead, AFoldKeepsTheTotals) {
  stats_->fold_sequence.fetch_add(1);
  fold_cache_counters(*region_, 3);
  stats_->slots[3].in_use.store(0);
  stats_->fold_sequence.fetch_add(1);
  EXPECT_EQ(region_->row(-1).lookups.get(), 120u);
  EXPECT_EQ(region_->row(-1).lease_no_room.get(), 1u);  // shown or not, every counter folds
  EXPECT_EQ(region_->row(3).lookups.get(), 0u);
  EXPECT_EQ(region_->row(3).lease_no_room.get(), 0u);
  EXPECT_EQ(region_->row(0).lookups.get(), 10u);  // another worker's row stays
  CacheSnapshot s;
  ASSERT_TRUE(read_cache_counters(*region_, *stats_, &s));
  EXPECT_EQ(value(s, "lookups"), 130u);
  EXPECT_EQ(value(s, "lease_no_room"), 1u);
}

TEST_F(CacheCountersRead, GivesUpWhileTheMasterKeepsFolding) {
  stats_->fold_sequence.store(1);  // a fold that never ends
  CacheSnapshot s;
  EXPECT_FALSE(read_cache_counters(*region_, *stats_, &s));
}

TEST(CacheCounters, TheStoresFigures) {
  CacheGeometry g;
  g.leases = 64;
  test::SharedMapping map(CacheStore::bytes_for(g, 2));
  std::optional<CacheStore> store = CacheStore::create(map.get(), map.size(), SipKey{1, 2}, g);
  ASSERT_TRUE(store.has_value());
  CacheStats stats;
  CacheMeta meta;
  meta.expires_us = 1000;
  meta.stale_until_us = 2000;
  for (std::string_view key : {"/a", "/b"}) {
    ASSERT_EQ(store->store(store->hash(key), key, meta, "H", "B", 0, 1, &stats),
              CacheStoreResult::kStored);
  }
  CacheSnapshot s;
  read_cache_store(*store, 1500, &s);  // stale, still live
  EXPECT_EQ(s.entries, 2u);
  EXPECT_EQ(s.slots, uint64_t{store->class_info(0).slots} + store->class_info(1).slots +
                         store->class_info(2).slots);
  EXPECT_EQ(s.bytes, map.size());
  read_cache_store(*store, 2000, &s);
  EXPECT_EQ(s.entries, 0u);
}

}  // namespace
}  // namespace zhttp::shm
