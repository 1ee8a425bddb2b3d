#pragma once
#include <array>
#include <cstdint>

// Byte classes of RFC 9110/9112 grammar as 256-entry tables (one load per byte, no branches).
namespace zhttp::http {

using CharTable = std::array<bool, 256>;

constexpr bool is_alpha(unsigned c) {
  return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}
constexpr bool is_digit(unsigned c) {
  return c >= '0' && c <= '9';
}
constexpr bool in_set(unsigned c, const char* set) {
  for (; *set; ++set) {
    if (static_cast<unsigned char>(*set) == c) return true;
  }
  return false;
}

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
//       / DIGIT / ALPHA
constexpr CharTable kTokenChar = [] {
  CharTable t{};
  for (unsigned c = 0; c < 256; ++c) {
    t[c] = is_alpha(c) || is_digit(c) || in_set(c, "!#$%&'*+-.^_`|~");
  }
  return t;
}();

// request-target bytes: visible ASCII (the URI grammar's characters are a subset; finer checks
// belong to whoever interprets the target).
constexpr CharTable kTargetChar = [] {
  CharTable t{};
  for (unsigned c = 0; c < 256; ++c) t[c] = c >= 0x21 && c <= 0x7e;
  return t;
}();

// field-value bytes: VCHAR / obs-text / SP / HTAB.
constexpr CharTable kValueChar = [] {
  CharTable t{};
  for (unsigned c = 0; c < 256; ++c) t[c] = (c >= 0x20 && c != 0x7f) || c == '\t';
  return t;
}();

// reg-name / IPv4address bytes of a Host value: unreserved, pct-encoded and sub-delims. ":" and
// the IP-literal brackets are handled by the Host check itself; everything else ("/", "?", "#",
// "@", space, quotes, obs-text...) is rejected.
constexpr CharTable kRegNameChar = [] {
  CharTable t{};
  for (unsigned c = 0; c < 256; ++c) {
    t[c] = is_alpha(c) || is_digit(c) || in_set(c, "-._~%!$&'()*+,;=");
  }
  return t;
}();

inline bool is_token(char c) {
  return kTokenChar[static_cast<unsigned char>(c)];
}
inline bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

}  // namespace zhttp::http
