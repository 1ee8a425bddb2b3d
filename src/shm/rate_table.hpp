#pragma once
// A lock-free GCRA rate-limit table over a caller-provided memory region (the master places it
// in the shared segment; every worker updates it with compare-and-swap only).
//
// GCRA: each key has a theoretical arrival time (TAT). A request at `now` with interval T and
// burst B (tau = B*T) is refused when max(TAT, now) - now > tau; otherwise TAT becomes
// max(TAT, now) + T. From idle B+1 requests pass at once, then one per T: nginx's `burst=B`.
// Without `nodelay` (delay D < B) a passing request is delayed by max(0, excess - D*T), where
// excess = max(TAT, now) - now: the time the bucket takes to drain to D requests (nginx's
// `delay=D`; plain `burst=B` is D = 0; `nodelay` is D = B). A refused request writes nothing.
//
// Layout: a 64-byte header, then buckets of 8 atomic 64-bit words (one cache line). A word is
//   bits 63..44  tag: 20 bits of the key's hash, never 0 (0 = an empty word)
//   bits 43..0   TAT in microseconds since the table's epoch, modulo 2^44 (203 days)
// Every value a word can hold is a valid final state, and every update is one CAS from one such
// state to another: a process killed at any instant loses at most its own update, and nothing
// can wedge. The hash (SipHash-1-3 keyed with the header's secret) picks the bucket with its high
// 32 bits and the tag with its low 20.
//
// Time base and wrap-around: the 44 stored bits are read relative to now. d = (stored - now) mod
// 2^44; 0 < d < kMaxAhead means the TAT is d in the future; anything else (d == 0, or d in the
// "past" half, or beyond kMaxAhead) is an expired word: free. No passing rule can put a TAT more
// than (B+1)*T ahead, and RateRule::valid() keeps that below kMaxAhead (2^42 us, 50 days), so a
// word written at any time decodes correctly for 150 days after its TAT. A word left untouched
// for 150 to 203 days may decode as "ahead" again; it can then only over-limit that key (never
// let anyone through), and sweep() (to be run by the master, say, daily) clears expired words so
// that this never happens.
//
// Lookup: the live word with the key's tag and the largest TAT (two first requests of a new key
// racing may each claim a word; the smaller duplicate is then cleared by CAS). A new key takes
// the first empty or expired word; when the bucket has none, the live word with the smallest TAT
// (most credit left, least information lost) is evicted and counted. A tag collision (two keys,
// same bucket and tag: about 1 in 2^20 per pair in a bucket) makes them share one budget.
//
// Counters are per caller (RateStats, a plain struct the caller owns: later a per-worker slot),
// never a shared contended word. No function here allocates, locks or throws.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "shm/siphash.hpp"
#include "shm/tally.hpp"

namespace zhttp::shm {

inline constexpr uint64_t kRateTableMagic = 0x5a48'5454'5052'4154;  // "ZHTTPRAT"
inline constexpr uint32_t kRateTableVersion = 1;
inline constexpr uint32_t kRateBucketWords = 8;
inline constexpr int kRateTatBits = 44;
inline constexpr int kRateTagBits = 20;
inline constexpr uint64_t kRateTatMask = (uint64_t{1} << kRateTatBits) - 1;
inline constexpr uint64_t kRateTagMask = (uint64_t{1} << kRateTagBits) - 1;
inline constexpr uint64_t kRateMaxAhead = uint64_t{1} << 42;  // us; (B+1)*T must stay below

static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(kRateTatBits + kRateTagBits == 64);

struct RateRule {
  uint64_t interval_us = 0;  // T = 1 / rate
  uint64_t burst = 0;        // B: requests beyond the steady rate accepted from idle
  uint64_t delay = 0;        // D: of the burst, served at once (nodelay: D == B)

  // `count` requests per `period_us` (50 r/s: per(50, 1'000'000) -> T = 20000 us). T is rounded
  // up, so the limit is never exceeded (3 r/s: T = 333334 us). delay > burst counts as burst.
  static constexpr RateRule per(uint64_t count, uint64_t period_us, uint64_t burst,
                                uint64_t delay) {
    RateRule r;
    r.interval_us = count == 0 ? 0 : (period_us + count - 1) / count;
    r.burst = burst;
    r.delay = delay < burst ? delay : burst;
    return r;
  }
  static constexpr RateRule nodelay(uint64_t count, uint64_t period_us, uint64_t burst) {
    return per(count, period_us, burst, burst);
  }
  // T >= 1 and (B+1)*T < kRateMaxAhead.
  constexpr bool valid() const {
    return interval_us >= 1 && burst < kRateMaxAhead && interval_us < kRateMaxAhead / (burst + 1);
  }
  constexpr uint64_t tau() const { return burst * interval_us; }
};

struct RateDecision {
  enum Outcome : uint8_t { kPass, kDelay, kRefuse };
  Outcome outcome = kPass;
  uint64_t delay_us = 0;       // kDelay: serve after this long
  uint32_t retry_after_s = 0;  // kRefuse: ceil((TAT - tau - now) / 1 s), at least 1
};

// One caller's counters: the caller is their only writer (a worker's own slot in the shared
// segment, readable by zhttpstat meanwhile).
struct RateStats {
  Tally passed;
  Tally delayed;
  Tally refused;
  Tally inserts;      // a key without a live word took an empty or another's expired one
  Tally evictions;    // a live key's word taken because its bucket was full
  Tally cas_retries;  // CAS lost to another process: the bucket was read again
  Tally refunds;
};

// What charge() wrote, for refund().
struct RateCharge {
  uint32_t slot = 0;      // word index in the table
  uint64_t previous = 0;  // the word before
  uint64_t written = 0;   // the word after (0: nothing written)
  uint64_t interval_us = 0;
};

// A word decoded for inspection (tests, sweep, zhttpstat later).
struct RateWordState {
  bool live = false;        // tag != 0 and TAT ahead of now
  bool well_formed = true;  // false only for tag 0 with nonzero bits (never written)
  uint32_t tag = 0;
  uint64_t ahead_us = 0;  // TAT - now, for a live word
};

struct RateTableHeader {
  uint64_t magic;
  uint32_t version;
  uint32_t slots;     // words, a multiple of 8
  uint64_t bytes;     // bytes_for(slots)
  uint64_t epoch_us;  // the caller's clock (CLOCK_MONOTONIC us) that TATs count from
  SipKey secret;
  uint64_t reserved[2];
};
static_assert(sizeof(RateTableHeader) == 64);

struct alignas(64) RateBucket {
  std::atomic<uint64_t> words[kRateBucketWords];
};
static_assert(sizeof(RateBucket) == 64);

// CLOCK_MONOTONIC in microseconds (the same clock in every process of the machine).
uint64_t monotonic_us();

// A view of a table in a region: copyable, holds no state of its own beyond two pointers.
class RateTable {
 public:
  // Bytes a table of `slots` words needs (slots rounded up to a multiple of 8).
  static size_t bytes_for(uint32_t slots);
  // The master: lays out a table in `region` (64-byte aligned, `bytes` >= bytes_for(slots)),
  // all words empty. nullopt when the arguments do not fit.
  static std::optional<RateTable> create(void* region, size_t bytes, uint32_t slots, SipKey secret,
                                         uint64_t epoch_us);
  // A table create() laid out: magic, version and sizes checked against `bytes`.
  static std::optional<RateTable> attach(void* region, size_t bytes);
  // The same over a read-only mapping (zhttpstat): only the const members may be used then.
  static std::optional<const RateTable> attach_read_only(const void* region, size_t bytes) {
    return attach(const_cast<void*>(region), bytes);
  }

  uint64_t hash(std::string_view key) const { return siphash13(header_->secret, key); }

  // One rule: decides, and on pass/delay charges the key by one CAS (retried when lost). An
  // invalid rule (RateRule::valid() false: the configuration rejects those) passes, writing
  // nothing. `now_us` is the caller's CLOCK_MONOTONIC (monotonic_us()), or a test's clock.
  RateDecision check(uint64_t key_hash, const RateRule& rule, uint64_t now_us, RateStats* stats);
  // The decision check() would take, writing nothing (and counting nothing).
  RateDecision peek(uint64_t key_hash, const RateRule& rule, uint64_t now_us) const;
  // check() without counting the decision (retries, inserts and evictions are counted), and
  // telling what it wrote so that refund() can take it back.
  RateDecision charge(uint64_t key_hash, const RateRule& rule, uint64_t now_us, RateStats* stats,
                      RateCharge* out);
  // Takes back one charge by CAS: exact (the word restored, an evicted key included) when
  // nobody wrote the word since; otherwise the key's TAT goes back by T (exact unless the key's
  // TAT had fallen behind `now` between the charge and a later request: off by at most one
  // request then). Does nothing when the key's word has since been evicted or has expired.
  void refund(const RateCharge& charge, uint64_t now_us, RateStats* stats);

  // Clears expired words (CAS to 0). Returns how many. For the master, now and then.
  size_t sweep(uint64_t now_us);
  // Live words (a snapshot, for stats).
  size_t live_entries(uint64_t now_us) const;

  uint32_t slots() const { return header_->slots; }
  uint64_t epoch_us() const { return header_->epoch_us; }
  uint64_t load_word(uint32_t slot) const {
    return buckets_[slot / kRateBucketWords].words[slot % kRateBucketWords].load(
        std::memory_order_relaxed);
  }
  RateWordState decode(uint64_t word, uint64_t now_us) const;
  // The bucket and tag a hash maps to (tests build collisions with these).
  uint32_t bucket_of(uint64_t key_hash) const;
  static uint32_t tag_of(uint64_t key_hash);

 private:
  RateTable(RateTableHeader* h, RateBucket* b) : header_(h), buckets_(b) {}
  RateDecision evaluate(uint64_t key_hash, const RateRule& rule, uint64_t now_us, bool write,
                        RateStats* stats, RateCharge* out) const;

  RateTableHeader* header_;
  RateBucket* buckets_;
};

// One rule of a request that several rules apply to.
struct RateLimitRef {
  RateLimitRef() = default;
  RateLimitRef(RateTable* t, uint64_t hash, const RateRule* r, RateStats* own = nullptr)
      : table(t), key_hash(hash), rule(r), stats(own) {}

  RateTable* table = nullptr;
  uint64_t key_hash = 0;
  const RateRule* rule = nullptr;
  RateCharge charge;           // filled by charge_all
  RateStats* stats = nullptr;  // this rule's table events (its zone's); null: charge_all's
  RateDecision decision;       // filled by charge_all: this rule's own, when it decided
  bool decided = false;        // false: not charged because another rule refused first
};

// Charges a request to every rule or to none. First every rule is peeked: if any refuses,
// nothing is written (the refusal with the largest Retry-After is returned). Then they are
// charged in order; if one refuses now (another process got there between the peek and the
// charge), the earlier charges are refunded (see refund() for how exact that is) and the request
// is refused. Otherwise the result is the largest delay. Counts the request's decision in
// `stats` (when not null), and each rule's table events (inserts, evictions, retries, refunds)
// in its own `stats` (or in the call's, which must then not be null). Each rule's own decision
// is left in it for the caller to count: `decided` for the rule(s) that refused, or for all of
// them when the request passes. One rule alone is simply charged (its refusal writes nothing). The
// peek/charge window is the only inexactness: a request refused in it may have evicted another key
// from a full bucket for nothing when its refund cannot restore the word exactly (see refund()).
RateDecision charge_all(std::span<RateLimitRef> limits, uint64_t now_us, RateStats* stats);

}  // namespace zhttp::shm
