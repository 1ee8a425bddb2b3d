// The shared cache's policy (RFC 9111 subset): which requests look up, revalidate, bypass or
// invalidate; Cache-Control parsing; which responses are stored and for how long (precedence of
// s-maxage, max-age and the handler's TTL); the stale windows and their bound; Vary; Age growing
// with time; the Cache-Status field.
#include "handlers/cache/cache_policy.hpp"

#include <gtest/gtest.h>

#include <string>

namespace zhttp::handlers::cache {
namespace {

CacheRequest get() {
  return CacheRequest{};
}

TEST(CachePolicyRequest, GetAndHeadLookUpOthersBypassUnsafeOnesInvalidate) {
  CachePolicyOptions o;
  CacheRequest r = get();
  EXPECT_EQ(classify_request(r, o), RequestUse::kLookup);
  r.method = Method::kHead;
  EXPECT_EQ(classify_request(r, o), RequestUse::kLookup);
  for (Method m : {Method::kPost, Method::kPut, Method::kPatch, Method::kDelete}) {
    r.method = m;
    EXPECT_EQ(classify_request(r, o), RequestUse::kInvalidate);
  }
  for (Method m : {Method::kOptions, Method::kTrace, Method::kConnect, Method::kExtension}) {
    r.method = m;
    EXPECT_EQ(classify_request(r, o), RequestUse::kBypass);
  }
}

TEST(CachePolicyRequest, CredentialsBypassUnlessAllowed) {
  CachePolicyOptions o;
  CacheRequest r = get();
  r.has_authorization = true;
  EXPECT_EQ(classify_request(r, o), RequestUse::kBypass);
  o.allow_authorization = true;
  EXPECT_EQ(classify_request(r, o), RequestUse::kLookup);
  r = get();
  r.has_cookie = true;
  EXPECT_EQ(classify_request(r, o), RequestUse::kBypass);
  o.allow_cookie = true;
  EXPECT_EQ(classify_request(r, o), RequestUse::kLookup);
}

TEST(CachePolicyRequest, RequestNoStoreBypassesAndNoCacheRevalidates) {
  CachePolicyOptions o;
  CacheRequest r = get();
  r.cache_control = "no-store";
  EXPECT_EQ(classify_request(r, o), RequestUse::kBypass);
  r.cache_control = "max-age=0, No-Cache";
  EXPECT_EQ(classify_request(r, o), RequestUse::kRevalidate);
  r.cache_control = "";
  r.pragma = "no-cache";
  EXPECT_EQ(classify_request(r, o), RequestUse::kRevalidate);
  r.cache_control = "max-age=10";  // Cache-Control wins over Pragma
  EXPECT_EQ(classify_request(r, o), RequestUse::kLookup);
}

TEST(CachePolicyCacheControl, Directives) {
  CacheControl cc = parse_cache_control(
      "public, max-age=60, s-maxage=\"30\", stale-while-revalidate=5, stale-if-error=600, "
      "Must-Revalidate, foo=\"a,b\", bar");
  EXPECT_TRUE(cc.public_);
  EXPECT_EQ(cc.max_age, 60);
  EXPECT_EQ(cc.s_maxage, 30);
  EXPECT_EQ(cc.stale_while_revalidate, 5);
  EXPECT_EQ(cc.stale_if_error, 600);
  EXPECT_TRUE(cc.must_revalidate);
  EXPECT_FALSE(cc.no_store || cc.no_cache || cc.private_);
  cc = parse_cache_control("private=\"Set-Cookie\", no-cache=\"X\", no-store");
  EXPECT_TRUE(cc.private_ && cc.no_cache && cc.no_store);
  cc = parse_cache_control("max-age=abc, s-maxage=-1, max-age");
  EXPECT_EQ(cc.s_maxage, -1);
  EXPECT_EQ(cc.max_age, -1);
  cc = parse_cache_control("max-age=99999999999999999999");
  EXPECT_EQ(cc.max_age, 2147483648);  // overflow: the RFC's largest
  cc = parse_cache_control("proxy-revalidate");
  EXPECT_TRUE(cc.must_revalidate);
}

CacheResponse response(std::string_view cache_control) {
  CacheResponse r;
  r.cache_control = cache_control;
  return r;
}

TEST(CachePolicyStore, FreshnessPrecedenceSMaxageThenMaxAgeThenTheHandler) {
  CachePolicyOptions o;
  CacheResponse r = response("max-age=60, s-maxage=10");
  r.handler_ttl_s = 99;
  EXPECT_EQ(decide_store(r, o).ttl_s, 10u);
  r.cache_control = "max-age=60";
  EXPECT_EQ(decide_store(r, o).ttl_s, 60u);
  r.cache_control = "";
  EXPECT_EQ(decide_store(r, o).ttl_s, 99u);
  r.handler_ttl_s = -1;
  StoreDecision d = decide_store(r, o);
  EXPECT_FALSE(d.store);
  EXPECT_EQ(d.reason, "no freshness");
  r.cache_control = "max-age=0";
  r.handler_ttl_s = 99;  // the response's own word wins, even against the handler
  d = decide_store(r, o);
  EXPECT_FALSE(d.store);
  EXPECT_EQ(d.reason, "max-age=0");
}

TEST(CachePolicyStore, OnlyCacheableStatusesAndCompleteResponses) {
  CachePolicyOptions o;
  for (uint16_t s : {200, 203, 204, 301, 404, 410}) {
    CacheResponse r = response("max-age=5");
    r.status = s;
    EXPECT_TRUE(decide_store(r, o).store) << s;
  }
  for (uint16_t s : {201, 206, 302, 304, 307, 400, 403, 500, 503}) {
    CacheResponse r = response("max-age=5");
    r.status = s;
    StoreDecision d = decide_store(r, o);
    EXPECT_FALSE(d.store) << s;
    EXPECT_EQ(d.reason, "status");
  }
  CacheResponse r = response("max-age=5");
  r.complete = false;
  EXPECT_EQ(decide_store(r, o).reason, "incomplete");
}

TEST(CachePolicyStore, NeverStoredDirectivesSetCookieAndVaryStar) {
  CachePolicyOptions o;
  for (std::string_view cc : {"no-store, max-age=5", "private, max-age=5", "no-cache, max-age=5",
                              "max-age=5, private=\"Set-Cookie\""}) {
    EXPECT_FALSE(decide_store(response(cc), o).store) << cc;
  }
  CacheResponse r = response("max-age=5");
  r.has_set_cookie = true;
  EXPECT_EQ(decide_store(r, o).reason, "set-cookie");
  r = response("max-age=5");
  r.vary = "Accept-Encoding, *";
  EXPECT_EQ(decide_store(r, o).reason, "vary");
  r.vary = "Accept-Encoding, Accept-Language";
  EXPECT_TRUE(decide_store(r, o).store);
}

TEST(CachePolicyStore, AResponseToAuthorizationNeedsPublicSMaxageOrMustRevalidate) {
  CachePolicyOptions o;
  CacheResponse r = response("max-age=5");
  r.has_authorization_request = true;
  EXPECT_EQ(decide_store(r, o).reason, "authorization");
  for (std::string_view cc : {"public, max-age=5", "s-maxage=5", "max-age=5, must-revalidate"}) {
    r.cache_control = cc;
    EXPECT_TRUE(decide_store(r, o).store) << cc;
  }
  r.cache_control = "max-age=5";
  o.allow_authorization = true;
  EXPECT_TRUE(decide_store(r, o).store);
}

TEST(CachePolicyStore, StaleWindowsAreBoundedAndNeverWithMustRevalidate) {
  CachePolicyOptions o;
  o.max_stale_s = 30;
  StoreDecision d =
      decide_store(response("max-age=5, stale-while-revalidate=10, stale-if-error=600"), o);
  EXPECT_EQ(d.stale_while_revalidate_s, 10u);
  EXPECT_EQ(d.stale_if_error_s, 30u);
  d = decide_store(response("max-age=5, stale-while-revalidate=10, must-revalidate"), o);
  EXPECT_TRUE(d.store);
  EXPECT_EQ(d.stale_while_revalidate_s, 0u);
}

TEST(CachePolicyVary, FieldNamesAndLimits) {
  std::string_view names[4];
  EXPECT_EQ(vary_fields("Accept-Encoding,  accept-language ,", names), 2);
  EXPECT_EQ(names[0], "Accept-Encoding");
  EXPECT_EQ(names[1], "accept-language");
  EXPECT_EQ(vary_fields("", names), 0);
  EXPECT_EQ(vary_fields("*", names), -1);
  EXPECT_EQ(vary_fields("a, b, c, d, e", names), -1);  // more than fit
  EXPECT_EQ(vary_fields(std::string(32, 'x'), names), -1);
}

TEST(CachePolicyAge, GrowsWithTimeFromWhatItCarried) {
  EXPECT_EQ(age_of(0, 1000, 1000), 0u);
  EXPECT_EQ(age_of(0, 1000, 1007), 7u);
  EXPECT_EQ(age_of(3, 1000, 1007), 10u);
  EXPECT_EQ(age_of(3, 1000, 990), 3u);  // a clock that went back adds nothing
}

TEST(CachePolicyStatus, CacheStatusField) {
  char out[kCacheStatusBytes];
  auto text = [&](CacheOutcome o, int64_t ttl, std::string_view detail = {}) {
    return std::string(out, format_cache_status(o, ttl, detail, out));
  };
  EXPECT_EQ(text(CacheOutcome::kHit, 42), "zhttpd; hit; ttl=42");
  EXPECT_EQ(text(CacheOutcome::kStaleHit, -3), "zhttpd; hit; ttl=-3");
  EXPECT_EQ(text(CacheOutcome::kMissStored, 0), "zhttpd; fwd=miss; stored");
  EXPECT_EQ(text(CacheOutcome::kMiss, 0, "no-store"), "zhttpd; fwd=miss; detail=\"no-store\"");
  EXPECT_EQ(text(CacheOutcome::kBypass, 0), "zhttpd; fwd=bypass");
  EXPECT_EQ(text(CacheOutcome::kRevalidated, 0), "zhttpd; fwd=request; stored");
  EXPECT_EQ(text(CacheOutcome::kMiss, 0, "a\"b"), "zhttpd; fwd=miss; detail=\"a\"");
}

}  // namespace
}  // namespace zhttp::handlers::cache
