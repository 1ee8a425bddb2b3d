#pragma once
// What the shared response cache may do with a request and a response (RFC 9111, the subset a
// shared cache must get right; RFC 5861 for the stale extensions): which requests look up, bypass
// or invalidate; which responses are stored and for how long; the Age of a hit; the Cache-Status
// field (RFC 9211). Pure functions over header values: no I/O, no allocation.
#include <cstdint>
#include <span>
#include <string_view>

#include "zhttp/method.hpp"

namespace zhttp::handlers::cache {

struct CachePolicyOptions {
  bool allow_authorization = false;  // store and serve for requests with Authorization
  bool allow_cookie = false;         // ... with Cookie
  uint32_t max_stale_s = 60;         // bound on stale-while-revalidate and stale-if-error
};

// A request as the cache sees it: the method and the fields that matter.
struct CacheRequest {
  Method method = Method::kGet;
  bool has_authorization = false;
  bool has_cookie = false;
  std::string_view cache_control = {};  // the request's own (only no-store and no-cache matter)
  std::string_view pragma = {};         // "no-cache" as no-cache, when there is no Cache-Control
};

enum class RequestUse : uint8_t {
  kLookup,      // GET or HEAD: answer from the cache, or fill it (HEAD from the GET entry)
  kRevalidate,  // GET or HEAD with no-cache: do not answer from the cache, but store the answer
  kBypass,      // neither looked up nor stored (another method, credentials, no-store)
  kInvalidate,  // POST, PUT, PATCH, DELETE: a success removes the URL's entries (4.4)
};
RequestUse classify_request(const CacheRequest& request, const CachePolicyOptions& options);

// The directives of a Cache-Control field the cache acts on. Unknown directives are ignored; a
// malformed delta-seconds leaves its directive unset (-1) but a present no-store/private/no-cache
// still counts (qualified forms such as private="Set-Cookie" count as the whole directive).
struct CacheControl {
  bool no_store = false;
  bool no_cache = false;
  bool private_ = false;
  bool public_ = false;
  bool must_revalidate = false;  // must-revalidate or proxy-revalidate: never served stale
  int64_t max_age = -1;          // seconds; -1: absent
  int64_t s_maxage = -1;
  int64_t stale_while_revalidate = -1;
  int64_t stale_if_error = -1;
};
CacheControl parse_cache_control(std::string_view value);

// A response as the cache sees it, once the handler answered in full.
struct CacheResponse {
  uint16_t status = 200;
  bool complete = true;  // a whole response with a known length (not streamed or cut short)
  std::string_view cache_control = {};
  std::string_view vary = {};  // the Vary field ("" if none)
  bool has_set_cookie = false;
  bool has_authorization_request = false;  // the request carried Authorization (3.5)
  int64_t handler_ttl_s = -1;              // the handler's own "cache for N seconds" (-1: none)
};

struct StoreDecision {
  bool store = false;
  uint32_t ttl_s = 0;                     // fresh for this long from storage
  uint32_t stale_while_revalidate_s = 0;  // then servable stale while one request refreshes
  uint32_t stale_if_error_s = 0;          // then servable stale when the refresh fails
  std::string_view reason;  // why not (for Cache-Status detail and the logs): "" when stored
};
// Freshness: s-maxage, then max-age, then the handler's TTL; nothing (or 0): not stored. Never
// stored: a status not in 200, 203, 204, 301, 404, 410; an incomplete response; no-store,
// private, no-cache; Set-Cookie; Vary: *; a response to a request with Authorization unless
// public, s-maxage or must-revalidate allow it (3.5) or the options do. Stale windows are
// bounded by options.max_stale_s and never granted with must-revalidate.
StoreDecision decide_store(const CacheResponse& response, const CachePolicyOptions& options);

// The names a Vary field lists, as written, into `names` (at most names.size(), each at most 31
// bytes); the count, or -1 for "*" or a list that does not fit (then the response is not stored).
int vary_fields(std::string_view vary, std::span<std::string_view> names);

// The Age of a hit (RFC 9111 4.2.3): what it carried when stored plus the time it spent stored.
inline uint32_t age_of(uint32_t age_when_stored, int64_t stored_at_s, int64_t now_s) {
  int64_t resident = now_s > stored_at_s ? now_s - stored_at_s : 0;
  return age_when_stored + static_cast<uint32_t>(resident);
}

// The Cache-Status field value (RFC 9211) into out (room >= kCacheStatusBytes); its length.
enum class CacheOutcome : uint8_t {
  kHit,          // zhttpd; hit; ttl=N
  kStaleHit,     // zhttpd; hit; ttl=-N (N seconds past freshness); fwd-status absent
  kMissStored,   // zhttpd; fwd=miss; stored
  kMiss,         // zhttpd; fwd=miss (not stored; detail="REASON" when known)
  kBypass,       // zhttpd; fwd=bypass
  kRevalidated,  // zhttpd; fwd=request; stored (the request asked for no-cache)
};
inline constexpr size_t kCacheStatusBytes = 96;
size_t format_cache_status(CacheOutcome outcome, int64_t ttl_s, std::string_view detail, char* out);

}  // namespace zhttp::handlers::cache
