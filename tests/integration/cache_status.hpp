#pragma once
// What a response's Cache-Status field (RFC 9211) says about the shared cache (issue 11):
//   "zhttpd; hit; ttl=N" fresh, "zhttpd; hit; ttl=-N" stale, "zhttpd; fwd=miss; stored",
//   "zhttpd; fwd=miss; detail=\"...\"" (not stored), "zhttpd; fwd=bypass".
#include <string>

#include "http_load.hpp"

namespace zhttp::test {

inline std::string cache_status(const HttpResponse& r) {
  return r.field("Cache-Status").value_or("");
}

// Served from the cache, fresh or stale.
inline bool cache_hit(const HttpResponse& r) {
  return cache_status(r).rfind("zhttpd; hit", 0) == 0;
}

// Served from the cache while fresh: "ttl=" and no minus sign.
inline bool fresh_hit(const HttpResponse& r) {
  std::string s = cache_status(r);
  return cache_hit(r) && s.find("ttl=") != std::string::npos &&
         s.find("ttl=-") == std::string::npos;
}

// Forwarded to the handler and stored.
inline bool stored_miss(const HttpResponse& r) {
  std::string s = cache_status(r);
  return s.rfind("zhttpd; fwd=miss", 0) == 0 && s.find("; stored") != std::string::npos;
}

}  // namespace zhttp::test
