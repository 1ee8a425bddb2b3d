#include "shm/rate_table.hpp"

#include <time.h>

#include <new>

namespace zhttp::shm {
namespace {

constexpr uint64_t kUsPerSecond = 1'000'000;

// How far ahead of `now44` (both modulo 2^44) a stored TAT is; 0 when expired or free.
constexpr uint64_t ahead_of(uint64_t word, uint64_t now) {
  uint64_t d = ((word & kRateTatMask) - (now & kRateTatMask)) & kRateTatMask;
  return d < kRateMaxAhead ? d : 0;
}

constexpr uint64_t make_word(uint32_t tag, uint64_t tat) {
  return (static_cast<uint64_t>(tag) << kRateTatBits) | (tat & kRateTatMask);
}

constexpr uint32_t word_tag(uint64_t word) {
  return static_cast<uint32_t>(word >> kRateTatBits);
}

void count_decision(const RateDecision& d, RateStats* stats) {
  switch (d.outcome) {
    case RateDecision::kPass:
      ++stats->passed;
      break;
    case RateDecision::kDelay:
      ++stats->delayed;
      break;
    case RateDecision::kRefuse:
      ++stats->refused;
      break;
  }
}

}  // namespace

uint64_t monotonic_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * kUsPerSecond + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

size_t RateTable::bytes_for(uint32_t slots) {
  uint64_t words =
      (static_cast<uint64_t>(slots) + kRateBucketWords - 1) / kRateBucketWords * kRateBucketWords;
  return sizeof(RateTableHeader) + words * sizeof(uint64_t);
}

std::optional<RateTable> RateTable::create(void* region, size_t bytes, uint32_t slots,
                                           SipKey secret, uint64_t epoch_us) {
  if (region == nullptr || reinterpret_cast<uintptr_t>(region) % alignof(RateBucket) != 0) {
    return std::nullopt;
  }
  if (slots == 0 || slots > UINT32_MAX - kRateBucketWords || bytes < bytes_for(slots)) {
    return std::nullopt;
  }
  const uint32_t rounded = (slots + kRateBucketWords - 1) / kRateBucketWords * kRateBucketWords;
  auto* header = new (region) RateTableHeader{};
  header->magic = kRateTableMagic;
  header->version = kRateTableVersion;
  header->slots = rounded;
  header->bytes = bytes_for(rounded);
  header->epoch_us = epoch_us;
  header->secret = secret;
  auto* buckets = reinterpret_cast<RateBucket*>(static_cast<char*>(region) + sizeof(*header));
  for (uint32_t i = 0; i < rounded / kRateBucketWords; ++i) {
    new (buckets + i) RateBucket();  // placement: every word 0 (empty)
  }
  std::atomic_thread_fence(std::memory_order_release);
  return RateTable(header, buckets);
}

std::optional<RateTable> RateTable::attach(void* region, size_t bytes) {
  if (region == nullptr || reinterpret_cast<uintptr_t>(region) % alignof(RateBucket) != 0 ||
      bytes < sizeof(RateTableHeader)) {
    return std::nullopt;
  }
  auto* header = static_cast<RateTableHeader*>(region);
  if (header->magic != kRateTableMagic || header->version != kRateTableVersion ||
      header->slots == 0 || header->slots % kRateBucketWords != 0 ||
      header->bytes != bytes_for(header->slots) || header->bytes > bytes) {
    return std::nullopt;
  }
  std::atomic_thread_fence(std::memory_order_acquire);
  return RateTable(header,
                   reinterpret_cast<RateBucket*>(static_cast<char*>(region) + sizeof(*header)));
}

uint32_t RateTable::bucket_of(uint64_t key_hash) const {
  const uint64_t buckets = header_->slots / kRateBucketWords;
  return static_cast<uint32_t>(((key_hash >> 32) * buckets) >> 32);  // high bits, no division
}

uint32_t RateTable::tag_of(uint64_t key_hash) {
  const uint32_t tag = static_cast<uint32_t>(key_hash & kRateTagMask);
  return tag == 0 ? 1 : tag;
}

RateWordState RateTable::decode(uint64_t word, uint64_t now_us) const {
  RateWordState s;
  s.tag = word_tag(word);
  if (s.tag == 0) {
    s.well_formed = word == 0;
    return s;
  }
  const uint64_t now = now_us > header_->epoch_us ? now_us - header_->epoch_us : 0;
  s.ahead_us = ahead_of(word, now);
  s.live = s.ahead_us != 0;
  return s;
}

RateDecision RateTable::evaluate(uint64_t key_hash, const RateRule& rule, uint64_t now_us,
                                 bool write, RateStats* stats, RateCharge* out) const {
  RateDecision decision;
  if (!rule.valid()) return decision;  // the configuration rejects these; never corrupt a word
  const uint64_t now = now_us > header_->epoch_us ? now_us - header_->epoch_us : 0;
  const uint32_t b = bucket_of(key_hash);
  const uint32_t tag = tag_of(key_hash);
  RateBucket& bucket = buckets_[b];
  const uint64_t interval = rule.interval_us;
  const uint64_t tau = rule.tau();
  const uint64_t drained =  // excess served without delay
      (rule.delay < rule.burst ? rule.delay : rule.burst) * interval;
  for (;;) {
    uint64_t words[kRateBucketWords];
    int best = -1, dup = -1, free_word = -1, victim = -1;
    uint64_t best_ahead = 0, victim_ahead = UINT64_MAX;
    for (uint32_t i = 0; i < kRateBucketWords; ++i) {
      const uint64_t w = bucket.words[i].load(std::memory_order_relaxed);
      words[i] = w;
      const uint64_t ahead = word_tag(w) == 0 ? 0 : ahead_of(w, now);
      if (ahead == 0) {  // empty or expired: free (this key's own expired word first)
        if (free_word < 0 || (word_tag(w) == tag && word_tag(words[free_word]) != tag)) {
          free_word = static_cast<int>(i);
        }
      } else if (word_tag(w) == tag) {
        if (best < 0 || ahead > best_ahead) {
          dup = best;
          best = static_cast<int>(i);
          best_ahead = ahead;
        } else {
          dup = static_cast<int>(i);
        }
      } else if (ahead < victim_ahead) {
        victim = static_cast<int>(i);
        victim_ahead = ahead;
      }
    }
    const uint64_t excess = best >= 0 ? best_ahead : 0;  // max(TAT, now) - now
    if (excess > tau) {
      const uint64_t wait = excess - tau;
      const uint64_t secs = (wait + kUsPerSecond - 1) / kUsPerSecond;
      decision.outcome = RateDecision::kRefuse;
      decision.retry_after_s = secs < 1 ? 1 : secs > UINT32_MAX ? UINT32_MAX : uint32_t(secs);
      return decision;
    }
    if (excess > drained) {
      decision.outcome = RateDecision::kDelay;
      decision.delay_us = excess - drained;
    } else {
      decision.outcome = RateDecision::kPass;
      decision.delay_us = 0;
    }
    if (!write) return decision;
    const int slot = best >= 0 ? best : free_word >= 0 ? free_word : victim;
    uint64_t expected = words[slot];
    const uint64_t desired = make_word(tag, now + excess + interval);
    if (bucket.words[slot].compare_exchange_strong(expected, desired, std::memory_order_relaxed)) {
      if (best < 0 && word_tag(expected) != tag) {
        if (free_word >= 0) {
          ++stats->inserts;
        } else {
          ++stats->evictions;
        }
      }
      if (dup >= 0) {  // a duplicate of this key with less information: drop it (once)
        uint64_t d = words[dup];
        bucket.words[dup].compare_exchange_strong(d, 0, std::memory_order_relaxed);
      }
      if (out != nullptr) {
        out->slot = b * kRateBucketWords + static_cast<uint32_t>(slot);
        out->previous = words[slot];
        out->written = desired;
        out->interval_us = interval;
      }
      return decision;
    }
    ++stats->cas_retries;
  }
}

RateDecision RateTable::check(uint64_t key_hash, const RateRule& rule, uint64_t now_us,
                              RateStats* stats) {
  RateDecision d = evaluate(key_hash, rule, now_us, true, stats, nullptr);
  count_decision(d, stats);
  return d;
}

RateDecision RateTable::peek(uint64_t key_hash, const RateRule& rule, uint64_t now_us) const {
  RateStats unused;
  return evaluate(key_hash, rule, now_us, false, &unused, nullptr);
}

RateDecision RateTable::charge(uint64_t key_hash, const RateRule& rule, uint64_t now_us,
                               RateStats* stats, RateCharge* out) {
  *out = RateCharge{};
  return evaluate(key_hash, rule, now_us, true, stats, out);
}

void RateTable::refund(const RateCharge& charge, uint64_t now_us, RateStats* stats) {
  if (charge.written == 0 || charge.slot >= header_->slots) return;
  const uint32_t tag = word_tag(charge.written);
  const uint64_t now = now_us > header_->epoch_us ? now_us - header_->epoch_us : 0;
  std::atomic<uint64_t>& word =
      buckets_[charge.slot / kRateBucketWords].words[charge.slot % kRateBucketWords];
  uint64_t w = word.load(std::memory_order_relaxed);
  for (;;) {
    uint64_t desired;
    if (w == charge.written) {
      desired = charge.previous;  // untouched since: restore exactly
    } else {
      const uint64_t ahead = ahead_of(w, now);
      if (word_tag(w) != tag || ahead == 0) return;  // evicted or expired: nothing to give back
      desired = ahead > charge.interval_us ? make_word(tag, now + ahead - charge.interval_us) : 0;
    }
    if (word.compare_exchange_weak(w, desired, std::memory_order_relaxed)) {
      ++stats->refunds;
      return;
    }
    ++stats->cas_retries;  // w reloaded by the failed CAS
  }
}

size_t RateTable::sweep(uint64_t now_us) {
  size_t cleared = 0;
  for (uint32_t s = 0; s < header_->slots; ++s) {
    std::atomic<uint64_t>& word = buckets_[s / kRateBucketWords].words[s % kRateBucketWords];
    uint64_t w = word.load(std::memory_order_relaxed);
    if (w != 0 && !decode(w, now_us).live &&
        word.compare_exchange_strong(w, 0, std::memory_order_relaxed)) {
      ++cleared;
    }
  }
  return cleared;
}

size_t RateTable::live_entries(uint64_t now_us) const {
  size_t n = 0;
  for (uint32_t s = 0; s < header_->slots; ++s) n += decode(load_word(s), now_us).live ? 1 : 0;
  return n;
}

RateDecision charge_all(std::span<RateLimitRef> limits, uint64_t now_us, RateStats* stats) {
  auto own = [stats](const RateLimitRef& l) { return l.stats != nullptr ? l.stats : stats; };
  auto decide = [](RateLimitRef& l, const RateDecision& d) {
    l.decision = d;
    l.decided = true;
  };
  for (RateLimitRef& l : limits) l.decided = false;
  RateDecision result;
  if (limits.size() == 1) {  // one rule: a refusal writes nothing anyway, no need to peek
    RateLimitRef& l = limits[0];
    result = l.table->charge(l.key_hash, *l.rule, now_us, own(l), &l.charge);
    decide(l, result);
  } else {
    bool refused = false;
    for (RateLimitRef& l : limits) {
      RateDecision d = l.table->peek(l.key_hash, *l.rule, now_us);
      if (d.outcome != RateDecision::kRefuse) continue;
      if (!refused || d.retry_after_s > result.retry_after_s) result = d;
      refused = true;
      decide(l, d);
    }
    for (size_t i = 0; !refused && i < limits.size(); ++i) {
      RateLimitRef& l = limits[i];
      RateDecision d = l.table->charge(l.key_hash, *l.rule, now_us, own(l), &l.charge);
      if (d.outcome == RateDecision::kRefuse) {  // lost a race since the peek: undo the others
        for (size_t j = i; j-- > 0;) {
          limits[j].table->refund(limits[j].charge, now_us, own(limits[j]));
          limits[j].decided = false;
        }
        decide(l, d);
        result = d;
        refused = true;
        break;
      }
      l.decision = d;
      if (d.outcome == RateDecision::kDelay && d.delay_us > result.delay_us) result = d;
    }
    if (!refused) {
      for (RateLimitRef& l : limits) decide(l, l.decision);
    }
  }
  if (stats != nullptr) count_decision(result, stats);
  return result;
}

}  // namespace zhttp::shm
