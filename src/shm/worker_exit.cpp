#include "shm/worker_exit.hpp"

#include <algorithm>
#include <cstring>

#include "shm/app_counters.hpp"
#include "shm/cache_counters.hpp"
#include "shm/cache_store.hpp"
#include "shm/conn_table.hpp"
#include "shm/limits.hpp"
#include "shm/upstream_table.hpp"

namespace zhttp::shm {
namespace {

void fold(std::atomic<uint64_t>& total, std::atomic<uint64_t>& from) {
  total.store(total.load(std::memory_order_relaxed) + from.load(std::memory_order_relaxed),
              std::memory_order_relaxed);
  from.store(0, std::memory_order_relaxed);
}

void clear_connection_tables(Segment& segment, uint32_t stats_slot) {
  const SegmentHeader& h = segment.header();
  for (uint32_t i = 0; i < std::min<uint32_t>(h.region_count, kMaxRegions); ++i) {
    const RegionEntry& e = h.regions[i];
    if (e.kind != static_cast<uint32_t>(RegionKind::kConnTable)) continue;
    std::string_view name(e.name, strnlen(e.name, sizeof e.name));
    if (auto table = ConnTable::attach(segment.region(RegionKind::kConnTable, name), e.bytes)) {
      table->clear_owner(stats_slot);
    }
  }
}

// Its attempts in flight to upstream servers are no longer in flight; its checker lease goes.
void clear_upstream_owner(Segment& segment, uint32_t stats_slot) {
  const RegionEntry* e = find_region(segment.header(), RegionKind::kUpstreams);
  if (e == nullptr) return;
  if (auto table = UpstreamTable::attach(segment.region(RegionKind::kUpstreams), e->bytes)) {
    table->clear_owner(stats_slot);
  }
}

CacheCountersRegion* cache_counters(Segment& segment) {
  return static_cast<CacheCountersRegion*>(segment.region(RegionKind::kCacheCounters));
}

// What a worker killed mid-write left in the cache (a claimed slot, its fill leases) goes back,
// counted in the retired row (the master is its writer).
void reset_cache_owner(Segment& segment, uint32_t stats_slot) {
  const RegionEntry* e = find_region(segment.header(), RegionKind::kCache);
  if (e == nullptr) return;
  if (auto cache = CacheStore::attach(segment.region(RegionKind::kCache), e->bytes)) {
    CacheCountersRegion* counters = cache_counters(segment);
    CacheStats uncounted;  // a cache without its counters region (tests)
    cache->reset_owner(stats_slot, counters != nullptr ? &counters->row(-1) : &uncounted);
  }
}

}  // namespace

void on_worker_exit(Segment& segment, uint32_t stats_slot) {
  if (stats_slot >= kStatsSlots) return;
  StatsRegion& stats = segment.stats();
  WorkerStats& s = stats.slots[stats_slot];
  const int slot = static_cast<int>(stats_slot);
  stats.fold_sequence.fetch_add(1, std::memory_order_acq_rel);
  if (auto* limits = static_cast<LimitsRegion*>(segment.region(RegionKind::kLimits))) {
    fold_limits(*limits, slot);
  }
  clear_connection_tables(segment, stats_slot);
  clear_upstream_owner(segment, stats_slot);
  if (auto* app = static_cast<AppCountersRegion*>(segment.region(RegionKind::kAppCounters))) {
    fold_app_values(*app, slot);
  }
  if (CacheCountersRegion* cache = cache_counters(segment)) fold_cache_counters(*cache, slot);
  for (size_t i = 0; i < std::size(s.counters); ++i) fold(stats.retired.counters[i], s.counters[i]);
  for (size_t i = 0; i < kLatencyBuckets; ++i) fold(stats.retired.latency[i], s.latency[i]);
  for (auto& g : s.gauges) g.store(0, std::memory_order_relaxed);
  s.in_use.store(0, std::memory_order_relaxed);
  stats.fold_sequence.fetch_add(1, std::memory_order_release);
  // After the fold: readers waiting on the fold sequence need not wait for the cache's reset (one
  // slot, and a scan of the lease table). Nothing can reuse the slot meanwhile: the master, the
  // one that would, is here.
  reset_cache_owner(segment, stats_slot);
}

}  // namespace zhttp::shm
