// Client-address helpers: canonical form, address and CIDR parsing, CIDR sets, the client behind
// trusted proxies (X-Forwarded-For), rate-limit keys and formatting.
#include "handlers/common/client_address.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstring>
#include <initializer_list>
#include <string>

#include "unit/support/address_test_util.hpp"
#include "zhttp/parser.hpp"

namespace zhttp::handlers::common {
namespace {

using test::addr;
using test::cidr;
using test::text_of;

PeerAddress raw_v6(std::initializer_list<int> bytes) {
  PeerAddress a;
  a.family = AF_INET6;
  int i = 0;
  for (int b : bytes) a.bytes[i++] = static_cast<uint8_t>(b);
  return a;
}

CidrSet set_of(std::initializer_list<const char*> cidrs) {
  CidrSet s;
  for (const char* text : cidrs) {
    Cidr c;
    std::string error;
    EXPECT_TRUE(parse_cidr(text, &c, &error)) << text << ": " << error;
    s.add(c);
  }
  return s;
}

std::string cidr_error(std::string_view text) {
  Cidr c;
  std::string error;
  EXPECT_FALSE(parse_cidr(text, &c, &error)) << text;
  return error;
}

std::string client(const char* peer, const std::string& fields, const CidrSet& trusted,
                   std::string_view header = "X-Forwarded-For") {
  test::ParsedRequest p("/", fields);
  return text_of(forwarded_client(addr(peer), p.view, header, trusted));
}

TEST(ClientAddressCanonical, MappedBecomesIpv4) {
  PeerAddress mapped = raw_v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3});
  PeerAddress c = canonical(mapped);
  EXPECT_EQ(c.family, AF_INET);
  EXPECT_EQ(text_of(c), "10.1.2.3");
  for (int i = 4; i < 16; ++i) EXPECT_EQ(c.bytes[i], 0);
}

TEST(ClientAddressCanonical, OthersUnchanged) {
  PeerAddress compat = raw_v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 1, 2, 3});  // ::10.1.2.3
  EXPECT_EQ(canonical(compat).family, AF_INET6);
  PeerAddress almost = raw_v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 10, 1, 2, 3});
  EXPECT_EQ(canonical(almost).family, AF_INET6);
  EXPECT_EQ(canonical(addr("1.2.3.4")).family, AF_INET);
  EXPECT_EQ(canonical(PeerAddress{}).family, 0);
}

TEST(ClientAddressParse, Accepts) {
  struct Case {
    const char* in;
    const char* out;
  };
  for (Case c : std::initializer_list<Case>{
           {"1.2.3.4", "1.2.3.4"},
           {"0.0.0.0", "0.0.0.0"},
           {"255.255.255.255", "255.255.255.255"},
           {"1.2.3.4:80", "1.2.3.4"},
           {"1.2.3.4:65535", "1.2.3.4"},
           {"::", "::"},
           {"::1", "::1"},
           {"2001:DB8::1", "2001:db8::1"},
           {"2001:db8:0:0:0:0:0:1", "2001:db8::1"},
           {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
           {"::ffff:1.2.3.4", "1.2.3.4"},
           {"::FFFF:1.2.3.4", "1.2.3.4"},
           {"64:ff9b::1.2.3.4", "64:ff9b::102:304"},
           {"[::1]", "::1"},
           {"[2001:db8::7]:443", "2001:db8::7"},
           {"[::ffff:10.0.0.1]:8080", "10.0.0.1"},
       }) {
    PeerAddress a;
    ASSERT_TRUE(parse_address(c.in, &a)) << c.in;
    EXPECT_EQ(text_of(a), c.out) << c.in;
  }
}

TEST(ClientAddressParse, Rejects) {
  using namespace std::string_literals;
  for (std::string in : {""s,
                         "01.2.3.4"s,
                         "1.2.3.04"s,
                         "1.2.3"s,
                         "1.2.3.4.5"s,
                         "256.1.1.1"s,
                         "1.2.3.4:"s,
                         "1.2.3.4:65536"s,
                         "1.2.3.4:123456"s,
                         "1.2.3.4:x"s,
                         "1.2.3.4/8"s,
                         " 1.2.3.4"s,
                         "1.2.3.4 "s,
                         "1.2.3.4\t"s,
                         "1.2.3.4\0"s,
                         "0x1.2.3.4"s,
                         "[::1"s,
                         "::1]"s,
                         "[::1]:"s,
                         "[::1]80"s,
                         "[::1]:99999"s,
                         "[1.2.3.4]"s,
                         "[]"s,
                         ":::"s,
                         ":"s,
                         "1::2::3"s,
                         "1:2:3:4:5:6:7:8:9"s,
                         "12345::1"s,
                         "fe80::1%eth0"s,
                         "::ffff:01.2.3.4"s,
                         "unknown"s,
                         "localhost"s,
                         std::string(60, '1')}) {
    PeerAddress a;
    EXPECT_FALSE(parse_address(in, &a)) << in;
  }
}

TEST(ClientAddressParse, PeerAddressForConfig) {
  PeerAddress a;
  ASSERT_TRUE(parse_peer_address("::ffff:127.0.0.1", &a));
  EXPECT_EQ(text_of(a), "127.0.0.1");
  ASSERT_TRUE(parse_peer_address("::1", &a));
  EXPECT_EQ(text_of(a), "::1");
  EXPECT_FALSE(parse_peer_address("1.2.3.4:80", &a));
  EXPECT_FALSE(parse_peer_address("nope", &a));
}

TEST(ClientAddressCidr, Parses) {
  Cidr c = cidr("10.0.0.0/8");
  EXPECT_EQ(c.family, AF_INET);
  EXPECT_EQ(c.prefix, 8);
  EXPECT_EQ(c.bytes[0], 10);
  c = cidr("192.168.1.7");
  EXPECT_EQ(c.prefix, 32);
  EXPECT_EQ(c.bytes[3], 7);
  c = cidr("2001:db8::/32");
  EXPECT_EQ(c.family, AF_INET6);
  EXPECT_EQ(c.prefix, 32);
  c = cidr("::1");
  EXPECT_EQ(c.family, AF_INET6);
  EXPECT_EQ(c.prefix, 128);
  EXPECT_EQ(c.bytes[15], 1);
  EXPECT_EQ(cidr("0.0.0.0/0").prefix, 0);
  EXPECT_EQ(cidr("::/0").prefix, 0);
}

TEST(ClientAddressCidr, ClearsHostBits) {
  Cidr c = cidr("10.1.2.3/8");
  EXPECT_EQ(c.bytes[0], 10);
  EXPECT_EQ(c.bytes[1] | c.bytes[2] | c.bytes[3], 0);
  c = cidr("192.168.255.255/17");
  EXPECT_EQ(c.bytes[2], 0x80);
  EXPECT_EQ(c.bytes[3], 0);
  c = cidr("255.255.255.255/0");
  EXPECT_EQ(c.bytes[0] | c.bytes[1] | c.bytes[2] | c.bytes[3], 0);
  c = cidr("2001:db8:ffff:ffff::1/33");
  EXPECT_EQ(c.bytes[3], 0xb8);
  EXPECT_EQ(c.bytes[4], 0x80);
  for (int i = 5; i < 16; ++i) EXPECT_EQ(c.bytes[i], 0) << i;
}

TEST(ClientAddressCidr, MappedBecomesIpv4) {
  Cidr c = cidr("::ffff:10.0.0.0/104");
  EXPECT_EQ(c.family, AF_INET);
  EXPECT_EQ(c.prefix, 8);
  EXPECT_EQ(c.bytes[0], 10);
  for (int i = 1; i < 16; ++i) EXPECT_EQ(c.bytes[i], 0) << i;
  c = cidr("::ffff:1.2.3.4");
  EXPECT_EQ(c.family, AF_INET);
  EXPECT_EQ(c.prefix, 32);
  c = cidr("::ffff:0.0.0.0/96");
  EXPECT_EQ(c.family, AF_INET);
  EXPECT_EQ(c.prefix, 0);
  EXPECT_EQ(cidr("::ffff:0:0/80").family, AF_INET6);  // wider than the mapped block
}

TEST(ClientAddressCidr, Errors) {
  EXPECT_EQ(cidr_error("10.0.0.0/33"), "prefix 33 is out of range 0-32 in 10.0.0.0/33");
  EXPECT_EQ(cidr_error("::/129"), "prefix 129 is out of range 0-128 in ::/129");
  EXPECT_EQ(cidr_error("::/99999999999"),
            "prefix 99999999999 is out of range 0-128 in ::/99999999999");
  EXPECT_EQ(cidr_error("10.0.0/8"), "not an address: 10.0.0/8");
  EXPECT_EQ(cidr_error("[::1]/128"), "not an address: [::1]/128");
  EXPECT_EQ(cidr_error("1.2.3.4:80"), "not an address: 1.2.3.4:80");
  EXPECT_EQ(cidr_error(""), "not an address: ");
  EXPECT_EQ(cidr_error("10.0.0.0/"), "not a prefix length: \"\" in 10.0.0.0/");
  EXPECT_EQ(cidr_error("10.0.0.0/-1"), "not a prefix length: \"-1\" in 10.0.0.0/-1");
  EXPECT_EQ(cidr_error("10.0.0.0/8/8"), "not a prefix length: \"8/8\" in 10.0.0.0/8/8");
  Cidr c;
  EXPECT_FALSE(parse_cidr("x", &c, nullptr));  // no reason wanted
}

TEST(ClientAddressCidrSet, Ipv4) {
  CidrSet s = set_of({"10.0.0.0/8", "192.168.1.7"});
  EXPECT_FALSE(s.empty());
  EXPECT_TRUE(s.contains(addr("10.0.0.0")));
  EXPECT_TRUE(s.contains(addr("10.255.255.255")));
  EXPECT_FALSE(s.contains(addr("11.0.0.0")));
  EXPECT_FALSE(s.contains(addr("9.255.255.255")));
  EXPECT_TRUE(s.contains(addr("192.168.1.7")));
  EXPECT_FALSE(s.contains(addr("192.168.1.6")));
  EXPECT_FALSE(s.contains(addr("192.168.1.8")));
  EXPECT_FALSE(s.contains(PeerAddress{}));
}

TEST(ClientAddressCidrSet, EdgeBits) {
  CidrSet s = set_of({"172.16.0.0/12", "2001:db8:8000::/33"});
  EXPECT_TRUE(s.contains(addr("172.16.0.0")));
  EXPECT_TRUE(s.contains(addr("172.31.255.255")));
  EXPECT_FALSE(s.contains(addr("172.32.0.0")));
  EXPECT_FALSE(s.contains(addr("172.15.255.255")));
  EXPECT_TRUE(s.contains(addr("2001:db8:8000::")));
  EXPECT_TRUE(s.contains(addr("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(s.contains(addr("2001:db8:7fff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(s.contains(addr("2001:db9:8000::")));
}

TEST(ClientAddressCidrSet, Ipv6AndMapped) {
  CidrSet s = set_of({"2001:db8::/32", "::1", "::ffff:10.0.0.0/104"});
  EXPECT_TRUE(s.contains(addr("2001:db8::1")));
  EXPECT_TRUE(s.contains(addr("2001:db8:ffff::1")));
  EXPECT_FALSE(s.contains(addr("2001:db9::1")));
  EXPECT_TRUE(s.contains(addr("::1")));
  EXPECT_FALSE(s.contains(addr("::2")));
  // The mapped block is an IPv4 one: it matches IPv4 clients, plain or mapped.
  EXPECT_TRUE(s.contains(addr("10.9.8.7")));
  EXPECT_TRUE(s.contains(raw_v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 9, 8, 7})));
  EXPECT_FALSE(s.contains(addr("11.9.8.7")));

  CidrSet v4 = set_of({"127.0.0.0/8"});
  EXPECT_TRUE(v4.contains(raw_v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1})));
  EXPECT_FALSE(v4.contains(raw_v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 127, 0, 0, 1})));
}

TEST(ClientAddressCidrSet, PrefixZeroKeepsFamilies) {
  CidrSet v4 = set_of({"0.0.0.0/0"});
  EXPECT_TRUE(v4.contains(addr("1.2.3.4")));
  EXPECT_TRUE(v4.contains(addr("255.255.255.255")));
  EXPECT_FALSE(v4.contains(addr("::1")));
  CidrSet v6 = set_of({"::/0"});
  EXPECT_TRUE(v6.contains(addr("2001:db8::1")));
  EXPECT_FALSE(v6.contains(addr("1.2.3.4")));  // IPv6 blocks never match IPv4 clients
  EXPECT_TRUE(CidrSet{}.empty());
  EXPECT_FALSE(CidrSet{}.contains(addr("1.2.3.4")));
}

TEST(ClientAddressForwarded, UntrustedPeerIgnoresHeader) {
  CidrSet trusted = set_of({"10.0.0.0/8"});
  EXPECT_EQ(client("203.0.113.9", "X-Forwarded-For: 1.1.1.1\r\n", trusted), "203.0.113.9");
  EXPECT_EQ(client("203.0.113.9", "X-Forwarded-For: 1.1.1.1\r\n", CidrSet{}), "203.0.113.9");
}

TEST(ClientAddressForwarded, TrustedPeerOneEntry) {
  CidrSet trusted = set_of({"10.0.0.0/8"});
  EXPECT_EQ(client("10.0.0.1", "X-Forwarded-For: 1.1.1.1\r\n", trusted), "1.1.1.1");
  EXPECT_EQ(client("10.0.0.1", "x-forwarded-for:  1.1.1.1 \r\n", trusted), "1.1.1.1");
  EXPECT_EQ(client("10.0.0.1", "", trusted), "10.0.0.1");  // no header: the peer
  EXPECT_EQ(client("10.0.0.1", "X-Forwarded-For:\r\n", trusted), "10.0.0.1");
  EXPECT_EQ(client("10.0.0.1", "X-Forwarded-For: , ,\t,\r\n", trusted), "10.0.0.1");
}

TEST(ClientAddressForwarded, Chains) {
  const std::string chain = "X-Forwarded-For: 1.1.1.1, 10.0.0.2,\t10.0.0.3\r\n";
  EXPECT_EQ(client("10.0.0.1", chain, set_of({"10.0.0.0/8"})), "1.1.1.1");
  // Only the peer is trusted: the nearest entry is the client, forged ones further left are not.
  EXPECT_EQ(client("10.0.0.1", chain, set_of({"10.0.0.1"})), "10.0.0.3");
  // Trust stops at the first untrusted hop even if trusted ones lie beyond it.
  EXPECT_EQ(client("10.0.0.1", chain, set_of({"10.0.0.1", "10.0.0.3"})), "10.0.0.2");
  EXPECT_EQ(client("10.0.0.1", "X-Forwarded-For: 10.0.0.9, 2.2.2.2, 10.0.0.3\r\n",
                   set_of({"10.0.0.0/8"})),
            "2.2.2.2");
}

TEST(ClientAddressForwarded, SeveralFields) {
  CidrSet trusted = set_of({"10.0.0.0/8"});
  const std::string fields =
      "X-Forwarded-For: 1.1.1.1, 10.0.0.5\r\nOther: 9.9.9.9\r\nx-forwarded-for: 10.0.0.4\r\n";
  EXPECT_EQ(client("10.0.0.1", fields, trusted), "1.1.1.1");
  const std::string untrusted_last =
      "X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 10.0.0.4, 3.3.3.3\r\n";
  EXPECT_EQ(client("10.0.0.1", untrusted_last, trusted), "3.3.3.3");
}

TEST(ClientAddressForwarded, AllTrustedGivesLeftmost) {
  CidrSet trusted = set_of({"10.0.0.0/8"});
  EXPECT_EQ(client("10.0.0.1", "X-Forwarded-For: 10.0.0.7, 10.0.0.8\r\n", trusted), "10.0.0.7");
  EXPECT_EQ(
      client("10.0.0.1", "X-Forwarded-For: 10.0.0.6\r\nX-Forwarded-For: 10.0.0.7\r\n", trusted),
      "10.0.0.6");
}

TEST(ClientAddressForwarded, GarbageStopsAtLastAddress) {
  CidrSet trusted = set_of({"10.0.0.0/8"});
  EXPECT_EQ(client("10.0.0.1", "X-Forwarded-For: 1.1.1.1, unknown, 10.0.0.3\r\n", trusted),
            "10.0.0.3");
  EXPECT_EQ(client("10.0.0.1", "X-Forwarded-For: 1.1.1.1, 1.2.3\r\n", trusted), "10.0.0.1");
  EXPECT_EQ(
      client("10.0.0.1", "X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 10.0.0.2, _x\r\n", trusted),
      "10.0.0.1");
}

TEST(ClientAddressForwarded, CustomHeader) {
  CidrSet trusted = set_of({"127.0.0.1"});
  const std::string fields = "X-Forwarded-For: 1.1.1.1\r\nX-Real-IP: 4.4.4.4\r\n";
  EXPECT_EQ(client("127.0.0.1", fields, trusted, "X-Real-IP"), "4.4.4.4");
  EXPECT_EQ(client("127.0.0.1", fields, trusted, "x-real-ip"), "4.4.4.4");
  EXPECT_EQ(client("127.0.0.1", fields, trusted, "X-Real-I"), "127.0.0.1");
}

TEST(ClientAddressForwarded, Ipv6Entries) {
  CidrSet trusted = set_of({"2001:db8::/32", "10.0.0.0/8"});
  EXPECT_EQ(
      client("2001:db8::1", "X-Forwarded-For: [2001:db9::5]:1234, [2001:db8::2]\r\n", trusted),
      "2001:db9::5");
  EXPECT_EQ(
      client("2001:db8::1", "X-Forwarded-For: 1.1.1.1:80, 2001:db8::3, 10.0.0.2:443\r\n", trusted),
      "1.1.1.1");
  // A mapped peer is trusted by its IPv4 block; a mapped entry comes back as IPv4.
  EXPECT_EQ(client("::ffff:10.0.0.1", "X-Forwarded-For: [::ffff:5.5.5.5]:9\r\n", trusted),
            "5.5.5.5");
}

TEST(ClientAddressKey, Masks) {
  char key[kMaxAddressKey];
  ASSERT_EQ(address_key(addr("192.168.1.77"), 24, 64, key), 5u);
  EXPECT_EQ(std::string(key, 5), std::string("\x02\xc0\xa8\x01\x00", 5));
  ASSERT_EQ(address_key(addr("192.168.1.77"), 32, 64, key), 5u);
  EXPECT_EQ(std::string(key, 5), std::string("\x02\xc0\xa8\x01\x4d", 5));
  ASSERT_EQ(address_key(addr("192.168.1.77"), 0, 64, key), 5u);
  EXPECT_EQ(std::string(key, 5), std::string("\x02\0\0\0\0", 5));
  // A mapped address is keyed as IPv4, with the IPv4 prefix.
  ASSERT_EQ(address_key(addr("::ffff:192.168.1.77"), 24, 64, key), 5u);
  EXPECT_EQ(std::string(key, 5), std::string("\x02\xc0\xa8\x01\x00", 5));

  PeerAddress v6 = addr("2001:db8:1:2:3:4:5:6");
  ASSERT_EQ(address_key(v6, 24, 64, key), 17u);
  EXPECT_EQ(key[0], static_cast<char>(AF_INET6));
  EXPECT_EQ(std::string(key + 1, 16),
            std::string("\x20\x01\x0d\xb8\x00\x01\x00\x02\0\0\0\0\0\0\0\0", 16));
  ASSERT_EQ(address_key(v6, 24, 128, key), 17u);
  EXPECT_EQ(std::string(key + 1, 16), std::string(reinterpret_cast<const char*>(v6.bytes), 16));
  ASSERT_EQ(address_key(v6, 24, 0, key), 17u);
  EXPECT_EQ(std::string(key + 1, 16), std::string(16, '\0'));
  ASSERT_EQ(address_key(v6, 24, 20, key), 17u);
  EXPECT_EQ(std::string(key + 1, 4), std::string("\x20\x01\x00\x00", 4));

  EXPECT_EQ(address_key(PeerAddress{}, 24, 64, key), 0u);
}

TEST(ClientAddressKey, DistinctFamilies) {
  char a[kMaxAddressKey], b[kMaxAddressKey];
  size_t na = address_key(addr("0.0.0.0"), 0, 0, a);
  size_t nb = address_key(addr("::"), 0, 0, b);
  EXPECT_NE(std::string(a, na), std::string(b, nb));
}

TEST(ClientAddressFormat, RoundTrip) {
  for (const char* text : {"0.0.0.0", "1.2.3.4", "255.255.255.255", "::", "::1",
                           "1::", "2001:db8::1", "2001:db8:0:1:1:1:1:1", "2001:0:0:1::1",
                           "1:2:3:4:5:6:7:8", "fe80::1:0:0:0", "::102:304", "ffff::ffff:0:0"}) {
    PeerAddress a = addr(text);
    std::string out = text_of(a);
    EXPECT_EQ(out, text);
    PeerAddress back = addr(out);
    EXPECT_EQ(back.family, a.family);
    EXPECT_EQ(std::memcmp(back.bytes, a.bytes, 16), 0) << text;
  }
  EXPECT_EQ(text_of(addr("2001:0db8:0000:0000:0001:0000:0000:0001")), "2001:db8::1:0:0:1");
  EXPECT_EQ(text_of(addr("::ffff:1.2.3.4")), "1.2.3.4");
  EXPECT_EQ(text_of(PeerAddress{}), "");
  EXPECT_EQ(text_of(addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")).size(), 39u);
}

}  // namespace
}  // namespace zhttp::handlers::common
