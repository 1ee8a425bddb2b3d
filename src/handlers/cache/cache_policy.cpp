#include "handlers/cache/cache_policy.hpp"

#include <algorithm>
#include <cstring>

#include "handlers/common/ascii_case.hpp"
#include "zhttp/response_writer.hpp"

namespace zhttp::handlers::cache {
namespace {

constexpr int64_t kMaxDelta = 2147483648;  // RFC 9111 1.2.2: an overflowing delta-seconds

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls take(item) for each comma-separated item of a field value, a quoted-string kept whole.
template <class Take>
void for_each_item(std::string_view value, Take take) {
  size_t start = 0;
  bool quoted = false;
  for (size_t i = 0; i <= value.size(); ++i) {
    if (i < value.size()) {
      char c = value[i];
      if (quoted && c == '\\') {
        ++i;
        continue;
      }
      if (c == '"') quoted = !quoted;
      if (c != ',' || quoted) continue;
    }
    std::string_view item = trim(value.substr(start, i - start));
    if (!item.empty()) take(item);
    start = i + 1;
  }
}

// delta-seconds: 1*DIGIT, possibly quoted (a common mistake that caches accept); -1 if not one.
int64_t delta_seconds(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.empty()) return -1;
  int64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return -1;
    n = std::min(n * 10 + (c - '0'), kMaxDelta);
  }
  return n;
}

bool storable_status(uint16_t status) {
  switch (status) {
    case 200:
    case 203:
    case 204:
    case 301:
    case 404:
    case 410:
      return true;
    default:
      return false;
  }
}

uint32_t bounded(int64_t seconds, uint32_t bound) {
  if (seconds <= 0) return 0;
  return static_cast<uint32_t>(std::min<int64_t>(seconds, bound));
}

}  // namespace

CacheControl parse_cache_control(std::string_view value) {
  CacheControl cc;
  for_each_item(value, [&cc](std::string_view item) {
    size_t eq = item.find('=');
    std::string_view name = trim(item.substr(0, eq));
    std::string_view arg =
        eq == std::string_view::npos ? std::string_view() : trim(item.substr(eq + 1));
    if (common::equal_nocase(name, "no-store")) {
      cc.no_store = true;
    } else if (common::equal_nocase(name, "no-cache")) {
      cc.no_cache = true;
    } else if (common::equal_nocase(name, "private")) {
      cc.private_ = true;
    } else if (common::equal_nocase(name, "public")) {
      cc.public_ = true;
    } else if (common::equal_nocase(name, "must-revalidate") ||
               common::equal_nocase(name, "proxy-revalidate")) {
      cc.must_revalidate = true;
    } else if (common::equal_nocase(name, "max-age")) {
      cc.max_age = delta_seconds(arg);
    } else if (common::equal_nocase(name, "s-maxage")) {
      cc.s_maxage = delta_seconds(arg);
    } else if (common::equal_nocase(name, "stale-while-revalidate")) {
      cc.stale_while_revalidate = delta_seconds(arg);
    } else if (common::equal_nocase(name, "stale-if-error")) {
      cc.stale_if_error = delta_seconds(arg);
    }
  });
  return cc;
}

RequestUse classify_request(const CacheRequest& request, const CachePolicyOptions& options) {
  switch (request.method) {
    case Method::kGet:
    case Method::kHead:
      break;
    case Method::kPost:
    case Method::kPut:
    case Method::kPatch:
    case Method::kDelete:
      return RequestUse::kInvalidate;
    default:
      return RequestUse::kBypass;
  }
  if ((request.has_authorization && !options.allow_authorization) ||
      (request.has_cookie && !options.allow_cookie)) {
    return RequestUse::kBypass;
  }
  CacheControl cc = parse_cache_control(request.cache_control);
  if (cc.no_store) return RequestUse::kBypass;
  bool pragma_no_cache =
      request.cache_control.empty() && common::equal_nocase(trim(request.pragma), "no-cache");
  if (cc.no_cache || pragma_no_cache) return RequestUse::kRevalidate;
  return RequestUse::kLookup;
}

int vary_fields(std::string_view vary, std::span<std::string_view> names) {
  int count = 0;
  bool fits = true;
  for_each_item(vary, [&](std::string_view item) {
    if (item == "*" || static_cast<size_t>(count) >= names.size() || item.size() > 31) {
      fits = false;
      return;
    }
    names[static_cast<size_t>(count++)] = item;
  });
  return fits ? count : -1;
}

StoreDecision decide_store(const CacheResponse& response, const CachePolicyOptions& options) {
  StoreDecision d;
  if (!response.complete) {
    d.reason = "incomplete";
    return d;
  }
  if (!storable_status(response.status)) {
    d.reason = "status";
    return d;
  }
  CacheControl cc = parse_cache_control(response.cache_control);
  if (cc.no_store || cc.private_ || cc.no_cache) {
    d.reason = cc.no_store ? "no-store" : cc.private_ ? "private" : "no-cache";
    return d;
  }
  if (response.has_set_cookie) {
    d.reason = "set-cookie";
    return d;
  }
  std::string_view names[16];
  if (!response.vary.empty() && vary_fields(response.vary, names) < 0) {
    d.reason = "vary";
    return d;
  }
  if (response.has_authorization_request && !options.allow_authorization && !cc.public_ &&
      cc.s_maxage < 0 && !cc.must_revalidate) {
    d.reason = "authorization";
    return d;
  }
  int64_t ttl = cc.s_maxage >= 0  ? cc.s_maxage
                : cc.max_age >= 0 ? cc.max_age
                                  : response.handler_ttl_s;
  if (ttl <= 0) {
    d.reason = ttl == 0 ? "max-age=0" : "no freshness";
    return d;
  }
  d.store = true;
  d.ttl_s = static_cast<uint32_t>(std::min<int64_t>(ttl, kMaxDelta - 1));
  if (!cc.must_revalidate) {
    d.stale_while_revalidate_s = bounded(cc.stale_while_revalidate, options.max_stale_s);
    d.stale_if_error_s = bounded(cc.stale_if_error, options.max_stale_s);
  }
  return d;
}

size_t format_cache_status(CacheOutcome outcome, int64_t ttl_s, std::string_view detail,
                           char* out) {
  size_t n = 0;
  auto put = [&](std::string_view s) {
    s = s.substr(0, kCacheStatusBytes - n);
    std::memcpy(out + n, s.data(), s.size());
    n += s.size();
  };
  auto put_number = [&](int64_t v) {
    if (v < 0) put("-");
    char digits[kMaxUintDigits];
    put({digits, format_uint(static_cast<uint64_t>(v < 0 ? -v : v), digits)});
  };
  put("zhttpd; ");
  switch (outcome) {
    case CacheOutcome::kHit:
    case CacheOutcome::kStaleHit:
      put("hit; ttl=");
      put_number(ttl_s);
      break;
    case CacheOutcome::kMissStored:
      put("fwd=miss; stored");
      break;
    case CacheOutcome::kMiss:
      put("fwd=miss");
      break;
    case CacheOutcome::kBypass:
      put("fwd=bypass");
      break;
    case CacheOutcome::kRevalidated:
      put("fwd=request; stored");
      break;
  }
  // detail is an sf-string: only printable ASCII without '"' or '\' goes in, the rest is cut.
  if (!detail.empty() && (outcome == CacheOutcome::kMiss || outcome == CacheOutcome::kBypass)) {
    size_t len = 0;
    while (len < detail.size() && len < 32 && detail[len] >= 0x20 && detail[len] < 0x7f &&
           detail[len] != '"' && detail[len] != '\\') {
      ++len;
    }
    put("; detail=\"");
    put(detail.substr(0, len));
    put("\"");
  }
  return n;
}

}  // namespace zhttp::handlers::cache
