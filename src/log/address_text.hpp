#pragma once
// Client addresses as text, without allocating: IPv4 dotted, IPv6 as RFC 5952 says (lowercase,
// the longest run of two or more zero groups as "::"), an IPv4-mapped IPv6 address as its IPv4
// one. For the access log, the error log and the access stage.
#include <cstddef>

namespace zhttp::log {

// Room write_address() may need: the longest IPv6 text is 39 bytes.
inline constexpr size_t kMaxAddressChars = 46;

// Writes the address (4 bytes for AF_INET, 16 for AF_INET6, network order) at p and returns the
// end; "-" for another family or a null address.
char* write_address(char* p, const void* addr, int family);

}  // namespace zhttp::log
