#include "shm/cache_counters.hpp"

#include <atomic>

namespace zhttp::shm {

namespace {

void add_row(const CacheStats& row, CacheSnapshot* out) {
  for (size_t f = 0; f < kCacheCounterCount; ++f) {
    out->counters[f] += (row.*kCacheCounterFields[f].member).get();
  }
}

}  // namespace

bool read_cache_counters(const CacheCountersRegion& region, const StatsRegion& stats,
                         CacheSnapshot* out) {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    uint32_t before = stats.fold_sequence.load(std::memory_order_acquire);
    if (before & 1) continue;
    for (uint64_t& c : out->counters) c = 0;
    add_row(region.row(-1), out);
    for (size_t slot = 0; slot < kStatsSlots; ++slot) {
      if (stats.slots[slot].in_use.load(std::memory_order_relaxed) == 0) continue;
      add_row(region.row(static_cast<int>(slot)), out);
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (stats.fold_sequence.load(std::memory_order_relaxed) == before) return true;
  }
  return false;
}

void read_cache_store(const CacheStore& store, uint64_t now_us, CacheSnapshot* out) {
  out->entries = store.live_entries(now_us);
  out->slots = 0;
  for (uint32_t c = 0; c < store.classes(); ++c) out->slots += store.class_info(c).slots;
  out->bytes = store.bytes();
}

void fold_cache_counters(CacheCountersRegion& region, int stats_slot) {
  for (const CacheCounterField& f : kCacheCounterFields) {
    Tally& from = region.row(stats_slot).*f.member;
    (region.row(-1).*f.member).add(from.get());
    from.reset();
  }
}

}  // namespace zhttp::shm
