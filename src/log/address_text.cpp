#include "log/address_text.hpp"

#include <sys/socket.h>

#include <cstdint>
#include <cstring>

#include "log/log_format.hpp"

namespace zhttp::log {
namespace {

char* write_ipv4(char* p, const unsigned char* a) {
  for (int i = 0; i < 4; ++i) {
    if (i != 0) *p++ = '.';
    p = detail::write_u64(p, a[i]);
  }
  return p;
}

// RFC 5952: lowercase hex without leading zeros; the longest run of two or more zero groups
// (the first of equal runs) becomes "::". At most 39 bytes.
char* write_ipv6(char* p, const unsigned char* a) {
  uint16_t g[8];
  for (int i = 0; i < 8; ++i) g[i] = static_cast<uint16_t>(a[2 * i] << 8 | a[2 * i + 1]);
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  if (best_len < 2) best = -1;
  for (int i = 0; i < 8;) {
    if (i == best) {
      *p++ = ':';
      if (i == 0) *p++ = ':';
      i += best_len;
      continue;
    }
    unsigned v = g[i];
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      unsigned nibble = v >> shift & 0xf;
      if (nibble != 0 || started || shift == 0) {
        *p++ = "0123456789abcdef"[nibble];
        started = true;
      }
    }
    if (++i < 8) *p++ = ':';
  }
  return p;
}

}  // namespace

char* write_address(char* p, const void* addr, int family) {
  if (addr != nullptr) {
    const auto* a = static_cast<const unsigned char*>(addr);
    if (family == AF_INET) return write_ipv4(p, a);
    if (family == AF_INET6) {
      static constexpr unsigned char kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
      if (std::memcmp(a, kMappedPrefix, sizeof kMappedPrefix) == 0) return write_ipv4(p, a + 12);
      return write_ipv6(p, a);
    }
  }
  *p++ = '-';
  return p;
}

}  // namespace zhttp::log
