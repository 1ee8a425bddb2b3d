// The PROXY protocol header parser: every valid v1/v2 form, the HTTP bytes after it left alone,
// every prefix of a valid header partial, and the rejections (which stay rejections whatever
// follows).
#include "zhttp/proxy_protocol.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace zhttp {
namespace {

using Status = ProxyHeader::Status;

static_assert(kProxyFamilyInet == AF_INET && kProxyFamilyInet6 == AF_INET6);

// Parses a copy of `input` in a buffer of exactly its size, so that ASan catches a read past it.
ProxyHeader parse(std::string_view input) {
  auto copy = std::make_unique<char[]>(input.size());
  std::memcpy(copy.get(), input.data(), input.size());
  return parse_proxy_header(copy.get(), input.size());
}

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}

const std::string kSig("\r\n\r\n\0\r\nQUIT\n", 12);

// A v2 header: signature, version/command, family/transport, length of `rest`, `rest`.
std::string v2(int ver_cmd, int fam, const std::string& rest) {
  return kSig +
         bytes({ver_cmd, fam, static_cast<int>(rest.size() >> 8),
                static_cast<int>(rest.size() & 0xff)}) +
         rest;
}
// Same with an explicit length field.
std::string v2_len(int ver_cmd, int fam, size_t len, const std::string& rest) {
  return kSig + bytes({ver_cmd, fam, static_cast<int>(len >> 8), static_cast<int>(len & 0xff)}) +
         rest;
}

std::string tlv(int type, const std::string& value) {
  return bytes({type, static_cast<int>(value.size() >> 8), static_cast<int>(value.size() & 0xff)}) +
         value;
}

// 192.0.2.1:56324 -> 198.51.100.7:443
const std::string kAddr4 = bytes({192, 0, 2, 1, 198, 51, 100, 7, 0xdc, 0x04, 0x01, 0xbb});
// 2001:db8::1:8080 -> ::1:443
const std::string kAddr6 = bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}) +
                           std::string(15, '\0') + bytes({1, 0x1f, 0x90, 0x01, 0xbb});

std::vector<uint8_t> ip6(const char* text) {
  std::vector<uint8_t> out(16);
  EXPECT_EQ(inet_pton(AF_INET6, text, out.data()), 1) << text;
  return out;
}
std::vector<uint8_t> source_of(const ProxyHeader& h) {
  return {h.source, h.source + (h.family == AF_INET ? 4 : 16)};
}

void expect_done(std::string_view input, bool has_source) {
  ProxyHeader h = parse(input);
  EXPECT_EQ(h.status, Status::kDone) << testing::PrintToString(std::string(input));
  EXPECT_EQ(h.consumed, input.size());
  EXPECT_EQ(h.has_source, has_source);
}

// Every valid header the tests know, with whether it carries a source address.
std::vector<std::pair<std::string, bool>> valid_headers() {
  return {
      {"PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n", true},
      {"PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", true},
      {"PROXY TCP6 2001:db8::1 ::1 8080 443\r\n", true},
      {"PROXY TCP6 ::ffff:192.0.2.1 ::ffff:198.51.100.7 1 2\r\n", true},
      {"PROXY UNKNOWN\r\n", false},
      {"PROXY UNKNOWN ffff:f...f:ffff 12 34\r\n", false},
      {v2(0x21, 0x11, kAddr4), true},
      {v2(0x21, 0x12, kAddr4), true},
      {v2(0x21, 0x21, kAddr6), true},
      {v2(0x21, 0x22, kAddr6), true},
      {v2(0x21, 0x11, kAddr4 + tlv(0x01, "h2") + tlv(0x04, "") + tlv(0xea, "vpce-0123")), true},
      {v2(0x21, 0x00, ""), false},
      {v2(0x21, 0x00, tlv(0x04, "pad")), false},
      {v2(0x21, 0x31, std::string(216, 'u')), false},
      {v2(0x21, 0x32, std::string(216, 'u') + tlv(0x02, "authority")), false},
      {v2(0x20, 0x00, ""), false},
      {v2(0x20, 0x11, kAddr4), false},
      {v2(0x20, 0x21, "short, ignored"), false},
  };
}

TEST(ProxyProtocol, V1Tcp4) {
  std::string line = "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n";
  ProxyHeader h = parse(line);
  ASSERT_EQ(h.status, Status::kDone);
  EXPECT_EQ(h.consumed, line.size());
  EXPECT_TRUE(h.has_source);
  EXPECT_EQ(h.family, AF_INET);
  EXPECT_EQ(source_of(h), (std::vector<uint8_t>{192, 0, 2, 1}));
  EXPECT_EQ(h.source_port, 56324);
}

TEST(ProxyProtocol, V1Tcp4Bounds) {
  ProxyHeader h = parse("PROXY TCP4 255.255.255.255 0.0.0.0 65535 0\r\n");
  ASSERT_EQ(h.status, Status::kDone);
  EXPECT_EQ(source_of(h), (std::vector<uint8_t>{255, 255, 255, 255}));
  EXPECT_EQ(h.source_port, 65535);
  h = parse("PROXY TCP4 10.0.100.9 10.0.0.1 0 80\r\n");
  ASSERT_EQ(h.status, Status::kDone);
  EXPECT_EQ(source_of(h), (std::vector<uint8_t>{10, 0, 100, 9}));
  EXPECT_EQ(h.source_port, 0);
}

TEST(ProxyProtocol, V1Tcp6) {
  std::string line = "PROXY TCP6 2001:db8::1 ::1 8080 443\r\n";
  ProxyHeader h = parse(line);
  ASSERT_EQ(h.status, Status::kDone);
  EXPECT_EQ(h.consumed, line.size());
  EXPECT_TRUE(h.has_source);
  EXPECT_EQ(h.family, AF_INET6);
  EXPECT_EQ(source_of(h), ip6("2001:db8::1"));
  EXPECT_EQ(h.source_port, 8080);
}

TEST(ProxyProtocol, V1Ipv6TextFormsAsInetPton) {
  for (const char* text : {"::", "::1", "1::", "1:2:3:4:5:6:7:8", "1::8", "1:2:3:4:5:6:7::",
                           "::2:3:4:5:6:7:8", "2001:DB8:0:0:8:800:200C:417A", "fe80::abcd:ef01",
                           "0000:0000:0000:0000:0000:0000:0000:0001", "::ffff:192.0.2.1",
                           "::192.0.2.1", "1:2:3:4:5:6:255.255.255.255", "64:ff9b::10.0.0.1"}) {
    std::string line = std::string("PROXY TCP6 ") + text + " ::1 1 2\r\n";
    ProxyHeader h = parse(line);
    ASSERT_EQ(h.status, Status::kDone) << text;
    EXPECT_EQ(source_of(h), ip6(text)) << text;
  }
}

TEST(ProxyProtocol, V1LongestTcp6LineFits) {
  std::string a = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  std::string line = "PROXY TCP6 " + a + " " + a + " 65535 65535\r\n";
  ASSERT_EQ(line.size(), 104u);
  expect_done(line, true);
}

TEST(ProxyProtocol, V1Unknown) {
  expect_done("PROXY UNKNOWN\r\n", false);
  expect_done("PROXY UNKNOWN ffff::1 ::1 1 2\r\n", false);
  expect_done("PROXY UNKNOWN  anything\t\x01\x80 goes\r\n", false);
  std::string longest = "PROXY UNKNOWN " + std::string(kProxyV1MaxBytes - 16, 'x') + "\r\n";
  ASSERT_EQ(longest.size(), kProxyV1MaxBytes);
  expect_done(longest, false);
}

TEST(ProxyProtocol, V2ProxyTcp4) {
  ProxyHeader h = parse(v2(0x21, 0x11, kAddr4));
  ASSERT_EQ(h.status, Status::kDone);
  EXPECT_EQ(h.consumed, 28u);
  EXPECT_TRUE(h.has_source);
  EXPECT_EQ(h.family, AF_INET);
  EXPECT_EQ(source_of(h), (std::vector<uint8_t>{192, 0, 2, 1}));
  EXPECT_EQ(h.source_port, 56324);
}

TEST(ProxyProtocol, V2ProxyTcp6) {
  ProxyHeader h = parse(v2(0x21, 0x21, kAddr6));
  ASSERT_EQ(h.status, Status::kDone);
  EXPECT_EQ(h.consumed, 52u);
  EXPECT_TRUE(h.has_source);
  EXPECT_EQ(h.family, AF_INET6);
  EXPECT_EQ(source_of(h), ip6("2001:db8::1"));
  EXPECT_EQ(h.source_port, 8080);
}

TEST(ProxyProtocol, V2ProxyUdp) {
  ProxyHeader h = parse(v2(0x21, 0x12, kAddr4));
  ASSERT_EQ(h.status, Status::kDone);
  EXPECT_EQ(h.family, AF_INET);
  EXPECT_EQ(h.source_port, 56324);
  h = parse(v2(0x21, 0x22, kAddr6));
  ASSERT_EQ(h.status, Status::kDone);
  EXPECT_EQ(h.family, AF_INET6);
  EXPECT_EQ(source_of(h), ip6("2001:db8::1"));
}

TEST(ProxyProtocol, V2WithTlvs) {
  std::string tlvs = tlv(0x01, "h2") + tlv(0x04, "") + tlv(0x20, std::string(300, 's'));
  ProxyHeader h = parse(v2(0x21, 0x11, kAddr4 + tlvs));
  ASSERT_EQ(h.status, Status::kDone);
  EXPECT_EQ(h.consumed, 16 + 12 + tlvs.size());
  EXPECT_EQ(source_of(h), (std::vector<uint8_t>{192, 0, 2, 1}));
  h = parse(v2(0x21, 0x21, kAddr6 + tlvs));
  ASSERT_EQ(h.status, Status::kDone);
  EXPECT_EQ(h.consumed, 16 + 36 + tlvs.size());
}

TEST(ProxyProtocol, V2LocalIgnoresAddressBlock) {
  expect_done(v2(0x20, 0x00, ""), false);
  expect_done(v2(0x20, 0x11, kAddr4), false);
  expect_done(v2(0x20, 0x21, ""), false);               // shorter than the family's block
  expect_done(v2(0x20, 0x11, kAddr4 + "\x01"), false);  // not checked as TLVs either
}

TEST(ProxyProtocol, V2UnspecAndUnixKeepSocketAddress) {
  expect_done(v2(0x21, 0x00, ""), false);
  expect_done(v2(0x21, 0x00, tlv(0x04, "noop")), false);
  expect_done(v2(0x21, 0x31, std::string(216, '\0')), false);
  expect_done(v2(0x21, 0x32, std::string(216, 'x') + tlv(0x05, "id")), false);
}

TEST(ProxyProtocol, V2LargestAllowed) {
  std::string rest = kAddr4 + tlv(0x04, std::string(kProxyV2MaxBytes - 16 - 12 - 3, 'n'));
  expect_done(v2(0x21, 0x11, rest), true);
}

TEST(ProxyProtocol, HttpBytesAfterHeaderAreNotConsumed) {
  for (const auto& [header, has_source] : valid_headers()) {
    expect_done(header, has_source);
    ProxyHeader h = parse(header + "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(h.status, Status::kDone);
    EXPECT_EQ(h.consumed, header.size()) << testing::PrintToString(header);
    // A second header right after is the HTTP layer's problem, not part of this one.
    EXPECT_EQ(parse(header + header).consumed, header.size());
  }
}

TEST(ProxyProtocol, EveryPrefixOfAValidHeaderIsPartial) {
  for (const auto& [header, has_source] : valid_headers()) {
    for (size_t n = 0; n < header.size(); ++n) {
      EXPECT_EQ(parse(std::string_view(header).substr(0, n)).status, Status::kPartial)
          << testing::PrintToString(header) << " cut at " << n;
    }
  }
}

TEST(ProxyProtocol, FirstBytesDecideAtOnce) {
  EXPECT_EQ(parse("").status, Status::kPartial);
  EXPECT_EQ(parse("P").status, Status::kPartial);
  EXPECT_EQ(parse("PROXY").status, Status::kPartial);
  EXPECT_EQ(parse("\r").status, Status::kPartial);
  EXPECT_EQ(parse(std::string("\r\n\r\n\0\r", 6)).status, Status::kPartial);
  EXPECT_EQ(parse("G").status, Status::kError);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\n").status, Status::kError);
  EXPECT_EQ(parse("\n").status, Status::kError);
  EXPECT_EQ(parse("PR0").status, Status::kError);
  EXPECT_EQ(parse("\r\n\r\nGET").status, Status::kError);
  EXPECT_EQ(parse(kSig.substr(0, 11) + "\r").status, Status::kError);
}

TEST(ProxyProtocol, V1FieldFailsWhenItEnds) {
  EXPECT_EQ(parse("PROXY TCP4 1.2.3.256").status, Status::kPartial);  // may go on ("1.2.3.2567"?)
  EXPECT_EQ(parse("PROXY TCP4 1.2.3.256 ").status, Status::kError);
  EXPECT_EQ(parse("PROXY TCP6 ::1::2 ").status, Status::kError);
  EXPECT_EQ(parse("PROXY TCP4 1.2.3.4 5.6.7.8 65536 ").status, Status::kError);
  EXPECT_EQ(parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 02\r").status, Status::kError);
  EXPECT_EQ(parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r").status, Status::kPartial);
  EXPECT_EQ(parse("PROXY TCP4 1234567890123456").status, Status::kError);  // longer than a quad
}

// `input` is an error, and stays one whatever follows.
void expect_error(const std::string& input) {
  EXPECT_EQ(parse(input).status, Status::kError) << testing::PrintToString(input);
  EXPECT_EQ(parse(input + "\r\n" + std::string(2100, '\0')).status, Status::kError)
      << testing::PrintToString(input) << " + more";
}

TEST(ProxyProtocol, RejectsBadV1Framing) {
  for (const char* input : {
           "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",    // lowercase
           "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",    // lowercase protocol
           "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",   // double space
           "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",   //
           "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",   //
           "PROXY TCP4 1.2.3.4 5.6.7.8  1 2\r\n",   //
           "PROXY TCP4 1.2.3.4 5.6.7.8 1  2\r\n",   //
           "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",   // trailing space
           "PROXY\tTCP4 1.2.3.4 5.6.7.8 1 2\r\n",   // tab
           "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",      // bare LF
           "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX",     // CR without LF
           "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",      // missing field
           "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",  // extra field
           "PROXY TCP4\r\n",                        //
           "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",    // unknown protocol
           "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",    //
           "PROXY UNKNOWNX\r\n",                    // UNKNOWN must end the word
           "PROXY UNKNOWN\n",                       //
           "PROXY UNKNOWN x\n",                     //
           "PROXY UNKNOWN x\ry\r\n",                //
           "PROXY \r\n",                            //
       }) {
    expect_error(input);
  }
}

TEST(ProxyProtocol, RejectsBadV1Addresses) {
  for (const char* input : {
           "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",            // leading zero
           "PROXY TCP4 1.2.3.00 5.6.7.8 1 2\r\n",            //
           "PROXY TCP4 1.2.3.4 5.6.7.08 1 2\r\n",            //
           "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",           // octet out of range
           "PROXY TCP4 1.2.3.4 5.6.7.1000 1 2\r\n",          //
           "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",               // three octets
           "PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n",           // five octets
           "PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n",              // empty octet
           "PROXY TCP4 1.2.3.4. 5.6.7.8 1 2\r\n",            //
           "PROXY TCP4 .1.2.3.4 5.6.7.8 1 2\r\n",            //
           "PROXY TCP4 1.2.3.-4 5.6.7.8 1 2\r\n",            // sign
           "PROXY TCP4 0x1.2.3.4 5.6.7.8 1 2\r\n",           // hex
           "PROXY TCP4 16909060 5.6.7.8 1 2\r\n",            // one number
           "PROXY TCP4 1.2.3.4 5.6.7.8.9.10.11.12 1 2\r\n",  //
           "PROXY TCP4 ::1 5.6.7.8 1 2\r\n",                 // family mismatch
           "PROXY TCP4 1.2.3.4 ::1 1 2\r\n",                 //
           "PROXY TCP6 1.2.3.4 ::1 1 2\r\n",                 //
           "PROXY TCP6 ::1 5.6.7.8 1 2\r\n",                 //
           "PROXY TCP6 ::1::2 ::1 1 2\r\n",                  // two "::"
           "PROXY TCP6 ::: ::1 1 2\r\n",                     //
           "PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n",       // nine groups
           "PROXY TCP6 1:2:3:4:5:6:7 ::1 1 2\r\n",           // seven groups, no "::"
           "PROXY TCP6 1:2:3:4::5:6:7:8 ::1 1 2\r\n",        // "::" standing for none
           "PROXY TCP6 12345::1 ::1 1 2\r\n",                // five hex digits
           "PROXY TCP6 1: ::1 1 2\r\n",                      // trailing ':'
           "PROXY TCP6 :1 ::1 1 2\r\n",                      // leading ':'
           "PROXY TCP6 ::ffff:1.2.3 ::1 1 2\r\n",            // short embedded quad
           "PROXY TCP6 ::1.2.3.4:1 ::1 1 2\r\n",             // quad not last
           "PROXY TCP6 1:2:3:4:5:6:7:1.2.3.4 ::1 1 2\r\n",   // quad past eight groups
           "PROXY TCP6 ::ffff:01.2.3.4 ::1 1 2\r\n",         // leading zero in the quad
           "PROXY TCP6 ::g ::1 1 2\r\n",                     // not hex
           "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",            // zone index
           "PROXY TCP6 [::1] ::1 1 2\r\n",                   // brackets
       }) {
    expect_error(input);
  }
}

TEST(ProxyProtocol, RejectsBadV1Ports) {
  for (const char* input : {
           "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",   // out of range
           "PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n",   //
           "PROXY TCP4 1.2.3.4 5.6.7.8 100000 2\r\n",  // six digits
           "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",      // leading zero
           "PROXY TCP4 1.2.3.4 5.6.7.8 1 00\r\n",      //
           "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",      // sign
           "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",      //
           "PROXY TCP4 1.2.3.4 5.6.7.8 1 0x2\r\n",     // hex
           "PROXY TCP4 1.2.3.4 5.6.7.8 1 http\r\n",    // name
       }) {
    expect_error(input);
  }
}

TEST(ProxyProtocol, RejectsV1LongerThan107Bytes) {
  expect_error("PROXY UNKNOWN " + std::string(kProxyV1MaxBytes - 15, 'x') + "\r\n");  // 108
  expect_error("PROXY UNKNOWN " + std::string(200, 'x'));  // no CRLF at all
  // 105 bytes leave room for CRLF only: the 107th byte must end the line.
  std::string line = "PROXY UNKNOWN " + std::string(kProxyV1MaxBytes - 16, 'x');
  EXPECT_EQ(parse(line).status, Status::kPartial);
  EXPECT_EQ(parse(line + "\r").status, Status::kPartial);
  EXPECT_EQ(parse(line + "\r\n").status, Status::kDone);
  EXPECT_EQ(parse(line + "y").status, Status::kPartial);
  EXPECT_EQ(parse(line + "yy").status, Status::kError);
  EXPECT_EQ(parse(line + "y\r").status, Status::kError);
  // TCP6 with the longest text forms does not fit either.
  std::string a = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
  expect_error("PROXY TCP6 " + a + " " + a + " 65535 65535\r\n");
}

TEST(ProxyProtocol, RejectsBadV2Signature) {
  std::string good = v2(0x21, 0x11, kAddr4);
  for (size_t i = 0; i < 12; ++i) {
    std::string bad = good;
    bad[i] ^= 0x20;
    expect_error(bad);
  }
}

TEST(ProxyProtocol, RejectsBadV2VersionOrCommand) {
  for (int ver_cmd : {0x00, 0x01, 0x11, 0x10, 0x31, 0x22, 0x2f, 0xf1, 0x12}) {
    expect_error(v2(ver_cmd, 0x11, kAddr4));
    // Rejected as soon as the byte is there.
    EXPECT_EQ(parse(kSig + bytes({ver_cmd})).status, Status::kError);
  }
}

TEST(ProxyProtocol, RejectsBadV2Family) {
  for (int fam : {0x01, 0x10, 0x13, 0x20, 0x23, 0x30, 0x33, 0x41, 0xff, 0x02}) {
    expect_error(v2(0x21, fam, kAddr6));
    expect_error(v2(0x20, fam, ""));
    EXPECT_EQ(parse(kSig + bytes({0x21, fam})).status, Status::kError);
  }
}

TEST(ProxyProtocol, RejectsV2LengthTooSmallForFamily) {
  expect_error(v2(0x21, 0x11, kAddr4.substr(0, 11)));
  expect_error(v2(0x21, 0x12, ""));
  expect_error(v2(0x21, 0x21, kAddr4 + std::string(23, '\0')));
  expect_error(v2(0x21, 0x22, kAddr4));
  expect_error(v2(0x21, 0x31, std::string(215, 'u')));
  expect_error(v2(0x21, 0x32, kAddr6));
  // Known from the length field alone, before the block arrives.
  EXPECT_EQ(parse(v2_len(0x21, 0x21, 35, "")).status, Status::kError);
}

TEST(ProxyProtocol, RejectsV2LengthOverMax) {
  size_t over = kProxyV2MaxBytes - 16 + 1;
  EXPECT_EQ(parse(v2_len(0x21, 0x11, over, "")).status, Status::kError);  // at once
  EXPECT_EQ(parse(v2_len(0x20, 0x00, 0xffff, "")).status, Status::kError);
  expect_error(v2(0x21, 0x11, kAddr4 + tlv(0x04, std::string(over - 12 - 3, 'n'))));
  // Up to the max it waits for the bytes.
  EXPECT_EQ(parse(v2_len(0x21, 0x11, over - 1, kAddr4)).status, Status::kPartial);
}

TEST(ProxyProtocol, RejectsMalformedV2Tlvs) {
  for (const std::string& tlvs : {
           bytes({0x01}),                                // no room for a TLV header
           bytes({0x01, 0x00}),                          //
           bytes({0x01, 0x00, 0x03, 'h', '2'}),          // value shorter than its length
           tlv(0x01, "h2") + bytes({0x04, 0x00}),        // a good one then a cut header
           tlv(0x01, "h2") + bytes({0x04, 0x01, 0x00}),  // length far past the end
       }) {
    expect_error(v2(0x21, 0x11, kAddr4 + tlvs));
    expect_error(v2(0x21, 0x21, kAddr6 + tlvs));
    expect_error(v2(0x21, 0x00, tlvs));
  }
}

}  // namespace
}  // namespace zhttp
