#include "shm/app_counters.hpp"

#include <algorithm>
#include <cstring>

namespace zhttp::shm {
namespace {

uint32_t values_of(const AppCountersRegion& region) {
  return std::min<uint32_t>(region.value_count, kMaxAppValues);
}

std::string_view text_of(const char* s, size_t room) {
  return {s, strnlen(s, room)};
}

void copy_text(char* out, size_t room, std::string_view text) {
  std::memset(out, 0, room);
  std::memcpy(out, text.data(), std::min(text.size(), room - 1));
}

}  // namespace

std::string_view AppCountersRegion::name(uint32_t value) const {
  return text_of(values[value].name, kAppNameBytes);
}

std::string_view AppCountersRegion::help(uint32_t value) const {
  return text_of(values[value].help, kAppHelpBytes);
}

bool lay_out_app_values(AppCountersRegion& region, std::span<const AppValueDecl> values) {
  if (values.size() > kMaxAppValues) return false;
  region.value_count = static_cast<uint32_t>(values.size());
  for (size_t v = 0; v < values.size(); ++v) {
    copy_text(region.values[v].name, kAppNameBytes, values[v].name);
    copy_text(region.values[v].help, kAppHelpBytes, values[v].help);
    region.values[v].kind = values[v].kind;
  }
  return true;
}

std::atomic<uint64_t>* worker_word(AppCountersRegion& region, int stats_slot, uint32_t value) {
  if (stats_slot < 0 || static_cast<size_t>(stats_slot) >= kStatsSlots) return nullptr;
  if (value >= values_of(region)) return nullptr;
  return &region.word(stats_slot, value);
}

bool read_app_values(const AppCountersRegion& region, const StatsRegion& stats,
                     AppValuesSnapshot* out) {
  const uint32_t values = values_of(region);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    uint32_t before = stats.fold_sequence.load(std::memory_order_acquire);
    if (before & 1) continue;
    out->count = values;
    for (uint32_t v = 0; v < values; ++v) {
      AppValuesSnapshot::Value& s = out->values[v];
      s.name = region.name(v);
      s.help = region.help(v);
      s.kind = region.values[v].kind;
      // Unsigned sums: a gauge's words are two's complement, so they add up the same way.
      uint64_t total =
          s.kind == kAppCounter ? region.word(-1, v).load(std::memory_order_relaxed) : 0;
      for (size_t slot = 0; slot < kStatsSlots; ++slot) {
        if (stats.slots[slot].in_use.load(std::memory_order_relaxed) == 0) continue;
        total += region.word(static_cast<int>(slot), v).load(std::memory_order_relaxed);
      }
      s.total = static_cast<int64_t>(total);
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (stats.fold_sequence.load(std::memory_order_relaxed) == before) return true;
  }
  return false;
}

void fold_app_values(AppCountersRegion& region, int stats_slot) {
  for (uint32_t v = 0; v < values_of(region); ++v) {
    std::atomic<uint64_t>& word = region.word(stats_slot, v);
    if (region.values[v].kind == kAppCounter) {
      std::atomic<uint64_t>& total = region.word(-1, v);
      total.store(total.load(std::memory_order_relaxed) + word.load(std::memory_order_relaxed),
                  std::memory_order_relaxed);
    }
    word.store(0, std::memory_order_relaxed);
  }
}

}  // namespace zhttp::shm
