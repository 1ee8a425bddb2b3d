#pragma once
// The embedding application's own counters and gauges (zhttp::App declares them by name up
// front) in a region of the shared segment (RegionKind::kAppCounters). Laid out like the stats:
// one row per worker stats slot, written only by that worker with relaxed atomics, plus a row of
// retired totals into which the master folds an exited worker's counters (under the stats
// region's fold sequence), so that totals never go back across reloads and crashes. Gauges are
// not folded: an exited worker's gauges are zeroed (it holds nothing any more); readers sum the
// workers in use.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "shm/stats.hpp"

namespace zhttp::shm {

inline constexpr uint32_t kAppCountersVersion = 1;
inline constexpr size_t kMaxAppValues = 64;        // counters and gauges together
inline constexpr size_t kAppNameBytes = 48;        // [a-z_][a-z0-9_]*, NUL-terminated
inline constexpr size_t kAppHelpBytes = 128;

enum AppValueKind : uint32_t { kAppCounter = 0, kAppGauge = 1 };

struct AppValueInfo {
  char name[kAppNameBytes];
  char help[kAppHelpBytes];
  uint32_t kind;  // AppValueKind
  uint32_t reserved;
};

struct AppCountersRegion {
  uint32_t value_count;
  uint32_t reserved;
  AppValueInfo values[kMaxAppValues];
  // Then (kStatsSlots + 1) rows of value_count atomic 64-bit words: row 0 the retired totals,
  // row 1 + i the worker with stats slot i. A gauge's word holds an int64_t.

  static size_t bytes_for(uint32_t values) {
    return offset_of_rows() + (kStatsSlots + 1) * values * sizeof(std::atomic<uint64_t>);
  }
  // `stats_slot` -1: the retired row.
  std::atomic<uint64_t>& word(int stats_slot, uint32_t value) {
    return rows()[static_cast<size_t>(stats_slot + 1) * value_count + value];
  }
  const std::atomic<uint64_t>& word(int stats_slot, uint32_t value) const {
    return const_cast<AppCountersRegion*>(this)->word(stats_slot, value);
  }
  std::string_view name(uint32_t value) const;
  std::string_view help(uint32_t value) const;

 private:
  static constexpr size_t offset_of_rows() {
    return (sizeof(uint32_t) * 2 + sizeof(AppValueInfo) * kMaxAppValues + 63) / 64 * 64;
  }
  std::atomic<uint64_t>* rows() {
    return reinterpret_cast<std::atomic<uint64_t>*>(reinterpret_cast<char*>(this) +
                                                    offset_of_rows());
  }
};

// A consistent sum of every value over the retired row (counters only) and the workers in use.
struct AppValuesSnapshot {
  struct Value {
    std::string_view name;  // into the region
    std::string_view help;
    uint32_t kind = kAppCounter;
    int64_t total = 0;  // a counter's is never negative
  };
  size_t count = 0;
  Value values[kMaxAppValues];
};

// False only when the master kept folding for many tries.
bool read_app_values(const AppCountersRegion& region, const StatsRegion& stats,
                     AppValuesSnapshot* out);

// The master, inside the stats fold sequence, when the worker with `stats_slot` exited.
void fold_app_values(AppCountersRegion& region, int stats_slot);

}  // namespace zhttp::shm
