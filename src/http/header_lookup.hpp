#pragma once
// Recognition of the known header field names (zhttp::HeaderId), inline so the parser's hot loop
// can use it without a call. The public lookup_header_id wraps the same code.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "zhttp/header_id.hpp"

namespace zhttp::http {

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

// Each known name in lowercase, zero-padded, so it can be read in whole 8-byte words.
struct FoldedName {
  size_t len = 0;
  char bytes[32] = {};
};
constexpr auto kFolded = [] {
  std::array<FoldedName, std::size(kNames)> t{};
  for (size_t i = 0; i < t.size(); ++i) {
    t[i].len = kNames[i].size();
    for (size_t j = 0; j < kNames[i].size(); ++j) {
      char c = kNames[i][j];
      t[i].bytes[j] = c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c;
    }
  }
  return t;
}();

inline uint64_t load8(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

// Compares a field name (validated token characters) with a folded known name of the same
// length. OR-ing 0x20 folds ASCII letters to lowercase; for the letters and '-' of the known names
// no other token character folds onto them (the only other byte mapping to '-' is CR, not a token
// character). Whole words only: a name shorter than 8 is read as the 8 bytes ending at its end
// when the caller says those bytes exist (`look_back`), and shifted down.
inline bool equals_folded(const char* s, size_t n, const FoldedName& f, bool look_back) {
  constexpr uint64_t kFold = 0x2020202020202020ull;
  if (n < 8) {
    if (look_back) {
      unsigned shift = static_cast<unsigned>(8 * (8 - n));
      return ((load8(s + n - 8) >> shift) | (kFold >> shift)) == load8(f.bytes);
    }
    for (size_t i = 0; i < n; ++i) {
      if ((s[i] | 0x20) != f.bytes[i]) return false;
    }
    return true;
  }
  for (size_t i = 0; i + 8 < n; i += 8) {
    if ((load8(s + i) | kFold) != load8(f.bytes + i)) return false;
  }
  return (load8(s + n - 8) | kFold) == load8(f.bytes + n - 8);
}

// Bit n set when some known name has n bytes: most unknown names are rejected by length alone.
constexpr uint64_t kKnownLengths = [] {
  uint64_t bits = 0;
  for (std::string_view name : kNames) {
    if (!name.empty()) bits |= uint64_t{1} << name.size();
  }
  return bits;
}();

// Index into kLowerNames (== HeaderId) by hash slot; 0 (kOther) where no known name lands.
constexpr uint8_t kSlots[128] = {
    0,  0, 0,  8,  0,  0,  0,  0,  17, 0,  0, 0, 39, 0,  0,  31, 0, 6, 0,  0,  20, 43, 27, 0,  0, 5,
    3,  0, 29, 26, 48, 0,  0,  21, 0,  0,  0, 0, 16, 0,  0,  0,  0, 0, 34, 35, 0,  1,  0,  0,  0, 0,
    0,  0, 0,  40, 0,  18, 0,  0,  49, 36, 0, 0, 0,  47, 45, 0,  0, 0, 42, 0,  0,  0,  33, 24, 2, 0,
    30, 0, 0,  15, 32, 0,  0,  0,  0,  0,  0, 0, 0,  0,  41, 11, 0, 0, 0,  7,  38, 25, 9,  0,  0, 0,
    23, 0, 0,  28, 0,  0,  44, 19, 0,  10, 0, 4, 0,  0,  0,  0,  0, 0, 13, 46, 14, 22, 37, 12,
};

inline HeaderId lookup_folded(const char* s, size_t len, bool look_back) {
  if (len >= 64 || !(kKnownLengths >> len & 1)) return HeaderId::kOther;
  // The hash of (length, first and last two bytes, case folded) is collision-free over the known
  // names (a test checks every name), so a single compare decides.
  auto folded = [&](size_t i) {
    return static_cast<unsigned>(static_cast<unsigned char>(s[i]) | 0x20);
  };
  unsigned slot =
      (static_cast<unsigned>(len) * 21 + folded(0) * 33 + folded(len - 1) * 16 + folded(len - 2)) %
      128;
  uint8_t index = kSlots[slot];
  const FoldedName& known = kFolded[index];
  if (index == 0 || known.len != len || !equals_folded(s, len, known, look_back)) {
    return HeaderId::kOther;
  }
  return static_cast<HeaderId>(index);
}

// lookup_header_id for a name inside a request head that starts at `head_start`: when at least 8
// bytes precede the name's end inside the head (always, after a request line), short names are
// compared as one word instead of byte by byte.
inline HeaderId lookup_header_id_in_head(const char* name, size_t len, const char* head_start) {
  return lookup_folded(name, len, name - head_start >= 8);
}

}  // namespace zhttp::http
