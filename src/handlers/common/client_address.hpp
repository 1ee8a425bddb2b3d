#pragma once
// Client addresses for the access stages (rate limits, allow lists, the real client behind
// trusted proxies): parsing addresses and CIDR blocks, matching against a set of blocks, finding
// the client in X-Forwarded-For, and the bytes a per-client key is made of. Everything used on the
// request path is allocation-free; only parse_cidr() and parse_peer_address() (config time) may
// allocate.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "zhttp/handler.hpp"

namespace zhttp::handlers::common {

// Room format_address() needs (the longest IPv6 text, 45 bytes, and one to spare).
inline constexpr size_t kMaxAddressText = 46;
// Room address_key() needs: a family byte and 16 address bytes.
inline constexpr size_t kMaxAddressKey = 17;

// IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes the AF_INET address; anything else is unchanged.
PeerAddress canonical(const PeerAddress& a);

// An IPv4 dotted quad (strict: four decimal parts, no leading zeros) or an IPv6 address in any
// RFC 4291 text form; also "[v6]", "[v6]:port" and "v4:port" as X-Forwarded-For entries carry
// them. No surrounding blanks. The result is canonical(). False when the text is none of these.
bool parse_address(std::string_view text, PeerAddress* out);

// Parses a plain IPv4 or IPv6 address ("127.0.0.1", "::1") for the metrics allow list; the
// result is canonical(). False when it is neither.
bool parse_peer_address(const std::string& text, PeerAddress* out);

struct Cidr {
  uint8_t family = 0;  // AF_INET or AF_INET6
  uint8_t bytes[16] = {};
  uint8_t prefix = 0;
};

// "10.0.0.0/8", "192.168.1.7" (/32), "2001:db8::/32", "::1" (/128); a mapped block of /96 or
// longer ("::ffff:10.0.0.0/104") becomes the IPv4 one (10.0.0.0/8). Host bits are cleared. False
// with a one-line reason in *error otherwise.
bool parse_cidr(std::string_view text, Cidr* out, std::string* error);

// A set of blocks, built at start and read on the request path (a linear scan: sets are short).
class CidrSet {
 public:
  void add(const Cidr& c) { cidrs_.push_back(c); }
  // `a` is canonicalised first. A block matches addresses of its own family only: IPv4 blocks
  // match IPv4 (and mapped) clients, IPv6 blocks (even ::/0) never match an IPv4 client.
  bool contains(const PeerAddress& a) const;
  bool empty() const { return cidrs_.empty(); }

 private:
  std::vector<Cidr> cidrs_;
};

// The client behind trusted proxies, as nginx's realip module with real_ip_recursive on. If
// `peer` is not trusted it is the client and the header is ignored. Otherwise the entries of every
// field named `header` (last field first) are walked right to left: a trusted entry is one more
// hop, the first untrusted one is the client; an entry that is not an address stops the walk at
// the last address reached; when all are trusted, the leftmost. The result is canonical().
PeerAddress forwarded_client(const PeerAddress& peer, const RequestView& request,
                             std::string_view header, const CidrSet& trusted);

// The bytes of a per-client key: canonical(a) masked to `v4_prefix` bits (IPv4) or `v6_prefix`
// bits (IPv6), as one family byte and 4 or 16 address bytes, written to `out` (kMaxAddressKey
// bytes of room). Returns the length: 5, 17, or 0 for family 0 (no address).
size_t address_key(const PeerAddress& a, uint8_t v4_prefix, uint8_t v6_prefix, char* out);

// canonical(a) as text: IPv4 dotted, IPv6 as RFC 5952 says (lowercase, the longest run of two or
// more zero groups as "::"), into `out` (kMaxAddressText bytes of room), not NUL-terminated.
// Returns the length; 0 for family 0.
size_t format_address(const PeerAddress& a, char* out);

}  // namespace zhttp::handlers::common
