#pragma once
// The shared cache's counters region (RegionKind::kCacheCounters): one CacheStats row per worker
// stats slot (single writer: that worker, for its store calls and its cache stage) plus a row of
// retired totals. The master folds an exited worker's row into the retired one under the stats
// region's fold sequence, so that totals never go backwards, and counts there the slots and leases
// it resets itself (crash_resets). The store's own figures (live entries, slots, bytes) come from
// the kCache region.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "shm/cache_store.hpp"
#include "shm/stats.hpp"
#include "shm/tally.hpp"

namespace zhttp::shm {

inline constexpr uint32_t kCacheCountersVersion = 1;

struct CacheCountersRegion {
  CacheStats rows[kStatsSlots + 1];  // [0] the retired totals, [1 + i] the worker of stats slot i

  // `stats_slot` -1: the retired row.
  CacheStats& row(int stats_slot) { return rows[stats_slot + 1]; }
  const CacheStats& row(int stats_slot) const { return rows[stats_slot + 1]; }
};

// Every counter of a CacheStats row: its name (zhttpstat's JSON key, zhttpd_cache_<name>_total),
// its help text, and whether zhttpstat and /metrics show it (the others are the store's
// internals, folded all the same).
struct CacheCounterField {
  std::string_view name;
  Tally CacheStats::*member;
  std::string_view help;
  bool shown;
};

inline constexpr CacheCounterField kCacheCounterFields[] = {
    {"lookups", &CacheStats::lookups, "Requests looked up in the shared cache.", true},
    {"hits", &CacheStats::hits, "Lookups answered from a fresh entry.", true},
    {"stale_hits", &CacheStats::stale_hits,
     "Lookups answered from a stale entry (stale-while-revalidate, stale-if-error).", true},
    {"misses", &CacheStats::misses, "Lookups that found no usable entry.", true},
    {"bypasses", &CacheStats::bypasses,
     "Requests neither looked up nor stored (method, credentials, no-store).", true},
    {"stores", &CacheStats::stores, "Entries stored.", true},
    {"too_big", &CacheStats::too_big, "Answers larger than the largest entry, not stored.", true},
    {"evictions", &CacheStats::evictions, "Live entries replaced by another key's.", true},
    {"torn_reads", &CacheStats::torn_reads,
     "Entry copies a writer changed while they were read (retried once, then a miss).", true},
    {"coalesced_waits", &CacheStats::coalesced_waits,
     "Requests that waited for another request filling their entry.", true},
    {"lock_timeouts", &CacheStats::lock_timeouts,
     "Waits for a fill that did not come within --cache-lock-timeout.", true},
    {"purges", &CacheStats::purges, "Entries emptied by PURGE, and purges of everything.", true},
    {"crash_resets", &CacheStats::crash_resets,
     "Slots and fill leases reset after their worker died mid-write.", true},
    {"uncacheable", &CacheStats::uncacheable,
     "Answers to a lookup that could not be stored (policy, size, kind).", true},
    {"lease_waits", &CacheStats::lease_waits,
     "Lookups told that another worker is filling the entry.", true},
    {"lost_claims", &CacheStats::lost_claims, "Slot claims lost to another writer.", false},
    {"store_busy", &CacheStats::store_busy, "Stores given up after lost claims.", false},
    {"lease_grants", &CacheStats::lease_grants, "Fill leases granted.", false},
    {"lease_no_room", &CacheStats::lease_no_room,
     "Fill leases not granted: the key's lease word held another key's.", false},
};
inline constexpr size_t kCacheCounterCount = std::size(kCacheCounterFields);

// A consistent sum over the retired row and the rows of the workers in use, and the store's now.
struct CacheSnapshot {
  uint64_t counters[kCacheCounterCount] = {};  // in kCacheCounterFields order
  uint64_t entries = 0;                        // live entries of the store
  uint64_t slots = 0;                          // of every size class
  uint64_t bytes = 0;                          // of the store's region
};

// The store's figures in a snapshot: their names (zhttpstat's JSON keys, zhttpd_cache_<name>
// gauges) and help texts.
struct CacheStoreField {
  std::string_view name;
  uint64_t CacheSnapshot::*value;
  std::string_view help;
};

inline constexpr CacheStoreField kCacheStoreFields[] = {
    {"entries", &CacheSnapshot::entries, "Live entries in the shared cache (fresh or stale)."},
    {"slots", &CacheSnapshot::slots, "Entry slots of the shared cache, every size class."},
    {"bytes", &CacheSnapshot::bytes, "Bytes of shared memory the cache holds (--cache-size)."},
};

// The counters into `out` (`stats` gives the slots in use and the fold sequence). False only
// when the master kept folding for many tries.
bool read_cache_counters(const CacheCountersRegion& region, const StatsRegion& stats,
                         CacheSnapshot* out);
// The store's entries (live at `now_us`; a scan of every slot), slots and region bytes into `out`.
void read_cache_store(const CacheStore& store, uint64_t now_us, CacheSnapshot* out);

// The master, when a worker's stats slot is retired (inside the stats fold sequence).
void fold_cache_counters(CacheCountersRegion& region, int stats_slot);

}  // namespace zhttp::shm
