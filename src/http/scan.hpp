#pragma once
// Vectorised scans over a request head: each returns the first byte that ends a run (an invalid or
// delimiting byte), or `end`. 16 bytes per step with SSE2 (every x86-64), a table loop for the
// tail and on other CPUs. Loads never pass `end`.
#include <cstdint>

#include "http/char_class.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace zhttp::http {

#if defined(__SSE2__)
inline __m128i splat(char c) {
  return _mm_set1_epi8(c);
}
inline __m128i load16(const char* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}
// Lanes where lo <= v <= lo + width (unsigned).
inline __m128i in_range(__m128i v, char lo, char width) {
  __m128i t = _mm_sub_epi8(v, splat(lo));
  return _mm_cmpeq_epi8(_mm_min_epu8(t, splat(width)), t);
}
inline unsigned mask_of(__m128i lanes) {
  return static_cast<unsigned>(_mm_movemask_epi8(lanes));
}
#endif

// First byte outside 0x21..0x7e (request-target).
inline const char* scan_target(const char* p, const char* end) {
#if defined(__SSE2__)
  for (; end - p >= 16; p += 16) {
    unsigned good = mask_of(in_range(load16(p), 0x21, 0x7e - 0x21));
    if (good != 0xffff) return p + __builtin_ctz(~good);
  }
#endif
  while (p < end && kTargetChar[static_cast<unsigned char>(*p)]) ++p;
  return p;
}

// First byte that may not appear in a field value: a control other than HTAB, or DEL.
inline const char* scan_value(const char* p, const char* end) {
#if defined(__SSE2__)
  for (; end - p >= 16; p += 16) {
    __m128i v = load16(p);
    __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, splat(0x1f)), v);
    __m128i bad = _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(v, splat('\t')), ctl),
                               _mm_cmpeq_epi8(v, splat(0x7f)));
    unsigned m = mask_of(bad);
    if (m) return p + __builtin_ctz(m);
  }
#endif
  while (p < end && kValueChar[static_cast<unsigned char>(*p)]) ++p;
  return p;
}

// First non-token byte of a field name. The vector step covers the characters real names use
// (letters, digits, '-'); at any other byte the table loop takes over and decides.
inline const char* scan_token(const char* p, const char* end) {
#if defined(__SSE2__)
  for (; end - p >= 16; p += 16) {
    __m128i v = load16(p);
    __m128i common = _mm_or_si128(
        _mm_or_si128(in_range(_mm_or_si128(v, splat(0x20)), 'a', 25), in_range(v, '0', 9)),
        _mm_cmpeq_epi8(v, splat('-')));
    unsigned good = mask_of(common);
    if (good != 0xffff) {
      p += __builtin_ctz(~good);
      break;
    }
  }
#endif
  while (p < end && is_token(*p)) ++p;
  return p;
}

}  // namespace zhttp::http
