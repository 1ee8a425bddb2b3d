#pragma once
// Parser for the PROXY protocol header (HAProxy's spec, versions 1 and 2) that a load balancer
// sends before the HTTP bytes to pass on the client's address. Pure, no allocation, never reads
// past `len`. Strict, as the input is hostile:
// - the version is decided by the first bytes: "PROXY " (v1) or the 12-byte v2 signature; any
//   byte that cannot match is an error at once ("GET / ..." fails on its first byte);
// - v1: "PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n" with single spaces, strict dotted quads
//   and ports (no sign, no leading zeros), IPv6 as text, the family matching TCP4/TCP6; or
//   "PROXY UNKNOWN" then " <anything but CR/LF>" or nothing, then CRLF. At most 107 bytes.
// - v2: version 2, command LOCAL or PROXY, a known family/transport, a length covering the
//   address block (PROXY only) and within kProxyV2MaxBytes; TLVs must tile the rest exactly (their
//   contents are not interpreted). LOCAL skips the whole payload unchecked.
#include <cstddef>
#include <cstdint>

namespace zhttp {

// ProxyHeader::family values: Linux's AF_INET and AF_INET6 (the unit tests check they match), so
// that this header needs no system header.
inline constexpr uint8_t kProxyFamilyInet = 2;
inline constexpr uint8_t kProxyFamilyInet6 = 10;

inline constexpr size_t kProxyV1MaxBytes = 107;  // the spec's bound, CRLF included
// 16-byte fixed part + at most 2048 bytes of addresses and TLVs (UNIX addresses take 216). A v2
// header claiming more is an error: it must not pin a connection's buffers.
inline constexpr size_t kProxyV2MaxBytes = 16 + 2048;

struct ProxyHeader {
  enum class Status : uint8_t { kPartial, kDone, kError };
  Status status = Status::kPartial;
  uint32_t consumed = 0;     // kDone: bytes the header took (the HTTP request starts after them)
  bool has_source = false;   // kDone: a TCP/UDP source address was given (false for v1 UNKNOWN,
                             // v2 LOCAL, v2 AF_UNSPEC / AF_UNIX: keep the socket's address)
  uint8_t family = 0;        // kProxyFamilyInet or kProxyFamilyInet6 when has_source
  uint8_t source[16] = {};   // network order: 4 bytes for AF_INET, 16 for AF_INET6
  uint16_t source_port = 0;  // host order
};

// Parses a PROXY header at the start of `data`. kPartial: `data` is a prefix of what could still
// be a valid header (read more, up to kProxyV2MaxBytes); kError: it cannot be one (close the
// connection). Fields other than `status` are meaningful with kDone only.
ProxyHeader parse_proxy_header(const char* data, size_t len);

}  // namespace zhttp
