#pragma once
// Concurrent connections per key (--limit-conn), exact across workers and safe when a worker is
// killed: a table of 64-bit words over a caller-provided region (the master places it in the
// shared segment). Each word is one worker's count for one key:
//   bits 63..28  tag: 36 bits of the key's hash, never 0 together with the owner
//   bits 27..16  owner: the worker's stats slot + 1 (1..4095; 0 = an empty word)
//   bits 15..0   count of that worker's open connections of that key
// A key's words all live in the bucket (8 words, one cache line) its hash picks, so the key's
// total is the sum over one cache line. Only the owner changes a word it holds (fetch_add,
// fetch_sub, and a store of 0 when its count drops to 0); others only claim empty words by CAS.
// When a worker dies its words are left with its counts: the master zeroes every word of that
// owner (clear_owner) before the slot is given to another worker.
//
// acquire() adds first and then sums, undoing when the sum is above the maximum: two workers
// racing for the last place may both be refused, never both admitted. A tag collision (36 bits
// within one bucket) makes two keys share a count: it can only refuse, never admit too many.
// Nothing here allocates, locks or throws.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "shm/siphash.hpp"

namespace zhttp::shm {

inline constexpr uint64_t kConnTableMagic = 0x5a48'5454'5043'4e54;  // "ZHTTPCNT"
inline constexpr uint32_t kConnTableVersion = 1;
inline constexpr uint32_t kConnBucketWords = 8;
inline constexpr uint32_t kConnMaxOwner = 4094;       // stats slots 0..4094
inline constexpr uint32_t kConnMaxPerWorker = 65535;  // per key

struct ConnTableHeader {
  uint64_t magic;
  uint32_t version;
  uint32_t slots;  // words, a multiple of 8
  uint64_t bytes;
  SipKey secret;
  uint64_t reserved[3];
};
static_assert(sizeof(ConnTableHeader) == 64);

struct alignas(64) ConnBucket {
  std::atomic<uint64_t> words[kConnBucketWords];
};

// Where a worker's count of one key lives, for release(); word 0 is never handed out (slot 0 of
// the table is valid, so the handle is the word index + 1).
using ConnHandle = uint32_t;

class ConnTable {
 public:
  enum class Outcome : uint8_t { kAdmitted, kOverLimit, kFull };

  static size_t bytes_for(uint32_t slots);
  static std::optional<ConnTable> create(void* region, size_t bytes, uint32_t slots, SipKey secret);
  static std::optional<ConnTable> attach(void* region, size_t bytes);
  static std::optional<const ConnTable> attach_read_only(const void* region, size_t bytes) {
    return attach(const_cast<void*>(region), bytes);
  }

  uint64_t hash(std::string_view key) const { return siphash13(header_->secret, key); }

  // One more connection of the key for worker `owner` (its stats slot), if the key's total
  // stays at most `max`. kAdmitted sets *handle; kFull: the bucket has no word for this worker.
  Outcome acquire(uint64_t key_hash, uint32_t owner, uint32_t max, ConnHandle* handle);
  // One connection fewer (the owner only).
  void release(ConnHandle handle);
  // The master, for a worker that died: its words are emptied. Returns how many.
  size_t clear_owner(uint32_t owner);

  uint64_t count(uint64_t key_hash) const;  // the key's total now
  size_t words_in_use() const;              // (worker, key) pairs with connections
  uint32_t slots() const { return header_->slots; }
  static constexpr uint64_t kMaxHandle = (uint64_t{1} << 24) + 1;  // tables of up to 2^24 words

 private:
  ConnTable(ConnTableHeader* h, ConnBucket* b) : header_(h), buckets_(b) {}
  std::atomic<uint64_t>& word(uint32_t index) const {
    return buckets_[index / kConnBucketWords].words[index % kConnBucketWords];
  }

  ConnTableHeader* header_;
  ConnBucket* buckets_;
};

}  // namespace zhttp::shm
