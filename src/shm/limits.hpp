#pragma once
// The rate limiter's region of the shared segment: what each zone is (written once by the
// master before it forks) and its counters, one row per worker stats slot (single writer: that
// worker) plus a row of retired totals into which the master folds an exited worker's row, under
// the stats region's fold sequence, so that totals never go backwards. Each zone's words live in
// a region of their own, named after the zone: a RateTable (RegionKind::kRateTable) for a
// --limit-req zone, a ConnTable (kConnTable) for a --limit-conn zone, which counts admitted
// connections as passed and refused ones as rejected.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "shm/conn_table.hpp"
#include "shm/rate_table.hpp"
#include "shm/stats.hpp"
#include "shm/tally.hpp"

namespace zhttp::shm {

inline constexpr uint32_t kLimitsVersion = 1;
inline constexpr size_t kMaxZones = 32;
inline constexpr size_t kZoneNameBytes = 32;
inline constexpr size_t kZoneRuleBytes = 160;

// One zone's counters in one row: what the table counts (RateStats) and what the policy adds.
struct alignas(64) ZoneCounters {
  RateStats table;  // passed, delayed, refused (= rejected), inserts, evictions, CAS retries...
  Tally dry_run_rejected;  // --limit-req-dry-run: would have been refused, served instead
};
static_assert(sizeof(ZoneCounters) == 64);

struct ZoneInfo {
  char name[kZoneNameBytes];  // NUL-terminated
  char rule[kZoneRuleBytes];  // the --limit-req text as given (NUL-terminated, cut to fit)
  uint32_t slots;             // of its table
  uint32_t dry_run;           // 1: refusals are only counted
  uint32_t kind;              // ZoneKind
  uint32_t reserved;
};

enum ZoneKind : uint32_t { kRequestZone = 0, kConnectionZone = 1 };

struct LimitsRegion {
  uint32_t zone_count;
  uint32_t reserved;
  ZoneInfo zones[kMaxZones];
  // Then (kStatsSlots + 1) rows of zone_count ZoneCounters: row 0 the retired totals, row 1 + i
  // the worker with stats slot i.

  static size_t bytes_for(uint32_t zones) {
    return offset_of_rows() + (kStatsSlots + 1) * zones * sizeof(ZoneCounters);
  }
  // `stats_slot` -1: the retired row.
  ZoneCounters& counters(int stats_slot, uint32_t zone) {
    return rows()[static_cast<size_t>(stats_slot + 1) * zone_count + zone];
  }
  const ZoneCounters& counters(int stats_slot, uint32_t zone) const {
    return const_cast<LimitsRegion*>(this)->counters(stats_slot, zone);
  }
  std::string_view zone_name(uint32_t zone) const;

 private:
  static constexpr size_t offset_of_rows() {
    return (sizeof(uint32_t) * 2 + sizeof(ZoneInfo) * kMaxZones + 63) / 64 * 64;
  }
  ZoneCounters* rows() {
    return reinterpret_cast<ZoneCounters*>(reinterpret_cast<char*>(this) + offset_of_rows());
  }
};

// A consistent sum of one zone's counters over the retired row and the rows of the workers in
// use, plus the live entries of its table.
struct ZoneSnapshot {
  std::string_view name;  // into the region
  uint32_t kind = kRequestZone;
  uint64_t passed = 0;
  uint64_t delayed = 0;
  uint64_t rejected = 0;
  uint64_t dry_run_rejected = 0;
  uint64_t entries = 0;  // live words of its table now
  uint64_t slots = 0;
  uint64_t evictions = 0;
  uint64_t inserts = 0;
  uint64_t cas_retries = 0;
  uint64_t refunds = 0;
};

struct LimitsSnapshot {
  size_t zone_count = 0;
  ZoneSnapshot zones[kMaxZones];
};

// Reads every zone of `limits` (`stats` gives the slots in use and the fold sequence; `tables`
// and `conn_tables` the zones' tables by zone index, null where a zone has none of that kind:
// 0 entries). False only when the master kept folding for many tries.
bool read_limits(const LimitsRegion& limits, const StatsRegion& stats,
                 const RateTable* const* tables, const ConnTable* const* conn_tables,
                 uint64_t now_us, LimitsSnapshot* out);

// The master, when a worker's stats slot is retired (inside the stats fold sequence).
void fold_limits(LimitsRegion& limits, int stats_slot);

}  // namespace zhttp::shm
