// The chunked decoder: valid bodies, every rejection, limits, and the same outcome whatever the
// split of the input.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "zhttp/chunked.hpp"

namespace zhttp {
namespace {

struct Outcome {
  ChunkStatus status = ChunkStatus::kNeedMore;
  ChunkError error = ChunkError::kNone;
  uint16_t http_status = 0;
  std::string body;
  size_t consumed = 0;  // total bytes used when done or failed

  bool operator==(const Outcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  return os << "status=" << static_cast<int>(o.status) << " error=" << describe(o.error)
            << " body=" << o.body << " consumed=" << o.consumed;
}

// Feeds `input` in pieces cut at `cuts` (increasing), as a connection would across reads.
Outcome decode_pieces(std::string_view input, const std::vector<size_t>& cuts,
                      ChunkedLimits limits = {}) {
  ChunkedDecoder decoder(limits);
  Outcome out;
  size_t start = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  for (size_t end : ends) {
    std::string piece(input.substr(start, end - start));  // exactly these bytes are readable
    size_t off = 0;
    while (off < piece.size()) {
      ChunkResult r = decoder.decode(piece.data() + off, piece.size() - off);
      EXPECT_LE(r.consumed, piece.size() - off);
      if (r.status == ChunkStatus::kData) {
        EXPECT_LE(r.data.off + r.data.len, r.consumed);
        out.body += r.data.in(piece.data() + off);
      }
      off += r.consumed;
      if (r.status == ChunkStatus::kDone || r.status == ChunkStatus::kError) {
        out.status = r.status;
        out.error = r.error;
        out.http_status = r.http_status;
        out.consumed = start + off;
        return out;
      }
      if (r.status == ChunkStatus::kNeedMore) {
        EXPECT_EQ(off, piece.size());
      }
    }
    start = end;
  }
  out.consumed = input.size();
  return out;
}

Outcome decode(std::string_view input, ChunkedLimits limits = {}) {
  return decode_pieces(input, {}, limits);
}

void expect_split_invariant(std::string_view input, ChunkedLimits limits = {}) {
  const Outcome whole = decode(input, limits);
  std::vector<size_t> every;
  for (size_t i = 1; i < input.size(); ++i) every.push_back(i);
  EXPECT_EQ(decode_pieces(input, every, limits), whole) << "byte by byte";
  for (size_t i = 1; i < input.size(); ++i) {
    ASSERT_EQ(decode_pieces(input, {i}, limits), whole) << "cut at " << i;
  }
}

void expect_error(std::string_view input, ChunkError error, uint16_t status = 400) {
  Outcome o = decode(input);
  EXPECT_EQ(o.status, ChunkStatus::kError) << input;
  EXPECT_EQ(o.error, error) << describe(o.error);
  EXPECT_EQ(o.http_status, status);
  expect_split_invariant(input);
}

TEST(Chunked, SingleChunk) {
  Outcome o = decode("5\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(o.status, ChunkStatus::kDone);
  EXPECT_EQ(o.body, "hello");
  EXPECT_EQ(o.consumed, 15u);
}

TEST(Chunked, SeveralChunks) {
  Outcome o = decode("3\r\nabc\r\n1\r\nd\r\na\r\n0123456789\r\n0\r\n\r\n");
  EXPECT_EQ(o.status, ChunkStatus::kDone);
  EXPECT_EQ(o.body, "abcd0123456789");
}

TEST(Chunked, HexDigitsEitherCase) {
  std::string data(0xAb, 'x');
  Outcome o = decode("aB\r\n" + data + "\r\n0\r\n\r\n");
  EXPECT_EQ(o.status, ChunkStatus::kDone);
  EXPECT_EQ(o.body.size(), 0xABu);
}

TEST(Chunked, LeadingZeros) {
  Outcome o = decode("0000000000000000000005\r\nhello\r\n000\r\n\r\n");
  EXPECT_EQ(o.status, ChunkStatus::kDone);
  EXPECT_EQ(o.body, "hello");
}

TEST(Chunked, EmptyBody) {
  Outcome o = decode("0\r\n\r\n");
  EXPECT_EQ(o.status, ChunkStatus::kDone);
  EXPECT_EQ(o.body, "");
  EXPECT_EQ(o.consumed, 5u);
}

TEST(Chunked, DataMayHoldCrLfAndNul) {
  std::string data("a\r\n\0b", 5);
  Outcome o = decode("5\r\n" + data + "\r\n0\r\n\r\n");
  EXPECT_EQ(o.status, ChunkStatus::kDone);
  EXPECT_EQ(o.body, data);
}

TEST(Chunked, ExtensionsWithTokenAndQuotedValues) {
  Outcome o = decode("5;name=value;flag ; q=\"quoted \\\" ; value\"\r\nhello\r\n0;last\r\n\r\n");
  EXPECT_EQ(o.status, ChunkStatus::kDone);
  EXPECT_EQ(o.body, "hello");
}

TEST(Chunked, WhitespaceBeforeSemicolonAllowed) {
  Outcome o = decode("5 \t; a = b \r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(o.status, ChunkStatus::kDone);
}

TEST(Chunked, TrailersParsedAndDiscarded) {
  Outcome o = decode("5\r\nhello\r\n0\r\nExpires: never\r\nX-Sum:\tabc \r\n\r\n");
  EXPECT_EQ(o.status, ChunkStatus::kDone);
  EXPECT_EQ(o.body, "hello");
}

TEST(Chunked, StopsExactlyAtEndOfBody) {
  std::string body = "5\r\nhello\r\n0\r\n\r\n";
  std::string next = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
  Outcome o = decode(body + next);
  EXPECT_EQ(o.status, ChunkStatus::kDone);
  EXPECT_EQ(o.consumed, body.size());
}

TEST(Chunked, DataIsASpanOfTheInput) {
  std::string in = "4\r\nwxyz\r\n0\r\n\r\n";
  ChunkedDecoder d;
  ChunkResult r = d.decode(in.data(), in.size());
  ASSERT_EQ(r.status, ChunkStatus::kData);
  EXPECT_EQ(r.data, (Span{3, 4}));
  EXPECT_EQ(r.consumed, 7u);
  EXPECT_EQ(r.data.in(in.data()).data(), in.data() + 3);  // no copy
}

TEST(Chunked, PartialChunkDataComesOutAsItArrives) {
  ChunkedDecoder d;
  std::string a = "a\r\n01234";
  ChunkResult r = d.decode(a.data(), a.size());
  ASSERT_EQ(r.status, ChunkStatus::kData);
  EXPECT_EQ(r.data.in(a.data()), "01234");
  std::string b = "56789\r\n0\r\n\r\n";
  r = d.decode(b.data(), b.size());
  ASSERT_EQ(r.status, ChunkStatus::kData);
  EXPECT_EQ(r.data.in(b.data()), "56789");
  size_t off = r.consumed;
  r = d.decode(b.data() + off, b.size() - off);
  EXPECT_EQ(r.status, ChunkStatus::kDone);
  EXPECT_TRUE(d.done());
  EXPECT_EQ(d.body_bytes(), 10u);
}

TEST(Chunked, NeedMoreConsumesEverything) {
  ChunkedDecoder d;
  std::string a = "5;ext=";
  ChunkResult r = d.decode(a.data(), a.size());
  EXPECT_EQ(r.status, ChunkStatus::kNeedMore);
  EXPECT_EQ(r.consumed, a.size());
}

TEST(Chunked, DoneAndErrorAreSticky) {
  ChunkedDecoder d;
  std::string in = "0\r\n\r\n";
  EXPECT_EQ(d.decode(in.data(), in.size()).status, ChunkStatus::kDone);
  ChunkResult again = d.decode("x", 1);
  EXPECT_EQ(again.status, ChunkStatus::kDone);
  EXPECT_EQ(again.consumed, 0u);

  ChunkedDecoder bad;
  EXPECT_EQ(bad.decode("z", 1).status, ChunkStatus::kError);
  ChunkResult still = bad.decode("0\r\n\r\n", 5);
  EXPECT_EQ(still.status, ChunkStatus::kError);
  EXPECT_EQ(still.error, ChunkError::kBadSize);
  EXPECT_EQ(still.consumed, 0u);
}

TEST(Chunked, ResetStartsANewBody) {
  ChunkedDecoder d;
  std::string in = "1\r\na\r\n0\r\n\r\n";
  size_t off = 0;
  ChunkResult r;
  do {
    r = d.decode(in.data() + off, in.size() - off);
    off += r.consumed;
  } while (r.status != ChunkStatus::kDone);
  d.reset();
  EXPECT_FALSE(d.done());
  EXPECT_EQ(d.body_bytes(), 0u);
  EXPECT_EQ(d.decode(in.data(), in.size()).status, ChunkStatus::kData);
}

TEST(Chunked, LargestSizeAccepted) {
  ChunkedDecoder d;
  std::string in = "7fffffffffffffff\r\nab";
  ChunkResult r = d.decode(in.data(), in.size());
  EXPECT_EQ(r.status, ChunkStatus::kData);
  EXPECT_EQ(r.data.len, 2u);
}

// Rejections.
TEST(ChunkedReject, EmptySize) {
  expect_error("\r\nhello\r\n0\r\n\r\n", ChunkError::kBadSize);
}
TEST(ChunkedReject, NonHexSize) {
  expect_error("g\r\n", ChunkError::kBadSize);
}
TEST(ChunkedReject, HexPrefix) {
  expect_error("0x5\r\nhello\r\n", ChunkError::kBadSize);
}
TEST(ChunkedReject, NegativeSize) {
  expect_error("-5\r\nhello\r\n", ChunkError::kBadSize);
}
TEST(ChunkedReject, PlusSign) {
  expect_error("+5\r\nhello\r\n", ChunkError::kBadSize);
}
TEST(ChunkedReject, LeadingSpace) {
  expect_error(" 5\r\nhello\r\n", ChunkError::kBadSize);
}
TEST(ChunkedReject, TrailingSpaceWithoutExtension) {
  expect_error("5 \r\nhello\r\n0\r\n\r\n", ChunkError::kBadSize);
}
TEST(ChunkedReject, SizeOverflow) {
  expect_error("8000000000000000\r\n", ChunkError::kSizeOverflow);
}
TEST(ChunkedReject, SizeFarTooLong) {
  expect_error("fffffffffffffffffffffffff\r\n", ChunkError::kSizeOverflow);
}
TEST(ChunkedReject, BareLfAfterSize) {
  expect_error("5\nhello\r\n0\r\n\r\n", ChunkError::kBareLf);
}
TEST(ChunkedReject, BareCrAfterSize) {
  expect_error("5\rhello\r\n", ChunkError::kBareCr);
}
TEST(ChunkedReject, DataTooLong) {
  expect_error("5\r\nhello!\r\n0\r\n\r\n", ChunkError::kMissingDataCrlf);
}
TEST(ChunkedReject, DataFollowedByBareLf) {
  expect_error("5\r\nhello\n0\r\n\r\n", ChunkError::kMissingDataCrlf);
}
TEST(ChunkedReject, DataFollowedByBareCr) {
  expect_error("5\r\nhello\r0\r\n\r\n", ChunkError::kBareCr);
}
TEST(ChunkedReject, ExtensionWithoutName) {
  expect_error("5;=x\r\n", ChunkError::kBadExtension);
}
TEST(ChunkedReject, ExtensionBadNameChar) {
  expect_error("5;a@b\r\nhello\r\n", ChunkError::kBadExtension);
}
TEST(ChunkedReject, ExtensionEmptyValue) {
  expect_error("5;a=\r\n", ChunkError::kBadExtension);
}
TEST(ChunkedReject, ExtensionUnterminatedQuoteHitsCr) {
  expect_error("5;a=\"x\r\nhello\r\n", ChunkError::kBadExtension);
}
TEST(ChunkedReject, ExtensionControlCharInQuote) {
  expect_error("5;a=\"x\x01\"\r\n", ChunkError::kBadExtension);
}
TEST(ChunkedReject, ExtensionBareLf) {
  expect_error("5;a=b\nhello", ChunkError::kBareLf);
}
TEST(ChunkedReject, ExtensionTextAfterValue) {
  expect_error("5;a=b c\r\n", ChunkError::kBadExtension);
}
TEST(ChunkedReject, MissingLastChunkCrlf) {
  expect_error("0\r\nX\r\n", ChunkError::kBadTrailer);  // a field line with no colon
  expect_error("0\r\n\n", ChunkError::kBareLf);
  expect_error("0\r\n\rX", ChunkError::kBareCr);
}
TEST(ChunkedReject, TrailerObsFold) {
  expect_error("0\r\nA: b\r\n c\r\n\r\n", ChunkError::kBadTrailer);
}
TEST(ChunkedReject, TrailerSpaceBeforeColon) {
  expect_error("0\r\nA : b\r\n\r\n", ChunkError::kBadTrailer);
}
TEST(ChunkedReject, TrailerControlChar) {
  expect_error("0\r\nA: b\x01\r\n\r\n", ChunkError::kBadTrailer);
}
TEST(ChunkedReject, TrailerBareLf) {
  expect_error("0\r\nA: b\n\r\n", ChunkError::kBareLf);
}
TEST(ChunkedReject, TrailerBareCr) {
  expect_error("0\r\nA: b\rX\r\n", ChunkError::kBareCr);
}

TEST(ChunkedLimits, SizeLineLimit) {
  ChunkedLimits limits;
  limits.max_chunk_line_bytes = 16;
  EXPECT_EQ(decode("5;abcdefghij\r\nhello\r\n0\r\n\r\n", limits).status, ChunkStatus::kDone);
  Outcome o = decode("5;abcdefghijklmno\r\nhello\r\n0\r\n\r\n", limits);
  EXPECT_EQ(o.error, ChunkError::kLineTooLong);
  EXPECT_EQ(o.http_status, 400);
  // The count is per line, not per body.
  std::string many;
  for (int i = 0; i < 20; ++i) many += "1;abcdefghij\r\nx\r\n";
  EXPECT_EQ(decode(many + "0\r\n\r\n", limits).status, ChunkStatus::kDone);
}

TEST(ChunkedLimits, EndlessLeadingZerosHitLineLimit) {
  EXPECT_EQ(decode(std::string(5000, '0')).error, ChunkError::kLineTooLong);
}

TEST(ChunkedLimits, TrailerLimit) {
  ChunkedLimits limits;
  limits.max_trailer_bytes = 20;
  EXPECT_EQ(decode("0\r\nA: 0123456789\r\n\r\n", limits).status, ChunkStatus::kDone);
  Outcome o = decode("0\r\nA: 0123456789abcdef\r\n\r\n", limits);
  EXPECT_EQ(o.error, ChunkError::kTrailerTooLarge);
  EXPECT_EQ(o.http_status, 431);
  expect_split_invariant("0\r\nA: 0123456789abcdef\r\n\r\n", limits);
}

class ChunkedSplit : public ::testing::TestWithParam<const char*> {};

TEST_P(ChunkedSplit, SameOutcomeAtEverySplit) {
  expect_split_invariant(GetParam());
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, ChunkedSplit,
    ::testing::Values("5\r\nhello\r\n0\r\n\r\n", "3\r\nabc\r\n1\r\nd\r\n0\r\n\r\n",
                      "5;a=b;c=\"d;e\"\r\nhello\r\n0;x\r\nT: v\r\nU:\r\n\r\nNEXT", "0\r\n\r\n",
                      "A\r\n0123456789\r\n0\r\n\r\n", "5\r\nhello\r\n0\r\nBad Trailer: x\r\n\r\n",
                      "5\r\nhelloX\r\n"));

TEST(ChunkedDescribe, EveryErrorHasText) {
  for (int e = 0; e <= static_cast<int>(ChunkError::kTrailerTooLarge); ++e) {
    EXPECT_NE(describe(static_cast<ChunkError>(e)), "unknown");
  }
}

}  // namespace
}  // namespace zhttp
