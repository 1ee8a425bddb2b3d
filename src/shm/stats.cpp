#include "shm/stats.hpp"

namespace zhttp::shm {
namespace {

void copy_row(const WorkerStats& s, StatsSnapshot::Row* row) {
  row->worker_index = s.worker_index.load(std::memory_order_relaxed);
  row->generation = s.generation.load(std::memory_order_relaxed);
  row->respawns = s.respawns.load(std::memory_order_relaxed);
  row->pid = s.pid.load(std::memory_order_relaxed);
  row->start_time = s.start_time.load(std::memory_order_relaxed);
  for (size_t i = 0; i < std::size(row->counters); ++i) {
    row->counters[i] = s.counters[i].load(std::memory_order_relaxed);
  }
  for (size_t i = 0; i < std::size(row->gauges); ++i) {
    row->gauges[i] = s.gauges[i].load(std::memory_order_relaxed);
  }
  for (size_t i = 0; i < kLatencyBuckets; ++i) {
    row->latency[i] = s.latency[i].load(std::memory_order_relaxed);
  }
}

void add_row(const StatsSnapshot::Row& from, StatsSnapshot::Row* to) {
  for (size_t i = 0; i < std::size(to->counters); ++i) to->counters[i] += from.counters[i];
  for (size_t i = 0; i < std::size(to->gauges); ++i) to->gauges[i] += from.gauges[i];
  for (size_t i = 0; i < kLatencyBuckets; ++i) to->latency[i] += from.latency[i];
}

}  // namespace

bool read_stats(const StatsRegion& region, StatsSnapshot* out) {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    uint32_t before = region.fold_sequence.load(std::memory_order_acquire);
    if (before & 1) continue;
    copy_row(region.retired, &out->totals);
    out->worker_count = 0;
    for (const WorkerStats& slot : region.slots) {
      if (slot.in_use.load(std::memory_order_relaxed) == 0) continue;
      StatsSnapshot::Row& row = out->workers[out->worker_count++];
      copy_row(slot, &row);
      add_row(row, &out->totals);
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (region.fold_sequence.load(std::memory_order_relaxed) == before) return true;
  }
  return false;
}

}  // namespace zhttp::shm
