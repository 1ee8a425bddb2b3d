#pragma once
// The statistics region of the shared segment: one cache-line-aligned slot per worker process,
// written only by that worker with relaxed atomics, plus a slot of retired totals into which the
// master folds the counters of every worker that exits, so that totals never go backwards.
// Readers (zhttpstat, the /metrics endpoint) sum the retired slot and the slots in use.
//
// Only fixed-size types and no pointers: the layout is the same in every process, whatever
// address the segment is mapped at. Changing it means bumping shm::kLayoutVersion.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace zhttp::shm {

// Counters: they only grow (and are folded into the retired slot when a worker exits).
enum class Counter : uint16_t {
  kConnectionsAccepted,
  kRequests,
  kKeepaliveReuses,  // requests after the first on their connection
  kBytesIn,
  kBytesOut,
  kResponses1xx,
  kResponses2xx,
  kResponses3xx,
  kResponses4xx,
  kResponses5xx,
  kResponses200,
  kResponses206,
  kResponses304,
  kResponses400,
  kResponses404,
  kResponses408,
  kResponses413,
  kResponses429,
  kResponses431,
  kParseErrors,   // requests refused before a handler saw them (400, 413, 414, 431, 501, 505...)
  kTimeouts,      // 408 sent, or idle/stalled connections closed by a timeout
  kLatencySumUs,  // of the histogram below
  kCount
};

// Gauges: the worker's current state (not folded: a retired worker has none).
enum class Gauge : uint16_t {
  kConnectionsActive,  // open connections
  kConnectionsIdle,    // of which idle keep-alive
  kCount
};

// Request latency (from the request's head read to its response queued), microseconds, in
// log2 buckets: bucket i counts latencies < 2^i us (the last one: everything else).
inline constexpr size_t kLatencyBuckets = 24;  // up to 2^23 us = 8.4 s, then +Inf

inline constexpr std::string_view kCounterNames[] = {"connections_accepted",
                                                     "requests",
                                                     "keepalive_reuses",
                                                     "bytes_in",
                                                     "bytes_out",
                                                     "responses_1xx",
                                                     "responses_2xx",
                                                     "responses_3xx",
                                                     "responses_4xx",
                                                     "responses_5xx",
                                                     "responses_200",
                                                     "responses_206",
                                                     "responses_304",
                                                     "responses_400",
                                                     "responses_404",
                                                     "responses_408",
                                                     "responses_413",
                                                     "responses_429",
                                                     "responses_431",
                                                     "parse_errors",
                                                     "timeouts",
                                                     "latency_sum_us"};
static_assert(std::size(kCounterNames) == static_cast<size_t>(Counter::kCount));

inline constexpr std::string_view kGaugeNames[] = {"connections_active", "connections_idle"};
static_assert(std::size(kGaugeNames) == static_cast<size_t>(Gauge::kCount));

struct alignas(64) WorkerStats {
  // Identity, written by the master when it hands the slot to a worker (before the fork).
  std::atomic<uint32_t> in_use;  // 1 while a worker owns the slot
  std::atomic<uint32_t> worker_index;
  std::atomic<uint32_t> generation;
  std::atomic<uint32_t> respawns;  // of this worker index before this one
  std::atomic<int64_t> pid;
  std::atomic<int64_t> start_time;
  // Written by the worker only.
  std::atomic<uint64_t> counters[static_cast<size_t>(Counter::kCount)];
  std::atomic<uint64_t> gauges[static_cast<size_t>(Gauge::kCount)];
  std::atomic<uint64_t> latency[kLatencyBuckets];

  void add(Counter c, uint64_t n = 1) {
    auto& a = counters[static_cast<size_t>(c)];
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);  // one writer
  }
  void set(Gauge g, uint64_t v) {
    gauges[static_cast<size_t>(g)].store(v, std::memory_order_relaxed);
  }
  uint64_t get(Counter c) const {
    return counters[static_cast<size_t>(c)].load(std::memory_order_relaxed);
  }
  uint64_t get(Gauge g) const {
    return gauges[static_cast<size_t>(g)].load(std::memory_order_relaxed);
  }
};

// Worker slots: enough for a full generation of 256 workers plus the draining ones of reloads.
inline constexpr size_t kStatsSlots = 1024;

struct StatsRegion {
  // Odd while the master folds an exited worker's slot into `retired`: readers retry then, and
  // when it changed under them, so a sum never counts a worker twice or not at all.
  alignas(64) std::atomic<uint32_t> fold_sequence;
  WorkerStats retired;  // written by the master only: the sum of the exited workers
  WorkerStats slots[kStatsSlots];
};

// A consistent copy of the region, for zhttpstat and the /metrics endpoint. Fixed size: a
// reader keeps one and fills it again without allocating.
struct StatsSnapshot {
  struct Row {
    uint32_t worker_index = 0;
    uint32_t generation = 0;
    uint32_t respawns = 0;
    int64_t pid = 0;
    int64_t start_time = 0;
    uint64_t counters[static_cast<size_t>(Counter::kCount)] = {};
    uint64_t gauges[static_cast<size_t>(Gauge::kCount)] = {};
    uint64_t latency[kLatencyBuckets] = {};
  };
  Row totals;  // retired + every worker in use (identity fields unused)
  size_t worker_count = 0;
  Row workers[kStatsSlots];  // the first worker_count, in slot order
};

// Copies `region` into `out`. Retries while the master is folding; gives up (false) after
// many tries, which only a master stuck mid-fold (impossible: it is a few stores) would cause.
bool read_stats(const StatsRegion& region, StatsSnapshot* out);

}  // namespace zhttp::shm
