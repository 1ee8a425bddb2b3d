// Every rejection the parser makes: one row per hostile or malformed input, with the error and
// the status the connection must send before closing.
#include <gtest/gtest.h>

#include "unit/http/parser_test_util.hpp"

namespace zhttp::test {
namespace {

struct RejectCase {
  const char* name;
  std::string input;
  ParseError error;
  uint16_t status;
};

std::ostream& operator<<(std::ostream& os, const RejectCase& c) {
  return os << c.name;
}

const std::string kH = "Host: example.com\r\n";

const RejectCase kRejects[] = {
    // Request line
    {"EmptyMethod", " / HTTP/1.1\r\n" + kH + "\r\n", ParseError::kBadMethod, 400},
    {"MethodWithSlash", "GE/T / HTTP/1.1\r\n" + kH + "\r\n", ParseError::kBadMethod, 400},
    {"MethodWithTab", "GET\t/ HTTP/1.1\r\n" + kH + "\r\n", ParseError::kBadMethod, 400},
    {"MethodNul", std::string("G\0T / HTTP/1.1\r\n", 16) + kH + "\r\n", ParseError::kBadMethod,
     400},
    {"MethodHighByte", "G\xc3\xa9T / HTTP/1.1\r\n" + kH + "\r\n", ParseError::kBadMethod, 400},
    {"DoubleSpaceBeforeTarget", "GET  / HTTP/1.1\r\n" + kH + "\r\n", ParseError::kBadRequestLine,
     400},
    {"DoubleSpaceBeforeVersion", "GET /  HTTP/1.1\r\n" + kH + "\r\n", ParseError::kBadVersion, 400},
    {"TrailingSpaceAfterVersion", "GET / HTTP/1.1 \r\n" + kH + "\r\n", ParseError::kBadRequestLine,
     400},
    {"Http09", "GET /\r\n\r\n", ParseError::kBadRequestLine, 400},
    {"NoVersion", "GET / \r\n\r\n", ParseError::kBadVersion, 400},
    {"LowercaseVersion", "GET / http/1.1\r\n" + kH + "\r\n", ParseError::kBadVersion, 400},
    {"VersionLetters", "GET / HTTP/1.x\r\n" + kH + "\r\n", ParseError::kBadVersion, 400},
    {"VersionTwoDigits", "GET / HTTP/11.1\r\n" + kH + "\r\n", ParseError::kBadVersion, 400},
    {"VersionShort", "GET / HTTP/1\r\n" + kH + "\r\n", ParseError::kBadVersion, 400},
    {"Http2", "GET / HTTP/2.0\r\n" + kH + "\r\n", ParseError::kVersionNotSupported, 505},
    {"Http09Version", "GET / HTTP/0.9\r\n\r\n", ParseError::kVersionNotSupported, 505},
    {"Http3", "GET / HTTP/3.0\r\n" + kH + "\r\n", ParseError::kVersionNotSupported, 505},
    {"TargetNul", std::string("GET /a\0b HTTP/1.1\r\n", 19) + kH + "\r\n", ParseError::kBadTarget,
     400},
    {"TargetTab", "GET /a\tb HTTP/1.1\r\n" + kH + "\r\n", ParseError::kBadTarget, 400},
    {"TargetDel", "GET /a\x7f HTTP/1.1\r\n" + kH + "\r\n", ParseError::kBadTarget, 400},
    {"TargetHighByte", "GET /caf\xc3\xa9 HTTP/1.1\r\n" + kH + "\r\n", ParseError::kBadTarget, 400},
    {"TargetRelative", "GET index.html HTTP/1.1\r\n" + kH + "\r\n", ParseError::kBadTarget, 400},
    {"AsteriskNotOptions", "GET * HTTP/1.1\r\n" + kH + "\r\n", ParseError::kBadTarget, 400},
    {"ConnectWithPath", "CONNECT / HTTP/1.1\r\n" + kH + "\r\n", ParseError::kBadTarget, 400},
    {"ConnectNoPort", "CONNECT example.com HTTP/1.1\r\n" + kH + "\r\n", ParseError::kBadTarget,
     400},
    {"ConnectBadHost", "CONNECT a/b:80 HTTP/1.1\r\n" + kH + "\r\n", ParseError::kBadTarget, 400},
    {"TargetTooLong", "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n" + kH + "\r\n",
     ParseError::kTargetTooLong, 414},
    // Line endings
    {"BareLfRequestLine", "GET / HTTP/1.1\n" + kH + "\r\n", ParseError::kBareLf, 400},
    {"BareCrRequestLine", "GET / HTTP/1.1\rX" + kH + "\r\n", ParseError::kBareCr, 400},
    {"BareLfAfterField", "GET / HTTP/1.1\r\nHost: a\n\r\n", ParseError::kBareLf, 400},
    {"BareCrInValue", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", ParseError::kBareCr, 400},
    {"BareLfEndOfHead", "GET / HTTP/1.1\r\n" + kH + "\n", ParseError::kBareLf, 400},
    {"BareCrEndOfHead", "GET / HTTP/1.1\r\n" + kH + "\rX", ParseError::kBareCr, 400},
    {"BareLfLeadingLine", "\nGET / HTTP/1.1\r\n" + kH + "\r\n", ParseError::kBareLf, 400},
    {"BareCrLeadingLine", "\rGET / HTTP/1.1\r\n" + kH + "\r\n", ParseError::kBareCr, 400},
    {"LfLfEndOfHead", "GET / HTTP/1.1\n\n", ParseError::kBareLf, 400},
    // Field syntax
    {"ObsFold", "GET / HTTP/1.1\r\n" + kH + "X-A: b\r\n c\r\n\r\n", ParseError::kObsFold, 400},
    {"ObsFoldTab", "GET / HTTP/1.1\r\n" + kH + "X-A: b\r\n\tc\r\n\r\n", ParseError::kObsFold, 400},
    {"WhitespaceBeforeFirstField", "GET / HTTP/1.1\r\n " + kH + "\r\n", ParseError::kObsFold, 400},
    {"SpaceBeforeColon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", ParseError::kSpaceBeforeColon, 400},
    {"TabBeforeColon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", ParseError::kSpaceBeforeColon, 400},
    {"SpaceBeforeColonTe", "POST / HTTP/1.1\r\n" + kH + "Transfer-Encoding : chunked\r\n\r\n",
     ParseError::kSpaceBeforeColon, 400},
    {"EmptyFieldName", "GET / HTTP/1.1\r\n" + kH + ": x\r\n\r\n", ParseError::kBadFieldName, 400},
    {"FieldNameSlash", "GET / HTTP/1.1\r\n" + kH + "X/Y: x\r\n\r\n", ParseError::kBadFieldName,
     400},
    {"FieldNameBracket", "GET / HTTP/1.1\r\n" + kH + "X[1]: x\r\n\r\n", ParseError::kBadFieldName,
     400},
    {"FieldNameNoColon", "GET / HTTP/1.1\r\n" + kH + "NoColon\r\n\r\n", ParseError::kBadFieldName,
     400},
    {"FieldNameHighByte", "GET / HTTP/1.1\r\n" + kH + "X-\xff: x\r\n\r\n",
     ParseError::kBadFieldName, 400},
    {"FieldNameNul", "GET / HTTP/1.1\r\n" + kH + std::string("X\0: x\r\n", 7) + "\r\n",
     ParseError::kBadFieldName, 400},
    {"ValueNul", "GET / HTTP/1.1\r\n" + kH + std::string("X-A: a\0b\r\n", 10) + "\r\n",
     ParseError::kBadFieldValue, 400},
    {"ValueVerticalTab", "GET / HTTP/1.1\r\n" + kH + "X-A: a\x0b\r\n\r\n",
     ParseError::kBadFieldValue, 400},
    {"ValueEscape", "GET / HTTP/1.1\r\n" + kH + "X-A: \x1b[31m\r\n\r\n", ParseError::kBadFieldValue,
     400},
    {"ValueDel", "GET / HTTP/1.1\r\n" + kH + "X-A: a\x7f\r\n\r\n", ParseError::kBadFieldValue, 400},
    {"LongValueNulAfter16Bytes",
     "GET / HTTP/1.1\r\n" + kH + "X-A: " + std::string(40, 'v') + std::string(1, '\0') +
         "tail-of-value\r\n\r\n",
     ParseError::kBadFieldValue, 400},
    // Framing
    {"ClAndTe",
     "POST / HTTP/1.1\r\n" + kH + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
     ParseError::kContentLengthAndTe, 400},
    {"TeAndCl",
     "POST / HTTP/1.1\r\n" + kH + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
     ParseError::kContentLengthAndTe, 400},
    {"ClDiffering", "POST / HTTP/1.1\r\n" + kH + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
     ParseError::kBadContentLength, 400},
    {"ClList", "POST / HTTP/1.1\r\n" + kH + "Content-Length: 5, 5\r\n\r\n",
     ParseError::kBadContentLength, 400},
    {"ClNegative", "POST / HTTP/1.1\r\n" + kH + "Content-Length: -1\r\n\r\n",
     ParseError::kBadContentLength, 400},
    {"ClPlus", "POST / HTTP/1.1\r\n" + kH + "Content-Length: +5\r\n\r\n",
     ParseError::kBadContentLength, 400},
    {"ClHex", "POST / HTTP/1.1\r\n" + kH + "Content-Length: 0x10\r\n\r\n",
     ParseError::kBadContentLength, 400},
    {"ClEmpty", "POST / HTTP/1.1\r\n" + kH + "Content-Length:\r\n\r\n",
     ParseError::kBadContentLength, 400},
    {"ClInnerSpace", "POST / HTTP/1.1\r\n" + kH + "Content-Length: 1 2\r\n\r\n",
     ParseError::kBadContentLength, 400},
    {"ClOverflow", "POST / HTTP/1.1\r\n" + kH + "Content-Length: 9223372036854775808\r\n\r\n",
     ParseError::kBadContentLength, 400},
    {"ClHugeOverflow",
     "POST / HTTP/1.1\r\n" + kH + "Content-Length: 99999999999999999999999999\r\n\r\n",
     ParseError::kBadContentLength, 400},
    {"TeChunkedNotLast", "POST / HTTP/1.1\r\n" + kH + "Transfer-Encoding: chunked, gzip\r\n\r\n",
     ParseError::kChunkedNotFinal, 400},
    {"TeOnlyGzip", "POST / HTTP/1.1\r\n" + kH + "Transfer-Encoding: gzip\r\n\r\n",
     ParseError::kChunkedNotFinal, 400},
    {"TeChunkedTwice", "POST / HTTP/1.1\r\n" + kH + "Transfer-Encoding: chunked, chunked\r\n\r\n",
     ParseError::kChunkedNotFinal, 400},
    {"TeChunkedTwiceTwoLines",
     "POST / HTTP/1.1\r\n" + kH +
         "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
     ParseError::kChunkedNotFinal, 400},
    {"TeEmpty", "POST / HTTP/1.1\r\n" + kH + "Transfer-Encoding:\r\n\r\n",
     ParseError::kChunkedNotFinal, 400},
    {"TeChunkedWithParam", "POST / HTTP/1.1\r\n" + kH + "Transfer-Encoding: chunked;x=1\r\n\r\n",
     ParseError::kChunkedNotFinal, 400},
    {"TeObfuscated", "POST / HTTP/1.1\r\n" + kH + "Transfer-Encoding: xchunked\r\n\r\n",
     ParseError::kChunkedNotFinal, 400},
    {"TeQuoted", "POST / HTTP/1.1\r\n" + kH + "Transfer-Encoding: \"chunked\"\r\n\r\n",
     ParseError::kChunkedNotFinal, 400},
    {"TeGzipChunked", "POST / HTTP/1.1\r\n" + kH + "Transfer-Encoding: gzip, chunked\r\n\r\n",
     ParseError::kUnknownCoding, 501},
    {"TeUnknownThenChunkedTwoLines",
     "POST / HTTP/1.1\r\n" + kH + "Transfer-Encoding: foo\r\nTransfer-Encoding: chunked\r\n\r\n",
     ParseError::kUnknownCoding, 501},
    {"TeInHttp10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", ParseError::kTeInHttp10,
     400},
    // Host
    {"MissingHost11", "GET / HTTP/1.1\r\n\r\n", ParseError::kMissingHost, 400},
    {"MissingHostWithOtherFields", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n",
     ParseError::kMissingHost, 400},
    {"DuplicateHost", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", ParseError::kDuplicateHost,
     400},
    {"DuplicateHostHttp10", "GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n",
     ParseError::kDuplicateHost, 400},
    {"HostWithSlash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", ParseError::kBadHost, 400},
    {"HostWithSpace", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", ParseError::kBadHost, 400},
    {"HostWithAt", "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", ParseError::kBadHost, 400},
    {"HostList", "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", ParseError::kBadHost, 400},
    {"HostBadPort", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", ParseError::kBadHost, 400},
    {"HostTwoColons", "GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n", ParseError::kBadHost, 400},
    // Expect
    {"ExpectUnknown", "POST / HTTP/1.1\r\n" + kH + "Expect: 200-ok\r\nContent-Length: 1\r\n\r\n",
     ParseError::kBadExpect, 417},
    {"ExpectEmpty", "POST / HTTP/1.1\r\n" + kH + "Expect:\r\n\r\n", ParseError::kBadExpect, 417},
};

class ParserReject : public ::testing::TestWithParam<RejectCase> {};

TEST_P(ParserReject, ReportsErrorAndStatus) {
  const RejectCase& c = GetParam();
  Parse p(c.input);
  EXPECT_EQ(p.result.status, ParseStatus::kError);
  EXPECT_EQ(p.result.error, c.error) << describe(p.result.error);
  EXPECT_EQ(p.result.http_status, c.status);
  EXPECT_FALSE(describe(c.error).empty());
}

// The decision must not depend on how the bytes arrived: byte by byte and at every single cut.
TEST_P(ParserReject, SameResultAtEverySplit) {
  const std::string& in = GetParam().input;
  const std::string whole = summarize(Parse(in));
  std::vector<size_t> every_byte;
  for (size_t i = 1; i < in.size(); ++i) every_byte.push_back(i);
  EXPECT_EQ(feed_in_pieces(in, every_byte), whole);
  for (size_t i = 1; i < in.size(); ++i) {
    ASSERT_EQ(feed_in_pieces(in, {i}), whole) << "cut at " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(All, ParserReject, ::testing::ValuesIn(kRejects),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace zhttp::test
