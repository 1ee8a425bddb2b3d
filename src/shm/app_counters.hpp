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
#include <span>
#include <string_view>

#include "shm/stats.hpp"

namespace zhttp::shm {

inline constexpr uint32_t kAppCountersVersion = 1;
inline constexpr size_t kMaxAppValues = 64;  // counters and gauges together
inline constexpr size_t kAppNameBytes = 48;  // [a-z_][a-z0-9_]*, NUL-terminated
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

// What the embedding application declared, for the master to lay out.
struct AppValueDecl {
  std::string_view name;  // the caller checks the grammar and that it is no built-in name
  std::string_view help;  // cut to kAppHelpBytes - 1
  AppValueKind kind = kAppCounter;
};

// The master, on the region Segment::create laid out (zeroed) with bytes_for(values.size()):
// writes the count, names, help texts and kinds. False (nothing written) beyond kMaxAppValues.
bool lay_out_app_values(AppCountersRegion& region, std::span<const AppValueDecl> values);

// The word a worker with `stats_slot` writes for `value`, or null when there is no such value or
// the worker has no stats slot (-1 would be the retired row: such a worker counts into a private
// word, which nobody reads).
std::atomic<uint64_t>* worker_word(AppCountersRegion& region, int stats_slot, uint32_t value);

// A worker's writes to one of its words: one writer, so a relaxed load and store (no
// read-modify-write), like Tally. A gauge's word holds an int64_t (two's complement).
class AppValueWriter {
 public:
  explicit AppValueWriter(std::atomic<uint64_t>* word) : word_(word) {}
  void add(int64_t delta) {
    word_->store(word_->load(std::memory_order_relaxed) + static_cast<uint64_t>(delta),
                 std::memory_order_relaxed);
  }
  void set(int64_t value) { word_->store(static_cast<uint64_t>(value), std::memory_order_relaxed); }
  int64_t get() const { return static_cast<int64_t>(word_->load(std::memory_order_relaxed)); }

 private:
  std::atomic<uint64_t>* word_;
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

// Retries while the master folds, like read_stats; false only when it kept folding for many
// tries. A reader of a mapping it did not create checks bytes_for(value_count) first.
bool read_app_values(const AppCountersRegion& region, const StatsRegion& stats,
                     AppValuesSnapshot* out);

// The master, inside the stats fold sequence, when the worker with `stats_slot` exited: its
// counters are added to the retired row, then its counters and gauges are zeroed.
void fold_app_values(AppCountersRegion& region, int stats_slot);

}  // namespace zhttp::shm
