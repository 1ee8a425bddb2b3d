#pragma once
// Small formatting helpers shared by the access and error logs: decimal numbers written by hand
// into caller-provided bytes (no locale, no allocation); UTC calendar time comes from
// http/civil_time.hpp.
#include <cstdint>
#include <ctime>

#include "http/civil_time.hpp"

namespace zhttp::log::detail {

using http::kMonthNames;
using http::utc_from_time;
using http::UtcTime;

// Most bytes write_u64 / write_year produce.
inline constexpr size_t kMaxDecimal = 20;

inline char* write_2digits(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10 % 10);
  p[1] = static_cast<char>('0' + v % 10);
  return p + 2;
}

inline char* write_u64(char* p, uint64_t v) {
  char tmp[kMaxDecimal];
  size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n != 0) *p++ = tmp[--n];
  return p;
}

// At least `width` digits, zero-padded.
inline char* write_u64_padded(char* p, uint64_t v, unsigned width) {
  char tmp[kMaxDecimal];
  unsigned n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n < width) tmp[n++] = '0';
  while (n != 0) *p++ = tmp[--n];
  return p;
}

// Four digits for years 0..9999; a sign and more digits outside (at most 1 + kMaxDecimal bytes).
inline char* write_year(char* p, int64_t year) {
  if (year < 0) {
    *p++ = '-';
    return write_u64_padded(p, static_cast<uint64_t>(0) - static_cast<uint64_t>(year), 4);
  }
  return write_u64_padded(p, static_cast<uint64_t>(year), 4);
}

}  // namespace zhttp::log::detail
