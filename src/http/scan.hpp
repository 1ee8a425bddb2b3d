#pragma once
// Vectorised scans over a request head. Each returns the first byte that ends a run (an invalid or
// delimiting byte), or `end`. Two policies with the same interface: Sse2Scan (every x86-64) and
// Avx2Scan (32 bytes a step; compiled for AVX2 and used only when the CPU has it). The last
// partial block is read as the 16 bytes ending at `end` (all inside the input, which starts at
// `floor`) with the already-seen lanes shifted out, so short fields never fall into a byte loop.
// Inputs shorter than 16 bytes, and other CPUs, use the byte tables. Loads stay in [floor, end).
#include <cstdint>

#include "http/char_class.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#define ZHTTP_HAVE_AVX2_SCAN 1
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

struct Sse2Scan {
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

#if defined(ZHTTP_HAVE_AVX2_SCAN)
#define ZHTTP_AVX2 __attribute__((target("avx2")))
namespace avx2 {
ZHTTP_AVX2 inline __m256i splat(char c) {
  return _mm256_set1_epi8(c);
}
ZHTTP_AVX2 inline __m256i load(const char* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}
ZHTTP_AVX2 inline __m256i in_range(__m256i v, char lo, char width) {
  __m256i t = _mm256_sub_epi8(v, splat(lo));
  return _mm256_cmpeq_epi8(_mm256_min_epu8(t, splat(width)), t);
}
ZHTTP_AVX2 inline unsigned mask(__m256i lanes) {
  return static_cast<unsigned>(_mm256_movemask_epi8(lanes));
}
ZHTTP_AVX2 inline unsigned target_stops(__m256i v) {
  return ~mask(in_range(v, 0x21, 0x7e - 0x21));
}
ZHTTP_AVX2 inline unsigned value_stops(__m256i v) {
  __m256i ctl = _mm256_cmpeq_epi8(_mm256_min_epu8(v, splat(0x1f)), v);
  __m256i bad = _mm256_or_si256(_mm256_andnot_si256(_mm256_cmpeq_epi8(v, splat('\t')), ctl),
                                _mm256_cmpeq_epi8(v, splat(0x7f)));
  return mask(bad);
}
ZHTTP_AVX2 inline unsigned common_token_stops(__m256i v) {
  __m256i common = _mm256_or_si256(
      _mm256_or_si256(in_range(_mm256_or_si256(v, splat(0x20)), 'a', 25), in_range(v, '0', 9)),
      _mm256_cmpeq_epi8(v, splat('-')));
  return ~mask(common);
}
// 32-byte steps while they fit; the rest goes to the 16-byte path. nullptr as in sse2::find_stop.
template <unsigned (*Stops)(__m256i), unsigned (*Stops16)(__m128i)>
ZHTTP_AVX2 inline const char* find_stop(const char* p, const char* end, const char* floor) {
  for (; end - p >= 32; p += 32) {
    unsigned m = Stops(load(p));
    if (m) return p + __builtin_ctz(m);
  }
  return sse2::find_stop<Stops16>(p, end, floor);
}
}  // namespace avx2

struct Avx2Scan {
  ZHTTP_AVX2 static const char* target(const char* p, const char* end, const char* floor) {
    if (const char* s = avx2::find_stop<avx2::target_stops, sse2::target_stops>(p, end, floor)) {
      return s;
    }
    return skip_allowed<kTargetChar>(p, end);
  }
  ZHTTP_AVX2 static const char* value(const char* p, const char* end, const char* floor) {
    if (const char* s = avx2::find_stop<avx2::value_stops, sse2::value_stops>(p, end, floor)) {
      return s;
    }
    return skip_allowed<kValueChar>(p, end);
  }
  ZHTTP_AVX2 static const char* token(const char* p, const char* end, const char* floor) {
    if (const char* s =
            avx2::find_stop<avx2::common_token_stops, sse2::common_token_stops>(p, end, floor)) {
      p = s;
    }
    return skip_allowed<kTokenChar>(p, end);
  }
};
#undef ZHTTP_AVX2
#endif

}  // namespace zhttp::http
