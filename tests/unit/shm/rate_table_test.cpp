// The GCRA rate table (shm/rate_table.hpp) with an injected clock: spacing of exactly T always
// passes, burst+1 from idle then a refusal, exact Retry-After, delay values for plain burst and
// delay=D, the 44-bit time base wrapping, free expired words, eviction of the smallest TAT,
// shared budgets on a tag collision, several rules charged all-or-none and refunds. Then real
// processes on a MAP_SHARED table with the real clock: 2 and 4 processes on one key stay within
// the exact GCRA bound, and processes SIGKILLed at random leave every word valid and nothing
// that blocks. SipHash against its published vectors.
#include "shm/rate_table.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <random>
#include <vector>

#include "shm/siphash.hpp"

#include "unit/support/shared_mapping.hpp"

namespace zhttp::shm {
namespace {

constexpr uint64_t kSecond = 1'000'000;

// An anonymous shared mapping: forked children share it with the parent.
using SharedMap = test::SharedMapping;

constexpr SipKey kSecret{0x0123456789abcdefULL, 0xfedcba9876543210ULL};

struct TableFixture {
  explicit TableFixture(uint32_t slots, uint64_t epoch = 0)
      : map(RateTable::bytes_for(slots)),
        table(*RateTable::create(map.get(), map.size(), slots, kSecret, epoch)) {}
  SharedMap map;
  RateTable table;
  RateStats stats;
};

// A key hash in bucket 0 with tag `tag` (the bucket comes from the high 32 bits).
constexpr uint64_t in_bucket0(uint32_t tag) {
  return tag;
}

TEST(RateTableSipHash, ReferenceVectors) {
  SipKey key{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
  unsigned char msg[64];
  for (int i = 0; i < 64; ++i) msg[i] = static_cast<unsigned char>(i);
  auto sip24 = [&](size_t len) { return siphash<2, 4>(key, msg, len); };
  auto sip13 = [&](size_t len) { return siphash<1, 3>(key, msg, len); };
  EXPECT_EQ(sip24(0), 0x726fdb47dd0e0e31ULL);
  EXPECT_EQ(sip24(1), 0x74f839c593dc67fdULL);
  EXPECT_EQ(sip24(15), 0xa129ca6149be45e5ULL);  // the paper's example
  // Different keys, lengths and variants give different values.
  EXPECT_NE(sip24(16), sip24(17));
  EXPECT_NE(sip13(16), sip24(16));
  EXPECT_NE(siphash24(kSecret, "10.0.0.1"), siphash24(key, "10.0.0.1"));
}

TEST(RateTableLayout, CreateAndAttach) {
  EXPECT_EQ(RateTable::bytes_for(8), 64u + 64u);
  EXPECT_EQ(RateTable::bytes_for(9), 64u + 128u);  // rounded up to whole buckets
  SharedMap map(RateTable::bytes_for(64));
  auto created = RateTable::create(map.get(), map.size(), 64, kSecret, 1234);
  ASSERT_TRUE(created.has_value());
  EXPECT_EQ(created->slots(), 64u);
  EXPECT_EQ(created->epoch_us(), 1234u);
  auto attached = RateTable::attach(map.get(), map.size());
  ASSERT_TRUE(attached.has_value());
  EXPECT_EQ(attached->slots(), 64u);
  EXPECT_EQ(attached->hash("1.2.3.4"), created->hash("1.2.3.4"));
  EXPECT_FALSE(RateTable::attach(map.get(), map.size() - 1).has_value());  // too small
  EXPECT_FALSE(RateTable::create(map.get(), map.size() - 1, 64, kSecret, 0).has_value());
  EXPECT_FALSE(RateTable::create(static_cast<char*>(map.get()) + 8, map.size() - 8, 8, kSecret, 0)
                   .has_value());  // misaligned
  EXPECT_FALSE(RateTable::create(map.get(), map.size(), 0, kSecret, 0).has_value());
  static_cast<RateTableHeader*>(map.get())->version = kRateTableVersion + 1;
  EXPECT_FALSE(RateTable::attach(map.get(), map.size()).has_value());
  static_cast<RateTableHeader*>(map.get())->version = kRateTableVersion;
  static_cast<RateTableHeader*>(map.get())->magic = 0;
  EXPECT_FALSE(RateTable::attach(map.get(), map.size()).has_value());
}

TEST(RateTableRule, FromCountAndPeriod) {
  EXPECT_EQ(RateRule::nodelay(50, kSecond, 10).interval_us, 20000u);
  EXPECT_EQ(RateRule::nodelay(50, kSecond, 10).delay, 10u);
  EXPECT_EQ(RateRule::per(3, kSecond, 0, 0).interval_us, 333334u);  // rounded up
  EXPECT_EQ(RateRule::per(10, kSecond, 5, 9).delay, 5u);            // delay capped at burst
  EXPECT_EQ(RateRule::per(1, 3600 * kSecond, 0, 0).interval_us, 3600 * kSecond);
  EXPECT_TRUE(RateRule::per(1, 86400 * kSecond, 49, 0).valid());   // 1 r/d, burst 49: 50 days
  EXPECT_FALSE(RateRule::per(1, 86400 * kSecond, 50, 0).valid());  // 51 days > 2^42 us
  EXPECT_FALSE(RateRule::per(0, kSecond, 0, 0).valid());
  EXPECT_EQ(RateRule::per(2, 1, 0, 0).interval_us, 1u);  // 1 us is the finest T
  EXPECT_TRUE(RateRule::per(1, 1, 0, 0).valid());
  EXPECT_FALSE((RateRule{0, 0, 0}).valid());
}

TEST(RateTableCheck, SpacingOfExactlyTAlwaysPasses) {
  for (uint64_t burst : {0, 3}) {
    TableFixture f(1024, 5 * kSecond);
    const RateRule rule = RateRule::per(50, kSecond, burst, 0);
    const uint64_t h = f.table.hash("192.0.2.1");
    uint64_t now = 7 * kSecond;
    for (int i = 0; i < 2000; ++i, now += rule.interval_us) {
      RateDecision d = f.table.check(h, rule, now, &f.stats);
      ASSERT_EQ(d.outcome, RateDecision::kPass) << "request " << i;
      ASSERT_EQ(d.delay_us, 0u);
    }
    EXPECT_EQ(f.stats.passed, 2000u);
    EXPECT_EQ(f.stats.inserts, 1u);
    if (burst == 0) {
      // One microsecond early is too early without a burst.
      EXPECT_EQ(f.table.check(h, rule, now - rule.interval_us - 1, &f.stats).outcome,
                RateDecision::kRefuse);
    }
  }
}

TEST(RateTableCheck, BurstPlusOneFromIdleWithNodelay) {
  TableFixture f(1024);
  const RateRule rule = RateRule::nodelay(50, kSecond, 10);
  const uint64_t h = f.table.hash("198.51.100.7");
  const uint64_t now = 100 * kSecond;
  for (int i = 0; i < 11; ++i) {
    RateDecision d = f.table.check(h, rule, now, &f.stats);
    ASSERT_EQ(d.outcome, RateDecision::kPass) << i;
    EXPECT_EQ(d.delay_us, 0u);
  }
  const uint64_t word = f.table.load_word(f.table.bucket_of(h) * kRateBucketWords);
  RateDecision refused = f.table.check(h, rule, now, &f.stats);
  EXPECT_EQ(refused.outcome, RateDecision::kRefuse);
  EXPECT_EQ(refused.retry_after_s, 1u);
  EXPECT_EQ(f.table.load_word(f.table.bucket_of(h) * kRateBucketWords), word);  // wrote nothing
  // One T later exactly one more passes.
  EXPECT_EQ(f.table.check(h, rule, now + rule.interval_us, &f.stats).outcome, RateDecision::kPass);
  EXPECT_EQ(f.table.check(h, rule, now + rule.interval_us, &f.stats).outcome,
            RateDecision::kRefuse);
  EXPECT_EQ(f.stats.passed, 12u);
  EXPECT_EQ(f.stats.refused, 2u);
  EXPECT_EQ(f.stats.delayed, 0u);
  // Another key has its own budget.
  EXPECT_EQ(f.table.check(f.table.hash("198.51.100.8"), rule, now, &f.stats).outcome,
            RateDecision::kPass);
}

TEST(RateTableCheck, RetryAfterIsExact) {
  TableFixture f(64);
  const RateRule rule = RateRule::nodelay(1, 60 * kSecond, 2);  // 1 r/m, burst 2
  const uint64_t h = 42;
  const uint64_t now = 10 * kSecond;
  for (int i = 0; i < 3; ++i) ASSERT_EQ(f.table.check(h, rule, now, &f.stats).outcome, 0);
  // TAT = now + 180 s, tau = 120 s: the next one may come at now + 60 s.
  EXPECT_EQ(f.table.check(h, rule, now, &f.stats).retry_after_s, 60u);
  EXPECT_EQ(f.table.check(h, rule, now + 1, &f.stats).retry_after_s, 60u);  // 59.999999 s
  EXPECT_EQ(f.table.check(h, rule, now + kSecond, &f.stats).retry_after_s, 59u);
  EXPECT_EQ(f.table.check(h, rule, now + kSecond + 1, &f.stats).retry_after_s, 59u);
  EXPECT_EQ(f.table.check(h, rule, now + 59 * kSecond + 1, &f.stats).retry_after_s, 1u);
  EXPECT_EQ(f.table.check(h, rule, now + 60 * kSecond - 1, &f.stats).retry_after_s, 1u);
  EXPECT_EQ(f.table.check(h, rule, now + 60 * kSecond, &f.stats).outcome, RateDecision::kPass);
  // At least 1 even when the wait is a microsecond.
  const RateRule fast = RateRule::per(1000, kSecond, 0, 0);
  ASSERT_EQ(f.table.check(7, fast, now, &f.stats).outcome, RateDecision::kPass);
  RateDecision d = f.table.check(7, fast, now + 999, &f.stats);
  EXPECT_EQ(d.outcome, RateDecision::kRefuse);
  EXPECT_EQ(d.retry_after_s, 1u);
}

TEST(RateTableCheck, DelayWithoutNodelay) {
  TableFixture f(64);
  const RateRule rule = RateRule::per(10, kSecond, 5, 0);  // burst=5, no nodelay: T = 100 ms
  const uint64_t now = 3 * kSecond;
  const uint64_t T = rule.interval_us;
  RateDecision d = f.table.check(1, rule, now, &f.stats);
  EXPECT_EQ(d.outcome, RateDecision::kPass);
  for (uint64_t i = 1; i <= 5; ++i) {
    d = f.table.check(1, rule, now, &f.stats);
    EXPECT_EQ(d.outcome, RateDecision::kDelay) << i;
    EXPECT_EQ(d.delay_us, i * T) << i;  // the time the bucket takes to drain to 0
  }
  EXPECT_EQ(f.table.check(1, rule, now, &f.stats).outcome, RateDecision::kRefuse);
  // Half a T later the excess has drained by half a T.
  d = f.table.check(1, rule, now + T / 2 + T, &f.stats);
  EXPECT_EQ(d.outcome, RateDecision::kDelay);
  EXPECT_EQ(d.delay_us, 5 * T - T / 2);
  EXPECT_EQ(f.stats.passed, 1u);
  EXPECT_EQ(f.stats.delayed, 6u);
  EXPECT_EQ(f.stats.refused, 1u);
}

TEST(RateTableCheck, DelayEqualsD) {
  TableFixture f(64);
  const RateRule rule = RateRule::per(10, kSecond, 5, 2);  // burst=5 delay=2
  const uint64_t T = rule.interval_us;
  const uint64_t now = 3 * kSecond;
  const uint64_t expected[] = {0, 0, 0, T, 2 * T, 3 * T};
  for (size_t i = 0; i < std::size(expected); ++i) {
    RateDecision d = f.table.check(9, rule, now, &f.stats);
    EXPECT_EQ(d.outcome, expected[i] == 0 ? RateDecision::kPass : RateDecision::kDelay) << i;
    EXPECT_EQ(d.delay_us, expected[i]) << i;
  }
  EXPECT_EQ(f.table.check(9, rule, now, &f.stats).outcome, RateDecision::kRefuse);
  EXPECT_EQ(f.stats.passed, 3u);
  EXPECT_EQ(f.stats.delayed, 3u);
}

TEST(RateTableTime, WrapAroundOfTheTimeBase) {
  TableFixture f(64, 0);
  const RateRule rule = RateRule::nodelay(1000, kSecond, 4);  // T = 1 ms
  const uint64_t T = rule.interval_us;
  const uint64_t wrap = uint64_t{1} << kRateTatBits;
  // Spaced requests across the 2^44 boundary (and the next) all pass.
  for (uint64_t base : {wrap, 2 * wrap, 5 * wrap}) {
    uint64_t now = base - 50 * T - 7;
    for (int i = 0; i < 100; ++i, now += T) {
      ASSERT_EQ(f.table.check(3, rule, now, &f.stats).outcome, RateDecision::kPass) << i;
    }
    f.table.sweep(now + kSecond);
  }
  // A burst that straddles the boundary: 5 pass just before it, the next is refused after it,
  // with the TAT decoded across the wrap.
  const uint64_t now = 3 * wrap - 2;
  for (int i = 0; i < 5; ++i) ASSERT_EQ(f.table.check(4, rule, now, &f.stats).outcome, 0);
  RateDecision d = f.table.check(4, rule, now + 3, &f.stats);  // 2^44 * 3 + 1
  EXPECT_EQ(d.outcome, RateDecision::kRefuse);
  EXPECT_EQ(f.table.check(4, rule, now + T, &f.stats).outcome, RateDecision::kPass);
  RateWordState s = f.table.decode(f.table.load_word(f.table.bucket_of(4) * 8), now + 3);
  EXPECT_TRUE(s.live);
  EXPECT_EQ(s.ahead_us, 5 * T + T - 3);  // TAT = now + 6T after the refill
  // An entry far in the past is free: 100 days later the key starts from idle again.
  const uint64_t later = now + 100ULL * 86400 * kSecond;
  EXPECT_EQ(f.table.live_entries(later), 0u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(f.table.check(4, rule, later, &f.stats).outcome, 0);
  EXPECT_EQ(f.table.check(4, rule, later, &f.stats).outcome, RateDecision::kRefuse);
  // The epoch: a table created at a large clock value works the same.
  TableFixture g(64, 1'000'000 * kSecond);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(g.table.check(4, rule, 1'000'001 * kSecond, &g.stats).outcome, 0);
  }
  EXPECT_EQ(g.table.check(4, rule, 1'000'001 * kSecond, &g.stats).outcome, RateDecision::kRefuse);
}

TEST(RateTableTime, SweepClearsExpiredWords) {
  TableFixture f(64);
  const RateRule rule = RateRule::nodelay(10, kSecond, 0);
  const uint64_t now = 10 * kSecond;
  for (uint64_t k = 1; k <= 20; ++k) f.table.check(k * 0x9e3779b97f4a7c15ULL, rule, now, &f.stats);
  const size_t live = f.table.live_entries(now);
  EXPECT_GT(live, 0u);
  EXPECT_EQ(f.table.sweep(now), 0u);  // all still ahead
  EXPECT_EQ(f.table.sweep(now + rule.interval_us), live);
  for (uint32_t s = 0; s < f.table.slots(); ++s) EXPECT_EQ(f.table.load_word(s), 0u);
}

TEST(RateTableEviction, SmallestTatEvictedWhenBucketFull) {
  TableFixture f(8);  // one bucket
  const RateRule rule = RateRule::nodelay(1, kSecond, 100);
  const uint64_t now = 50 * kSecond;
  // Key i (tag i+1) is charged i+1 times: key 0 has the smallest TAT.
  for (uint32_t i = 0; i < 8; ++i) {
    for (uint32_t n = 0; n <= i; ++n) f.table.check(in_bucket0(i + 1), rule, now, &f.stats);
  }
  EXPECT_EQ(f.stats.inserts, 8u);
  EXPECT_EQ(f.stats.evictions, 0u);
  EXPECT_EQ(f.table.check(in_bucket0(100), rule, now, &f.stats).outcome, RateDecision::kPass);
  EXPECT_EQ(f.stats.evictions, 1u);
  bool found[9] = {};
  for (uint32_t s = 0; s < 8; ++s) {
    RateWordState st = f.table.decode(f.table.load_word(s), now);
    ASSERT_TRUE(st.live);
    if (st.tag == 100) {
      EXPECT_EQ(st.ahead_us, kSecond);
    } else {
      ASSERT_GE(st.tag, 2u);  // tag 1 (key 0) is gone
      ASSERT_LE(st.tag, 8u);
      EXPECT_EQ(st.ahead_us, st.tag * kSecond);  // the others kept their state
      found[st.tag] = true;
    }
  }
  for (int t = 2; t <= 8; ++t) EXPECT_TRUE(found[t]) << t;
  // An expired word is reused before anything is evicted.
  const uint64_t later = now + 2 * kSecond + 1;  // keys with TAT <= now + 2 s expired (tag 2, 100)
  EXPECT_EQ(f.table.check(in_bucket0(200), rule, later, &f.stats).outcome, RateDecision::kPass);
  EXPECT_EQ(f.table.check(in_bucket0(201), rule, later, &f.stats).outcome, RateDecision::kPass);
  EXPECT_EQ(f.stats.evictions, 1u);
  EXPECT_EQ(f.table.check(in_bucket0(202), rule, later, &f.stats).outcome, RateDecision::kPass);
  EXPECT_EQ(f.stats.evictions, 2u);  // now the bucket was full again: tag 3 went
}

TEST(RateTableCollision, SameBucketAndTagShareABudget) {
  TableFixture f(1024);
  const uint64_t a = 0x1234'5678'0000'0005ULL;
  const uint64_t b = a | (uint64_t{0x3ff} << kRateTagBits);  // bits the table does not use
  ASSERT_EQ(f.table.bucket_of(a), f.table.bucket_of(b));
  ASSERT_EQ(RateTable::tag_of(a), RateTable::tag_of(b));
  EXPECT_EQ(RateTable::tag_of(0), 1u);  // a tag is never 0 (the empty word)
  const RateRule rule = RateRule::nodelay(5, kSecond, 3);
  const uint64_t now = kSecond;
  for (int i = 0; i < 2; ++i) EXPECT_EQ(f.table.check(a, rule, now, &f.stats).outcome, 0);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(f.table.check(b, rule, now, &f.stats).outcome, 0);
  // Together they used the burst: both are refused, never both let through twice.
  EXPECT_EQ(f.table.check(a, rule, now, &f.stats).outcome, RateDecision::kRefuse);
  EXPECT_EQ(f.table.check(b, rule, now, &f.stats).outcome, RateDecision::kRefuse);
  EXPECT_EQ(f.stats.inserts, 1u);
}

TEST(RateTableCollision, DuplicateWordsUseTheLargerTatAndAreMerged) {
  TableFixture f(8);
  const RateRule rule = RateRule::nodelay(1, kSecond, 10);
  const uint64_t now = kSecond;
  // Two words of one key, as two racing first requests could leave: 2 s and 5 s ahead.
  auto* words = reinterpret_cast<std::atomic<uint64_t>*>(static_cast<char*>(f.map.get()) + 64);
  words[1].store((uint64_t{9} << kRateTatBits) | (now + 2 * kSecond));
  words[4].store((uint64_t{9} << kRateTatBits) | (now + 5 * kSecond));
  EXPECT_EQ(f.table.check(9, rule, now, &f.stats).outcome, RateDecision::kPass);
  EXPECT_EQ(f.table.decode(f.table.load_word(4), now).ahead_us, 6 * kSecond);
  EXPECT_EQ(f.table.load_word(1), 0u);  // the smaller one cleared
}

TEST(RateTableMultiRule, AllOrNone) {
  TableFixture f(1024);
  TableFixture g(1024);
  const RateRule wide = RateRule::nodelay(10, kSecond, 10);
  const RateRule narrow = RateRule::nodelay(1, kSecond, 2);
  const uint64_t ha = f.table.hash("client"), hb = g.table.hash("client");
  std::array<RateLimitRef, 2> limits{RateLimitRef{&f.table, ha, &wide, {}},
                                     RateLimitRef{&g.table, hb, &narrow, {}}};
  const uint64_t now = 20 * kSecond;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(charge_all(limits, now, &f.stats).outcome, RateDecision::kPass) << i;
  }
  const uint32_t slot_a = f.table.bucket_of(ha) * kRateBucketWords;
  const uint64_t before = f.table.load_word(slot_a);
  EXPECT_EQ(f.table.decode(before, now).ahead_us, 3 * wide.interval_us);
  RateDecision d = charge_all(limits, now, &f.stats);
  EXPECT_EQ(d.outcome, RateDecision::kRefuse);
  EXPECT_EQ(d.retry_after_s, 1u);
  EXPECT_EQ(f.table.load_word(slot_a), before);  // the wide rule was not charged
  EXPECT_EQ(f.stats.passed, 3u);
  EXPECT_EQ(f.stats.refused, 1u);
  EXPECT_EQ(f.stats.refunds, 0u);  // refused at the peek: nothing to undo
  // A delay from any rule delays the request: the largest wins.
  const RateRule delayed = RateRule::per(10, kSecond, 5, 0);
  std::array<RateLimitRef, 2> mixed{RateLimitRef{&f.table, 77, &wide, {}},
                                    RateLimitRef{&g.table, 77, &delayed, {}}};
  EXPECT_EQ(charge_all(mixed, now, &f.stats).outcome, RateDecision::kPass);
  d = charge_all(mixed, now, &f.stats);
  EXPECT_EQ(d.outcome, RateDecision::kDelay);
  EXPECT_EQ(d.delay_us, delayed.interval_us);
  // One rule alone: charged directly, counted once.
  RateStats one_stats;
  std::array<RateLimitRef, 1> one{RateLimitRef{&g.table, 555, &narrow, {}}};
  for (int i = 0; i < 3; ++i) EXPECT_EQ(charge_all(one, now, &one_stats).outcome, 0);
  EXPECT_EQ(charge_all(one, now, &one_stats).outcome, RateDecision::kRefuse);
  EXPECT_EQ(one_stats.passed, 3u);
  EXPECT_EQ(one_stats.refused, 1u);
}

TEST(RateTableMultiRule, RefusalAfterThePeekRefundsTheEarlierCharges) {
  // Both rules on one word: each passes its peek, but once the first is charged the second
  // refuses, as when another process charges the key between the peek and the charge.
  TableFixture f(64);
  const RateRule wide = RateRule::nodelay(10, kSecond, 100);  // tau 10 s
  const RateRule narrow = RateRule::nodelay(1, kSecond, 2);   // tau 2 s
  const uint64_t now = 20 * kSecond;
  f.table.check(11, narrow, now, &f.stats);
  f.table.check(11, narrow, now, &f.stats);  // TAT = now + 2 s: narrow's last pass
  const uint64_t before = f.table.load_word(0);
  std::array<RateLimitRef, 2> limits{RateLimitRef{&f.table, 11, &wide, {}},
                                     RateLimitRef{&f.table, 11, &narrow, {}}};
  RateStats stats;
  RateDecision d = charge_all(limits, now, &stats);
  EXPECT_EQ(d.outcome, RateDecision::kRefuse);
  EXPECT_EQ(stats.refunds, 1u);
  EXPECT_EQ(stats.refused, 1u);
  EXPECT_EQ(stats.passed, 0u);
  EXPECT_EQ(f.table.load_word(0), before);  // the wide charge was taken back exactly
}

TEST(RateTableMultiRule, RefundRestoresExactlyOrByOneInterval) {
  TableFixture f(8);
  const RateRule rule = RateRule::nodelay(1, kSecond, 100);
  const uint64_t now = 30 * kSecond;
  // Untouched since: the word before comes back exactly.
  f.table.check(5, rule, now, &f.stats);
  const uint64_t before = f.table.load_word(0);
  RateCharge c;
  ASSERT_EQ(f.table.charge(5, rule, now, &f.stats, &c).outcome, RateDecision::kPass);
  EXPECT_NE(f.table.load_word(0), before);
  f.table.refund(c, now, &f.stats);
  EXPECT_EQ(f.table.load_word(0), before);
  // Written by another request since: T is given back.
  ASSERT_EQ(f.table.charge(5, rule, now, &f.stats, &c).outcome, RateDecision::kPass);
  f.table.check(5, rule, now, &f.stats);
  f.table.refund(c, now, &f.stats);
  EXPECT_EQ(f.table.decode(f.table.load_word(0), now).ahead_us, 2 * kSecond);
  // A charge that evicted another key: the refund puts that key back.
  for (uint32_t t = 20; t < 27; ++t) f.table.check(t, rule, now, &f.stats);  // bucket full
  std::array<uint64_t, 8> full;
  for (uint32_t s = 0; s < 8; ++s) full[s] = f.table.load_word(s);
  ASSERT_EQ(f.table.charge(99, rule, now, &f.stats, &c).outcome, RateDecision::kPass);
  EXPECT_EQ(f.stats.evictions, 1u);
  f.table.refund(c, now, &f.stats);
  for (uint32_t s = 0; s < 8; ++s) EXPECT_EQ(f.table.load_word(s), full[s]) << s;
  // Written since and expired by the refund: nothing to give back.
  ASSERT_EQ(f.table.charge(20, rule, now, &f.stats, &c).outcome, RateDecision::kPass);
  f.table.check(20, rule, now, &f.stats);
  const uint64_t after = f.table.load_word(c.slot);
  f.table.refund(c, now + 10 * kSecond, &f.stats);
  EXPECT_EQ(f.table.load_word(c.slot), after);
  // Taken by another key since: nothing to give back either.
  ASSERT_EQ(f.table.charge(21, rule, now, &f.stats, &c).outcome, RateDecision::kPass);
  auto* words = reinterpret_cast<std::atomic<uint64_t>*>(static_cast<char*>(f.map.get()) + 64);
  const uint64_t other = (uint64_t{77} << kRateTatBits) | (now + 5 * kSecond);
  words[c.slot].store(other);
  f.table.refund(c, now, &f.stats);
  EXPECT_EQ(f.table.load_word(c.slot), other);
}

// --- real processes -------------------------------------------------------------------------

struct ChildReport {
  std::atomic<uint64_t> passes;
  std::atomic<uint64_t> checks;
  std::atomic<uint64_t> first_us;  // the first and last clock values a check used
  std::atomic<uint64_t> last_us;
};

struct Control {
  std::atomic<uint32_t> go;
  std::atomic<uint32_t> stop;
  ChildReport children[8];
};

// Waits for every pid until the deadline, then SIGKILLs what is left. True if all exited 0.
bool reap_all(const std::vector<pid_t>& pids, uint64_t deadline_us) {
  bool ok = true;
  for (pid_t pid : pids) {
    int status = 0;
    for (;;) {
      pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid) break;
      if (monotonic_us() > deadline_us) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        ok = false;
        break;
      }
      usleep(1000);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ok = false;
  }
  return ok;
}

void exactness_across(int processes) {
  // 1000 r/s, burst 10, one key, for about a second.
  const RateRule rule = RateRule::nodelay(1000, kSecond, 10);
  SharedMap control_map(sizeof(Control));
  auto* control = new (control_map.get()) Control{};
  TableFixture f(1024, monotonic_us());
  const uint64_t key = f.table.hash("203.0.113.9");
  std::vector<pid_t> pids;
  for (int p = 0; p < processes; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ChildReport& me = control->children[p];
      const uint64_t give_up = monotonic_us() + 5 * kSecond;
      while (control->go.load(std::memory_order_acquire) == 0) {
        if (monotonic_us() > give_up) _exit(2);
      }
      RateTable table = *RateTable::attach(f.map.get(), f.map.size());
      RateStats stats;
      const uint64_t start = monotonic_us();
      me.first_us.store(start);
      uint64_t now = start;
      while (now < start + kSecond) {
        now = monotonic_us();
        if (table.check(key, rule, now, &stats).outcome == RateDecision::kPass) {
          me.passes.fetch_add(1, std::memory_order_relaxed);
        }
        me.checks.fetch_add(1, std::memory_order_relaxed);
      }
      me.last_us.store(now);
      _exit(0);
    }
    pids.push_back(pid);
  }
  control->go.store(1, std::memory_order_release);
  ASSERT_TRUE(reap_all(pids, monotonic_us() + 10 * kSecond));
  uint64_t passes = 0, checks = 0, first = UINT64_MAX, last = 0;
  for (int p = 0; p < processes; ++p) {
    passes += control->children[p].passes.load();
    checks += control->children[p].checks.load();
    first = std::min<uint64_t>(first, control->children[p].first_us.load());
    last = std::max<uint64_t>(last, control->children[p].last_us.load());
  }
  // GCRA's bound over the clock values the checks used: N <= (last - first) / T + B + 1. The
  // one-microsecond clock loses nothing here (the bound is over the values used); +1 allows for
  // the one off-by-one the design admits (two first requests of a key racing into two words).
  const uint64_t bound = (last - first) / rule.interval_us + rule.burst + 1;
  std::printf("[ %d processes: %lu passes of %lu checks in %lu us, bound %lu ]\n", processes,
              static_cast<unsigned long>(passes), static_cast<unsigned long>(checks),
              static_cast<unsigned long>(last - first), static_cast<unsigned long>(bound));
  EXPECT_LE(passes, bound + 1);
  EXPECT_GT(passes, rule.burst + 1);  // the limit let traffic through over time
  EXPECT_GT(checks, passes);          // and refused the excess
}

TEST(RateTableProcesses, ExactAcrossTwoProcesses) {
  exactness_across(2);
}

TEST(RateTableProcesses, ExactAcrossFourProcesses) {
  exactness_across(4);
}

constexpr RateRule kHotRule = RateRule::nodelay(1000, kSecond, 10);

[[noreturn]] void torture_child(RateTable table, RateTable hot, ChildReport* me, uint64_t seed) {
  const RateRule a = RateRule::nodelay(5000, kSecond, 5);
  const RateRule b = RateRule::per(2000, kSecond, 3, 1);
  std::mt19937_64 rng(seed);
  RateStats stats;
  for (;;) {
    const uint64_t k = rng() % 1000;
    const uint64_t now = monotonic_us();
    if (k % 8 == 0 && hot.check(12345, kHotRule, now, &stats).outcome == RateDecision::kPass) {
      me->passes.fetch_add(1, std::memory_order_relaxed);  // after the CAS: a kill undercounts
    }
    const uint64_t h1 = siphash<1, 3>(SipKey{1, 2}, &k, sizeof(k));
    if (k % 4 == 0) {
      const uint64_t h2 = siphash<1, 3>(SipKey{3, 4}, &k, sizeof(k));
      std::array<RateLimitRef, 2> limits{RateLimitRef{&table, h1, &a, {}},
                                         RateLimitRef{&table, h2, &b, {}}};
      charge_all(limits, now, &stats);
    } else {
      table.check(h1, a, now, &stats);
    }
    me->checks.fetch_add(1, std::memory_order_relaxed);
  }
}

TEST(RateTableProcesses, KillNineTorture) {
  constexpr int kChildren = 3;
  SharedMap control_map(sizeof(Control));
  auto* control = new (control_map.get()) Control{};
  TableFixture f(64, monotonic_us());    // 8 buckets, 1000 keys: constant eviction
  TableFixture hot(64, monotonic_us());  // one hot key, alone: its limit must hold
  std::mt19937_64 rng(12345);
  std::vector<pid_t> pids(kChildren);
  auto spawn = [&](int i) {
    pid_t pid = fork();
    if (pid == 0) torture_child(f.table, hot.table, &control->children[i], rng() + i);
    return pid;
  };
  const uint64_t first = monotonic_us();
  for (int i = 0; i < kChildren; ++i) {
    pids[i] = spawn(i);
    ASSERT_GT(pids[i], 0);
  }
  const uint64_t end = monotonic_us() + kSecond;
  const uint64_t hard_end = end + 4 * kSecond;  // only if 10 kills took more than a second
  int kills = 0;
  for (uint64_t t = monotonic_us(); (t < end || kills < 10) && t < hard_end; t = monotonic_us()) {
    usleep(1000 + rng() % 4000);  // every 1-5 ms
    const int i = static_cast<int>(rng() % kChildren);
    kill(pids[i], SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(pids[i], &status, 0), pids[i]);
    ++kills;
    pids[i] = spawn(i);
    ASSERT_GT(pids[i], 0);
  }
  for (pid_t pid : pids) kill(pid, SIGKILL);
  for (pid_t pid : pids) waitpid(pid, nullptr, 0);
  const uint64_t last = monotonic_us();
  uint64_t checks = 0, hot_passes = 0;
  for (int i = 0; i < kChildren; ++i) {
    checks += control->children[i].checks.load();
    hot_passes += control->children[i].passes.load();
  }
  // A kill loses at most the killed process's own update, never a word: the hot key's limit
  // holds exactly (same bound as above, +1 for a racing first insert).
  const uint64_t hot_bound = (last - first) / kHotRule.interval_us + kHotRule.burst + 1 + 1;
  std::printf("[ %d kills, %lu checks, hot key %lu passes, bound %lu ]\n", kills,
              static_cast<unsigned long>(checks), static_cast<unsigned long>(hot_passes),
              static_cast<unsigned long>(hot_bound));
  EXPECT_GE(kills, 10);
  EXPECT_GT(checks, 0u);
  EXPECT_LE(hot_passes, hot_bound);
  EXPECT_GT(hot_passes, kHotRule.burst + 1);
  // Every word is a valid state: empty, or a tag with a TAT no further ahead than a rule allows.
  const uint64_t now = monotonic_us();
  const uint64_t max_ahead = std::max(6 * RateRule::nodelay(5000, kSecond, 5).interval_us,
                                      4 * RateRule::per(2000, kSecond, 3, 1).interval_us);
  for (uint32_t s = 0; s < f.table.slots(); ++s) {
    RateWordState st = f.table.decode(f.table.load_word(s), now);
    EXPECT_TRUE(st.well_formed) << s;
    EXPECT_LE(st.ahead_us, max_ahead) << s;
    RateWordState h = hot.table.decode(hot.table.load_word(s), now);
    EXPECT_TRUE(h.well_formed) << s;
    EXPECT_LE(h.ahead_us, (kHotRule.burst + 1) * kHotRule.interval_us) << s;
  }
  // And the table still works for the parent, without waiting on anything the dead left.
  const RateRule rule = RateRule::nodelay(10, kSecond, 2);
  for (uint64_t k = 0; k < 1000; ++k) {
    const uint64_t h = siphash<1, 3>(SipKey{1, 2}, &k, sizeof(k));
    const uint64_t later = now + kSecond + k * 10 * kSecond;  // every earlier entry expired
    for (int i = 0; i < 3; ++i) {
      ASSERT_EQ(f.table.check(h, rule, later, &f.stats).outcome, RateDecision::kPass) << k;
    }
    ASSERT_EQ(f.table.check(h, rule, later, &f.stats).outcome, RateDecision::kRefuse) << k;
  }
}

}  // namespace
}  // namespace zhttp::shm
