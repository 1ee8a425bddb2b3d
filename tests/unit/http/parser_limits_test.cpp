// Configurable limits, split invariance of valid requests, and the incremental-read hint.
#include <gtest/gtest.h>

#include "unit/http/parser_test_util.hpp"

namespace zhttp::test {
namespace {

std::string request_with_headers(int n) {
  std::string s = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 1; i < n; ++i) s += "X-H" + std::to_string(i) + ": v\r\n";
  return s + "\r\n";
}

TEST(ParserLimits, HeaderCountAtLimitAccepted) {
  ParserLimits limits;
  limits.max_headers = 10;
  Parse p(request_with_headers(10), limits);
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.req.header_count, 10u);
}

TEST(ParserLimits, HeaderCountOverLimitIs431) {
  ParserLimits limits;
  limits.max_headers = 10;
  Parse p(request_with_headers(11), limits);
  EXPECT_EQ(p.result.error, ParseError::kTooManyHeaders);
  EXPECT_EQ(p.result.http_status, 431);
}

TEST(ParserLimits, HeaderArraySmallerThanLimitIs431) {
  std::array<Header, 4> headers;
  Request req;
  std::string in = request_with_headers(5);
  ParseResult r = parse_request(in, ParserLimits{}, req, headers);
  EXPECT_EQ(r.error, ParseError::kTooManyHeaders);
  EXPECT_EQ(r.http_status, 431);
}

TEST(ParserLimits, HeadExactlyAtLimitAccepted) {
  std::string in = request_with_headers(3);
  ParserLimits limits;
  limits.max_head_bytes = static_cast<uint32_t>(in.size());
  Parse p(in + "trailing body bytes", limits);
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.result.consumed, in.size());
}

TEST(ParserLimits, HeadOneByteOverLimitIs431) {
  std::string in = request_with_headers(3);
  ParserLimits limits;
  limits.max_head_bytes = static_cast<uint32_t>(in.size() - 1);
  Parse p(in, limits);
  EXPECT_EQ(p.result.error, ParseError::kHeadTooLarge);
  EXPECT_EQ(p.result.http_status, 431);
}

TEST(ParserLimits, IncompleteHeadPastLimitIs431) {
  ParserLimits limits;
  limits.max_head_bytes = 64;
  Parse p("GET / HTTP/1.1\r\nHost: a\r\nX-Long: " + std::string(100, 'x'), limits);
  EXPECT_EQ(p.result.error, ParseError::kHeadTooLarge);
}

TEST(ParserLimits, EndlessLeadingEmptyLinesHitLimit) {
  ParserLimits limits;
  limits.max_head_bytes = 100;
  std::string crlfs;
  for (int i = 0; i < 60; ++i) crlfs += "\r\n";
  Parse p(crlfs, limits);
  EXPECT_EQ(p.result.error, ParseError::kHeadTooLarge);
}

TEST(ParserLimits, SyntaxErrorBeforeLimitWinsOverSize) {
  ParserLimits limits;
  limits.max_head_bytes = 64;
  Parse p("GET / HTTP/1.1\r\nBad Name: x\r\n" + std::string(200, 'x'), limits);
  EXPECT_EQ(p.result.error, ParseError::kSpaceBeforeColon);
}

TEST(ParserLimits, TargetLimitConfigurable) {
  ParserLimits limits;
  limits.max_target_bytes = 10;
  EXPECT_TRUE(Parse("GET /123456789 HTTP/1.1\r\nHost: a\r\n\r\n", limits).complete());
  Parse over("GET /1234567890 HTTP/1.1\r\nHost: a\r\n\r\n", limits);
  EXPECT_EQ(over.result.http_status, 414);
  // Known to be too long before the line ends.
  Parse early("GET /1234567890", limits);
  EXPECT_EQ(early.result.http_status, 414);
}

TEST(ParserLimits, TargetLongerThanHeadLimitIs414WhenTargetLimitSmaller) {
  ParserLimits limits;
  limits.max_target_bytes = 100;
  limits.max_head_bytes = 200;
  Parse p("GET /" + std::string(500, 'a'), limits);
  EXPECT_EQ(p.result.http_status, 414);
}

// Valid inputs: the complete result is identical however the bytes were split.
const char* const kValid[] = {
    "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "\r\nGET /x?y HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "POST /upload HTTP/1.1\r\nHost: example.com:8080\r\nContent-Length: 5\r\n"
    "Content-Type: text/plain\r\nExpect: 100-continue\r\n\r\nhello",
    "PUT /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    "CONNECT a.b:443 HTTP/1.1\r\nHost: a.b:443\r\n\r\n",
    "GET http://a.b/c HTTP/1.1\r\nHost: a.b\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\nAccept: text/html,"
    "application/xhtml+xml;q=0.9,*/*;q=0.8\r\nCookie: a=b; c=d; session=0123456789abcdef\r\n\r\n",
    "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"
    "X-Tabs:\t\tv\t\r\n\r\n",
};

class ParserSplit : public ::testing::TestWithParam<const char*> {};

TEST_P(ParserSplit, ByteByByteMatchesWhole) {
  std::string in = GetParam();
  Parse whole(in);
  ASSERT_TRUE(whole.complete());
  std::vector<size_t> cuts;
  for (size_t i = 1; i < in.size(); ++i) cuts.push_back(i);
  EXPECT_EQ(feed_in_pieces(in, cuts), summarize(whole));
}

TEST_P(ParserSplit, EveryTwoWaySplitMatchesWhole) {
  std::string in = GetParam();
  const std::string whole = summarize(Parse(in));
  for (size_t i = 1; i < in.size(); ++i) {
    ASSERT_EQ(feed_in_pieces(in, {i}), whole) << "cut at " << i;
  }
}

TEST_P(ParserSplit, EveryThreeWaySplitMatchesWhole) {
  std::string in = GetParam();
  const std::string whole = summarize(Parse(in));
  for (size_t i = 1; i < in.size(); i += 3) {
    for (size_t j = i + 1; j < in.size(); j += 5) {
      ASSERT_EQ(feed_in_pieces(in, {i, j}), whole) << "cuts at " << i << "," << j;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Valid, ParserSplit, ::testing::ValuesIn(kValid));

TEST(ParserHint, NoLineEndMeansPartialWithoutParsing) {
  // The hint says bytes up to 3 were seen; the new bytes hold no LF, so the (invalid) byte at 4
  // is not looked at yet. It is found as soon as the line ends.
  std::string in = "GET \x01";
  std::array<Header, 8> headers;
  Request req;
  EXPECT_EQ(parse_request(in, {}, req, headers, 3).status, ParseStatus::kPartial);
  EXPECT_EQ(parse_request(in, {}, req, headers, 0).error, ParseError::kBadTarget);
  in += "\r\n";
  EXPECT_EQ(parse_request(in, {}, req, headers, 5).error, ParseError::kBadTarget);
}

TEST(ParserHint, LimitStillEnforcedWithoutLineEnd) {
  ParserLimits limits;
  limits.max_head_bytes = 32;
  std::string in = "GET /" + std::string(40, 'a');
  std::array<Header, 8> headers;
  Request req;
  ParseResult r = parse_request(in, limits, req, headers, 20);
  EXPECT_EQ(r.http_status, 431);
}

TEST(ParserHint, CompletesWhenFinalLineArrives) {
  std::string in = "GET / HTTP/1.1\r\nHost: a\r\n\r";
  std::array<Header, 8> headers;
  Request req;
  ASSERT_EQ(parse_request(in, {}, req, headers).status, ParseStatus::kPartial);
  size_t before = in.size();
  in += "\n";
  ParseResult r = parse_request(in, {}, req, headers, before);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.consumed, in.size());
}

TEST(ParserDescribe, EveryErrorHasText) {
  for (int e = 0; e <= static_cast<int>(ParseError::kBadExpect); ++e) {
    EXPECT_NE(describe(static_cast<ParseError>(e)), "unknown") << e;
  }
}

}  // namespace
}  // namespace zhttp::test
