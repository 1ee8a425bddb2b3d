// The access stage (handlers/access/access_stage.hpp) over real GCRA tables in private memory:
// bursts then refusals with Retry-After and the configured status, its counters, dry run, the allow
// list, path prefixes, header keys, address prefixes, several zones charged all or none, the
// real client behind a trusted proxy, the RateLimit fields, and delays without nodelay. The
// stage reads the real monotonic clock: every rule here is slow enough (per minute, or a burst
// measured against 50 ms) that the few microseconds a test takes change nothing.
#include "handlers/access/access_stage.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "unit/support/address_test_util.hpp"
#include "zhttp/parser.hpp"

namespace zhttp::handlers::access {
namespace {

using test::addr;
using test::cidr;
using test::text_of;

using conn::AccessVerdict;

constexpr shm::SipKey kSecret{0x0123456789abcdefULL, 0xfedcba9876543210ULL};

// A table in private, 64-byte aligned memory.
struct TableFixture {
  explicit TableFixture(uint32_t slots)
      : bytes((shm::RateTable::bytes_for(slots) + 63) / 64 * 64),
        memory(static_cast<char*>(std::aligned_alloc(64, bytes))),
        table(*shm::RateTable::create(memory.get(), bytes, slots, kSecret, shm::monotonic_us())) {}
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  size_t bytes;
  std::unique_ptr<char, Free> memory;
  shm::RateTable table;
};

LimitReqSpec spec(std::string_view text) {
  LimitReqSpec s;
  std::string error;
  EXPECT_TRUE(parse_limit_req(text, &s, &error)) << text << ": " << error;
  return s;
}

// An access stage over one table per --limit-req rule of `options`.
struct StageFixture {
  explicit StageFixture(AccessOptions o, uint32_t slots = 64) : options(std::move(o)) {
    std::vector<shm::RateTable> tables;
    std::vector<shm::ZoneCounters*> rows;
    for (size_t i = 0; i < options.limit_req.size(); ++i) {
      fixtures.push_back(std::make_unique<TableFixture>(slots));
      tables.push_back(fixtures.back()->table);
      rows.push_back(&counters[i]);
    }
    stage = std::make_unique<AccessStage>(options, tables, rows, nullptr);
  }

  // admit() for `path` from `peer` (its replacement, if any, in *peer_out); fields added to the
  // response in *fields.
  AccessVerdict admit(std::string path, std::string_view peer, std::string headers = "",
                      std::string* fields = nullptr, PeerAddress* peer_out = nullptr) {
    test::ParsedRequest p(std::move(path), std::move(headers));
    PeerAddress a = addr(peer);
    char extra[conn::kExtraFieldBytes];
    std::memset(extra, '#', sizeof extra);
    AccessVerdict v = stage->admit(p.view, &a, extra);
    EXPECT_LE(v.extra_len, sizeof extra);
    if (fields) fields->assign(extra, v.extra_len);
    if (peer_out) *peer_out = a;
    return v;
  }

  size_t entries(size_t zone) const {
    return fixtures[zone]->table.live_entries(shm::monotonic_us());
  }
  shm::RateTable& table(size_t zone) { return fixtures[zone]->table; }

  AccessOptions options;
  std::vector<std::unique_ptr<TableFixture>> fixtures;
  shm::ZoneCounters counters[4];
  std::unique_ptr<AccessStage> stage;
};

AccessOptions one_zone(std::string_view rule) {
  AccessOptions o;
  o.limit_req.push_back(spec(rule));
  return o;
}

TEST(AccessStageLimit, BurstPlusOnePassThenRefusedWithRetryAfter) {
  StageFixture f(one_zone("zone=one rate=1r/m burst=2 nodelay"));
  for (int i = 0; i < 3; ++i) {
    AccessVerdict v = f.admit("/", "192.0.2.1");
    EXPECT_EQ(v.outcome, AccessVerdict::kPass) << i;
    EXPECT_EQ(v.extra_len, 0u);  // no RateLimit fields unless asked for
  }
  AccessVerdict v = f.admit("/", "192.0.2.1");
  EXPECT_EQ(v.outcome, AccessVerdict::kRefuse);
  EXPECT_EQ(v.status, 429);
  EXPECT_GE(v.retry_after_s, 1u);
  EXPECT_LE(v.retry_after_s, 60u);  // one interval at most
  EXPECT_EQ(f.counters[0].table.passed, 3u);
  EXPECT_EQ(f.counters[0].table.refused, 1u);
  EXPECT_EQ(f.counters[0].table.delayed, 0u);
  EXPECT_EQ(f.counters[0].dry_run_rejected, 0u);
  EXPECT_EQ(f.entries(0), 1u);
  // Another client has its own budget.
  EXPECT_EQ(f.admit("/", "192.0.2.2").outcome, AccessVerdict::kPass);
  EXPECT_EQ(f.entries(0), 2u);
  EXPECT_EQ(f.admit("/", "192.0.2.1").outcome, AccessVerdict::kRefuse);  // still
  EXPECT_EQ(f.counters[0].table.refused, 2u);
}

TEST(AccessStageLimit, RefusalStatusIsTheConfiguredOne) {
  AccessOptions o = one_zone("zone=one rate=1r/m nodelay");
  o.limit_req_status = 503;
  StageFixture f(o);
  EXPECT_EQ(f.admit("/", "2001:db8::1").outcome, AccessVerdict::kPass);
  AccessVerdict v = f.admit("/", "2001:db8::1");
  EXPECT_EQ(v.outcome, AccessVerdict::kRefuse);
  EXPECT_EQ(v.status, 503);
  EXPECT_GE(v.retry_after_s, 1u);
}

TEST(AccessStageLimit, DryRunPassesEverythingAndCountsWhatItWouldRefuse) {
  AccessOptions o = one_zone("zone=one rate=1r/m burst=1 nodelay");
  o.limit_req_dry_run = true;
  StageFixture f(o);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(f.admit("/", "192.0.2.1").outcome, AccessVerdict::kPass);
  EXPECT_EQ(f.counters[0].table.passed, 2u);
  EXPECT_EQ(f.counters[0].dry_run_rejected, 3u);
  EXPECT_EQ(f.counters[0].table.refused, 0u);
}

TEST(AccessStageLimit, AllowListIsNeverChargedNorStored) {
  AccessOptions o = one_zone("zone=one rate=1r/m nodelay");
  o.limit_req_allow = {cidr("10.0.0.0/8"), cidr("2001:db8::/32")};
  StageFixture f(o);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(f.admit("/", "10.1.2.3").outcome, AccessVerdict::kPass);
    EXPECT_EQ(f.admit("/", "2001:db8::7").outcome, AccessVerdict::kPass);
    EXPECT_EQ(f.admit("/", "::ffff:10.9.9.9").outcome, AccessVerdict::kPass);  // mapped
  }
  EXPECT_EQ(f.entries(0), 0u);
  EXPECT_EQ(f.counters[0].table.passed, 0u);
  // Anyone else is limited.
  EXPECT_EQ(f.admit("/", "11.0.0.1").outcome, AccessVerdict::kPass);
  EXPECT_EQ(f.admit("/", "11.0.0.1").outcome, AccessVerdict::kRefuse);
  EXPECT_EQ(f.entries(0), 1u);
}

TEST(AccessStageLimit, PathPrefixLimitsOnlyMatchingPaths) {
  StageFixture f(one_zone("zone=api rate=1r/m burst=1 nodelay path=/api/"));
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(f.admit("/", "192.0.2.1").outcome, AccessVerdict::kPass);
    EXPECT_EQ(f.admit("/apix", "192.0.2.1").outcome, AccessVerdict::kPass);
    EXPECT_EQ(f.admit("/static/api/x", "192.0.2.1").outcome, AccessVerdict::kPass);
  }
  EXPECT_EQ(f.entries(0), 0u);
  EXPECT_EQ(f.admit("/api/a", "192.0.2.1").outcome, AccessVerdict::kPass);
  EXPECT_EQ(f.admit("/api/b?q=1", "192.0.2.1").outcome, AccessVerdict::kPass);
  EXPECT_EQ(f.admit("/api/", "192.0.2.1").outcome, AccessVerdict::kRefuse);
  EXPECT_EQ(f.admit("/other", "192.0.2.1").outcome, AccessVerdict::kPass);
  EXPECT_EQ(f.counters[0].table.passed, 2u);
  EXPECT_EQ(f.counters[0].table.refused, 1u);
}

TEST(AccessStageLimit, HeaderKeySeparatesByValueAndSkipsRequestsWithoutIt) {
  StageFixture f(one_zone("zone=keys rate=1r/m burst=1 nodelay key=header:X-Api-Key"));
  EXPECT_EQ(f.admit("/", "192.0.2.1", "X-Api-Key: alpha\r\n").outcome, AccessVerdict::kPass);
  EXPECT_EQ(f.admit("/", "192.0.2.2", "x-api-key: alpha\r\n").outcome, AccessVerdict::kPass);
  // The third request with key alpha is refused, whatever address it comes from.
  EXPECT_EQ(f.admit("/", "192.0.2.3", "X-Api-Key: alpha\r\n").outcome, AccessVerdict::kRefuse);
  EXPECT_EQ(f.admit("/", "192.0.2.1", "X-Api-Key: beta\r\n").outcome, AccessVerdict::kPass);
  EXPECT_EQ(f.admit("/", "192.0.2.1", "X-Api-Key: beta\r\n").outcome, AccessVerdict::kPass);
  EXPECT_EQ(f.admit("/", "192.0.2.1", "X-Api-Key: beta\r\n").outcome, AccessVerdict::kRefuse);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(f.admit("/", "192.0.2.1").outcome, AccessVerdict::kPass);
    EXPECT_EQ(f.admit("/", "192.0.2.1", "X-Other: alpha\r\n").outcome, AccessVerdict::kPass);
  }
  EXPECT_EQ(f.entries(0), 2u);
  EXPECT_EQ(f.counters[0].table.passed, 4u);
  EXPECT_EQ(f.counters[0].table.refused, 2u);
}

TEST(AccessStageLimit, AddressPrefixSharesABudget) {
  StageFixture f(one_zone("zone=net rate=1r/m burst=1 nodelay key=addr/24"));
  EXPECT_EQ(f.admit("/", "192.0.2.1").outcome, AccessVerdict::kPass);
  EXPECT_EQ(f.admit("/", "192.0.2.200").outcome, AccessVerdict::kPass);
  EXPECT_EQ(f.admit("/", "192.0.2.77").outcome, AccessVerdict::kRefuse);  // same /24
  EXPECT_EQ(f.admit("/", "192.0.3.1").outcome, AccessVerdict::kPass);     // another one
  // IPv6 at /24 too.
  EXPECT_EQ(f.admit("/", "2001:db8::1").outcome, AccessVerdict::kPass);
  EXPECT_EQ(f.admit("/", "2001:dff::1").outcome, AccessVerdict::kPass);  // 2001:0d..
  EXPECT_EQ(f.admit("/", "2001:d00:1::1").outcome, AccessVerdict::kRefuse);
  EXPECT_EQ(f.admit("/", "2001:e00::1").outcome, AccessVerdict::kPass);  // 2001:0e..
  EXPECT_EQ(f.entries(0), 4u);
}

TEST(AccessStageLimit, Ipv6SlashSixtyFourKeepsIpv4Whole) {
  StageFixture f(one_zone("zone=net rate=1r/m nodelay key=addr/64"));
  EXPECT_EQ(f.admit("/", "2001:db8:0:1::1").outcome, AccessVerdict::kPass);
  EXPECT_EQ(f.admit("/", "2001:db8:0:1:ffff::2").outcome, AccessVerdict::kRefuse);
  EXPECT_EQ(f.admit("/", "2001:db8:0:2::1").outcome, AccessVerdict::kPass);
  EXPECT_EQ(f.admit("/", "192.0.2.1").outcome, AccessVerdict::kPass);
  EXPECT_EQ(f.admit("/", "192.0.2.2").outcome, AccessVerdict::kPass);  // v4 keyed at /32
}

TEST(AccessStageLimit, ClientWithoutAnAddressIsNotLimited) {
  StageFixture f(one_zone("zone=one rate=1r/m nodelay"));
  test::ParsedRequest p("/");
  for (int i = 0; i < 5; ++i) {
    PeerAddress none;
    char extra[conn::kExtraFieldBytes];
    EXPECT_EQ(f.stage->admit(p.view, &none, extra).outcome, AccessVerdict::kPass);
  }
  EXPECT_EQ(f.entries(0), 0u);
}

TEST(AccessStageLimit, TwoZonesAreChargedAllOrNone) {
  AccessOptions o;
  o.limit_req.push_back(spec("zone=strict rate=1r/m nodelay path=/api/"));
  o.limit_req.push_back(spec("zone=loose rate=1r/m burst=1 nodelay"));
  StageFixture f(o);
  const std::string peer = "192.0.2.1";
  char key[common::kMaxAddressKey];
  const size_t key_len = common::address_key(addr(peer), 32, 128, key);
  const uint64_t loose_hash = f.table(1).hash({key, key_len});
  const shm::RateRule& loose_rule = f.options.limit_req[1].rule;

  EXPECT_EQ(f.admit("/api/a", peer).outcome, AccessVerdict::kPass);  // both charged
  EXPECT_EQ(f.entries(0), 1u);
  EXPECT_EQ(f.entries(1), 1u);
  EXPECT_EQ(f.counters[1].table.passed, 1u);
  // strict refuses: loose, with one request left, is not charged.
  for (int i = 0; i < 3; ++i) {
    AccessVerdict v = f.admit("/api/b", peer);
    EXPECT_EQ(v.outcome, AccessVerdict::kRefuse);
    EXPECT_GE(v.retry_after_s, 1u);
  }
  EXPECT_EQ(f.counters[0].table.refused, 3u);
  EXPECT_EQ(f.counters[1].table.passed, 1u);
  EXPECT_EQ(f.counters[1].table.refused, 0u);
  EXPECT_EQ(f.table(1).peek(loose_hash, loose_rule, shm::monotonic_us()).outcome,
            shm::RateDecision::kPass);
  // The one left goes to a path only loose limits, then loose refuses.
  EXPECT_EQ(f.admit("/page", peer).outcome, AccessVerdict::kPass);
  EXPECT_EQ(f.table(1).peek(loose_hash, loose_rule, shm::monotonic_us()).outcome,
            shm::RateDecision::kRefuse);
  EXPECT_EQ(f.admit("/page", peer).outcome, AccessVerdict::kRefuse);
  // And now loose refuses an /api/ request: strict is not charged either (it refuses anyway).
  EXPECT_EQ(f.admit("/api/c", peer).outcome, AccessVerdict::kRefuse);
  EXPECT_EQ(f.counters[1].table.passed, 2u);
  EXPECT_EQ(f.counters[0].table.passed, 1u);
}

TEST(AccessStageLimit, RefusalInTheSecondZoneChargesNotTheFirst) {
  AccessOptions o;
  o.limit_req.push_back(spec("zone=first rate=1r/m burst=5 nodelay"));
  o.limit_req.push_back(spec("zone=second rate=1r/m nodelay path=/x"));
  StageFixture f(o);
  const std::string peer = "198.51.100.4";
  char key[common::kMaxAddressKey];
  const uint64_t first_hash = f.table(0).hash({key, common::address_key(addr(peer), 32, 128, key)});
  EXPECT_EQ(f.admit("/x", peer).outcome, AccessVerdict::kPass);
  // Five refusals by second: first, which would pass each, keeps its 5 requests left.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(f.admit("/x", peer).outcome, AccessVerdict::kRefuse);
  EXPECT_EQ(f.counters[0].table.passed, 1u);
  EXPECT_EQ(f.counters[1].table.refused, 5u);
  EXPECT_EQ(f.table(0).peek(first_hash, f.options.limit_req[0].rule, shm::monotonic_us()).outcome,
            shm::RateDecision::kPass);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(f.admit("/y", peer).outcome, AccessVerdict::kPass) << i;
  EXPECT_EQ(f.admit("/y", peer).outcome, AccessVerdict::kRefuse);
}

TEST(AccessStageRealIp, TrustedProxyForwardsTheClient) {
  AccessOptions o;
  o.real_ip_from = {cidr("127.0.0.1/32"), cidr("10.0.0.0/8")};
  StageFixture f(o);
  PeerAddress peer;
  AccessVerdict v =
      f.admit("/", "127.0.0.1", "X-Forwarded-For: 203.0.113.9, 10.1.1.1\r\n", nullptr, &peer);
  EXPECT_EQ(v.outcome, AccessVerdict::kPass);
  EXPECT_EQ(text_of(peer), "203.0.113.9");
  // An untrusted peer's header is ignored.
  f.admit("/", "192.0.2.1", "X-Forwarded-For: 203.0.113.9\r\n", nullptr, &peer);
  EXPECT_EQ(text_of(peer), "192.0.2.1");
  // No header: the peer itself.
  f.admit("/", "127.0.0.1", "", nullptr, &peer);
  EXPECT_EQ(text_of(peer), "127.0.0.1");
}

TEST(AccessStageRealIp, OtherHeaderAndLimitsKeyedByTheRealClient) {
  AccessOptions o = one_zone("zone=one rate=1r/m nodelay");
  o.real_ip_from = {cidr("10.0.0.0/8")};
  o.real_ip_header = "X-Real-IP";
  StageFixture f(o);
  PeerAddress peer;
  EXPECT_EQ(f.admit("/", "10.0.0.2", "X-Real-IP: 2001:db8::9\r\n", nullptr, &peer).outcome,
            AccessVerdict::kPass);
  EXPECT_EQ(text_of(peer), "2001:db8::9");
  // The same proxy for another client: its own budget.
  EXPECT_EQ(f.admit("/", "10.0.0.2", "X-Real-IP: 2001:db8::10\r\n").outcome, AccessVerdict::kPass);
  // The first client again, through another trusted proxy: refused.
  EXPECT_EQ(f.admit("/", "10.0.0.3", "X-Real-IP: 2001:db8::9\r\n").outcome, AccessVerdict::kRefuse);
  // X-Forwarded-For is not the configured header: the proxy itself is the client.
  f.admit("/", "10.0.0.2", "X-Forwarded-For: 192.0.2.1\r\n", nullptr, &peer);
  EXPECT_EQ(text_of(peer), "10.0.0.2");
  EXPECT_EQ(f.entries(0), 3u);
}

TEST(AccessStageRealIp, AllowListAppliesToTheRealClient) {
  AccessOptions o = one_zone("zone=one rate=1r/m nodelay");
  o.real_ip_from = {cidr("10.0.0.0/8")};
  o.limit_req_allow = {cidr("10.0.0.0/8")};  // the proxies' own requests are not limited...
  StageFixture f(o);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(f.admit("/", "10.0.0.1").outcome, AccessVerdict::kPass);
  // ...but the clients they forward are.
  EXPECT_EQ(f.admit("/", "10.0.0.1", "X-Forwarded-For: 192.0.2.5\r\n").outcome,
            AccessVerdict::kPass);
  EXPECT_EQ(f.admit("/", "10.0.0.1", "X-Forwarded-For: 192.0.2.5\r\n").outcome,
            AccessVerdict::kRefuse);
}

TEST(AccessStageFields, RateLimitFieldsDescribeTheZone) {
  AccessOptions o = one_zone("zone=one rate=20r/s burst=10 nodelay");
  o.limit_req_headers = true;
  StageFixture f(o);
  std::string fields;
  AccessVerdict v = f.admit("/", "192.0.2.1", "", &fields);
  EXPECT_EQ(v.outcome, AccessVerdict::kPass);
  // q: burst + 1; w: 11 x 50 ms, at least 1 s; r: 10 more now; t: 50 ms to full, rounded up.
  EXPECT_EQ(fields, "RateLimit-Policy: \"one\";q=11;w=1\r\nRateLimit: \"one\";r=10;t=1\r\n");
  EXPECT_EQ(v.extra_len, fields.size());
  v = f.admit("/", "192.0.2.1", "", &fields);
  EXPECT_EQ(fields, "RateLimit-Policy: \"one\";q=11;w=1\r\nRateLimit: \"one\";r=9;t=1\r\n");
  for (int i = 0; i < 9; ++i) f.admit("/", "192.0.2.1");
  v = f.admit("/", "192.0.2.1", "", &fields);
  ASSERT_EQ(v.outcome, AccessVerdict::kRefuse);
  EXPECT_EQ(fields, "RateLimit-Policy: \"one\";q=11;w=1\r\nRateLimit: \"one\";r=0;t=" +
                        std::to_string(v.retry_after_s) + "\r\n");
  EXPECT_EQ(v.extra_len, fields.size());
}

TEST(AccessStageFields, OneItemPerZoneApplied) {
  AccessOptions o;
  o.limit_req.push_back(spec("zone=one rate=20r/s burst=10 nodelay"));
  o.limit_req.push_back(spec("zone=two rate=1r/m burst=2 nodelay path=/api"));
  o.limit_req_headers = true;
  StageFixture f(o);
  std::string fields;
  f.admit("/api", "192.0.2.1", "", &fields);
  EXPECT_EQ(fields,
            "RateLimit-Policy: \"one\";q=11;w=1, \"two\";q=3;w=180\r\n"
            "RateLimit: \"one\";r=10;t=1, \"two\";r=2;t=60\r\n");
  f.admit("/page", "192.0.2.1", "", &fields);  // only one applies
  EXPECT_EQ(fields.find("two"), std::string::npos) << fields;
  EXPECT_TRUE(fields.starts_with("RateLimit-Policy: \"one\";q=11;w=1\r\nRateLimit: \"one\";r="))
      << fields;
}

TEST(AccessStageFields, NoneWithoutTheOptionOrWithoutAZone) {
  StageFixture off(one_zone("zone=one rate=20r/s burst=10 nodelay"));
  std::string fields = "x";
  EXPECT_EQ(off.admit("/", "192.0.2.1", "", &fields).extra_len, 0u);
  EXPECT_TRUE(fields.empty());
  AccessOptions o = one_zone("zone=one rate=20r/s burst=10 nodelay path=/api");
  o.limit_req_headers = true;
  StageFixture on(o);
  EXPECT_EQ(on.admit("/other", "192.0.2.1", "", &fields).extra_len, 0u);
}

TEST(AccessStageFields, FieldsThatDoNotFitAreLeftOut) {
  AccessOptions o = one_zone("zone=one rate=20r/s burst=10 nodelay");
  o.limit_req_headers = true;
  StageFixture f(o);
  test::ParsedRequest p("/");
  PeerAddress peer = addr("192.0.2.1");
  char small[20];
  AccessVerdict v = f.stage->admit(p.view, &peer, small);
  EXPECT_EQ(v.outcome, AccessVerdict::kPass);
  EXPECT_EQ(v.extra_len, 0u);
}

TEST(AccessStageDelay, ExcessWithinTheBurstIsDelayedWithoutNodelay) {
  StageFixture f(one_zone("zone=one rate=1r/s burst=5"));
  AccessVerdict first = f.admit("/", "192.0.2.1");
  EXPECT_EQ(first.outcome, AccessVerdict::kPass);
  AccessVerdict second = f.admit("/", "192.0.2.1");
  ASSERT_EQ(second.outcome, AccessVerdict::kDelay);
  EXPECT_GT(second.delay_us, 0u);
  EXPECT_LE(second.delay_us, 1'000'000u);
  AccessVerdict third = f.admit("/", "192.0.2.1");
  ASSERT_EQ(third.outcome, AccessVerdict::kDelay);
  EXPECT_GT(third.delay_us, second.delay_us);  // one more interval behind
  EXPECT_LE(third.delay_us, 2'000'000u);
  EXPECT_EQ(f.counters[0].table.passed, 1u);
  EXPECT_EQ(f.counters[0].table.delayed, 2u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(f.admit("/", "192.0.2.1").outcome, AccessVerdict::kDelay);
  EXPECT_EQ(f.admit("/", "192.0.2.1").outcome, AccessVerdict::kRefuse);  // burst used up
}

TEST(AccessStageDelay, DelayParameterServesThatManyAtOnce) {
  StageFixture f(one_zone("zone=one rate=1r/s burst=5 delay=2"));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(f.admit("/", "192.0.2.1").outcome, AccessVerdict::kPass);
  AccessVerdict v = f.admit("/", "192.0.2.1");
  EXPECT_EQ(v.outcome, AccessVerdict::kDelay);
  EXPECT_GT(v.delay_us, 0u);
}

TEST(AccessStageDelay, DryRunNeverDelays) {
  AccessOptions o = one_zone("zone=one rate=1r/s burst=5");
  o.limit_req_dry_run = true;
  StageFixture f(o);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(f.admit("/", "192.0.2.1").outcome, AccessVerdict::kPass);
  EXPECT_EQ(f.counters[0].table.delayed, 5u);
  EXPECT_EQ(f.counters[0].dry_run_rejected, 2u);
}

}  // namespace
}  // namespace zhttp::handlers::access
