#pragma once
// SipHash (Aumasson and Bernstein): a keyed 64-bit hash of a byte string. The rate limiter keys
// it with a secret the master draws at start, so nobody can engineer keys that collide in its
// table. Header-only, allocation-free, no exceptions. SipHash-2-4 is the reference variant (its
// published test vectors are checked in the unit tests); SipHash-1-3 is the faster one that Rust
// and Python use for their hash tables.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace zhttp::shm {

struct SipKey {
  uint64_t k0 = 0;
  uint64_t k1 = 0;
};

namespace siphash_detail {

constexpr uint64_t rotl(uint64_t x, int b) {
  return (x << b) | (x >> (64 - b));
}

inline void round(uint64_t& v0, uint64_t& v1, uint64_t& v2, uint64_t& v3) {
  v0 += v1;
  v1 = rotl(v1, 13);
  v1 ^= v0;
  v0 = rotl(v0, 32);
  v2 += v3;
  v3 = rotl(v3, 16);
  v3 ^= v2;
  v0 += v3;
  v3 = rotl(v3, 21);
  v3 ^= v0;
  v2 += v1;
  v1 = rotl(v1, 17);
  v1 ^= v2;
  v2 = rotl(v2, 32);
}

inline uint64_t load_le64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

}  // namespace siphash_detail

// SipHash-C-D of `data` under `key`.
template <int C, int D>
uint64_t siphash(const SipKey& key, const void* data, size_t len) {
  using siphash_detail::round;
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t v0 = 0x736f6d6570736575ULL ^ key.k0;
  uint64_t v1 = 0x646f72616e646f6dULL ^ key.k1;
  uint64_t v2 = 0x6c7967656e657261ULL ^ key.k0;
  uint64_t v3 = 0x7465646279746573ULL ^ key.k1;
  const size_t whole = len & ~size_t{7};
  for (size_t i = 0; i < whole; i += 8) {
    uint64_t m = siphash_detail::load_le64(p + i);
    v3 ^= m;
    for (int r = 0; r < C; ++r) round(v0, v1, v2, v3);
    v0 ^= m;
  }
  unsigned char tail[8] = {};
  std::memcpy(tail, p + whole, len & 7);
  uint64_t last = siphash_detail::load_le64(tail) | static_cast<uint64_t>(len & 0xff) << 56;
  v3 ^= last;
  for (int r = 0; r < C; ++r) round(v0, v1, v2, v3);
  v0 ^= last;
  v2 ^= 0xff;
  for (int r = 0; r < D; ++r) round(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
}

inline uint64_t siphash24(const SipKey& key, std::string_view s) {
  return siphash<2, 4>(key, s.data(), s.size());
}
inline uint64_t siphash13(const SipKey& key, std::string_view s) {
  return siphash<1, 3>(key, s.data(), s.size());
}

}  // namespace zhttp::shm
