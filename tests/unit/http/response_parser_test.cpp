// The response head parser: accepted forms, framing (RFC 9112 6.3) for each status and request
// method, every refusal, limits, the same result at every split point, 1xx heads followed by the
// final one, and hop-by-hop fields.
#include "http/response_parser.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace zhttp::http {
namespace {

using namespace std::string_literals;

struct Parse {
  std::array<Header, 128> headers{};
  ResponseHead head;
  ResponseResult result;
  std::string storage;  // own copy: callers often pass a temporary
  std::string_view input;

  explicit Parse(std::string_view in, Method method = Method::kGet,
                 const ResponseLimits& limits = {})
      : storage(in), input(storage) {
    result = parse_response(input, method, limits, head, headers);
  }
  Parse(const Parse&) = delete;
  bool complete() const { return result.status == ParseStatus::kComplete; }
  std::string_view text(Span s) const { return s.in(input.data()); }
  std::string_view name(uint32_t i) const { return text(head.headers[i].name); }
  std::string_view value(uint32_t i) const { return text(head.headers[i].value); }
};

// Everything observable about a result, to compare two parses of the same bytes.
std::string summarize(const Parse& p) {
  std::string s = std::to_string(static_cast<int>(p.result.status)) + "/" +
                  std::to_string(static_cast<int>(p.result.error)) + "/" +
                  std::to_string(p.result.consumed);
  if (!p.complete()) return s;
  const ResponseHead& h = p.head;
  s += "|s" + std::to_string(h.status) + " " + std::string(p.text(h.reason));
  s += "|v" + std::to_string(h.version_minor) + "|cl" + std::to_string(h.content_length);
  s += "|f" + std::to_string(static_cast<int>(h.framing));
  s += "|k" + std::to_string(h.keep_alive) + std::to_string(h.interim) +
       std::to_string(h.switched) + std::to_string(h.connection_names_fields);
  for (uint32_t i = 0; i < h.header_count; ++i) {
    s += "|" + std::to_string(static_cast<int>(h.headers[i].id)) + ":" + std::string(p.name(i)) +
         "=" + std::string(p.value(i));
  }
  return s;
}

// Feeds growing prefixes of `input` (cut at each point of `cuts`, then whole) with the previous
// partial length as the hint, as a connection would; the summary of the first decided result.
std::string feed_in_pieces(std::string_view input, const std::vector<size_t>& cuts,
                           Method method = Method::kGet, const ResponseLimits& limits = {}) {
  std::array<Header, 128> headers{};
  size_t scanned = 0;
  for (size_t cut : cuts) {
    ResponseHead head;
    ResponseResult r = parse_response(input.substr(0, cut), method, limits, head, headers, scanned);
    if (r.status != ParseStatus::kPartial) return summarize(Parse(input.substr(0, cut), method));
    scanned = cut;
  }
  ResponseHead head;
  ResponseResult r = parse_response(input, method, limits, head, headers, scanned);
  Parse whole(input, method, limits);
  EXPECT_EQ(r.status, whole.result.status);
  EXPECT_EQ(r.error, whole.result.error);
  EXPECT_EQ(r.consumed, whole.result.consumed);
  return summarize(whole);
}

void expect_same_at_every_split(const std::string& in, Method method = Method::kGet) {
  const std::string whole = summarize(Parse(in, method));
  std::vector<size_t> every_byte;
  for (size_t i = 1; i < in.size(); ++i) every_byte.push_back(i);
  EXPECT_EQ(feed_in_pieces(in, every_byte, method), whole);
  for (size_t i = 1; i < in.size(); ++i) {
    ASSERT_EQ(feed_in_pieces(in, {i}, method), whole) << "cut at " << i;
  }
}

// ---- accepted forms ----

TEST(ResponseParser, PlainOkWithContentLength) {
  const std::string in =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
  Parse p(in);
  ASSERT_TRUE(p.complete()) << describe(p.result.error);
  EXPECT_EQ(p.result.consumed, in.size() - 5);
  EXPECT_EQ(p.head.head_bytes, p.result.consumed);
  EXPECT_EQ(p.head.status, 200);
  EXPECT_EQ(p.text(p.head.reason), "OK");
  EXPECT_EQ(p.head.version_minor, 1);
  EXPECT_EQ(p.head.framing, BodyFraming::kContentLength);
  EXPECT_EQ(p.head.content_length, 5);
  EXPECT_TRUE(p.head.keep_alive);
  EXPECT_FALSE(p.head.interim);
  EXPECT_FALSE(p.head.switched);
  ASSERT_EQ(p.head.header_count, 2u);
  EXPECT_EQ(p.head.headers[0].id, HeaderId::kContentType);
  EXPECT_EQ(p.name(0), "Content-Type");
  EXPECT_EQ(p.value(0), "text/plain");
  ASSERT_NE(p.head.find(HeaderId::kContentLength), nullptr);
  EXPECT_EQ(p.text(p.head.find(HeaderId::kContentLength)->value), "5");
  EXPECT_EQ(p.head.find(HeaderId::kTransferEncoding), nullptr);
}

TEST(ResponseParser, EmptyReasonAndReasonBytes) {
  Parse empty("HTTP/1.1 204 \r\n\r\n");
  ASSERT_TRUE(empty.complete());
  EXPECT_EQ(empty.text(empty.head.reason), "");
  // SP, HTAB and obs-text belong to the reason phrase; it is kept as sent.
  Parse odd("HTTP/1.1 404 Not\tFound \xe9t\xe9 \r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(odd.complete());
  EXPECT_EQ(odd.text(odd.head.reason), "Not\tFound \xe9t\xe9 ");
}

TEST(ResponseParser, FieldValuesTrimmedAndNamesKept) {
  Parse p("HTTP/1.1 200 OK\r\nX-A:\t v v \t\r\nx-empty:\r\ncontent-LENGTH:  0\r\n\r\n");
  ASSERT_TRUE(p.complete());
  ASSERT_EQ(p.head.header_count, 3u);
  EXPECT_EQ(p.value(0), "v v");
  EXPECT_EQ(p.name(1), "x-empty");
  EXPECT_EQ(p.value(1), "");
  EXPECT_EQ(p.head.headers[2].id, HeaderId::kContentLength);
  EXPECT_EQ(p.head.content_length, 0);
}

TEST(ResponseParser, StatusCodeBounds) {
  EXPECT_EQ(Parse("HTTP/1.1 100 \r\n\r\n").head.status, 100);
  EXPECT_EQ(Parse("HTTP/1.1 599 Odd\r\n\r\n").head.status, 599);
  EXPECT_EQ(Parse("HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n").head.status, 302);
}

TEST(ResponseParser, IncompleteHeadsArePartial) {
  const std::string in = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
  for (size_t n = 0; n < in.size(); ++n) {
    Parse p(in.substr(0, n));
    EXPECT_EQ(p.result.status, ParseStatus::kPartial) << n;
  }
}

// ---- framing (RFC 9112 6.3) ----

struct FramingCase {
  const char* name;
  Method method;
  std::string input;
  BodyFraming framing;
  int64_t content_length;
  bool keep_alive;
  bool interim = false;
  bool switched = false;
};

const FramingCase kFraming[] = {
    {"ContentLength", Method::kGet, "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n",
     BodyFraming::kContentLength, 42, true},
    {"ContentLengthZero", Method::kGet, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
     BodyFraming::kContentLength, 0, true},
    {"IdenticalContentLengths", Method::kGet,
     "HTTP/1.1 200 OK\r\nContent-Length: 7\r\ncontent-length: 7\r\n\r\n",
     BodyFraming::kContentLength, 7, true},
    {"Chunked", Method::kGet, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
     BodyFraming::kChunked, -1, true},
    {"ChunkedAnyCase", Method::kPost, "HTTP/1.1 201 Created\r\ntransfer-encoding: Chunked\r\n\r\n",
     BodyFraming::kChunked, -1, true},
    {"UntilClose", Method::kGet, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n",
     BodyFraming::kUntilClose, -1, false},
    {"UntilCloseHttp10KeepAlive", Method::kGet, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n",
     BodyFraming::kUntilClose, -1, false},
    {"HeadWithContentLength", Method::kHead, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
     BodyFraming::kNone, 1000, true},
    {"HeadWithChunked", Method::kHead, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
     BodyFraming::kNone, -1, true},
    {"HeadWithNeither", Method::kHead, "HTTP/1.1 200 OK\r\n\r\n", BodyFraming::kNone, -1, true},
    {"HeadError", Method::kHead, "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\n",
     BodyFraming::kNone, 9, true},
    {"NoContent", Method::kGet, "HTTP/1.1 204 No Content\r\n\r\n", BodyFraming::kNone, -1, true},
    {"NoContentWithLength", Method::kDelete, "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
     BodyFraming::kNone, 0, true},
    {"NotModified", Method::kGet, "HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\n\r\n",
     BodyFraming::kNone, 1234, true},
    {"Continue", Method::kPost, "HTTP/1.1 100 Continue\r\n\r\n", BodyFraming::kNone, -1, true,
     true},
    {"EarlyHints", Method::kGet, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n",
     BodyFraming::kNone, -1, true, true},
    {"SwitchingProtocols", Method::kGet,
     "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
     BodyFraming::kNone, -1, false, false, true},
    {"ConnectEstablished", Method::kConnect, "HTTP/1.1 200 Connection established\r\n\r\n",
     BodyFraming::kNone, -1, false, false, true},
    {"ConnectRefused", Method::kConnect,
     "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 3\r\n\r\n",
     BodyFraming::kContentLength, 3, true},
    {"Http10DefaultClose", Method::kGet, "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n",
     BodyFraming::kContentLength, 1, false},
    {"Http10KeepAlive", Method::kGet,
     "HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: Keep-Alive\r\n\r\n",
     BodyFraming::kContentLength, 1, true},
    {"Http11Close", Method::kGet,
     "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n",
     BodyFraming::kContentLength, 1, false},
    {"Http11CloseInList", Method::kGet,
     "HTTP/1.1 200 OK\r\nConnection: x-a, CLOSE\r\nContent-Length: 1\r\n\r\n",
     BodyFraming::kContentLength, 1, false},
    {"ChunkedIn304", Method::kGet,
     "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", BodyFraming::kNone, -1,
     true},
};

class ResponseFraming : public ::testing::TestWithParam<FramingCase> {};

TEST_P(ResponseFraming, FramingAndConnection) {
  const FramingCase& c = GetParam();
  Parse p(c.input, c.method);
  ASSERT_TRUE(p.complete()) << describe(p.result.error);
  EXPECT_EQ(p.result.consumed, c.input.size());
  EXPECT_EQ(p.head.framing, c.framing);
  EXPECT_EQ(p.head.content_length, c.content_length);
  EXPECT_EQ(p.head.keep_alive, c.keep_alive);
  EXPECT_EQ(p.head.interim, c.interim);
  EXPECT_EQ(p.head.switched, c.switched);
}

TEST_P(ResponseFraming, SameResultAtEverySplit) {
  expect_same_at_every_split(GetParam().input, GetParam().method);
}

INSTANTIATE_TEST_SUITE_P(All, ResponseFraming, ::testing::ValuesIn(kFraming),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- refusals ----

struct RejectCase {
  const char* name;
  std::string input;
  ResponseError error;
  Method method = Method::kGet;
};

const RejectCase kRejects[] = {
    // status line
    {"Http2", "HTTP/2 200 OK\r\n\r\n", ResponseError::kBadVersion},
    {"Http12", "HTTP/1.2 200 OK\r\n\r\n", ResponseError::kBadVersion},
    {"Http09", "HTTP/0.9 200 OK\r\n\r\n", ResponseError::kBadVersion},
    {"LowercaseVersion", "http/1.1 200 OK\r\n\r\n", ResponseError::kBadVersion},
    {"LongVersion", "HTTP/1.10 200 OK\r\n\r\n", ResponseError::kBadVersion},
    {"LeadingEmptyLine", "\r\nHTTP/1.1 200 OK\r\n\r\n", ResponseError::kBadVersion},
    {"NotHttp", "<html>hello</html>", ResponseError::kBadVersion},
    {"TwoSpacesBeforeCode", "HTTP/1.1  200 OK\r\n\r\n", ResponseError::kBadStatusLine},
    {"TabBeforeCode", "HTTP/1.1\t200 OK\r\n\r\n", ResponseError::kBadStatusLine},
    {"NoSpaceAfterCode", "HTTP/1.1 200\r\n\r\n", ResponseError::kBadStatusLine},
    {"NoSpaceAfterCodeBareLf", "HTTP/1.1 200\n\n", ResponseError::kBadStatusLine},
    {"TabAfterCode", "HTTP/1.1 200\tOK\r\n\r\n", ResponseError::kBadStatusLine},
    {"NoCode", "HTTP/1.1\r\n\r\n", ResponseError::kBadStatusLine},
    {"TwoDigitCode", "HTTP/1.1 20 OK\r\n\r\n", ResponseError::kBadStatusLine},
    {"FourDigitCode", "HTTP/1.1 2000 OK\r\n\r\n", ResponseError::kBadStatusCode},
    {"CodeBelow100", "HTTP/1.1 099 Odd\r\n\r\n", ResponseError::kBadStatusCode},
    {"CodeAbove599", "HTTP/1.1 600 Odd\r\n\r\n", ResponseError::kBadStatusCode},
    {"CodeNotDigits", "HTTP/1.1 2x0 OK\r\n\r\n", ResponseError::kBadStatusCode},
    {"CodeSigned", "HTTP/1.1 +20 OK\r\n\r\n", ResponseError::kBadStatusCode},
    {"ReasonControl", "HTTP/1.1 200 O\x01K\r\n\r\n", ResponseError::kBadReason},
    {"ReasonDel", "HTTP/1.1 200 OK\x7f\r\n\r\n", ResponseError::kBadReason},
    {"ReasonNul", "HTTP/1.1 200 O\0K\r\n\r\n"s, ResponseError::kBadReason},
    {"StatusLineBareLf", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", ResponseError::kBareLf},
    {"StatusLineBareCr", "HTTP/1.1 200 OK\rContent-Length: 0\r\n\r\n", ResponseError::kBareCr},
    // field lines
    {"FieldBareLf", "HTTP/1.1 200 OK\r\nA: b\nContent-Length: 0\r\n\r\n", ResponseError::kBareLf},
    {"FieldBareCr", "HTTP/1.1 200 OK\r\nA: b\rC: d\r\n\r\n", ResponseError::kBareCr},
    {"FinalBareLf", "HTTP/1.1 200 OK\r\nA: b\r\n\n", ResponseError::kBareLf},
    {"FinalBareCr", "HTTP/1.1 200 OK\r\nA: b\r\n\rX", ResponseError::kBareCr},
    {"ObsFold", "HTTP/1.1 200 OK\r\nA: b\r\n  folded\r\n\r\n", ResponseError::kObsFold},
    {"ObsFoldTab", "HTTP/1.1 200 OK\r\nA: b\r\n\tfolded\r\n\r\n", ResponseError::kObsFold},
    {"SpaceBeforeColon", "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello",
     ResponseError::kSpaceBeforeColon},
    {"TabBeforeColon", "HTTP/1.1 200 OK\r\nX\t: 5\r\n\r\n", ResponseError::kSpaceBeforeColon},
    {"NameNotToken", "HTTP/1.1 200 OK\r\nX(y): 5\r\n\r\n", ResponseError::kBadFieldName},
    {"EmptyName", "HTTP/1.1 200 OK\r\n: 5\r\n\r\n", ResponseError::kBadFieldName},
    {"NoColon", "HTTP/1.1 200 OK\r\nJustAName\r\n\r\n", ResponseError::kBadFieldName},
    {"ValueControl",
     "HTTP/1.1 200 OK\r\nX: a\x01"
     "b\r\n\r\n",
     ResponseError::kBadFieldValue},
    {"ValueDel", "HTTP/1.1 200 OK\r\nX: a\x7f\r\n\r\n", ResponseError::kBadFieldValue},
    {"ValueNul", "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n"s, ResponseError::kBadFieldValue},
    // Content-Length
    {"ContentLengthEmpty", "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
     ResponseError::kBadContentLength},
    {"ContentLengthNonDigit", "HTTP/1.1 200 OK\r\nContent-Length: 5a\r\n\r\n",
     ResponseError::kBadContentLength},
    {"ContentLengthSigned", "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n",
     ResponseError::kBadContentLength},
    {"ContentLengthNegative", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
     ResponseError::kBadContentLength},
    {"ContentLengthHex", "HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n",
     ResponseError::kBadContentLength},
    {"ContentLengthList", "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello",
     ResponseError::kBadContentLength},
    {"ContentLengthOverflow", "HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\n",
     ResponseError::kBadContentLength},
    {"ContentLengthHuge", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
     ResponseError::kBadContentLength},
    {"ContentLengthsDiffer", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
     ResponseError::kBadContentLength},
    {"ContentLengthsDifferIn304",
     "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
     ResponseError::kBadContentLength},
    {"ContentLengthsDifferInHead",
     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
     ResponseError::kBadContentLength, Method::kHead},
    // Transfer-Encoding
    {"ContentLengthAndChunked",
     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
     ResponseError::kContentLengthAndTe},
    {"ChunkedAndContentLength",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
     ResponseError::kContentLengthAndTe},
    {"ContentLengthAndTeInHead",
     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
     ResponseError::kContentLengthAndTe, Method::kHead},
    {"TeNotChunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
     ResponseError::kChunkedNotFinal},
    {"TeChunkedThenGzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
     ResponseError::kChunkedNotFinal},
    {"TeChunkedTwice",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
     "Transfer-Encoding: chunked\r\n\r\n",
     ResponseError::kChunkedNotFinal},
    {"TeEmpty", "HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\n", ResponseError::kChunkedNotFinal},
    {"TeMalformed", "HTTP/1.1 200 OK\r\nTransfer-Encoding: \"chunked\"\r\n\r\n",
     ResponseError::kChunkedNotFinal},
    {"TeIdentity", "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n",
     ResponseError::kChunkedNotFinal},
    {"TeGzipThenChunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
     ResponseError::kUnknownCoding},
    {"TeInHttp10", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
     ResponseError::kTeInHttp10},
};

class ResponseReject : public ::testing::TestWithParam<RejectCase> {};

TEST_P(ResponseReject, ReportsError) {
  const RejectCase& c = GetParam();
  Parse p(c.input, c.method);
  EXPECT_EQ(p.result.status, ParseStatus::kError);
  EXPECT_EQ(p.result.error, c.error) << describe(p.result.error);
  EXPECT_EQ(p.result.consumed, 0u);
}

TEST_P(ResponseReject, SameResultAtEverySplit) {
  expect_same_at_every_split(GetParam().input, GetParam().method);
}

INSTANTIATE_TEST_SUITE_P(All, ResponseReject, ::testing::ValuesIn(kRejects),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ResponseParser, ErrorsAreReportedBeforeTheLineEnds) {
  // Without the hint a wrong byte is found when it arrives, not when its line ends.
  EXPECT_EQ(Parse("HTTP/2").result.error, ResponseError::kBadVersion);
  EXPECT_EQ(Parse("HTTP/1.1 7").result.error, ResponseError::kBadStatusCode);
  EXPECT_EQ(Parse("HTTP/1.1 200 OK\r\nBad Name").result.error, ResponseError::kSpaceBeforeColon);
}

TEST(ResponseParser, DescribeEveryError) {
  for (int e = 0; e <= static_cast<int>(ResponseError::kTeInHttp10); ++e) {
    EXPECT_NE(describe(static_cast<ResponseError>(e)), "unknown") << e;
  }
}

// ---- limits ----

std::string response_with_fields(int n) {
  std::string s = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n";
  for (int i = 1; i < n; ++i) s += "X-H" + std::to_string(i) + ": v\r\n";
  return s + "\r\n";
}

TEST(ResponseLimits, FieldCountAtLimitAccepted) {
  ResponseLimits limits;
  limits.max_headers = 10;
  Parse p(response_with_fields(10), Method::kGet, limits);
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.head.header_count, 10u);
}

TEST(ResponseLimits, FieldCountOverLimitRefused) {
  ResponseLimits limits;
  limits.max_headers = 10;
  Parse p(response_with_fields(11), Method::kGet, limits);
  EXPECT_EQ(p.result.error, ResponseError::kTooManyHeaders);
}

TEST(ResponseLimits, ArraySmallerThanLimitRefused) {
  std::array<Header, 4> headers;
  ResponseHead head;
  std::string in = response_with_fields(5);
  ResponseResult r = parse_response(in, Method::kGet, {}, head, headers);
  EXPECT_EQ(r.error, ResponseError::kTooManyHeaders);
}

TEST(ResponseLimits, HeadExactlyAtLimitAccepted) {
  std::string in = response_with_fields(3);
  ResponseLimits limits;
  limits.max_head_bytes = static_cast<uint32_t>(in.size());
  Parse p(in + "body bytes", Method::kGet, limits);
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.result.consumed, in.size());
}

TEST(ResponseLimits, HeadOneByteOverLimitRefused) {
  std::string in = response_with_fields(3);
  ResponseLimits limits;
  limits.max_head_bytes = static_cast<uint32_t>(in.size() - 1);
  EXPECT_EQ(Parse(in, Method::kGet, limits).result.error, ResponseError::kHeadTooLarge);
}

TEST(ResponseLimits, IncompleteHeadPastLimitRefused) {
  ResponseLimits limits;
  limits.max_head_bytes = 64;
  Parse p("HTTP/1.1 200 OK\r\nX-Long: " + std::string(100, 'x'), Method::kGet, limits);
  EXPECT_EQ(p.result.error, ResponseError::kHeadTooLarge);
  // Also with the hint: the limit is checked before it.
  std::array<Header, 8> headers;
  ResponseHead head;
  EXPECT_EQ(parse_response(p.input, Method::kGet, limits, head, headers, 50).error,
            ResponseError::kHeadTooLarge);
}

TEST(ResponseLimits, SyntaxErrorBeforeLimitWinsOverSize) {
  ResponseLimits limits;
  limits.max_head_bytes = 64;
  Parse p("HTTP/1.1 200 OK\r\nBad Name: x\r\n" + std::string(200, 'x'), Method::kGet, limits);
  EXPECT_EQ(p.result.error, ResponseError::kSpaceBeforeColon);
}

// ---- split points and the hint ----

const char* const kValid[] = {
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive, X-Trace\r\n"
    "X-Trace: 1\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "HTTP/1.0 200 OK\r\nServer: old\r\n\r\nuntil close",
    "HTTP/1.1 304 Not Modified\r\nETag: \"abc\"\r\nContent-Length: 99\r\n\r\n",
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 204 \r\nX-Tabs:\t\tv\t\r\nSet-Cookie: a=b; Path=/; HttpOnly\r\n\r\n",
};

class ResponseSplit : public ::testing::TestWithParam<const char*> {};

TEST_P(ResponseSplit, EverySplitMatchesWhole) {
  ASSERT_TRUE(Parse(GetParam()).complete());
  expect_same_at_every_split(GetParam());
}

TEST_P(ResponseSplit, EveryThreeWaySplitMatchesWhole) {
  std::string in = GetParam();
  const std::string whole = summarize(Parse(in));
  for (size_t i = 1; i < in.size(); i += 3) {
    for (size_t j = i + 1; j < in.size(); j += 5) {
      ASSERT_EQ(feed_in_pieces(in, {i, j}), whole) << "cuts at " << i << "," << j;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Valid, ResponseSplit, ::testing::ValuesIn(kValid));

TEST(ResponseHint, NoLineEndMeansPartialWithoutParsing) {
  std::string in = "HTTP/1.1 2x";
  std::array<Header, 8> headers;
  ResponseHead head;
  EXPECT_EQ(parse_response(in, Method::kGet, {}, head, headers, 9).status, ParseStatus::kPartial);
  EXPECT_EQ(parse_response(in, Method::kGet, {}, head, headers).error,
            ResponseError::kBadStatusCode);
  in += "0 OK\r\n";
  EXPECT_EQ(parse_response(in, Method::kGet, {}, head, headers, 11).error,
            ResponseError::kBadStatusCode);
}

// ---- several heads one after another ----

TEST(ResponseSequence, InterimHeadsThenFinalThenNextResponse) {
  const std::string in =
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
      "HTTP/1.1 102 Processing\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
      "HTTP/1.1 204 No Content\r\n\r\n";
  std::string_view rest = in;
  std::array<Header, 16> headers;
  std::vector<uint16_t> statuses;
  for (int responses = 0; responses < 2;) {
    ResponseHead head;
    ResponseResult r = parse_response(rest, Method::kPost, {}, head, headers);
    ASSERT_EQ(r.status, ParseStatus::kComplete) << describe(r.error);
    statuses.push_back(head.status);
    rest.remove_prefix(r.consumed);
    if (head.interim) continue;
    ++responses;
    if (head.framing == BodyFraming::kContentLength) {
      EXPECT_EQ(rest.substr(0, static_cast<size_t>(head.content_length)), "hello");
      rest.remove_prefix(static_cast<size_t>(head.content_length));
    }
  }
  EXPECT_TRUE(rest.empty());
  EXPECT_EQ(statuses, (std::vector<uint16_t>{100, 103, 102, 200, 204}));
}

TEST(ResponseSequence, SwitchingProtocolsIsFinal) {
  const std::string in =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
      "\x81\x05hello";
  Parse p(in);
  ASSERT_TRUE(p.complete());
  EXPECT_FALSE(p.head.interim);
  EXPECT_TRUE(p.head.switched);
  EXPECT_EQ(p.head.framing, BodyFraming::kNone);
  EXPECT_EQ(in.substr(p.result.consumed), "\x81\x05hello");
}

// ---- hop-by-hop fields ----

TEST(ResponseHopByHop, FixedSetAndConnectionNames) {
  Parse p(
      "HTTP/1.1 200 OK\r\nConnection: close, x-trace\r\nConnection: X-Other\r\n"
      "Keep-Alive: timeout=5\r\nProxy-Connection: close\r\nTE: trailers\r\nUpgrade: h2c\r\n"
      "Transfer-Encoding: chunked\r\nX-Trace: 1\r\nx-other: 2\r\nX-Kept: 3\r\n"
      "Content-Type: text/plain\r\nX-Trace-Id: 4\r\n\r\n");
  ASSERT_TRUE(p.complete()) << describe(p.result.error);
  EXPECT_TRUE(p.head.connection_names_fields);
  std::vector<std::string_view> dropped, kept;
  for (uint32_t i = 0; i < p.head.header_count; ++i) {
    bool hop = is_hop_by_hop(p.head.headers[i], p.head, p.input.data());
    (hop ? dropped : kept).push_back(p.name(i));
  }
  EXPECT_EQ(dropped, (std::vector<std::string_view>{"Connection", "Connection", "Keep-Alive",
                                                    "Proxy-Connection", "TE", "Upgrade",
                                                    "Transfer-Encoding", "X-Trace", "x-other"}));
  EXPECT_EQ(kept, (std::vector<std::string_view>{"X-Kept", "Content-Type", "X-Trace-Id"}));
}

TEST(ResponseHopByHop, PlainConnectionOptionsNameNoField) {
  Parse p("HTTP/1.1 200 OK\r\nConnection: keep-alive, Upgrade\r\nClose: x\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_FALSE(p.head.connection_names_fields);
  EXPECT_FALSE(is_hop_by_hop(p.head.headers[1], p.head, p.input.data()));
}

}  // namespace
}  // namespace zhttp::http
