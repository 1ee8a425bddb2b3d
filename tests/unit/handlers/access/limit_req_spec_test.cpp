// --limit-req rules (handlers/access/limit_req_spec.hpp): every documented form and the GCRA rule
// it gives, and every rejection with its reason.
#include "handlers/access/limit_req_spec.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace zhttp::handlers::access {
namespace {

using ::testing::HasSubstr;

LimitReqSpec parsed(std::string_view text) {
  LimitReqSpec spec;
  std::string error;
  EXPECT_TRUE(parse_limit_req(text, &spec, &error)) << text << ": " << error;
  return spec;
}

std::string rejected(std::string_view text) {
  LimitReqSpec spec;
  spec.zone = "untouched";
  std::string error;
  EXPECT_FALSE(parse_limit_req(text, &spec, &error)) << text;
  EXPECT_EQ(spec.zone, "untouched") << text;  // nothing written on failure
  EXPECT_FALSE(error.empty()) << text;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;  // one line
  return error;
}

TEST(LimitReqSpecParse, MinimalRuleHasTheDefaults) {
  LimitReqSpec s = parsed("zone=one rate=10r/s");
  EXPECT_EQ(s.text, "zone=one rate=10r/s");
  EXPECT_EQ(s.zone, "one");
  EXPECT_EQ(s.count, 10u);
  EXPECT_EQ(s.period_us, 1'000'000u);
  EXPECT_EQ(s.rule.interval_us, 100'000u);
  EXPECT_EQ(s.rule.burst, 0u);
  EXPECT_EQ(s.rule.delay, 0u);
  EXPECT_FALSE(s.nodelay);
  EXPECT_EQ(s.key, LimitReqSpec::Key::kAddress);
  EXPECT_EQ(s.v4_prefix, 32);
  EXPECT_EQ(s.v6_prefix, 128);
  EXPECT_EQ(s.path, "/");
  EXPECT_EQ(s.slots, kDefaultZoneSlots);
  EXPECT_TRUE(s.rule.valid());
}

TEST(LimitReqSpecParse, RateUnits) {
  EXPECT_EQ(parsed("zone=z rate=50r/s").rule.interval_us, 20'000u);
  EXPECT_EQ(parsed("zone=z rate=3r/s").rule.interval_us, 333'334u);  // rounded up
  LimitReqSpec m = parsed("zone=z rate=30r/m");
  EXPECT_EQ(m.period_us, 60'000'000u);
  EXPECT_EQ(m.rule.interval_us, 2'000'000u);
  LimitReqSpec h = parsed("zone=z rate=7r/h");
  EXPECT_EQ(h.period_us, 3'600'000'000u);
  EXPECT_EQ(h.rule.interval_us, 514'285'715u);  // ceil(3600 s / 7)
  EXPECT_EQ(parsed("zone=z rate=1000000000r/s").rule.interval_us, 1u);
}

TEST(LimitReqSpecParse, BurstNodelayAndDelay) {
  LimitReqSpec plain = parsed("zone=z rate=10r/s burst=5");
  EXPECT_EQ(plain.burst, 5u);
  EXPECT_EQ(plain.rule.burst, 5u);
  EXPECT_EQ(plain.rule.delay, 0u);  // every excess request is delayed

  LimitReqSpec nodelay = parsed("zone=z rate=10r/s burst=5 nodelay");
  EXPECT_TRUE(nodelay.nodelay);
  EXPECT_EQ(nodelay.rule.burst, 5u);
  EXPECT_EQ(nodelay.rule.delay, 5u);  // none is

  LimitReqSpec delayed = parsed("zone=z rate=10r/s burst=5 delay=2");
  EXPECT_EQ(delayed.delay, 2u);
  EXPECT_EQ(delayed.rule.delay, 2u);
  EXPECT_EQ(parsed("zone=z rate=10r/s burst=5 delay=5").rule.delay, 5u);  // delay = burst is fine
  EXPECT_EQ(parsed("zone=z rate=10r/s burst=0").rule.burst, 0u);
}

TEST(LimitReqSpecParse, Keys) {
  LimitReqSpec addr = parsed("zone=z rate=1r/s key=addr");
  EXPECT_EQ(addr.key, LimitReqSpec::Key::kAddress);
  EXPECT_EQ(addr.v4_prefix, 32);
  EXPECT_EQ(addr.v6_prefix, 128);

  LimitReqSpec p64 = parsed("zone=z rate=1r/s key=addr/64");
  EXPECT_EQ(p64.key, LimitReqSpec::Key::kAddress);
  EXPECT_EQ(p64.v6_prefix, 64);
  EXPECT_EQ(p64.v4_prefix, 32);

  LimitReqSpec p24 = parsed("zone=z rate=1r/s key=addr/24");
  EXPECT_EQ(p24.v4_prefix, 24);
  EXPECT_EQ(p24.v6_prefix, 24);

  LimitReqSpec p1 = parsed("zone=z rate=1r/s key=addr/1");
  EXPECT_EQ(p1.v4_prefix, 1);
  EXPECT_EQ(p1.v6_prefix, 1);
  LimitReqSpec p128 = parsed("zone=z rate=1r/s key=addr/128");
  EXPECT_EQ(p128.v4_prefix, 32);
  EXPECT_EQ(p128.v6_prefix, 128);

  LimitReqSpec header = parsed("zone=z rate=1r/s key=header:X-Api-Key");
  EXPECT_EQ(header.key, LimitReqSpec::Key::kHeader);
  EXPECT_EQ(header.header, "X-Api-Key");
}

TEST(LimitReqSpecParse, PathAndSize) {
  LimitReqSpec s = parsed("zone=api rate=1r/s path=/api/ size=1024");
  EXPECT_EQ(s.path, "/api/");
  EXPECT_EQ(s.slots, 1024u);
  EXPECT_EQ(parsed("zone=z rate=1r/s size=8").slots, kMinZoneSlots);
  EXPECT_EQ(parsed("zone=z rate=1r/s size=16777216").slots, kMaxZoneSlots);
}

TEST(LimitReqSpecParse, EveryParameterInAnyOrderWithBlanks) {
  LimitReqSpec s = parsed(
      "  burst=20\tkey=header:X-Api-Key  path=/v1 delay=4 size=64 rate=120r/m zone=Zone_1-a ");
  EXPECT_EQ(s.zone, "Zone_1-a");
  EXPECT_EQ(s.rule.interval_us, 500'000u);
  EXPECT_EQ(s.rule.burst, 20u);
  EXPECT_EQ(s.rule.delay, 4u);
  EXPECT_EQ(s.header, "X-Api-Key");
  EXPECT_EQ(s.path, "/v1");
  EXPECT_EQ(s.slots, 64u);
}

TEST(LimitReqSpecParse, ZoneNameOf31CharactersIsTheLongest) {
  EXPECT_EQ(parsed("zone=" + std::string(31, 'a') + " rate=1r/s").zone, std::string(31, 'a'));
  EXPECT_THAT(rejected("zone=" + std::string(32, 'a') + " rate=1r/s"),
              HasSubstr("a name of 1-31 characters"));
}

TEST(LimitReqSpecParse, WindowIsTheTimeAFullBurstTakesToRefill) {
  EXPECT_EQ(parsed("zone=z rate=10r/s").window_s(), 1u);           // 0.1 s: at least 1
  EXPECT_EQ(parsed("zone=z rate=10r/s burst=9").window_s(), 1u);   // exactly 1 s
  EXPECT_EQ(parsed("zone=z rate=10r/s burst=10").window_s(), 2u);  // 1.1 s, rounded up
  EXPECT_EQ(parsed("zone=z rate=1r/m burst=2").window_s(), 180u);  // 3 minutes
}

TEST(LimitReqSpecReject, MissingZoneOrRate) {
  EXPECT_THAT(rejected("rate=10r/s"), HasSubstr("zone=NAME is missing"));
  EXPECT_THAT(rejected(""), HasSubstr("zone=NAME is missing"));
  EXPECT_THAT(rejected("zone=one"), HasSubstr("rate=N{r/s|r/m|r/h} is missing"));
  EXPECT_THAT(rejected("zone= rate=1r/s"), HasSubstr("a name of 1-31 characters"));
}

TEST(LimitReqSpecReject, BadRates) {
  EXPECT_THAT(rejected("zone=z rate=0r/s"), HasSubstr("rate=0r/s: the rate must be 1-1000000000"));
  EXPECT_THAT(rejected("zone=z rate=5r/d"),
              HasSubstr("rate=5r/d: the unit must be r/s, r/m or r/h"));
  EXPECT_THAT(rejected("zone=z rate=10"), HasSubstr("rate=10: expected N r/s"));
  EXPECT_THAT(rejected("zone=z rate=r/s"), HasSubstr("expected N r/s"));
  EXPECT_THAT(rejected("zone=z rate=-1r/s"), HasSubstr("expected N r/s"));
  EXPECT_THAT(rejected("zone=z rate=1000000001r/s"), HasSubstr("rate=1000000001r/s"));
}

TEST(LimitReqSpecReject, BadBurstAndDelay) {
  EXPECT_THAT(rejected("zone=z rate=1r/s burst=x"), HasSubstr("burst=x: expected 0-1000000"));
  EXPECT_THAT(rejected("zone=z rate=1r/s burst="), HasSubstr("burst=: expected"));
  EXPECT_THAT(rejected("zone=z rate=1r/s burst=1000001"), HasSubstr("burst=1000001"));
  EXPECT_THAT(rejected("zone=z rate=1r/s burst=5 nodelay delay=2"),
              HasSubstr("nodelay and delay= exclude each other"));
  EXPECT_THAT(rejected("zone=z rate=1r/s burst=5 delay=6"), HasSubstr("delay=6 is above burst=5"));
  EXPECT_THAT(rejected("zone=z rate=1r/s delay=1"), HasSubstr("delay=1 is above burst=0"));
  EXPECT_THAT(rejected("zone=z rate=1r/s burst=5 delay=x"), HasSubstr("delay=x: expected"));
}

TEST(LimitReqSpecReject, BadKeys) {
  EXPECT_THAT(rejected("zone=z rate=1r/s key=foo"),
              HasSubstr("key=foo: expected addr, addr/PREFIX or header:NAME"));
  EXPECT_THAT(rejected("zone=z rate=1r/s key=addr/0"), HasSubstr("the prefix must be 1-128"));
  EXPECT_THAT(rejected("zone=z rate=1r/s key=addr/129"), HasSubstr("key=addr/129"));
  EXPECT_THAT(rejected("zone=z rate=1r/s key=addr/"), HasSubstr("the prefix must be 1-128"));
  EXPECT_THAT(rejected("zone=z rate=1r/s key=header:"), HasSubstr("needs a header name"));
  EXPECT_THAT(rejected("zone=z rate=1r/s key=header:X(Y)"), HasSubstr("not a header name"));
}

TEST(LimitReqSpecReject, BadPathAndSize) {
  EXPECT_THAT(rejected("zone=z rate=1r/s path=relative"),
              HasSubstr("path=relative: a path prefix starting with /"));
  EXPECT_THAT(rejected("zone=z rate=1r/s path="), HasSubstr("starting with /"));
  EXPECT_THAT(rejected("zone=z rate=1r/s size=7"), HasSubstr("size=7: expected 8-16777216"));
  EXPECT_THAT(rejected("zone=z rate=1r/s size=16777217"), HasSubstr("size=16777217"));
  EXPECT_THAT(rejected("zone=z rate=1r/s size=big"), HasSubstr("size=big"));
}

TEST(LimitReqSpecReject, BadZoneNames) {
  // A blank ends the name: what follows is an unknown word.
  EXPECT_THAT(rejected("zone=my zone rate=1r/s"), HasSubstr("unknown parameter zone"));
  EXPECT_THAT(rejected("zone=a.b rate=1r/s"), HasSubstr("only letters, digits, _ and -"));
  EXPECT_THAT(rejected("zone=a/b rate=1r/s"), HasSubstr("only letters"));
}

TEST(LimitReqSpecReject, UnknownParameters) {
  EXPECT_THAT(rejected("zone=z rate=1r/s speed=3"), HasSubstr("unknown parameter speed="));
  EXPECT_THAT(rejected("zone=z rate=1r/s fast"), HasSubstr("unknown parameter fast"));
  EXPECT_THAT(rejected("zone=z rate=1r/s NODELAY"), HasSubstr("unknown parameter NODELAY"));
}

TEST(LimitReqSpecReject, BurstSpanningMoreThan50DaysIsInvalid) {
  // At 1 r/h, (burst + 1) hours must stay below 2^42 us (50.9 days): 1221 hours is too long.
  LimitReqSpec ok = parsed("zone=z rate=1r/h burst=1220");
  EXPECT_TRUE(ok.rule.valid());
  EXPECT_THAT(rejected("zone=z rate=1r/h burst=1221"), HasSubstr("spans more than 50 days"));
  EXPECT_THAT(rejected("zone=z rate=1r/h burst=1000000 nodelay"), HasSubstr("50 days"));
}

}  // namespace
}  // namespace zhttp::handlers::access
