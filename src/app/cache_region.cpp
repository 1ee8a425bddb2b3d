#include "app/cache_region.hpp"

#include <new>
#include <stdexcept>

#include "app/fresh_secret.hpp"

namespace zhttp::app {
namespace {

const shm::RegionEntry* store_entry(shm::Segment& segment) {
  return shm::find_region(segment.header(), shm::RegionKind::kCache);
}

// The largest entry of the geometry --cache-max-entry gives (it is all the geometry depends on).
uint32_t top_class(const handlers::cache::CacheOptions& options) {
  return shm::CacheGeometry::for_max_entry(options.max_entry).max_entry();
}

}  // namespace

std::vector<shm::RegionRequest> cache_regions(const handlers::cache::CacheOptions& options) {
  if (!options.enabled()) return {};
  return {{shm::RegionKind::kCache, shm::kCacheStoreVersion, options.size_bytes, ""},
          {shm::RegionKind::kCacheCounters, shm::kCacheCountersVersion,
           sizeof(shm::CacheCountersRegion), ""}};
}

void lay_out_cache(shm::Segment& segment, const handlers::cache::CacheOptions& options) {
  const shm::RegionEntry* e = store_entry(segment);
  if (e == nullptr) return;
  // The segment was just created, zero-filled: writing every slot word would only touch every
  // page of the region.
  if (!shm::CacheStore::create(segment.region(shm::RegionKind::kCache), e->bytes,
                               fresh_secret("the shared cache"),
                               shm::CacheGeometry::for_max_entry(options.max_entry),
                               /*region_is_zero=*/true)) {
    throw std::runtime_error("cannot lay out the shared cache in " + std::to_string(e->bytes) +
                             " bytes (--cache-size)");
  }
  if (void* counters = segment.region(shm::RegionKind::kCacheCounters)) {
    new (counters) shm::CacheCountersRegion{};
  }
}

std::optional<shm::CacheStore> attach_cache(shm::Segment& segment) {
  const shm::RegionEntry* e = store_entry(segment);
  if (e == nullptr) return std::nullopt;
  return shm::CacheStore::attach(segment.region(shm::RegionKind::kCache), e->bytes);
}

shm::CacheStats* cache_counters(shm::Segment& segment, int stats_slot) {
  auto* region =
      static_cast<shm::CacheCountersRegion*>(segment.region(shm::RegionKind::kCacheCounters));
  if (region == nullptr || stats_slot < 0 || static_cast<size_t>(stats_slot) >= shm::kStatsSlots) {
    return nullptr;
  }
  return &region->row(stats_slot);
}

bool same_cache(shm::Segment& segment, const handlers::cache::CacheOptions& options,
                std::string* error) {
  const shm::RegionEntry* e = store_entry(segment);
  const std::optional<shm::CacheStore> store = attach_cache(segment);
  const bool same = e == nullptr ? !options.enabled()
                                 : options.enabled() && e->bytes == options.size_bytes && store &&
                                       store->max_entry() == top_class(options);
  if (!same) {
    const std::string running = store ? std::to_string(e->bytes) + " bytes, entries up to " +
                                            std::to_string(store->max_entry()) + " bytes"
                                      : std::string("no cache");
    *error = "--cache-size and --cache-max-entry cannot change on reload (running: " + running +
             "); restart the server to change them";
  }
  return same;
}

}  // namespace zhttp::app
