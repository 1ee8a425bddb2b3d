// The shared cache store (shm/cache_store.hpp): its geometry, store and lookup in each size class,
// freshness, eviction, purge, leases, resetting a dead writer's slots; then real processes on a
// MAP_SHARED store, writers killed mid-write included, never reading a corrupt hit.
#include "shm/cache_store.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "shm/rate_table.hpp"  // monotonic_us
#include "unit/support/shared_mapping.hpp"

namespace zhttp::shm {
namespace {

CacheGeometry small_geometry() {
  CacheGeometry g;
  g.leases = 64;
  return g;
}

struct Fixture {
  explicit Fixture(uint32_t sets, CacheGeometry g = small_geometry())
      : map(CacheStore::bytes_for(g, sets)),
        store(*CacheStore::create(map.get(), map.size(), SipKey{7, 9}, g)) {}
  test::SharedMapping map;
  CacheStore store;
  CacheStats stats;
  char buffer[16384];
};

CacheMeta meta_until(uint64_t expires, uint64_t stale, uint16_t status = 200) {
  CacheMeta m;
  m.status = status;
  m.stored_us = 1;
  m.expires_us = expires;
  m.stale_until_us = stale;
  return m;
}

// Which class holds a slot with this hash (-1: none).
int class_holding(const CacheStore& s, uint64_t hash) {
  for (uint32_t c = 0; c < s.classes(); ++c) {
    for (uint32_t i = 0; i < s.class_info(c).slots; ++i) {
      CacheSlotState st = s.slot_state(c, i);
      if (!st.empty && st.hash == hash) return static_cast<int>(c);
    }
  }
  return -1;
}

TEST(CacheStore, LayoutOfTheStandardGeometryIn64MiB) {
  const size_t bytes = size_t{64} << 20;
  test::SharedMapping map(bytes);
  auto store = CacheStore::create(map.get(), bytes, SipKey{1, 2});
  ASSERT_TRUE(store.has_value());
  ASSERT_EQ(store->classes(), 3u);
  EXPECT_EQ(store->max_entry(), 16384u);
  EXPECT_EQ(store->class_info(0).slot_bytes, 1088u);
  EXPECT_EQ(store->class_info(2).slot_bytes, 16448u);
  std::printf("64 MiB: %u x 1K, %u x 4K, %u x 16K slots\n", store->class_info(0).slots,
              store->class_info(1).slots, store->class_info(2).slots);
  EXPECT_GT(store->class_info(0).slots, 15000u);
  EXPECT_GT(store->class_info(2).slots, 2000u);
  auto again = CacheStore::attach(map.get(), bytes);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->class_info(1).slots, store->class_info(1).slots);
  EXPECT_FALSE(CacheStore::attach(map.get(), 4096).has_value());  // smaller than laid out
  EXPECT_FALSE(CacheStore::create(map.get(), 4096, SipKey{}).has_value());
  static_cast<uint64_t*>(map.get())[0] ^= 1;  // magic
  EXPECT_FALSE(CacheStore::attach(map.get(), bytes).has_value());
}

TEST(CacheStore, GeometryForAMaxEntry) {
  struct Case {
    uint32_t max_entry;
    std::vector<uint32_t> data, share;
  };
  const Case cases[] = {
      {16384, {1024, 4096, 16384}, {25, 25, 50}},  // the standard one
      {1024, {1024}, {100}},
      {1000, {1024}, {100}},  // rounded up to 64
      {2000, {1024, 2048}, {40, 60}},
      {4096, {1024, 4096}, {40, 60}},
      {4097, {1024, 4096, 4160}, {25, 25, 50}},
      {1 << 20, {1024, 4096, 1 << 20}, {25, 25, 50}},
  };
  for (const Case& c : cases) {
    const CacheGeometry g = CacheGeometry::for_max_entry(c.max_entry);
    ASSERT_EQ(g.classes(), c.data.size()) << c.max_entry;
    for (uint32_t i = 0; i < kCacheMaxClasses; ++i) {
      EXPECT_EQ(g.class_data[i], i < c.data.size() ? c.data[i] : 0) << c.max_entry << " " << i;
      EXPECT_EQ(g.class_share[i], i < c.share.size() ? c.share[i] : 0) << c.max_entry << " " << i;
    }
    EXPECT_EQ(g.max_entry(), c.data.back());
    EXPECT_EQ(g.ways, CacheGeometry::standard().ways);
    EXPECT_EQ(g.leases, CacheGeometry::standard().leases);
    test::SharedMapping map(CacheStore::bytes_for(g, 1));
    auto store = CacheStore::create(map.get(), map.size(), SipKey{1, 2}, g);
    ASSERT_TRUE(store.has_value()) << c.max_entry;
    EXPECT_EQ(store->max_entry(), c.data.back());
  }
  const CacheGeometry standard = CacheGeometry::standard();
  const CacheGeometry same = CacheGeometry::for_max_entry(16384);
  EXPECT_EQ(std::memcmp(&standard, &same, sizeof same), 0);
}

// Pages of the mapping in memory (a shared mapping's pages come into being when first touched).
size_t resident_pages(const test::SharedMapping& map) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> in((map.size() + page - 1) / page);
  if (::mincore(map.get(), map.size(), in.data()) != 0) return SIZE_MAX;
  size_t n = 0;
  for (unsigned char v : in) n += v & 1;
  return n;
}

// A fresh segment is all zero: create() then writes the header only, touching almost no page.
TEST(CacheStore, CreateOnARegionKnownZeroWritesOnlyTheHeader) {
  const size_t bytes = size_t{64} << 20;
  test::SharedMapping map(bytes);
  ASSERT_EQ(resident_pages(map), 0u);
  auto store = CacheStore::create(map.get(), bytes, SipKey{1, 2}, CacheGeometry::standard(),
                                  /*region_is_zero=*/true);
  ASSERT_TRUE(store.has_value());
  EXPECT_LE(resident_pages(map), 1u);     // the header's page
  EXPECT_EQ(store->live_entries(1), 0u);  // reads every slot's words: all zero, all empty
  EXPECT_EQ(store->writing_slots(), 0u);
  CacheStats stats;
  const uint64_t h = store->hash("/z");
  EXPECT_EQ(store->try_lease(h, 0, 1, 1'000'000, &stats), LeaseResult::kAcquired);
  EXPECT_EQ(store->store(h, "/z", meta_until(1000, 1000), "H", "B", 0, 1, &stats),
            CacheStoreResult::kStored);
  char buffer[64];
  EXPECT_EQ(store->lookup(h, "/z", 2, buffer, &stats).body, "B");
  ASSERT_TRUE(CacheStore::attach(map.get(), bytes).has_value());
}

// Without the promise, every word is zeroed: a region full of garbage becomes an empty store.
TEST(CacheStore, CreateZeroesARegionThatWasUsedBefore) {
  const CacheGeometry g = small_geometry();
  test::SharedMapping map(CacheStore::bytes_for(g, 2));
  std::memset(map.get(), 0xa5, map.size());
  auto store = CacheStore::create(map.get(), map.size(), SipKey{1, 2}, g);
  ASSERT_TRUE(store.has_value());
  EXPECT_EQ(store->live_entries(1), 0u);
  EXPECT_EQ(store->writing_slots(), 0u);
  EXPECT_EQ(store->live_leases(1), 0u);
  for (uint32_t c = 0; c < store->classes(); ++c) {
    for (uint32_t i = 0; i < store->class_info(c).slots; ++i) {
      ASSERT_TRUE(store->slot_state(c, i).empty);
      ASSERT_EQ(store->slot_state(c, i).sequence, 0u);
    }
  }
  CacheStats stats;
  char buffer[64];
  EXPECT_EQ(store->lookup(store->hash("/a"), "/a", 1, buffer, &stats).state, CacheState::kMiss);
}

TEST(CacheStore, StoreAndLookupRoundTripInEachClass) {
  Fixture f(2);
  const size_t sizes[] = {60, 900, 2000, 4000, 10000, 16000};
  const int classes[] = {0, 0, 1, 1, 2, 2};
  for (size_t i = 0; i < std::size(sizes); ++i) {
    std::string key = "/k/" + std::to_string(i);
    std::string head = "HTTP/1.1 200 OK\r\nX-I: " + std::to_string(i) + "\r\n\r\n";
    std::string body(sizes[i] - key.size() - head.size(), 'a' + static_cast<char>(i));
    body[0] = '<';
    body.back() = '>';
    const uint64_t h = f.store.hash(key);
    ASSERT_EQ(f.store.store(h, key, meta_until(1000, 2000, 203), head, body, 1, 0, &f.stats),
              CacheStoreResult::kStored);
    EXPECT_EQ(class_holding(f.store, h), classes[i]) << i;
    CacheHit hit = f.store.lookup(h, key, 10, f.buffer, &f.stats);
    ASSERT_EQ(hit.state, CacheState::kFresh) << i;
    EXPECT_EQ(hit.head, head);
    EXPECT_EQ(hit.body, body);
    EXPECT_EQ(hit.meta.status, 203);
    EXPECT_EQ(hit.meta.expires_us, 1000u);
    EXPECT_EQ(hit.meta.stale_until_us, 2000u);
  }
  EXPECT_EQ(f.stats.stores, 6u);
  EXPECT_EQ(f.stats.hits, 6u);
  EXPECT_EQ(f.store.live_entries(10), 6u);
  // A key stored again with another size moves class: the old copy goes.
  const uint64_t h = f.store.hash("/k/0");
  std::string big(5000, 'z');
  ASSERT_EQ(f.store.store(h, "/k/0", meta_until(1000, 1000), "H", big, 1, 0, &f.stats),
            CacheStoreResult::kStored);
  EXPECT_EQ(class_holding(f.store, h), 2);
  CacheHit hit = f.store.lookup(h, "/k/0", 10, f.buffer, &f.stats);
  ASSERT_EQ(hit.state, CacheState::kFresh);
  EXPECT_EQ(hit.body, big);
  EXPECT_EQ(f.store.live_entries(10), 6u);
  // A buffer too small for the entry: a miss, never an overrun.
  EXPECT_EQ(f.store.lookup(h, "/k/0", 10, std::span<char>(f.buffer, 100), &f.stats).state,
            CacheState::kMiss);
}

TEST(CacheStore, KeysAreComparedInFullNotByHash) {
  Fixture f(1);
  const uint64_t h = 0x1234'5678'9abc'def0;  // both keys forced to the same hash
  ASSERT_EQ(f.store.store(h, "/a", meta_until(100, 100), "HA", "body-a", 0, 0, &f.stats),
            CacheStoreResult::kStored);
  EXPECT_EQ(f.store.lookup(h, "/b", 1, f.buffer, &f.stats).state, CacheState::kMiss);
  EXPECT_EQ(f.store.lookup(h, "/aa", 1, f.buffer, &f.stats).state, CacheState::kMiss);
  EXPECT_EQ(f.store.lookup(h, "/a", 1, f.buffer, &f.stats).body, "body-a");
  ASSERT_EQ(f.store.store(h, "/b", meta_until(100, 100), "HB", "body-b", 0, 0, &f.stats),
            CacheStoreResult::kStored);
  EXPECT_EQ(f.store.lookup(h, "/b", 1, f.buffer, &f.stats).body, "body-b");
  EXPECT_EQ(f.store.lookup(h, "/a", 1, f.buffer, &f.stats).state, CacheState::kMiss);
  // Another hash in the same set is another entry.
  ASSERT_EQ(f.store.store(h + 1, "/a", meta_until(100, 100), "HA", "body-a2", 0, 0, &f.stats),
            CacheStoreResult::kStored);
  EXPECT_EQ(f.store.lookup(h + 1, "/a", 1, f.buffer, &f.stats).body, "body-a2");
  EXPECT_EQ(f.store.lookup(h, "/b", 1, f.buffer, &f.stats).body, "body-b");
}

TEST(CacheStore, FreshThenStaleThenMiss) {
  Fixture f(1);
  const uint64_t h = f.store.hash("/t");
  f.store.store(h, "/t", meta_until(1000, 3000), "H", "B", 0, 0, &f.stats);
  EXPECT_EQ(f.store.lookup(h, "/t", 999, f.buffer, &f.stats).state, CacheState::kFresh);
  CacheHit stale = f.store.lookup(h, "/t", 1000, f.buffer, &f.stats);
  EXPECT_EQ(stale.state, CacheState::kStale);
  EXPECT_EQ(stale.body, "B");
  EXPECT_EQ(f.store.lookup(h, "/t", 2999, f.buffer, &f.stats).state, CacheState::kStale);
  EXPECT_EQ(f.store.lookup(h, "/t", 3000, f.buffer, &f.stats).state, CacheState::kMiss);
  EXPECT_EQ(f.stats.hits, 1u);
  EXPECT_EQ(f.stats.stale_hits, 2u);
  EXPECT_EQ(f.stats.misses, 1u);
  // stale-until below expires is raised to it.
  f.store.store(h, "/t", meta_until(5000, 0), "H", "B", 0, 0, &f.stats);
  EXPECT_EQ(f.store.lookup(h, "/t", 4999, f.buffer, &f.stats).state, CacheState::kFresh);
  EXPECT_EQ(f.store.lookup(h, "/t", 5000, f.buffer, &f.stats).state, CacheState::kMiss);
}

TEST(CacheStore, AFullSetEvictsExpiredFirstThenByClock) {
  Fixture f(1);
  ASSERT_EQ(f.store.ways(), 8u);
  // Hashes below 2^32 all fall in set 0 of every class.
  auto key = [](int i) { return "/e/" + std::to_string(i); };
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(f.store.store(static_cast<uint64_t>(i + 1), key(i), meta_until(1000, 1000), "H", "b",
                            0, 0, &f.stats),
              CacheStoreResult::kStored);
  }
  auto present = [&](int i) {
    return f.store.lookup(static_cast<uint64_t>(i + 1), key(i), 10, f.buffer, &f.stats).state ==
           CacheState::kFresh;
  };
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(present(i));  // reference bits on 0..3
  // New key 8: the hand (at way 0) gives 0..3 a second chance and takes 4.
  f.store.store(100, key(100), meta_until(1000, 1000), "H", "b", 0, 0, &f.stats);
  EXPECT_FALSE(present(4));
  EXPECT_EQ(f.stats.evictions, 1u);
  // Next: the hand is past 4; 5 has no reference bit.
  f.store.store(101, key(101), meta_until(1000, 1000), "H", "b", 0, 0, &f.stats);
  EXPECT_FALSE(present(5));
  for (int i : {0, 1, 2, 3, 6, 7}) EXPECT_TRUE(present(i)) << i;
  EXPECT_EQ(f.stats.evictions, 2u);
  // An expired entry goes before any live one, whatever the hand says.
  f.store.store(7, key(6), meta_until(20, 20), "H", "b", 0, 0, &f.stats);
  f.store.store(102, key(102), meta_until(1000, 1000), "H", "b", 0, 30, &f.stats);
  EXPECT_EQ(f.store.lookup(7, key(6), 10, f.buffer, &f.stats).state, CacheState::kMiss);
  for (int i : {0, 1, 2, 3, 7}) EXPECT_TRUE(present(i)) << i;
  EXPECT_EQ(f.stats.evictions, 2u);  // an expired entry is not an eviction
}

TEST(CacheStore, PurgeOneKeyAndPurgeAll) {
  Fixture f(2);
  for (int i = 0; i < 10; ++i) {
    std::string k = "/p/" + std::to_string(i);
    f.store.store(f.store.hash(k), k, meta_until(1000, 1000), "H", "B", 0, 0, &f.stats);
  }
  const uint64_t h3 = f.store.hash("/p/3");
  EXPECT_EQ(f.store.purge(h3, 2, &f.stats), 1u);
  EXPECT_EQ(f.store.lookup(h3, "/p/3", 1, f.buffer, &f.stats).state, CacheState::kMiss);
  EXPECT_EQ(f.store.purge(h3, 2, &f.stats), 0u);
  EXPECT_EQ(f.store.live_entries(1), 9u);
  const uint64_t h4 = f.store.hash("/p/4");
  EXPECT_EQ(f.store.lookup(h4, "/p/4", 1, f.buffer, &f.stats).state, CacheState::kFresh);
  const uint64_t before = f.store.epoch();
  f.store.purge_all(&f.stats);
  EXPECT_EQ(f.store.epoch(), before + 1);
  EXPECT_EQ(f.store.live_entries(1), 0u);
  EXPECT_EQ(f.store.lookup(h4, "/p/4", 1, f.buffer, &f.stats).state, CacheState::kMiss);
  f.store.store(h4, "/p/4", meta_until(1000, 1000), "H", "B2", 0, 0, &f.stats);
  EXPECT_EQ(f.store.lookup(h4, "/p/4", 1, f.buffer, &f.stats).body, "B2");
  EXPECT_EQ(f.store.live_entries(1), 1u);
  EXPECT_EQ(f.store.writing_slots(), 0u);
}

TEST(CacheStore, EntriesLargerThanTheLargestClassAreRefused) {
  Fixture f(1);
  const std::string key = "/big";
  const std::string head = "HTTP/1.1 200 OK\r\n\r\n";
  const std::string fits(16384 - key.size() - head.size(), 'x');
  const uint64_t h = f.store.hash(key);
  EXPECT_EQ(f.store.store(h, key, meta_until(9, 9), head, fits + "y", 0, 0, &f.stats),
            CacheStoreResult::kTooBig);
  EXPECT_EQ(f.stats.too_big, 1u);
  EXPECT_EQ(f.store.lookup(h, key, 1, f.buffer, &f.stats).state, CacheState::kMiss);
  EXPECT_EQ(f.store.store(h, key, meta_until(9, 9), head, fits, 0, 0, &f.stats),
            CacheStoreResult::kStored);
  EXPECT_EQ(f.store.lookup(h, key, 1, f.buffer, &f.stats).body.size(), fits.size());
  EXPECT_EQ(f.store.store(h, key, meta_until(9, 9), head, "b", kCacheMaxWorker + 1, 0, &f.stats),
            CacheStoreResult::kTooBig);  // not a worker
}

TEST(CacheStore, LeasesWinLoseExpireAndRelease) {
  Fixture f(1);
  const uint64_t h = f.store.hash("/lease");
  const uint64_t now = 10'000'000;
  EXPECT_EQ(f.store.try_lease(h, 1, now, now + 5'000'000, &f.stats), LeaseResult::kAcquired);
  EXPECT_EQ(f.store.lease_holder(h, now), 1);
  // Held: busy for another request of the same worker as for another worker.
  EXPECT_EQ(f.store.try_lease(h, 1, now, now + 5'000'000, &f.stats), LeaseResult::kBusy);
  EXPECT_EQ(f.store.try_lease(h, 2, now + 1000, now + 5'000'000, &f.stats), LeaseResult::kBusy);
  EXPECT_EQ(f.stats.lease_waits, 2u);
  EXPECT_FALSE(f.store.release_lease(h, 2));  // not 2's
  EXPECT_TRUE(f.store.release_lease(h, 1));
  EXPECT_FALSE(f.store.release_lease(h, 1));
  EXPECT_EQ(f.store.lease_holder(h, now), -1);
  EXPECT_EQ(f.store.try_lease(h, 2, now, now + 5'000'000, &f.stats), LeaseResult::kAcquired);
  // Expired at its deadline: anyone takes it.
  EXPECT_EQ(f.store.try_lease(h, 3, now + 4'999'000, now + 9'000'000, &f.stats),
            LeaseResult::kBusy);
  EXPECT_EQ(f.store.lease_holder(h, now + 5'000'000), -1);
  EXPECT_EQ(f.store.try_lease(h, 3, now + 5'000'000, now + 9'000'000, &f.stats),
            LeaseResult::kAcquired);
  EXPECT_FALSE(f.store.release_lease(h, 2));  // 2's expired lease was taken over
  // Another key on the same lease word (same index, other tag): no room.
  EXPECT_EQ(f.store.try_lease(0x1, 4, now, now + 1000, &f.stats), LeaseResult::kAcquired);
  EXPECT_EQ(f.store.try_lease(0x2, 5, now, now + 1000, &f.stats), LeaseResult::kNoRoom);
  EXPECT_EQ(f.stats.lease_no_room, 1u);
  // A dead holder's leases go with reset_owner.
  EXPECT_EQ(f.store.live_leases(now + 5'000'000), 1u);
  EXPECT_EQ(f.store.reset_owner(3, &f.stats), 1u);
  EXPECT_EQ(f.store.lease_holder(h, now + 5'000'000), -1);
  EXPECT_EQ(f.store.try_lease(h, 6, now + 5'000'000, now + 6'000'000, &f.stats),
            LeaseResult::kAcquired);
  EXPECT_EQ(f.stats.crash_resets, 1u);
}

TEST(CacheStore, ResetOwnerEmptiesASlotAWriterLeftMidWrite) {
  Fixture f(1);
  const uint64_t h = f.store.hash("/crash");
  std::string body(3000, 'q');
  f.store.store(h, "/crash", meta_until(1000, 1000), "H", body, 0, 0, &f.stats);
  ASSERT_EQ(f.store.lookup(h, "/crash", 1, f.buffer, &f.stats).state, CacheState::kFresh);
  // Worker 3 claims the key's slot and dies after 5 words.
  std::string body2(3000, 'r');
  const int slot =
      f.store.store_abandoned_for_test(h, "/crash", meta_until(1000, 1000), "H", body2, 3, 0, 5);
  ASSERT_GE(slot, 0);
  CacheSlotState st = f.store.slot_state(1, static_cast<uint32_t>(slot));
  EXPECT_TRUE(st.writing);
  EXPECT_EQ(st.owner, 4u);
  EXPECT_EQ(f.store.writing_slots(), 1u);
  EXPECT_EQ(f.store.lookup(h, "/crash", 1, f.buffer, &f.stats).state, CacheState::kMiss);
  // Nobody else takes or empties it: not a purge, not a store of the same key.
  EXPECT_EQ(f.store.purge(h, 1, &f.stats), 0u);
  ASSERT_EQ(f.store.store(h, "/crash", meta_until(1000, 1000), "H", body, 1, 0, &f.stats),
            CacheStoreResult::kStored);
  EXPECT_TRUE(f.store.slot_state(1, static_cast<uint32_t>(slot)).writing);
  EXPECT_EQ(f.store.lookup(h, "/crash", 1, f.buffer, &f.stats).body, body);
  EXPECT_EQ(f.store.reset_owner(2, &f.stats), 0u);  // not 2's
  EXPECT_EQ(f.store.reset_owner(3, &f.stats), 1u);
  st = f.store.slot_state(1, static_cast<uint32_t>(slot));
  EXPECT_FALSE(st.writing);
  EXPECT_TRUE(st.empty);
  EXPECT_EQ(st.owner, 0u);
  EXPECT_EQ(f.store.writing_slots(), 0u);
  EXPECT_EQ(f.store.lookup(h, "/crash", 1, f.buffer, &f.stats).body, body);
  // Every way of a set left odd (by 8 dead workers: a worker holds one slot at a time): a store
  // gives up (never waits), the resets free them all.
  const uint64_t g = 0x42;  // set 0
  for (uint32_t i = 0; i < 8; ++i) {
    ASSERT_GE(f.store.store_abandoned_for_test(g + i, "/x", {}, "", "y", 5 + i, 0, 0), 0);
  }
  EXPECT_EQ(f.store.store(g, "/x", meta_until(9, 9), "", "y", 1, 0, &f.stats),
            CacheStoreResult::kBusy);
  EXPECT_EQ(f.stats.store_busy, 1u);
  EXPECT_EQ(f.store.writing_slots(), 8u);
  for (uint32_t i = 0; i < 8; ++i) EXPECT_EQ(f.store.reset_owner(5 + i, &f.stats), 1u) << i;
  EXPECT_EQ(f.store.writing_slots(), 0u);
  EXPECT_EQ(f.store.store(g, "/x", meta_until(9, 9), "", "y", 1, 0, &f.stats),
            CacheStoreResult::kStored);
}

// reset_owner looks only at the slot the worker's claim word names (and the lease table): on a
// 64 MiB store it brings in a few pages, not the store's. A second call finds nothing left.
TEST(CacheStore, ResetOwnerTouchesOnlyTheClaimedSlotAndTheLeases) {
  const size_t bytes = size_t{64} << 20;
  test::SharedMapping map(bytes);
  auto store = CacheStore::create(map.get(), bytes, SipKey{1, 2}, CacheGeometry::standard(),
                                  /*region_is_zero=*/true);
  ASSERT_TRUE(store.has_value());
  CacheStats stats;
  EXPECT_EQ(store->reset_owner(7, &stats), 0u);  // never stored anything
  const size_t fresh = resident_pages(map);
  EXPECT_LE(fresh, 4u);  // the header, the lease table (8 KiB), the claim words
  const uint64_t h = store->hash("/big");
  const std::string body(15000, 'b');  // the 16 KiB class: its slot spans 5 pages
  const int slot =
      store->store_abandoned_for_test(h, "/big", meta_until(1000, 1000), "H", body, 3, 0, 1000);
  ASSERT_GE(slot, 0);
  ASSERT_EQ(store->try_lease(h, 3, 0, 1'000'000, &stats), LeaseResult::kAcquired);
  CacheSlotState st = store->slot_state(2, static_cast<uint32_t>(slot));
  ASSERT_TRUE(st.writing);
  ASSERT_EQ(st.owner, 4u);
  const size_t written = resident_pages(map);
  EXPECT_LE(written, fresh + 16u);  // the set's 8 slot headers, the slot's data, the CLOCK hand
  EXPECT_EQ(store->reset_owner(2, &stats), 0u);  // not 2's
  EXPECT_EQ(store->reset_owner(3, &stats), 2u);  // the slot and the lease
  EXPECT_EQ(resident_pages(map), written);
  st = store->slot_state(2, static_cast<uint32_t>(slot));
  EXPECT_FALSE(st.writing);
  EXPECT_TRUE(st.empty);
  EXPECT_EQ(store->reset_owner(3, &stats), 0u);
  EXPECT_EQ(store->lease_holder(h, 0), -1);
  ASSERT_EQ(store->store(h, "/big", meta_until(1000, 1000), "H", body, 3, 0, &stats),
            CacheStoreResult::kStored);
  char buffer[16384];
  EXPECT_EQ(store->lookup(h, "/big", 1, buffer, &stats).body, body);
  EXPECT_EQ(store->writing_slots(), 0u);  // reads every slot: last
}

// --- Processes: entries whose every byte derives from (key, version) -----------------------

constexpr int kKeys = 64;

uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

std::string_view key_of(int k, char* out) {
  int n = std::snprintf(out, 32, "/torture/%d", k);
  return {out, static_cast<size_t>(n)};
}

// Bytes the bodies are cut from (the same in every process: built before the fork).
struct Pattern {
  char bytes[12288 + 4096];
  Pattern() {
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (char& c : bytes) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      c = static_cast<char>(x >> 56);
    }
  }
};
const Pattern g_pattern;

uint64_t checksum(const char* p, size_t n) {
  uint64_t sum = 1469598103934665603ULL;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    sum = (sum ^ w) * 0x100000001b3ULL;
  }
  for (; i < n; ++i) sum = (sum ^ static_cast<unsigned char>(p[i])) * 0x100000001b3ULL;
  return sum;
}

// 64 B .. 12 KiB over the three classes: bytes 0..15 the key and version, then a slice of the
// pattern that (key, version) picks, the last 8 a checksum of the rest.
size_t body_into(int k, uint64_t version, char* out) {
  const uint64_t m = mix(static_cast<uint64_t>(k) * 1000003 + version);
  static constexpr size_t lo[] = {64, 900, 3900};
  static constexpr size_t hi[] = {900, 3900, 12288};
  const size_t c = m % 3;
  const size_t len = lo[c] + (m >> 8) % (hi[c] - lo[c]);
  const uint64_t key64 = static_cast<uint64_t>(k);
  std::memcpy(out, &key64, 8);
  std::memcpy(out + 8, &version, 8);
  std::memcpy(out + 16, g_pattern.bytes + (m >> 32) % 4096, len - 24);
  const uint64_t sum = checksum(out, len - 8);
  std::memcpy(out + len - 8, &sum, 8);
  return len;
}

std::string_view head_into(int k, uint64_t version, char* out) {
  int n = std::snprintf(out, 96, "HTTP/1.1 200 OK\r\nX-Key: %d\r\nX-Version: %llu\r\n\r\n", k,
                        static_cast<unsigned long long>(version));
  return {out, static_cast<size_t>(n)};
}

// True when the hit is exactly the entry of (k, the version it names).
bool verify(const CacheHit& hit, int k) {
  if (hit.body.size() < 16) return false;
  uint64_t key64, version;
  std::memcpy(&key64, hit.body.data(), 8);
  std::memcpy(&version, hit.body.data() + 8, 8);
  if (key64 != static_cast<uint64_t>(k)) return false;
  uint64_t sum;
  std::memcpy(&sum, hit.body.data() + hit.body.size() - 8, 8);
  if (sum != checksum(hit.body.data(), hit.body.size() - 8)) return false;
  char expect[12288];
  char head[96];
  const size_t len = body_into(k, version, expect);
  return hit.body.size() == len && std::memcmp(hit.body.data(), expect, len) == 0 &&
         hit.head == head_into(k, version, head) && hit.meta.status == 200;
}

struct alignas(64) ChildReport {
  std::atomic<uint64_t> lookups, hits, torn, corrupt, stores, lost;
};

// One worker's loop until `until_us`: one store in `store_every`, the rest lookups; with `leases`,
// one in 16 of those a purge of the key instead, the others stores under a lease.
void hammer(CacheStore store, uint32_t worker, uint64_t until_us, int store_every,
            ChildReport* report, bool leases) {
  CacheStats stats;
  std::mt19937_64 rng(worker * 7919 + static_cast<uint64_t>(getpid()));
  char body[12288], head[96], key[32], buffer[16384];
  uint64_t n = 0, corrupt = 0;
  for (uint64_t now = monotonic_us(); now < until_us; ++n) {
    if ((n & 63) == 0) now = monotonic_us();
    const int k = static_cast<int>(rng() % kKeys);
    const std::string_view ks = key_of(k, key);
    const uint64_t h = store.hash(ks);
    if (static_cast<int>(rng() % store_every) == 0) {
      const uint64_t version = (uint64_t{worker} << 40) | n;
      if (leases && rng() % 16 == 0) {
        store.purge(h, worker, &stats);  // a kill may land in its emptying too
        continue;
      }
      if (leases &&
          store.try_lease(h, worker, now, now + 1'000'000, &stats) != LeaseResult::kAcquired) {
        continue;
      }
      const size_t len = body_into(k, version, body);
      CacheMeta meta;
      meta.stored_us = now;
      meta.expires_us = now + 2'000'000;
      meta.stale_until_us = now + 3'000'000;
      store.store(h, ks, meta, head_into(k, version, head), std::string_view(body, len), worker,
                  now, &stats);
      if (leases) store.release_lease(h, worker);
    } else {
      CacheHit hit = store.lookup(h, ks, now, buffer, &stats);
      if (hit.state != CacheState::kMiss && !verify(hit, k)) ++corrupt;
    }
    if ((n & 1023) == 0) {
      report->lookups.store(stats.lookups, std::memory_order_relaxed);
      report->hits.store(stats.hits + stats.stale_hits, std::memory_order_relaxed);
      report->torn.store(stats.torn_reads, std::memory_order_relaxed);
      report->corrupt.store(corrupt, std::memory_order_relaxed);
      report->stores.store(stats.stores, std::memory_order_relaxed);
      report->lost.store(stats.lost_claims, std::memory_order_relaxed);
    }
  }
  report->lookups.store(stats.lookups);
  report->hits.store(stats.hits + stats.stale_hits);
  report->torn.store(stats.torn_reads);
  report->corrupt.store(corrupt);
  report->stores.store(stats.stores);
  report->lost.store(stats.lost_claims);
}

// How long the process tests hammer: ZHTTP_CACHE_HAMMER_SECONDS, 2 by default (about 2 M
// lookups here; 20 gives tens of millions).
uint64_t hammer_us() {
  const char* s = std::getenv("ZHTTP_CACHE_HAMMER_SECONDS");
  const long seconds = s != nullptr ? std::strtol(s, nullptr, 10) : 0;
  return static_cast<uint64_t>(seconds > 0 ? seconds : 2) * 1'000'000;
}

// 8 sets per class: the 64 keys share sets and evict each other.
constexpr uint32_t kTortureSets = 2;

// Slots odd with this worker as their owner.
int odd_slots_of(const CacheStore& store, uint32_t worker) {
  int n = 0;
  for (uint32_t c = 0; c < store.classes(); ++c) {
    for (uint32_t i = 0; i < store.class_info(c).slots; ++i) {
      const CacheSlotState st = store.slot_state(c, i);
      if (st.writing && st.owner == worker + 1) ++n;
    }
  }
  return n;
}

TEST(CacheStoreProcesses, ConcurrentWritersAndReadersNeverSeeACorruptHit) {
  CacheGeometry g = small_geometry();
  test::SharedMapping map(CacheStore::bytes_for(g, kTortureSets));
  auto store = CacheStore::create(map.get(), map.size(), SipKey{3, 4}, g);
  ASSERT_TRUE(store.has_value());
  constexpr int kChildren = 3;
  test::SharedMapping reports(sizeof(ChildReport) * kChildren);
  auto* report = new (reports.get()) ChildReport[kChildren]();
  const uint64_t until = monotonic_us() + hammer_us();
  pid_t pids[kChildren];
  for (int i = 0; i < kChildren; ++i) {
    pids[i] = fork();
    ASSERT_GE(pids[i], 0);
    if (pids[i] == 0) {
      hammer(*store, static_cast<uint32_t>(i), until, 8, &report[i], false);
      _exit(0);
    }
  }
  uint64_t lookups = 0, hits = 0, torn = 0, corrupt = 0, stores = 0, lost = 0;
  for (int i = 0; i < kChildren; ++i) {
    int status = 0;
    ASSERT_EQ(waitpid(pids[i], &status, 0), pids[i]);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    lookups += report[i].lookups;
    hits += report[i].hits;
    torn += report[i].torn;
    corrupt += report[i].corrupt;
    stores += report[i].stores;
    lost += report[i].lost;
  }
  std::printf("lookups %llu, hits %llu, torn reads %llu, corrupt %llu, stores %llu, lost %llu\n",
              static_cast<unsigned long long>(lookups), static_cast<unsigned long long>(hits),
              static_cast<unsigned long long>(torn), static_cast<unsigned long long>(corrupt),
              static_cast<unsigned long long>(stores), static_cast<unsigned long long>(lost));
  EXPECT_EQ(corrupt, 0u);
  EXPECT_GT(hits, lookups / 10);
  EXPECT_EQ(store->writing_slots(), 0u);
}

TEST(CacheStoreProcesses, WritersKilledMidWriteAreResetAndTheStoreStaysConsistent) {
  CacheGeometry g = small_geometry();
  test::SharedMapping map(CacheStore::bytes_for(g, kTortureSets));
  auto store = CacheStore::create(map.get(), map.size(), SipKey{5, 6}, g);
  ASSERT_TRUE(store.has_value());
  constexpr int kWriters = 2;
  constexpr uint32_t kReader = 10;
  test::SharedMapping reports(sizeof(ChildReport) * (kWriters + 1));
  auto* report = new (reports.get()) ChildReport[kWriters + 1]();
  const uint64_t start = monotonic_us();
  const uint64_t until = start + hammer_us();
  auto spawn = [&](uint32_t worker, int store_every, bool leases, uint64_t end) {
    pid_t pid = fork();
    if (pid == 0) {
      hammer(*store, worker, end, store_every, &report[worker == kReader ? kWriters : worker],
             leases);
      _exit(0);
    }
    return pid;
  };
  const pid_t reader = spawn(kReader, 1'000'000, false, until);
  pid_t writers[kWriters];
  for (uint32_t w = 0; w < kWriters; ++w) writers[w] = spawn(w, 1, true, UINT64_MAX);
  std::mt19937 rng(12345);
  CacheStats master;
  int kills = 0, mid_write = 0;
  while (monotonic_us() < until - 200'000) {
    usleep(1000 + rng() % 15000);
    const uint32_t w = rng() % kWriters;
    kill(writers[w], SIGKILL);
    waitpid(writers[w], nullptr, 0);
    // A worker holds one slot at a time: the one its claim word names, which the reset empties.
    const int left = odd_slots_of(*store, w);
    EXPECT_LE(left, 1);
    mid_write += left;
    store->reset_owner(w, &master);  // on_worker_exit
    EXPECT_EQ(odd_slots_of(*store, w), 0);
    ++kills;
    writers[w] = spawn(w, 1, true, UINT64_MAX);
    ASSERT_GT(writers[w], 0);
  }
  for (uint32_t w = 0; w < kWriters; ++w) {
    kill(writers[w], SIGKILL);
    waitpid(writers[w], nullptr, 0);
    store->reset_owner(w, &master);
  }
  int status = 0;
  ASSERT_EQ(waitpid(reader, &status, 0), reader);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const ChildReport& r = report[kWriters];
  std::printf(
      "kills %d (%d mid-write), crash resets %llu, reader lookups %llu, hits %llu, torn %llu, "
      "corrupt %llu\n",
      kills, mid_write, static_cast<unsigned long long>(master.crash_resets),
      static_cast<unsigned long long>(r.lookups.load()),
      static_cast<unsigned long long>(r.hits.load()),
      static_cast<unsigned long long>(r.torn.load()),
      static_cast<unsigned long long>(r.corrupt.load()));
  EXPECT_GT(kills, 20);
  EXPECT_GT(mid_write, 0);
  EXPECT_GT(master.crash_resets, 0u);
  EXPECT_EQ(r.corrupt.load(), 0u);
  EXPECT_GT(r.hits.load(), 0u);
  // Nothing left claimed, no lease left behind; every surviving entry verifies; the table works.
  EXPECT_EQ(store->writing_slots(), 0u);
  const uint64_t now = monotonic_us();
  EXPECT_EQ(store->live_leases(now), 0u);
  CacheStats stats;
  char key[32], head[96], body[12288], buffer[16384];
  for (int k = 0; k < kKeys; ++k) {
    const std::string_view ks = key_of(k, key);
    const uint64_t h = store->hash(ks);
    CacheHit hit = store->lookup(h, ks, now, buffer, &stats);
    if (hit.state != CacheState::kMiss) {
      EXPECT_TRUE(verify(hit, k)) << k;
    }
  }
  for (int k = 0; k < kKeys; ++k) {
    const std::string_view ks = key_of(k, key);
    const uint64_t h = store->hash(ks);
    const uint64_t version = 999'000 + static_cast<uint64_t>(k);
    const size_t len = body_into(k, version, body);
    ASSERT_EQ(
        store->store(h, ks, meta_until(now + 10'000'000, now + 10'000'000),
                     head_into(k, version, head), std::string_view(body, len), 0, now, &stats),
        CacheStoreResult::kStored);
    CacheHit hit = store->lookup(h, ks, now, buffer, &stats);
    ASSERT_NE(hit.state, CacheState::kMiss) << k;
    EXPECT_TRUE(verify(hit, k)) << k;
  }
}

}  // namespace
}  // namespace zhttp::shm
