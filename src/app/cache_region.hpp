#pragma once
// The shared response cache in the segment, from the process side: the regions --cache-size asks
// for, their lay-out by the master at start (the segment cannot grow, so a reload cannot resize
// the cache), and what a worker attaches to.
#include <optional>
#include <string>
#include <vector>

#include "handlers/cache/cache_options.hpp"
#include "shm/cache_counters.hpp"
#include "shm/cache_store.hpp"
#include "shm/segment.hpp"

namespace zhttp::app {

// The regions --cache-size asks for (none when 0): kCache sized size_bytes, kCacheCounters.
std::vector<shm::RegionRequest> cache_regions(const handlers::cache::CacheOptions& options);
// The master, once, on a fresh segment: the store laid out (secret from getrandom, geometry from
// max_entry), counters zero. Throws std::runtime_error when the store does not fit its region or
// the kernel gives no randomness.
void lay_out_cache(shm::Segment& segment, const handlers::cache::CacheOptions& options);
// A worker: the store, or nullopt when there is none.
std::optional<shm::CacheStore> attach_cache(shm::Segment& segment);
// A worker's row of the counters (stats_slot >= 0), or null when there is no cache. Null too for
// a worker without a stats slot: the master resets what a dead writer left by its stats slot, so
// such a worker must not write to the cache.
shm::CacheStats* cache_counters(shm::Segment& segment, int stats_slot);
// Reload: the cache's size and entry limit cannot change while the segment lives: false with a
// one-line reason.
bool same_cache(shm::Segment& segment, const handlers::cache::CacheOptions& options,
                std::string* error);

}  // namespace zhttp::app
