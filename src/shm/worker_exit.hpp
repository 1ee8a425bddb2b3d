#pragma once
// What the master does when it reaps a worker (or fails to fork one after claiming its slot):
// everything the worker wrote or held in the segment is folded or released, in one fold sequence
// of the stats region so that readers never see it counted twice or not at all.
#include <cstdint>

#include "shm/segment.hpp"

namespace zhttp::shm {

// The worker of `stats_slot` (< kStatsSlots) is gone: its stats counters and latency, its rate
// limiter rows and its app counters are added to the retired totals; its gauges (stats and app)
// are zeroed; its words in every connection table (kConnTable regions) are emptied; its attempts
// in flight to upstream servers (kUpstreams) are taken from their totals and its checker lease
// dropped; its cache counters (kCacheCounters) are folded; a cache slot it left mid-write and its
// fill leases (kCache) are reset, counted in the retired cache row's crash_resets (after the fold
// sequence: that scan is long); the slot is marked free. The master only: it is the one writer of
// the retired totals.
void on_worker_exit(Segment& segment, uint32_t stats_slot);

}  // namespace zhttp::shm
