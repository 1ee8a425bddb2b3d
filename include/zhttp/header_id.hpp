#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace zhttp {

// Header field names the parser recognises while parsing, so handlers switch on an id instead of
// comparing strings. kOther means "look at the name span".
enum class HeaderId : uint8_t {
  kOther,
  kAccept,
  kAcceptCharset,
  kAcceptEncoding,
  kAcceptLanguage,
  kAccessControlRequestHeaders,
  kAccessControlRequestMethod,
  kAuthorization,
  kCacheControl,
  kConnection,
  kContentEncoding,
  kContentLength,
  kContentType,
  kCookie,
  kDate,
  kDnt,
  kExpect,
  kForwarded,
  kFrom,
  kHost,
  kIfMatch,
  kIfModifiedSince,
  kIfNoneMatch,
  kIfRange,
  kIfUnmodifiedSince,
  kKeepAlive,
  kMaxForwards,
  kOrigin,
  kPragma,
  kPriority,
  kProxyAuthorization,
  kProxyConnection,
  kRange,
  kReferer,
  kSecFetchDest,
  kSecFetchMode,
  kSecFetchSite,
  kSecFetchUser,
  kTe,
  kTrailer,
  kTransferEncoding,
  kUpgrade,
  kUpgradeInsecureRequests,
  kUserAgent,
  kVia,
  kXForwardedFor,
  kXForwardedHost,
  kXForwardedProto,
  kXRealIp,
  kXRequestedWith,
  kCount,
};

// Case-insensitive lookup of a field name (already validated as a token). kOther when unknown.
HeaderId lookup_header_id(const char* name, size_t len);
inline HeaderId lookup_header_id(std::string_view name) {
  return lookup_header_id(name.data(), name.size());
}

// Canonical spelling, e.g. "Content-Length"; empty for kOther.
std::string_view header_name(HeaderId id);

}  // namespace zhttp
