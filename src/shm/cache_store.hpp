#pragma once
// The store of the shared response cache: fixed slots in a few size classes over a
// caller-provided region (the master places it in the shared segment; every worker reads and
// writes it without a lock). docs/design.md tells how it stays sound when a worker is killed.
//
// Layout (every offset a multiple of 64): a header (magic, version, geometry, SipKey secret, the
// purge epoch), the lease table (one 64-bit word per lease), the claim table (one 64-bit word per
// worker 0..kCacheMaxWorker, 32 KiB), then per size class an array of CLOCK hands (one 32-bit word
// per set) and the class's slots. A class of data size D has slots of 64 + D bytes, grouped in
// sets of `ways` consecutive slots. The standard geometry has classes of 1 KiB, 4 KiB and 16 KiB
// of entry data (key + stored head + body) sharing what is left after the header, the leases and
// the claims 25% / 25% / 50%; larger entries are refused (kTooBig). The SipHash-1-3 of the key
// (keyed with the secret) picks one set in each class with its high 32 bits.
//
// A slot is a 64-byte header of eight atomic 64-bit words, then the data as atomic 64-bit words:
//   [0] state: bits 63..16 a sequence (even = stable, odd = being written), bits 15..0 the
//       owner while odd (worker + 1, 0 when even). Claiming is one CAS even -> odd carrying the
//       owner, so a writer killed at any instant leaves a slot that names it.
//   [1] CLOCK reference bit (outside the sequence: readers set it, only if clear)
//   [2] key hash (0 with epoch 0: an empty slot)
//   [3] bits 31..0 purge epoch (0 = empty), bits 47..32 status
//   [4] expires (CLOCK_MONOTONIC us, shm::monotonic_us()): fresh while now < expires
//   [5] stale-until (same clock, >= expires): stale while expires <= now < stale-until
//   [6] stored time (same clock): the caller derives Age from it
//   [7] lengths: bits 15..0 key, 39..16 head, 63..40 body
// and the data: key bytes, head bytes, body bytes, packed.
//
// Writer (store): builds nothing in shared memory until it owns a slot. It picks a victim in the
// set (a slot of the same key hash, then empty or an older epoch, then expired, then CLOCK
// second chance from the set's hand), claims it by CAS, writes header and data with relaxed atomic
// stores, then release-stores the next even state. It never waits: a lost CAS tries another
// victim, a few times, then gives up (lost_claims). Same-hash slots of the other classes are
// emptied after the store (an entry that changed size).
// Reader (lookup): for each class, each way with the key's hash: acquire-load the state (odd:
// skip), copy the header and the data out with relaxed atomic loads into the caller's buffer,
// acquire fence, reload the state: a change is a torn read (counted, one retry, then a miss). The
// key is compared in full on the copy. Two concurrent stores of one key (which coalescing avoids)
// may leave two copies; a lookup returns either.
// Purge of one key: every slot of the key's hash in its sets is claimed and emptied. Purge all:
// the epoch goes up by one; an entry of another epoch is a miss and a free victim. A store
// racing a purge-all may keep the pre-purge epoch (then it is purged) or take the new one.
//
// Crash safety: nobody but the owner ever writes an odd slot, except the master, which calls
// reset_owner(worker) when it reaps that worker (before its stats slot is reused): the slot left
// odd by it is emptied and its leases are released. A slot is never read while odd. Every value a
// word can hold is a state readers handle (odd with owner 0 is never written).
// Claims: a worker holds at most one odd slot at a time (a worker is one thread). Before each
// claiming CAS (a store's, or an emptying's in purge and after a store) it writes the slot's
// class and index into its claim word: bits 34..32 class + 1 (0: no claim), 31..0 the index;
// it clears the word once the slot is even again or the claim was lost. So reset_owner looks at
// one slot, the one the word names, whatever the store's size: the slot is reset only if it is
// odd with the worker as owner (a writer killed before its CAS left a claim it never got).
//
// Leases (request coalescing): one word per lease, direct-mapped by the key hash (low 32 bits):
//   bits 63..48 tag (hash bits 15..0), 47..36 owner (worker + 1), 35..0 deadline in ms of
//   CLOCK_MONOTONIC modulo 2^36 (live while 0 < deadline - now < 2^35 modulo 2^36)
// try_lease CASes a free or expired word: kAcquired (you compute), kBusy (another request,
// of this worker or another, is computing this key: wait), kNoRoom (the word holds another key's
// live lease: compute without coalescing).
//
// Counters are per caller (CacheStats, the caller's own slot). Nothing here allocates, locks or
// throws, except create() and attach() which only check and lay out.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "shm/siphash.hpp"
#include "shm/tally.hpp"

namespace zhttp::shm {

inline constexpr uint64_t kCacheStoreMagic = 0x5a48'5454'5043'4143;  // "ZHTTPCAC"
inline constexpr uint32_t kCacheStoreVersion = 2;
inline constexpr uint32_t kCacheMaxClasses = 4;
inline constexpr uint32_t kCacheMaxWorker = 4094;  // owner = worker + 1 fits 12 bits
inline constexpr uint32_t kCacheSlotHeaderBytes = 64;
inline constexpr uint32_t kCacheMaxKey = 0xffff;

static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(std::atomic<uint32_t>::is_always_lock_free);

struct CacheGeometry {
  uint32_t ways = 8;       // slots per set, 1..64
  uint32_t leases = 1024;  // lease words
  // Entry data bytes per slot of each class, ascending, multiples of 64 (0: no such class), and
  // the percentage of the slot bytes each gets (the sum at most 100).
  uint32_t class_data[kCacheMaxClasses] = {1024, 4096, 16384, 0};
  uint32_t class_share[kCacheMaxClasses] = {25, 25, 50, 0};

  static constexpr CacheGeometry standard() { return CacheGeometry{}; }
  // The standard geometry cut at `max_entry` (rounded up to 64), the top class: the 1 KiB and
  // 4 KiB classes below it where smaller, shares 25/25/50 (three classes), 40/60 or 100.
  static CacheGeometry for_max_entry(uint32_t max_entry);
  uint32_t classes() const;
  uint32_t max_entry() const;  // the largest class's data size
};

struct CacheClassInfo {
  uint32_t data_bytes;  // entry bytes a slot holds
  uint32_t slot_bytes;  // 64 + data_bytes
  uint32_t sets;
  uint32_t slots;         // sets * ways
  uint64_t hands_offset;  // from the region's start
  uint64_t slots_offset;
};
static_assert(sizeof(CacheClassInfo) == 32);

struct CacheStoreHeader {
  uint64_t magic;
  uint32_t version;
  uint32_t classes;
  uint64_t bytes;  // the region size create() was given (the layout fits in it)
  SipKey secret;
  CacheGeometry geometry;
  uint64_t leases_offset;
  uint64_t claims_offset;       // kCacheMaxWorker + 1 words
  std::atomic<uint64_t> epoch;  // purge epoch, starts at 1, never 0 in its low 32 bits
  CacheClassInfo cls[kCacheMaxClasses];
};

// What the caller stores with an entry.
struct CacheMeta {
  uint16_t status = 200;
  uint64_t stored_us = 0;       // CLOCK_MONOTONIC us (monotonic_us())
  uint64_t expires_us = 0;      // fresh before this
  uint64_t stale_until_us = 0;  // stale before this (raised to expires_us when lower)
};

enum class CacheState : uint8_t { kMiss, kFresh, kStale };

// A hit, copied out: `head` and `body` point into the caller's buffer (valid until the caller
// reuses it; never into shared memory).
struct CacheHit {
  CacheState state = CacheState::kMiss;
  CacheMeta meta;
  std::string_view head;
  std::string_view body;
};

enum class CacheStoreResult : uint8_t { kStored, kTooBig, kBusy };
enum class LeaseResult : uint8_t { kAcquired, kBusy, kNoRoom };

// One caller's counters (single writer): the store's, then the cache stage's (which the store
// never touches). A row of the cache counters region is one of these.
struct alignas(64) CacheStats {
  Tally lookups;
  Tally hits;        // fresh
  Tally stale_hits;  // stale, returned as such
  Tally misses;
  Tally stores;
  Tally too_big;
  Tally evictions;     // a live entry of another key replaced
  Tally torn_reads;    // the state changed during a copy
  Tally lost_claims;   // a CAS lost to another writer (a store that then gave up: store_busy)
  Tally store_busy;    // a store given up
  Tally purges;        // slots emptied by purge(), and purge_all() calls
  Tally crash_resets;  // slots and leases reset by reset_owner()
  Tally lease_grants;
  Tally lease_waits;  // kBusy answers
  Tally lease_no_room;
  // The cache stage's.
  Tally bypasses;         // requests neither looked up nor stored (method, credentials, no-store)
  Tally uncacheable;      // answers to a lookup that could not be stored (policy, size, kind)
  Tally coalesced_waits;  // requests that waited for another one's fill
  Tally lock_timeouts;    // of which the fill did not come within --cache-lock-timeout
};
static_assert(sizeof(CacheStats) == 192);

// Where a slot's state stands (tests, zhttpstat).
struct CacheSlotState {
  uint64_t sequence = 0;
  uint32_t owner = 0;  // worker + 1 while odd
  bool writing = false;
  bool empty = true;
  uint64_t hash = 0;
};

class CacheStore {
 public:
  // Bytes needed for at least `sets` sets in every class (tests size small regions with this).
  static size_t bytes_for(const CacheGeometry& g, uint32_t sets);
  // The master: lays out the store in `region` (64-byte aligned), every slot empty, no lease.
  // nullopt when the geometry is invalid or the region too small for one set per class.
  // `region_is_zero`: the region is known to hold only zero bytes (a fresh segment), so only the
  // header is written: zeroing every slot word would touch every page of the region at start.
  static std::optional<CacheStore> create(void* region, size_t bytes, SipKey secret,
                                          const CacheGeometry& g = CacheGeometry::standard(),
                                          bool region_is_zero = false);
  // A store create() laid out: magic, version and the layout checked against `bytes`.
  static std::optional<CacheStore> attach(void* region, size_t bytes);
  static std::optional<const CacheStore> attach_read_only(const void* region, size_t bytes) {
    return attach(const_cast<void*>(region), bytes);
  }

  uint64_t hash(std::string_view key) const { return siphash13(header_->secret, key); }
  uint32_t max_entry() const { return header_->cls[header_->classes - 1].data_bytes; }

  // Copies the key's entry out into `buffer` (at least key + head + body bytes: max_entry()
  // always suffices). kMiss when absent, torn twice, expired beyond stale-until, or too big for
  // the buffer. Sets the slot's CLOCK bit.
  CacheHit lookup(uint64_t key_hash, std::string_view key, uint64_t now_us, std::span<char> buffer,
                  CacheStats* stats) const;
  // Stores an entry as `worker` (its stats slot, 0..kCacheMaxWorker).
  CacheStoreResult store(uint64_t key_hash, std::string_view key, const CacheMeta& meta,
                         std::string_view head, std::string_view body, uint32_t worker,
                         uint64_t now_us, CacheStats* stats);
  // Empties every slot of the key's hash (in each class). Returns how many.
  size_t purge(uint64_t key_hash, uint32_t worker, CacheStats* stats);
  // Every entry becomes a miss.
  void purge_all(CacheStats* stats);
  uint64_t epoch() const { return header_->epoch.load(std::memory_order_acquire); }

  LeaseResult try_lease(uint64_t key_hash, uint32_t worker, uint64_t now_us, uint64_t deadline_us,
                        CacheStats* stats);
  // Releases the lease if `worker` holds it for this key. True when it did.
  bool release_lease(uint64_t key_hash, uint32_t worker);
  // The worker holding the key's live lease, or -1.
  int lease_holder(uint64_t key_hash, uint64_t now_us) const;

  // The master, for a worker it reaped: the odd slot its claim word names emptied, its leases
  // released. Returns how many slots and leases it reset. Touches the header, the lease table,
  // one claim word and at most one slot: never the rest of the store's pages.
  size_t reset_owner(uint32_t worker, CacheStats* stats);

  // Inspection (tests, zhttpstat).
  uint32_t classes() const { return header_->classes; }
  const CacheClassInfo& class_info(uint32_t c) const { return header_->cls[c]; }
  uint32_t ways() const { return header_->geometry.ways; }
  uint64_t bytes() const { return header_->bytes; }  // of the region create() was given
  uint32_t set_of(uint32_t c, uint64_t key_hash) const;
  CacheSlotState slot_state(uint32_t c, uint32_t slot) const;
  size_t live_entries(uint64_t now_us) const;
  size_t writing_slots() const;  // odd slots now
  size_t live_leases(uint64_t now_us) const;

  // Test hook: what store() does up to the claim and `words` data words, then returns without
  // publishing (a writer killed mid-write: its claim word left set). The slot it claimed, or -1.
  int store_abandoned_for_test(uint64_t key_hash, std::string_view key, const CacheMeta& meta,
                               std::string_view head, std::string_view body, uint32_t worker,
                               uint64_t now_us, size_t words);

 private:
  CacheStore(CacheStoreHeader* h, char* base) : header_(h), base_(base) {}
  struct Slot;
  Slot* slot(uint32_t c, uint32_t index) const;
  std::atomic<uint32_t>* hand(uint32_t c, uint32_t set) const;
  std::atomic<uint64_t>* lease_word(uint64_t key_hash) const;
  std::atomic<uint64_t>* claim_word(uint32_t worker) const;
  int store_impl(uint64_t key_hash, std::string_view key, const CacheMeta& meta,
                 std::string_view head, std::string_view body, uint32_t worker, uint64_t now_us,
                 CacheStats* stats, size_t stop_after_words, CacheStoreResult* result);
  void empty_others(uint32_t keep_class, uint64_t key_hash, uint32_t worker);
  bool empty_slot(uint32_t c, uint32_t index, uint64_t expected_state, uint32_t worker);

  CacheStoreHeader* header_;
  char* base_;
};

}  // namespace zhttp::shm
