#include "zhttp/proxy_protocol.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace zhttp {
namespace {

using Status = ProxyHeader::Status;

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr std::string_view kV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};
constexpr size_t kV2FixedBytes = 16;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
bool is_ipv4_char(char c) {
  return is_digit(c) || c == '.';
}
bool is_ipv6_char(char c) {
  return hex_value(c) >= 0 || c == ':' || c == '.';
}

// Matches `want` at the start of `have`: kError on a differing byte, kPartial when `have` ends
// first.
Status match(std::string_view have, std::string_view want) {
  size_t n = std::min(have.size(), want.size());
  if (have.substr(0, n) != want.substr(0, n)) return Status::kError;
  return n == want.size() ? Status::kDone : Status::kPartial;
}

// Decimal without sign or leading zeros (except "0"), at most `max`.
bool parse_decimal(std::string_view s, uint32_t max, uint32_t& out) {
  if (s.empty() || s.size() > 5 || (s[0] == '0' && s.size() > 1)) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > max) return false;
  out = v;
  return true;
}

// Strict dotted quad: four decimal octets 0-255 without leading zeros.
bool parse_ipv4(std::string_view s, uint8_t out[4]) {
  for (int i = 0; i < 4; ++i) {
    size_t dot = i < 3 ? s.find('.') : s.size();
    uint32_t v = 0;
    if (dot == std::string_view::npos || dot > 3 || !parse_decimal(s.substr(0, dot), 255, v)) {
      return false;
    }
    out[i] = static_cast<uint8_t>(v);
    s.remove_prefix(i < 3 ? dot + 1 : dot);
  }
  return true;
}

// RFC 4291 2.2 text: eight groups of 1-4 hex digits, one "::" standing for one or more zero groups,
// optionally a dotted quad in place of the last two groups. (Same set as glibc's inet_pton.)
bool parse_ipv6(std::string_view s, uint8_t out[16]) {
  uint8_t bytes[16] = {};
  int n = 0;     // bytes filled
  int gap = -1;  // byte index where "::" stands
  if (s.substr(0, 2) == "::") {
    gap = 0;
    s.remove_prefix(2);
  } else if (s.empty() || s[0] == ':') {
    return false;
  }
  while (!s.empty()) {
    size_t colon = s.find(':');
    std::string_view group = s.substr(0, colon);
    if (group.find('.') != std::string_view::npos) {
      // The dotted quad must be last and fill exactly two groups.
      if (colon != std::string_view::npos || n > 12 || !parse_ipv4(group, bytes + n)) return false;
      n += 4;
      break;
    }
    if (group.empty() || group.size() > 4 || n == 16) return false;
    uint32_t v = 0;
    for (char c : group) {
      int h = hex_value(c);
      if (h < 0) return false;
      v = v << 4 | static_cast<uint32_t>(h);
    }
    bytes[n++] = static_cast<uint8_t>(v >> 8);
    bytes[n++] = static_cast<uint8_t>(v);
    if (colon == std::string_view::npos) break;
    s.remove_prefix(colon + 1);
    if (s.empty()) return false;  // a single trailing ':'
    if (s[0] == ':') {
      if (gap >= 0) return false;  // a second "::"
      gap = n;
      s.remove_prefix(1);
    }
  }
  if (gap < 0 ? n != 16 : n > 14) return false;
  std::memset(out, 0, 16);
  if (gap < 0) gap = n;
  std::memcpy(out, bytes, static_cast<size_t>(gap));
  std::memcpy(out + 16 - (n - gap), bytes + gap, static_cast<size_t>(n - gap));
  return true;
}

// Reads a run of bytes passing `allowed` at the start of `in` (at most `max` of them, else
// kError) into `token` and removes it from `in`. kPartial when `in` ends inside the run: the token
// may go on.
Status take_token(std::string_view& in, bool (*allowed)(char), size_t max,
                  std::string_view& token) {
  size_t n = 0;
  while (n < in.size() && n <= max && allowed(in[n])) ++n;
  if (n > max) return Status::kError;
  if (n == in.size()) return Status::kPartial;
  if (n == 0) return Status::kError;
  token = in.substr(0, n);
  in.remove_prefix(n);
  return Status::kDone;
}

// Removes `want` from the start of `in`, as match().
Status take(std::string_view& in, std::string_view want) {
  Status s = match(in, want);
  if (s == Status::kDone) in.remove_prefix(want.size());
  return s;
}

// The v1 line within `in` (at most 107 bytes). kPartial: `in` ends before the line does.
Status parse_v1_line(std::string_view in, ProxyHeader& h) {
  const size_t size = in.size();
  Status s = take(in, kV1Prefix);
  if (s != Status::kDone) return s;

  Status tcp4 = match(in, "TCP4 ");
  Status tcp6 = match(in, "TCP6 ");
  Status unknown = take(in, "UNKNOWN");
  if (unknown == Status::kDone) {
    // Nothing, or a space and anything but CR/LF, up to CRLF; the rest is ignored.
    if (!in.empty() && in[0] == ' ') {
      size_t end = in.find_first_of("\r\n");
      if (end == std::string_view::npos) return Status::kPartial;
      in.remove_prefix(end);
    }
    s = take(in, "\r\n");
    if (s == Status::kDone) h.consumed = static_cast<uint32_t>(size - in.size());
    return s;
  }
  if (tcp4 != Status::kDone && tcp6 != Status::kDone) {
    bool partial =
        tcp4 == Status::kPartial || tcp6 == Status::kPartial || unknown == Status::kPartial;
    return partial ? Status::kPartial : Status::kError;
  }
  const bool v6 = tcp6 == Status::kDone;
  in.remove_prefix(5);

  // src SP dst SP sport SP dport CRLF. Each token ends at a byte it cannot hold, which must be
  // the separator, and is checked then (a bad field fails before the line ends).
  auto* addr_char = v6 ? is_ipv6_char : is_ipv4_char;
  const size_t addr_max = v6 ? 45 : 15;  // INET6_ADDRSTRLEN / INET_ADDRSTRLEN - 1
  auto addr = [&](uint8_t* out) {
    std::string_view t;
    Status r = take_token(in, addr_char, addr_max, t);
    if (r != Status::kDone) return r;
    return (v6 ? parse_ipv6(t, out) : parse_ipv4(t, out)) ? Status::kDone : Status::kError;
  };
  auto port = [&](uint32_t& out) {
    std::string_view t;
    Status r = take_token(in, is_digit, 5, t);
    if (r != Status::kDone) return r;
    return parse_decimal(t, 65535, out) ? Status::kDone : Status::kError;
  };
  uint8_t dst_addr[16];
  uint32_t sport = 0, dport = 0;
  if ((s = addr(h.source)) != Status::kDone || (s = take(in, " ")) != Status::kDone ||
      (s = addr(dst_addr)) != Status::kDone || (s = take(in, " ")) != Status::kDone ||
      (s = port(sport)) != Status::kDone || (s = take(in, " ")) != Status::kDone ||
      (s = port(dport)) != Status::kDone || (s = take(in, "\r\n")) != Status::kDone) {
    return s;
  }
  h.consumed = static_cast<uint32_t>(size - in.size());
  h.has_source = true;
  h.family = v6 ? kProxyFamilyInet6 : kProxyFamilyInet;
  h.source_port = static_cast<uint16_t>(sport);
  return Status::kDone;
}

Status parse_v1(std::string_view in, ProxyHeader& h) {
  Status s = parse_v1_line(in.substr(0, kProxyV1MaxBytes), h);
  // Out of bytes at the limit: the line is longer than the spec allows.
  if (s == Status::kPartial && in.size() >= kProxyV1MaxBytes) return Status::kError;
  return s;
}

uint16_t load_be16(const unsigned char* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

// The address block's size for a family/transport byte: 0 for AF_UNSPEC, 12 for IPv4 and 36 for
// IPv6 (TCP or UDP), 216 for AF_UNIX (stream or datagram); kBadFamily for anything else.
constexpr size_t kBadFamily = ~size_t{0};
// clang-format off
size_t address_bytes(unsigned char family_transport) {
  switch (family_transport) {
    case 0x00: return 0;
    case 0x11: case 0x12: return 12;
    case 0x21: case 0x22: return 36;
    case 0x31: case 0x32: return 216;
    default: return kBadFamily;
  }
}
// clang-format on

// Each check is made as soon as its byte is there, so a bad header fails before it is complete.
Status parse_v2(std::string_view in, ProxyHeader& h) {
  Status s = match(in, kV2Signature);
  if (s != Status::kDone) return s;
  auto* p = reinterpret_cast<const unsigned char*>(in.data());

  if (in.size() < 13) return Status::kPartial;
  const bool proxy = p[12] == 0x21;  // version 2, command PROXY
  if (p[12] != 0x20 && !proxy) return Status::kError;

  if (in.size() < 14) return Status::kPartial;
  const size_t addr_len = address_bytes(p[13]);
  if (addr_len == kBadFamily) return Status::kError;

  if (in.size() < kV2FixedBytes) return Status::kPartial;
  const size_t total = kV2FixedBytes + load_be16(p + 14);
  if (total > kProxyV2MaxBytes || (proxy && total < kV2FixedBytes + addr_len)) {
    return Status::kError;
  }
  if (in.size() < total) return Status::kPartial;
  h.consumed = static_cast<uint32_t>(total);
  if (!proxy) return Status::kDone;  // LOCAL: a health check from the proxy itself

  // TLVs (type, 16-bit length, value) must tile the bytes after the addresses exactly.
  for (size_t off = kV2FixedBytes + addr_len; off < total;) {
    if (total - off < 3) return Status::kError;
    size_t tlv_len = 3 + size_t{load_be16(p + off + 1)};
    if (tlv_len > total - off) return Status::kError;
    off += tlv_len;
  }

  // Addresses: source, destination, then source port, destination port.
  const unsigned char* addr = p + kV2FixedBytes;
  if (addr_len == 12 || addr_len == 36) {
    const size_t ip_len = addr_len == 12 ? 4 : 16;
    h.has_source = true;
    h.family = ip_len == 4 ? kProxyFamilyInet : kProxyFamilyInet6;
    std::memcpy(h.source, addr, ip_len);
    h.source_port = load_be16(addr + 2 * ip_len);
  }
  return Status::kDone;
}

}  // namespace

ProxyHeader parse_proxy_header(const char* data, size_t len) {
  ProxyHeader h;
  std::string_view in(data, len);
  Status s = Status::kPartial;
  if (len > 0) s = data[0] == kV1Prefix[0] ? parse_v1(in, h) : parse_v2(in, h);
  if (s != Status::kDone) h = ProxyHeader{};
  h.status = s;
  return h;
}

}  // namespace zhttp
