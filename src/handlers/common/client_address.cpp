#include "handlers/common/client_address.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "log/address_text.hpp"

namespace zhttp::handlers::common {
namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

size_t address_bytes(uint8_t family) {
  return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

bool is_mapped(const uint8_t* bytes) {
  return std::memcmp(bytes, kMappedPrefix, sizeof kMappedPrefix) == 0;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// A plain IPv4 or IPv6 address, not canonicalised. inet_pton is strict about IPv4 (four decimal
// parts, no leading zeros) and does not allocate; the character check keeps a NUL or a zone id
// ("%eth0") in the view from reaching it.
bool parse_plain(std::string_view text, PeerAddress* out) {
  char buf[kMaxAddressText];
  if (text.empty() || text.size() >= sizeof buf) return false;
  bool colon = false;
  for (char c : text) {
    if (c == ':') {
      colon = true;
    } else if (!is_hex(c) && c != '.') {
      return false;
    }
  }
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  PeerAddress a;
  a.family = colon ? AF_INET6 : AF_INET;
  if (::inet_pton(a.family, buf, a.bytes) != 1) return false;
  *out = a;
  return true;
}

bool is_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  unsigned v = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  return v <= 65535;
}

// Clears every bit of `bytes` (len bytes) after the first `prefix`.
void mask(uint8_t* bytes, size_t len, unsigned prefix) {
  for (size_t i = 0; i < len; ++i) {
    unsigned bits = prefix > 8 * i ? prefix - 8 * static_cast<unsigned>(i) : 0;
    if (bits < 8) bytes[i] &= static_cast<uint8_t>(0xff00u >> bits);
  }
}

bool same_prefix(const uint8_t* a, const uint8_t* b, unsigned prefix) {
  size_t whole = prefix / 8;
  if (std::memcmp(a, b, whole) != 0) return false;
  unsigned rest = prefix % 8;
  if (rest == 0) return true;
  auto m = static_cast<uint8_t>(0xff00u >> rest);
  return (a[whole] & m) == (b[whole] & m);
}

bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

PeerAddress canonical(const PeerAddress& a) {
  if (a.family != AF_INET6 || !is_mapped(a.bytes)) return a;
  PeerAddress v4;
  v4.family = AF_INET;
  std::memcpy(v4.bytes, a.bytes + 12, 4);
  return v4;
}

bool parse_address(std::string_view text, PeerAddress* out) {
  PeerAddress a;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == text.npos) return false;
    std::string_view inside = text.substr(1, close - 1);
    std::string_view after = text.substr(close + 1);
    if (!after.empty() && (after.front() != ':' || !is_port(after.substr(1)))) return false;
    if (inside.find(':') == inside.npos) return false;  // brackets hold IPv6 only
    if (!parse_plain(inside, &a)) return false;
  } else {
    // One colon is "v4:port"; IPv6 text always has at least two.
    size_t colon = text.find(':');
    if (colon != text.npos && text.find(':', colon + 1) == text.npos) {
      if (!is_port(text.substr(colon + 1))) return false;
      text = text.substr(0, colon);
    }
    if (!parse_plain(text, &a)) return false;
  }
  *out = canonical(a);
  return true;
}

bool parse_peer_address(const std::string& text, PeerAddress* out) {
  *out = PeerAddress{};
  if (::inet_pton(AF_INET, text.c_str(), out->bytes) == 1) {
    out->family = AF_INET;
    return true;
  }
  if (::inet_pton(AF_INET6, text.c_str(), out->bytes) == 1) {
    out->family = AF_INET6;
    *out = canonical(*out);
    return true;
  }
  return false;
}

bool parse_cidr(std::string_view text, Cidr* out, std::string* error) {
  auto fail = [&](const std::string& why) {
    if (error != nullptr) *error = why;
    return false;
  };
  size_t slash = text.find('/');
  PeerAddress a;
  if (!parse_plain(text.substr(0, slash), &a)) {
    return fail("not an address: " + std::string(text));
  }
  unsigned max = a.family == AF_INET ? 32 : 128;
  unsigned prefix = max;
  if (slash != text.npos) {
    std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), is_digit)) {
      return fail("not a prefix length: \"" + std::string(digits) + "\" in " + std::string(text));
    }
    prefix = 0;
    for (char c : digits) prefix = std::min(prefix * 10 + static_cast<unsigned>(c - '0'), 1000u);
    if (prefix > max) {
      return fail("prefix " + std::string(digits) + " is out of range 0-" + std::to_string(max) +
                  " in " + std::string(text));
    }
  }
  // A mapped block that lies within ::ffff:0:0/96 is an IPv4 block, as the clients it names are
  // canonicalised to IPv4.
  if (a.family == AF_INET6 && prefix >= 96 && is_mapped(a.bytes)) {
    a = canonical(a);
    prefix -= 96;
  }
  Cidr c;
  c.family = a.family;
  std::memcpy(c.bytes, a.bytes, sizeof c.bytes);
  c.prefix = static_cast<uint8_t>(prefix);
  mask(c.bytes, address_bytes(c.family), prefix);
  *out = c;
  return true;
}

bool CidrSet::contains(const PeerAddress& a) const {
  PeerAddress p = canonical(a);
  if (p.family == 0) return false;
  unsigned bits = static_cast<unsigned>(address_bytes(p.family)) * 8;
  for (const Cidr& c : cidrs_) {
    if (c.family == p.family && same_prefix(c.bytes, p.bytes, std::min<unsigned>(c.prefix, bits)))
      return true;
  }
  return false;
}

PeerAddress forwarded_client(const PeerAddress& peer, const RequestView& request,
                             std::string_view header, const CidrSet& trusted) {
  PeerAddress reached = canonical(peer);
  if (!trusted.contains(reached)) return reached;
  for (uint32_t i = request.header_count(); i-- > 0;) {
    if (!same_name(request.header_name(i), header)) continue;
    std::string_view rest = request.header_value(i);
    while (!rest.empty()) {
      size_t comma = rest.rfind(',');
      std::string_view entry = trim(comma == rest.npos ? rest : rest.substr(comma + 1));
      rest = comma == rest.npos ? std::string_view{} : rest.substr(0, comma);
      if (entry.empty()) continue;
      PeerAddress next;
      if (!parse_address(entry, &next)) return reached;  // a forged or garbled hop: go no further
      reached = next;
      if (!trusted.contains(reached)) return reached;
    }
  }
  return reached;
}

size_t address_key(const PeerAddress& a, uint8_t v4_prefix, uint8_t v6_prefix, char* out) {
  PeerAddress p = canonical(a);
  size_t len = address_bytes(p.family);
  if (len == 0) return 0;
  mask(p.bytes, len, p.family == AF_INET ? v4_prefix : v6_prefix);
  out[0] = static_cast<char>(p.family);
  std::memcpy(out + 1, p.bytes, len);
  return 1 + len;
}

size_t format_address(const PeerAddress& a, char* out) {
  if (a.family != AF_INET && a.family != AF_INET6) return 0;
  return static_cast<size_t>(log::write_address(out, a.bytes, a.family) - out);
}

}  // namespace zhttp::handlers::common
