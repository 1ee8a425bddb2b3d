#include "zhttp/header_id.hpp"

#include <cstring>

namespace zhttp {
namespace {

// Compares a field name (validated token characters) with a lowercase name of the same length.
// OR-ing 0x20 folds ASCII letters to lowercase; for the letters and '-' in the known names no other
// token character can fold onto them (the only other byte mapping to '-' is CR, not a token
// character). Words of 8 bytes, the last one overlapping, so no byte loop for names of 8+ bytes.
inline bool equals_lower(const char* s, const char* lower, size_t n) {
  auto word = [](const char* p) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  };
  constexpr uint64_t kFold = 0x2020202020202020ull;
  if (n < 8) {
    for (size_t i = 0; i < n; ++i) {
      if ((s[i] | 0x20) != lower[i]) return false;
    }
    return true;
  }
  for (size_t i = 0; i + 8 < n; i += 8) {
    if ((word(s + i) | kFold) != word(lower + i)) return false;
  }
  return (word(s + n - 8) | kFold) == word(lower + n - 8);
}

constexpr std::string_view kNames[] = {
    "",
    "Accept",
    "Accept-Charset",
    "Accept-Encoding",
    "Accept-Language",
    "Access-Control-Request-Headers",
    "Access-Control-Request-Method",
    "Authorization",
    "Cache-Control",
    "Connection",
    "Content-Encoding",
    "Content-Length",
    "Content-Type",
    "Cookie",
    "Date",
    "DNT",
    "Expect",
    "Forwarded",
    "From",
    "Host",
    "If-Match",
    "If-Modified-Since",
    "If-None-Match",
    "If-Range",
    "If-Unmodified-Since",
    "Keep-Alive",
    "Max-Forwards",
    "Origin",
    "Pragma",
    "Priority",
    "Proxy-Authorization",
    "Proxy-Connection",
    "Range",
    "Referer",
    "Sec-Fetch-Dest",
    "Sec-Fetch-Mode",
    "Sec-Fetch-Site",
    "Sec-Fetch-User",
    "TE",
    "Trailer",
    "Transfer-Encoding",
    "Upgrade",
    "Upgrade-Insecure-Requests",
    "User-Agent",
    "Via",
    "X-Forwarded-For",
    "X-Forwarded-Host",
    "X-Forwarded-Proto",
    "X-Real-IP",
    "X-Requested-With",
};
static_assert(std::size(kNames) == static_cast<size_t>(HeaderId::kCount));

constexpr std::string_view kLowerNames[] = {
    "",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "access-control-request-headers",
    "access-control-request-method",
    "authorization",
    "cache-control",
    "connection",
    "content-encoding",
    "content-length",
    "content-type",
    "cookie",
    "date",
    "dnt",
    "expect",
    "forwarded",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "keep-alive",
    "max-forwards",
    "origin",
    "pragma",
    "priority",
    "proxy-authorization",
    "proxy-connection",
    "range",
    "referer",
    "sec-fetch-dest",
    "sec-fetch-mode",
    "sec-fetch-site",
    "sec-fetch-user",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "upgrade-insecure-requests",
    "user-agent",
    "via",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
    "x-requested-with",
};
static_assert(std::size(kLowerNames) == std::size(kNames));

constexpr size_t kLongestName = 30;  // "access-control-request-headers"

// Index into kLowerNames (== HeaderId) by hash slot; 0 (kOther) where no known name lands.
constexpr uint8_t kSlots[128] = {
    0,  0, 0,  8,  0,  0,  0,  0,  17, 0,  0, 0, 39, 0,  0,  31, 0, 6, 0,  0,  20, 43, 27, 0,  0, 5,
    3,  0, 29, 26, 48, 0,  0,  21, 0,  0,  0, 0, 16, 0,  0,  0,  0, 0, 34, 35, 0,  1,  0,  0,  0, 0,
    0,  0, 0,  40, 0,  18, 0,  0,  49, 36, 0, 0, 0,  47, 45, 0,  0, 0, 42, 0,  0,  0,  33, 24, 2, 0,
    30, 0, 0,  15, 32, 0,  0,  0,  0,  0,  0, 0, 0,  0,  41, 11, 0, 0, 0,  7,  38, 25, 9,  0,  0, 0,
    23, 0, 0,  28, 0,  0,  44, 19, 0,  10, 0, 4, 0,  0,  0,  0,  0, 0, 13, 46, 14, 22, 37, 12,
};

}  // namespace

HeaderId lookup_header_id(const char* s, size_t len) {
  if (len < 2 || len > kLongestName) return HeaderId::kOther;
  // The hash of (length, first and last two bytes, case folded) is collision-free over the known
  // names (a test checks every name), so a single compare decides.
  auto folded = [&](size_t i) {
    return static_cast<unsigned>(static_cast<unsigned char>(s[i]) | 0x20);
  };
  unsigned slot =
      (static_cast<unsigned>(len) * 21 + folded(0) * 33 + folded(len - 1) * 16 + folded(len - 2)) %
      128;
  uint8_t index = kSlots[slot];
  std::string_view lower = kLowerNames[index];
  if (index == 0 || lower.size() != len || !equals_lower(s, lower.data(), len)) {
    return HeaderId::kOther;
  }
  return static_cast<HeaderId>(index);
}

std::string_view header_name(HeaderId id) {
  auto i = static_cast<size_t>(id);
  return i < std::size(kNames) ? kNames[i] : std::string_view{};
}

}  // namespace zhttp
