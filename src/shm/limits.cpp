#include "shm/limits.hpp"

#include <cstring>

namespace zhttp::shm {
namespace {

void add(const ZoneCounters& c, ZoneSnapshot* z) {
  z->passed += c.table.passed;
  z->delayed += c.table.delayed;
  z->rejected += c.table.refused;
  z->dry_run_rejected += c.dry_run_rejected;
  z->evictions += c.table.evictions;
  z->inserts += c.table.inserts;
  z->cas_retries += c.table.cas_retries;
  z->refunds += c.table.refunds;
}

void fold(Tally& total, Tally& from) {
  total.add(from.get());
  from.reset();
}

}  // namespace

std::string_view LimitsRegion::zone_name(uint32_t zone) const {
  const char* n = zones[zone].name;
  return {n, strnlen(n, kZoneNameBytes)};
}

bool read_limits(const LimitsRegion& limits, const StatsRegion& stats,
                 const RateTable* const* tables, const ConnTable* const* conn_tables,
                 uint64_t now_us, LimitsSnapshot* out) {
  const uint32_t zones = std::min<uint32_t>(limits.zone_count, kMaxZones);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    uint32_t before = stats.fold_sequence.load(std::memory_order_acquire);
    if (before & 1) continue;
    out->zone_count = zones;
    for (uint32_t z = 0; z < zones; ++z) {
      ZoneSnapshot& s = out->zones[z];
      s = ZoneSnapshot{};
      s.name = limits.zone_name(z);
      s.slots = limits.zones[z].slots;
      s.kind = limits.zones[z].kind;
      add(limits.counters(-1, z), &s);
      for (size_t slot = 0; slot < kStatsSlots; ++slot) {
        if (stats.slots[slot].in_use.load(std::memory_order_relaxed) == 0) continue;
        add(limits.counters(static_cast<int>(slot), z), &s);
      }
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (stats.fold_sequence.load(std::memory_order_relaxed) != before) continue;
    for (uint32_t z = 0; z < zones; ++z) {
      ZoneSnapshot& s = out->zones[z];
      if (tables != nullptr && tables[z] != nullptr) {
        s.entries = tables[z]->live_entries(now_us);
      } else if (conn_tables != nullptr && conn_tables[z] != nullptr) {
        s.entries = conn_tables[z]->words_in_use();
      }
    }
    return true;
  }
  return false;
}

void fold_limits(LimitsRegion& limits, int stats_slot) {
  for (uint32_t z = 0; z < std::min<uint32_t>(limits.zone_count, kMaxZones); ++z) {
    ZoneCounters& total = limits.counters(-1, z);
    ZoneCounters& row = limits.counters(stats_slot, z);
    fold(total.table.passed, row.table.passed);
    fold(total.table.delayed, row.table.delayed);
    fold(total.table.refused, row.table.refused);
    fold(total.table.inserts, row.table.inserts);
    fold(total.table.evictions, row.table.evictions);
    fold(total.table.cas_retries, row.table.cas_retries);
    fold(total.table.refunds, row.table.refunds);
    fold(total.dry_run_rejected, row.dry_run_rejected);
  }
}

}  // namespace zhttp::shm
