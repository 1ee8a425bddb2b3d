// The cache store's request path allocates nothing: hashing a key, hits, stale hits, misses,
// stores (with evictions), purges, leases and the master's reset of a dead owner.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstdio>
#include <string_view>

#include "alloc_counter.hpp"
#include "shm/cache_store.hpp"

namespace zhttp::shm {
namespace {

TEST(CacheStoreAllocations, HitsMissesStoresPurgesAndLeasesAllocateNothing) {
  CacheGeometry g;
  g.leases = 64;
  const size_t bytes = CacheStore::bytes_for(g, 2);  // small: most stores evict
  void* region = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(region, MAP_FAILED);
  auto store = CacheStore::create(region, bytes, SipKey{1, 2}, g);
  ASSERT_TRUE(store.has_value());
  static char body[12000];
  static char buffer[16384];
  for (size_t i = 0; i < sizeof body; ++i) body[i] = static_cast<char>('a' + i % 26);
  char key[32];
  CacheStats stats;
  long allocations = 0;
  {
    test::AllocationWindow window;
    uint64_t now = 1'000'000;
    for (int i = 0; i < 20000; ++i, now += 100) {
      int n = std::snprintf(key, sizeof key, "/k/%d", i % 200);
      const std::string_view k(key, static_cast<size_t>(n));
      const uint64_t h = store->hash(k);
      CacheMeta meta;
      meta.stored_us = now;
      meta.expires_us = now + 50'000;
      meta.stale_until_us = now + 100'000;
      if (store->lookup(h, k, now, buffer, &stats).state == CacheState::kMiss) {
        if (store->try_lease(h, 1, now, now + 5'000'000, &stats) == LeaseResult::kAcquired) {
          store->try_lease(h, 2, now, now + 5'000'000, &stats);  // a waiter
          store->store(h, k, meta, "HTTP/1.1 200 OK\r\n\r\n",
                       std::string_view(body, static_cast<size_t>(i * 37) % sizeof body), 1, now,
                       &stats);
          store->release_lease(h, 1);
        }
      }
      if (i % 97 == 0) store->purge(h, 1, &stats);
      if (i % 5000 == 0) store->purge_all(&stats);
      if (i % 1000 == 0) {
        store->store_abandoned_for_test(h, k, meta, "H", "b", 3, now, 1);
        store->try_lease(h ^ 1, 3, now, now + 1000, &stats);
        store->reset_owner(3, &stats);
      }
    }
    allocations = window.allocations();
  }
  std::printf(
      "lookups %lu, hits %lu, stale %lu, stores %lu, evictions %lu, purges %lu, "
      "allocations %ld\n",
      static_cast<unsigned long>(stats.lookups), static_cast<unsigned long>(stats.hits),
      static_cast<unsigned long>(stats.stale_hits), static_cast<unsigned long>(stats.stores),
      static_cast<unsigned long>(stats.evictions), static_cast<unsigned long>(stats.purges),
      allocations);
  EXPECT_GT(stats.hits, 0u);
  EXPECT_GT(stats.stale_hits, 0u);
  EXPECT_GT(stats.stores, 0u);
  EXPECT_GT(stats.evictions, 0u);
  EXPECT_GT(stats.lease_waits, 0u);
  EXPECT_GT(stats.crash_resets, 0u);
  EXPECT_EQ(allocations, 0);
  ::munmap(region, bytes);
}

}  // namespace
}  // namespace zhttp::shm
