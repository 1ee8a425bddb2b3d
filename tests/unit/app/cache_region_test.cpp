// The shared cache's regions from the process side (app/cache_region.hpp) on real segments: none
// for --cache-size 0; the master's lay-out (the geometry of --cache-max-entry, a fresh secret per
// segment, only the store's header page touched, counters zero); what a worker attaches to and its
// counters row; a reload refused when the size or the entry limit changes, and only then.
#include "app/cache_region.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace zhttp::app {
namespace {

std::string unique_name() {
  static int n = 0;
  return "zhttpd-cache-region-test-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

handlers::cache::CacheOptions options_of(uint64_t size_bytes, uint32_t max_entry = 16384) {
  handlers::cache::CacheOptions o;
  o.size_bytes = size_bytes;
  o.max_entry = max_entry;
  return o;
}

std::unique_ptr<shm::Segment> segment_for(const handlers::cache::CacheOptions& options) {
  auto segment = shm::Segment::create(unique_name(), static_cast<uint64_t>(::getpid()),
                                      cache_regions(options));
  lay_out_cache(*segment, options);
  return segment;
}

size_t resident_pages(const void* start, size_t bytes) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> in((bytes + page - 1) / page);
  if (::mincore(const_cast<void*>(start), bytes, in.data()) != 0) return SIZE_MAX;
  size_t n = 0;
  for (unsigned char v : in) n += v & 1;
  return n;
}

TEST(CacheRegion, NoRegionsWithoutACache) {
  EXPECT_TRUE(cache_regions(options_of(0)).empty());
  const std::vector<shm::RegionRequest> r = cache_regions(options_of(uint64_t{8} << 20));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].kind, shm::RegionKind::kCache);
  EXPECT_EQ(r[0].version, shm::kCacheStoreVersion);
  EXPECT_EQ(r[0].bytes, uint64_t{8} << 20);
  EXPECT_EQ(r[1].kind, shm::RegionKind::kCacheCounters);
  EXPECT_EQ(r[1].version, shm::kCacheCountersVersion);
  EXPECT_EQ(r[1].bytes, sizeof(shm::CacheCountersRegion));

  auto segment = segment_for(options_of(0));  // lay_out_cache: nothing to do
  EXPECT_FALSE(attach_cache(*segment).has_value());
  EXPECT_EQ(cache_counters(*segment, 0), nullptr);
}

TEST(CacheRegion, TheMasterLaysOutTheStoreAWorkerAttachesTo) {
  const uint64_t bytes = uint64_t{64} << 20;
  auto segment = segment_for(options_of(bytes));
  // Only the store's header is written: the slots of a fresh segment are zero already.
  EXPECT_LE(resident_pages(segment->region(shm::RegionKind::kCache), bytes), 1u);
  std::optional<shm::CacheStore> store = attach_cache(*segment);
  ASSERT_TRUE(store.has_value());
  EXPECT_EQ(store->classes(), 3u);
  EXPECT_EQ(store->max_entry(), 16384u);
  EXPECT_EQ(store->live_entries(1), 0u);

  auto* counters =
      static_cast<shm::CacheCountersRegion*>(segment->region(shm::RegionKind::kCacheCounters));
  ASSERT_NE(counters, nullptr);
  EXPECT_EQ(cache_counters(*segment, 0), &counters->row(0));
  EXPECT_EQ(cache_counters(*segment, 7), &counters->row(7));
  EXPECT_EQ(cache_counters(*segment, static_cast<int>(shm::kStatsSlots) - 1),
            &counters->row(static_cast<int>(shm::kStatsSlots) - 1));
  EXPECT_EQ(cache_counters(*segment, -1), nullptr);  // no stats slot: no cache
  EXPECT_EQ(cache_counters(*segment, static_cast<int>(shm::kStatsSlots)), nullptr);
  EXPECT_EQ(counters->row(-1).lookups.get(), 0u);

  // A worker's store and the master's are one.
  shm::CacheStats* row = cache_counters(*segment, 0);
  shm::CacheMeta meta;
  meta.expires_us = meta.stale_until_us = 1000;
  const uint64_t h = store->hash("/x");
  ASSERT_EQ(store->store(h, "/x", meta, "H", "B", 0, 1, row), shm::CacheStoreResult::kStored);
  EXPECT_EQ(attach_cache(*segment)->live_entries(2), 1u);
  EXPECT_EQ(row->stores.get(), 1u);
}

TEST(CacheRegion, TheGeometryFollowsTheEntryLimit) {
  auto segment = segment_for(options_of(uint64_t{4} << 20, 4000));
  std::optional<shm::CacheStore> store = attach_cache(*segment);
  ASSERT_TRUE(store.has_value());
  ASSERT_EQ(store->classes(), 2u);
  EXPECT_EQ(store->class_info(0).data_bytes, 1024u);
  EXPECT_EQ(store->max_entry(), 4032u);  // rounded up to 64
}

TEST(CacheRegion, EachSegmentDrawsItsOwnSecret) {
  auto a = segment_for(options_of(uint64_t{1} << 20));
  auto b = segment_for(options_of(uint64_t{1} << 20));
  EXPECT_NE(attach_cache(*a)->hash("/"), attach_cache(*b)->hash("/"));
}

TEST(CacheRegion, AStoreThatDoesNotFitIsAnError) {
  const handlers::cache::CacheOptions tiny = options_of(4096);
  auto segment =
      shm::Segment::create(unique_name(), static_cast<uint64_t>(::getpid()), cache_regions(tiny));
  EXPECT_THROW(lay_out_cache(*segment, tiny), std::runtime_error);
}

TEST(CacheRegion, AReloadKeepsTheSizeAndTheEntryLimit) {
  auto segment = segment_for(options_of(uint64_t{2} << 20));
  std::string error;
  handlers::cache::CacheOptions same = options_of(uint64_t{2} << 20);
  same.lock_timeout_ms = 10;  // what the stage reads may change
  same.max_stale_s = 0;
  same.allow_cookie = true;
  EXPECT_TRUE(same_cache(*segment, same, &error)) << error;
  EXPECT_TRUE(same_cache(*segment, options_of(uint64_t{2} << 20, 16321), &error))
      << "the same geometry: " << error;

  for (const handlers::cache::CacheOptions& changed :
       {options_of(uint64_t{4} << 20), options_of(uint64_t{2} << 20, 4096), options_of(0)}) {
    error.clear();
    EXPECT_FALSE(same_cache(*segment, changed, &error));
    EXPECT_EQ(error,
              "--cache-size and --cache-max-entry cannot change on reload (running: 2097152 "
              "bytes, entries up to 16384 bytes); restart the server to change them");
  }

  auto without = segment_for(options_of(0));
  EXPECT_TRUE(same_cache(*without, options_of(0), &error));
  EXPECT_FALSE(same_cache(*without, options_of(uint64_t{2} << 20), &error));
  EXPECT_EQ(error,
            "--cache-size and --cache-max-entry cannot change on reload (running: no cache); "
            "restart the server to change them");
}

}  // namespace
}  // namespace zhttp::app
