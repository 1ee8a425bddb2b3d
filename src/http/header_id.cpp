#include "zhttp/header_id.hpp"

#include <cstring>

namespace zhttp {
namespace {

// Compares a field name (validated token characters) with a lowercase literal. OR-ing 0x20 folds
// ASCII letters to lowercase; for the letters and '-' in the literals no other token character can
// fold onto them (the only other byte mapping to '-' is CR, which is not a token character).
template <size_t N>
inline bool equals_lower(const char* s, const char (&lit)[N]) {
  constexpr size_t n = N - 1;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t a, b;
    std::memcpy(&a, s + i, 8);
    std::memcpy(&b, lit + i, 8);
    if ((a | 0x2020202020202020ull) != b) return false;
  }
  for (; i < n; ++i) {
    if ((s[i] | 0x20) != lit[i]) return false;
  }
  return true;
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

}  // namespace

HeaderId lookup_header_id(const char* s, size_t len) {
  // One switch on the length, then at most a few word compares.
  switch (len) {
    case 2:
      if (equals_lower(s, "te")) return HeaderId::kTe;
      break;
    case 3:
      if (equals_lower(s, "dnt")) return HeaderId::kDnt;
      if (equals_lower(s, "via")) return HeaderId::kVia;
      break;
    case 4:
      if (equals_lower(s, "date")) return HeaderId::kDate;
      if (equals_lower(s, "from")) return HeaderId::kFrom;
      if (equals_lower(s, "host")) return HeaderId::kHost;
      break;
    case 5:
      if (equals_lower(s, "range")) return HeaderId::kRange;
      break;
    case 6:
      if (equals_lower(s, "accept")) return HeaderId::kAccept;
      if (equals_lower(s, "cookie")) return HeaderId::kCookie;
      if (equals_lower(s, "expect")) return HeaderId::kExpect;
      if (equals_lower(s, "origin")) return HeaderId::kOrigin;
      if (equals_lower(s, "pragma")) return HeaderId::kPragma;
      break;
    case 7:
      if (equals_lower(s, "referer")) return HeaderId::kReferer;
      if (equals_lower(s, "trailer")) return HeaderId::kTrailer;
      if (equals_lower(s, "upgrade")) return HeaderId::kUpgrade;
      break;
    case 8:
      if (equals_lower(s, "if-match")) return HeaderId::kIfMatch;
      if (equals_lower(s, "if-range")) return HeaderId::kIfRange;
      if (equals_lower(s, "priority")) return HeaderId::kPriority;
      break;
    case 9:
      if (equals_lower(s, "forwarded")) return HeaderId::kForwarded;
      if (equals_lower(s, "x-real-ip")) return HeaderId::kXRealIp;
      break;
    case 10:
      if (equals_lower(s, "connection")) return HeaderId::kConnection;
      if (equals_lower(s, "keep-alive")) return HeaderId::kKeepAlive;
      if (equals_lower(s, "user-agent")) return HeaderId::kUserAgent;
      break;
    case 12:
      if (equals_lower(s, "content-type")) return HeaderId::kContentType;
      if (equals_lower(s, "max-forwards")) return HeaderId::kMaxForwards;
      break;
    case 13:
      if (equals_lower(s, "authorization")) return HeaderId::kAuthorization;
      if (equals_lower(s, "cache-control")) return HeaderId::kCacheControl;
      if (equals_lower(s, "if-none-match")) return HeaderId::kIfNoneMatch;
      break;
    case 14:
      if (equals_lower(s, "accept-charset")) return HeaderId::kAcceptCharset;
      if (equals_lower(s, "content-length")) return HeaderId::kContentLength;
      if (equals_lower(s, "sec-fetch-dest")) return HeaderId::kSecFetchDest;
      if (equals_lower(s, "sec-fetch-mode")) return HeaderId::kSecFetchMode;
      if (equals_lower(s, "sec-fetch-site")) return HeaderId::kSecFetchSite;
      if (equals_lower(s, "sec-fetch-user")) return HeaderId::kSecFetchUser;
      break;
    case 15:
      if (equals_lower(s, "accept-encoding")) return HeaderId::kAcceptEncoding;
      if (equals_lower(s, "accept-language")) return HeaderId::kAcceptLanguage;
      if (equals_lower(s, "x-forwarded-for")) return HeaderId::kXForwardedFor;
      break;
    case 16:
      if (equals_lower(s, "content-encoding")) return HeaderId::kContentEncoding;
      if (equals_lower(s, "proxy-connection")) return HeaderId::kProxyConnection;
      if (equals_lower(s, "x-forwarded-host")) return HeaderId::kXForwardedHost;
      if (equals_lower(s, "x-requested-with")) return HeaderId::kXRequestedWith;
      break;
    case 17:
      if (equals_lower(s, "if-modified-since")) return HeaderId::kIfModifiedSince;
      if (equals_lower(s, "transfer-encoding")) return HeaderId::kTransferEncoding;
      if (equals_lower(s, "x-forwarded-proto")) return HeaderId::kXForwardedProto;
      break;
    case 19:
      if (equals_lower(s, "if-unmodified-since")) return HeaderId::kIfUnmodifiedSince;
      if (equals_lower(s, "proxy-authorization")) return HeaderId::kProxyAuthorization;
      break;
    case 25:
      if (equals_lower(s, "upgrade-insecure-requests")) return HeaderId::kUpgradeInsecureRequests;
      break;
    case 29:
      if (equals_lower(s, "access-control-request-method"))
        return HeaderId::kAccessControlRequestMethod;
      break;
    case 30:
      if (equals_lower(s, "access-control-request-headers"))
        return HeaderId::kAccessControlRequestHeaders;
      break;
    default:
      break;
  }
  return HeaderId::kOther;
}

std::string_view header_name(HeaderId id) {
  auto i = static_cast<size_t>(id);
  return i < std::size(kNames) ? kNames[i] : std::string_view{};
}

}  // namespace zhttp
