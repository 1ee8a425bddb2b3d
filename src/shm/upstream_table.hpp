#pragma once
// The reverse proxy's upstream servers in the shared segment (RegionKind::kUpstreams): one slot
// per server of every group, shared by all workers, so that in-flight counts (least_conn,
// random, max_conns), passive health (max_fails within fail_timeout), active check results and
// every server's counters are the same for all of them. The master lays the table out at start
// with a fixed capacity (the segment cannot grow) and maps the configuration's servers onto it,
// at start and on every reload: a slot is keyed by group name, address text and the ordinal of
// that pair in its group, so a server that stays keeps its slot, its counters and its health;
// new servers take free slots (never used ones first), removed ones are retired (kept, with
// their counters, until a new server needs the room).
//
// Layout: a 64-byte header, `capacity` slots, then one row per worker stats slot of `capacity`
// 32-bit in-flight counts (each row a multiple of 64 bytes). A slot is seven cache lines: its
// identity (four, cold: read when a worker starts and by zhttpstat), its health (read by every
// pick, written by failures and checks), and two lines of traffic: every attempt touches the
// first (in-flight, requests, responses by class, reused connections), the rarer events the
// second, so no two servers, and no hot and cold fields, share a line.
//
// Counters are relaxed atomic read-modify-writes on the slot, not per-worker rows folded on
// exit as the stats and the cache counters are: the shared in-flight count must be a
// read-modify-write anyway (a cap across workers needs one), and it takes the attempt's line
// exclusive into this core; the counters beside it on that line then cost a locked add each (a
// few tens of cycles, three or four per proxied request) with no extra cache miss, while rows
// would cost kStatsSlots x capacity x 128 bytes of segment, a fold in the exit hook and a sum
// over every live worker for each server read. A worker killed between two counter adds loses
// at most one count, and a reader sums nothing.
//
// In-flight and kill -9: each worker also keeps its own in-flight count per slot in its row
// (one writer: plain stores). The master, when it reaps a worker (shm/worker_exit.cpp), subtracts
// that row from the slots' totals and zeroes it. The worker writes its row before adding to the
// total and after taking from it, so a kill between the two leaves the total one too low, never
// one too high (a server can never stay "busy" for nobody; at worst max_conns admits one more);
// a total seen below zero is raised back to zero, which moves such a drift back towards zero
// without ever over-counting.
//
// Passive health: one word per slot packs the failure window's start (ms) and its failure
// count, changed by CAS, so the failures of every worker count together: the max_fails-th in
// the window sets down_until for everyone. A server back from being down is on probation: its
// window starts when it comes back with max_fails - 1 failures already counted, so one failure
// takes it out again (nginx behaves so too); one success clears the count.
//
// Times are CLOCK_MONOTONIC milliseconds (monotonic_us() / 1000): the same clock in every
// process, zhttpstat included. No locks anywhere: a killed process holds nothing.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "shm/stats.hpp"

namespace zhttp::shm {

inline constexpr uint64_t kUpstreamTableMagic = 0x5a48'5454'5055'5053;  // "ZHTTPUPS"
inline constexpr uint32_t kUpstreamTableVersion = 1;
inline constexpr size_t kUpstreamGroupBytes = 64;     // a group's name, NUL-terminated
inline constexpr size_t kUpstreamAddressBytes = 128;  // an address as written, NUL-terminated
inline constexpr uint32_t kUpstreamMinCapacity = 64;

enum class SlotUse : uint32_t { kFree = 0, kLive = 1, kRetired = 2 };
// Active health as checks see it. kNone: the group has no check=.
enum class CheckState : uint32_t { kNone = 0, kChecking = 1, kUp = 2, kDown = 3 };
// What zhttpstat and /metrics show.
enum class UpstreamState : uint8_t { kUp, kDown, kChecking };

std::string_view state_name(UpstreamState state);  // "up", "down", "checking"

struct alignas(64) UpstreamIdentity {
  std::atomic<uint32_t> sequence;  // odd while the master rewrites this slot (readers retry)
  std::atomic<uint32_t> use;       // SlotUse
  std::atomic<uint64_t> key;       // hash of group, address and ordinal
  std::atomic<uint32_t> ordinal;   // of this group+address pair in its group (0 but for twins)
  std::atomic<uint32_t> weight;
  std::atomic<uint32_t> max_conns;
  std::atomic<uint32_t> backup;
  char group[kUpstreamGroupBytes];  // truncated when longer: the key tells twins apart
  char address[kUpstreamAddressBytes];
};

struct alignas(64) UpstreamHealth {
  std::atomic<uint64_t> down_until_ms;  // passive: out until then, for every worker
  std::atomic<uint64_t> fail_word;      // window start ms << 16 | failures in it
  std::atomic<uint32_t> check_state;    // CheckState
  std::atomic<uint32_t> check_passes;   // in a row
  std::atomic<uint32_t> check_fails;    // in a row
  std::atomic<uint32_t> last_check_ok;  // 1 passed, 0 failed (or none yet)
  std::atomic<uint64_t> last_check_ms;  // 0: none yet
  std::atomic<uint64_t> checks_passed;  // totals
  std::atomic<uint64_t> checks_failed;
};

struct alignas(64) UpstreamTraffic {  // every attempt
  std::atomic<int64_t> in_flight;
  std::atomic<uint64_t> requests;      // attempts picked
  std::atomic<uint64_t> responses[5];  // 1xx .. 5xx
  std::atomic<uint64_t> reused_connections;
};

struct alignas(64) UpstreamEvents {  // the rarer ones
  std::atomic<uint64_t> new_connections;
  std::atomic<uint64_t> connect_errors;
  std::atomic<uint64_t> errors;  // after connecting: reset, premature close, bad head
  std::atomic<uint64_t> timeouts;
  std::atomic<uint64_t> retries;    // attempts that were retried on another server
  std::atomic<uint64_t> abandoned;  // the client went away or the worker stopped
  std::atomic<uint64_t> fails;      // failures that count for passive health (the three above)
  std::atomic<uint64_t> downs;      // times taken out by failures
};

struct UpstreamSlot {
  UpstreamIdentity id;
  UpstreamHealth health;
  UpstreamTraffic traffic;
  UpstreamEvents events;
};
static_assert(sizeof(UpstreamSlot) == 7 * 64);

struct UpstreamTableHeader {
  uint64_t magic;
  uint32_t version;
  uint32_t capacity;   // slots
  uint32_t row_words;  // in-flight words per worker row (capacity rounded up to 16)
  uint32_t reserved0;
  uint64_t bytes;
  std::atomic<uint32_t> map_generation;  // maps so far (one at start, one per reload)
  uint32_t reserved1;
  std::atomic<uint64_t> checker;  // who runs the checks: generation << 32 | stats slot + 1
  uint64_t reserved2[2];
};
static_assert(sizeof(UpstreamTableHeader) == 64);

// One server of the configuration, for map().
struct UpstreamSpec {
  std::string_view group;
  std::string_view address;
  uint32_t weight = 1;
  uint32_t max_conns = 0;
  bool backup = false;
  bool checked = false;  // its group has check=: it starts as kChecking
};

// Relaxed counter add (see the header comment for why not per-worker rows).
inline void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
  c.fetch_add(n, std::memory_order_relaxed);
}

// The in-flight count, on a slot of the table or of a process-local array (a balancer without
// a segment): `row` is the worker's own word for the slot, or null.
// One more attempt unless `max_conns` (0: none) are in flight already; false: none was added.
bool acquire(UpstreamSlot& slot, std::atomic<uint32_t>* row, uint32_t max_conns);
void release(UpstreamSlot& slot, std::atomic<uint32_t>* row);
int64_t in_flight(const UpstreamSlot& slot);  // never below 0

// Passive health. A failure at `now_ms`: true when it took the server out (the max_fails-th
// within fail_timeout_ms); downs counted. max_fails or fail_timeout_ms 0: never out.
bool record_failure(UpstreamSlot& slot, uint64_t now_ms, uint32_t max_fails,
                    uint64_t fail_timeout_ms);
void record_success(UpstreamSlot& slot);  // the failure count back to 0 (writes only if needed)
// Out by failures or by checks.
bool is_down(const UpstreamSlot& slot, uint64_t now_ms);
UpstreamState state_of(const UpstreamSlot& slot, uint64_t now_ms);

// Active health: a probe's result. `rise` passes in a row make it up, `fall` failures in a row
// down; coming up also forgets its passive failures (the check says it works).
void record_check(UpstreamSlot& slot, bool passed, uint64_t now_ms, uint32_t rise, uint32_t fall);

// A view of a table in a region: copyable, two pointers.
class UpstreamTable {
 public:
  // max(kUpstreamMinCapacity, 2 x servers): room for a reload to add as many as there are.
  static uint32_t capacity_for(size_t servers);
  static size_t bytes_for(uint32_t capacity);
  // The master: lays out an empty table (`region` 64-byte aligned, already zero when
  // `region_is_zero`: the rows are then not written).
  static std::optional<UpstreamTable> create(void* region, size_t bytes, uint32_t capacity,
                                             bool region_is_zero = false);
  static std::optional<UpstreamTable> attach(void* region, size_t bytes);
  static std::optional<const UpstreamTable> attach_read_only(const void* region, size_t bytes) {
    return attach(const_cast<void*>(region), bytes);
  }

  // The master: exactly `servers` become live (see the header comment); the others retired.
  // False with a one-line reason when they do not fit, and then nothing changed.
  bool map(std::span<const UpstreamSpec> servers, std::string* error);
  // Whether map() would succeed, for a reload's check. Changes nothing.
  bool fits(std::span<const UpstreamSpec> servers, std::string* error) const;

  // The live slot of this server, or -1.
  int32_t find(std::string_view group, std::string_view address, uint32_t ordinal) const;
  UpstreamSlot& slot(uint32_t i) const { return slots_[i]; }
  // The in-flight word of worker `stats_slot` for slot `i`; null without a row (stats_slot
  // outside 0 .. kStatsSlots - 1).
  std::atomic<uint32_t>* row(int stats_slot, uint32_t i) const;
  // The master, for a worker that died: its in-flight counts are taken from the totals and its
  // row zeroed; its checker lease is dropped. Returns the in-flight attempts it left.
  uint64_t clear_owner(uint32_t stats_slot);

  // The checker lease: one process runs the active checks. A worker takes it when nobody holds
  // it or an older generation does (a reload hands it over); holders ask again before each
  // round and stop when they lost it.
  bool claim_checker(uint32_t stats_slot, uint32_t generation);

  uint32_t capacity() const { return header_->capacity; }
  uint32_t map_generation() const {
    return header_->map_generation.load(std::memory_order_acquire);
  }

 private:
  UpstreamTable(UpstreamTableHeader* h, UpstreamSlot* s, std::atomic<uint32_t>* r)
      : header_(h), slots_(s), rows_(r) {}
  // Slots the specs match (by key) in out[i] (-1: none), and how many need a new one.
  size_t match(std::span<const UpstreamSpec> servers, int32_t* out) const;

  UpstreamTableHeader* header_;
  UpstreamSlot* slots_;
  std::atomic<uint32_t>* rows_;
};

// The key of a server: a 64-bit hash of group, address and ordinal (never 0).
uint64_t upstream_key(std::string_view group, std::string_view address, uint32_t ordinal);

// One server as zhttpstat and /metrics show it.
struct UpstreamRow {
  char group[kUpstreamGroupBytes] = {};
  char server[kUpstreamAddressBytes] = {};
  UpstreamState state = UpstreamState::kUp;
  bool backup = false;
  uint32_t weight = 0;
  uint32_t max_conns = 0;
  int64_t in_flight = 0;
  uint64_t requests = 0;
  uint64_t responses[5] = {};
  uint64_t reused_connections = 0;
  uint64_t new_connections = 0;
  uint64_t connect_errors = 0;
  uint64_t errors = 0;
  uint64_t timeouts = 0;
  uint64_t retries = 0;
  uint64_t abandoned = 0;
  uint64_t fails = 0;
  uint64_t downs = 0;
  uint64_t checks_passed = 0;
  uint64_t checks_failed = 0;
  bool last_check_ok = false;
  uint64_t last_check_ms = 0;
};

// The live servers of `table` into rows[0, max), in slot order; returns how many. Allocates
// nothing. A slot the master rewrites meanwhile is read again (and skipped after many tries).
size_t read_upstreams(const UpstreamTable& table, uint64_t now_ms, UpstreamRow* rows, size_t max);

}  // namespace zhttp::shm
