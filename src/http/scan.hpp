#pragma once
// Vectorised scans over a request head. Each returns the first byte that ends a run (an invalid or
// delimiting byte), or `end`. SSE2 is part of every x86-64, so no run-time dispatch is needed (an
// AVX2 variant was measured slower on typical requests: fields are short). The last
// partial block is read as the 16 bytes ending at `end` (all inside the input, which starts at
// `floor`) with the already-seen lanes shifted out, so short fields never fall into a byte loop.
// Inputs shorter than 16 bytes, and other CPUs, use the byte tables. Loads stay in [floor, end).
#include <cstdint>

#include "http/char_class.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace zhttp::http {

template <const CharTable& Allowed>
inline const char* skip_allowed(const char* p, const char* end) {
  while (p < end && Allowed[static_cast<unsigned char>(*p)]) ++p;
  return p;
}

#if defined(__SSE2__)
namespace sse2 {
inline __m128i splat(char c) {
  return _mm_set1_epi8(c);
}
inline __m128i load(const char* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}
// Lanes where lo <= v <= lo + width (unsigned).
inline __m128i in_range(__m128i v, char lo, char width) {
  __m128i t = _mm_sub_epi8(v, splat(lo));
  return _mm_cmpeq_epi8(_mm_min_epu8(t, splat(width)), t);
}
inline unsigned mask(__m128i lanes) {
  return static_cast<unsigned>(_mm_movemask_epi8(lanes));
}

// Bit i set where byte i stops the scan.
inline unsigned target_stops(__m128i v) {
  return ~mask(in_range(v, 0x21, 0x7e - 0x21)) & 0xffff;
}
inline unsigned value_stops(__m128i v) {
  __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, splat(0x1f)), v);
  __m128i bad = _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(v, splat('\t')), ctl),
                             _mm_cmpeq_epi8(v, splat(0x7f)));
  return mask(bad);
}
// Stops at anything but the characters real field names use (letters, digits, '-'); the caller
// decides about the rare other token characters with the byte table.
inline unsigned common_token_stops(__m128i v) {
  __m128i common = _mm_or_si128(
      _mm_or_si128(in_range(_mm_or_si128(v, splat(0x20)), 'a', 25), in_range(v, '0', 9)),
      _mm_cmpeq_epi8(v, splat('-')));
  return ~mask(common) & 0xffff;
}

// First stop byte in [p, end), or nullptr when the input is too short for a vector.
template <unsigned (*Stops)(__m128i)>
inline const char* find_stop(const char* p, const char* end, const char* floor) {
  for (; end - p >= 16; p += 16) {
    unsigned m = Stops(load(p));
    if (m) return p + __builtin_ctz(m);
  }
  if (p == end) return end;
  if (end - floor < 16) return nullptr;
  unsigned seen = static_cast<unsigned>(16 - (end - p));
  unsigned m = Stops(load(end - 16)) >> seen;
  return m ? p + __builtin_ctz(m) : end;
}
}  // namespace sse2
#endif

struct Scan {
  // First byte outside 0x21..0x7e (request-target).
  static const char* target(const char* p, const char* end, const char* floor) {
#if defined(__SSE2__)
    if (const char* stop = sse2::find_stop<sse2::target_stops>(p, end, floor)) return stop;
#else
    (void)floor;
#endif
    return skip_allowed<kTargetChar>(p, end);
  }
  // First byte that may not appear in a field value: a control other than HTAB, or DEL.
  static const char* value(const char* p, const char* end, const char* floor) {
#if defined(__SSE2__)
    if (const char* stop = sse2::find_stop<sse2::value_stops>(p, end, floor)) return stop;
#else
    (void)floor;
#endif
    return skip_allowed<kValueChar>(p, end);
  }
  // First non-token byte (field names, methods).
  static const char* token(const char* p, const char* end, const char* floor) {
#if defined(__SSE2__)
    if (const char* stop = sse2::find_stop<sse2::common_token_stops>(p, end, floor)) p = stop;
#else
    (void)floor;
#endif
    return skip_allowed<kTokenChar>(p, end);
  }
};

}  // namespace zhttp::http
