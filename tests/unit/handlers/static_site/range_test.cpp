// Range (RFC 9110 14.1, 14.2), If-Range (13.1.5) and Content-Range (14.4).
#include "handlers/static_site/range.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace zhttp::handlers::static_site {

bool operator==(const ByteRange& a, const ByteRange& b) {
  return a.kind == b.kind && a.first == b.first && a.last == b.last && a.size == b.size;
}
std::ostream& operator<<(std::ostream& os, const ByteRange& r) {
  return os << "{kind=" << static_cast<int>(r.kind) << " first=" << r.first << " last=" << r.last
            << " size=" << r.size << "}";
}

namespace {

constexpr uint64_t kSize = 10000;  // the RFC 9110 14.1.2 examples assume 10000 bytes

constexpr ByteRange sat(uint64_t first, uint64_t last, uint64_t size = kSize) {
  return {RangeKind::kSatisfiable, first, last, size};
}
constexpr ByteRange none(uint64_t size = kSize) {
  return {RangeKind::kNone, 0, 0, size};
}
constexpr ByteRange unsat(uint64_t size = kSize) {
  return {RangeKind::kUnsatisfiable, 0, 0, size};
}

std::string content_range(const ByteRange& r) {
  char buf[kMaxContentRangeLen + 1];
  buf[kMaxContentRangeLen] = '#';
  const size_t n = format_content_range(r, buf);
  EXPECT_EQ(buf[kMaxContentRangeLen], '#');
  return std::string(buf, n);
}

struct RangeCase {
  std::string_view value;
  uint64_t size;
  ByteRange want;
};
std::ostream& operator<<(std::ostream& os, const RangeCase& c) {
  return os << "\"" << c.value << "\" size=" << c.size;
}

class ParseRange : public testing::TestWithParam<RangeCase> {};

TEST_P(ParseRange, Resolves) {
  EXPECT_EQ(parse_range(GetParam().value, GetParam().size), GetParam().want);
}

constexpr uint64_t kMax = UINT64_MAX;

// RFC 9110 14.1.2's examples, for a 10000-byte representation.
INSTANTIATE_TEST_SUITE_P(RfcExamples, ParseRange,
                         testing::Values(RangeCase{"bytes=0-499", kSize, sat(0, 499)},
                                         RangeCase{"bytes=500-999", kSize, sat(500, 999)},
                                         RangeCase{"bytes=-500", kSize, sat(9500, 9999)},
                                         RangeCase{"bytes=9500-", kSize, sat(9500, 9999)},
                                         RangeCase{"bytes=0-0", kSize, sat(0, 0)},
                                         RangeCase{"bytes=-1", kSize, sat(9999, 9999)},
                                         RangeCase{"bytes=0-", kSize, sat(0, 9999)}));

// last >= size is clamped; a suffix longer than the file means all of it.
INSTANTIATE_TEST_SUITE_P(Clamped, ParseRange,
                         testing::Values(RangeCase{"bytes=9000-20000", kSize, sat(9000, 9999)},
                                         RangeCase{"bytes=9999-9999", kSize, sat(9999, 9999)},
                                         RangeCase{"bytes=0-10000", kSize, sat(0, 9999)},
                                         RangeCase{"bytes=0-18446744073709551615", kSize,
                                                   sat(0, 9999)},
                                         RangeCase{"bytes=-20000", kSize, sat(0, 9999)},
                                         RangeCase{"bytes=-10000", kSize, sat(0, 9999)}));

INSTANTIATE_TEST_SUITE_P(Unsatisfiable, ParseRange,
                         testing::Values(RangeCase{"bytes=10000-", kSize, unsat()},
                                         RangeCase{"bytes=10000-10005", kSize, unsat()},
                                         RangeCase{"bytes=-0", kSize, unsat()},
                                         RangeCase{"bytes=-000", kSize, unsat()},
                                         RangeCase{"bytes=18446744073709551615-", kSize, unsat()}));

// Syntax errors and overflow: the header is ignored (200).
INSTANTIATE_TEST_SUITE_P(
    Invalid, ParseRange,
    testing::Values(RangeCase{"bytes=5-2", kSize, none()},  // last before first
                    RangeCase{"bytes=", kSize, none()}, RangeCase{"bytes=,", kSize, none()},
                    RangeCase{"bytes=-", kSize, none()}, RangeCase{"bytes=a-b", kSize, none()},
                    RangeCase{"bytes=1-b", kSize, none()},
                    RangeCase{"bytes=0x10-20", kSize, none()},
                    RangeCase{"bytes=1-2-3", kSize, none()}, RangeCase{"bytes=--5", kSize, none()},
                    RangeCase{"bytes=+1-2", kSize, none()}, RangeCase{"bytes=1.5-2", kSize, none()},
                    RangeCase{"bytes=0 - 5", kSize, none()},  // no whitespace in a range-spec
                    RangeCase{"bytes =0-5", kSize, none()},   // nor around '='
                    RangeCase{"bytes", kSize, none()}, RangeCase{"=0-5", kSize, none()},
                    RangeCase{"bytes=18446744073709551616-", kSize, none()},  // 2^64
                    RangeCase{"bytes=0-99999999999999999999999", kSize, none()},
                    RangeCase{"bytes=-99999999999999999999999", kSize, none()}));

INSTANTIATE_TEST_SUITE_P(Units, ParseRange,
                         testing::Values(RangeCase{"items=0-5", kSize, none()},
                                         RangeCase{"byte=0-5", kSize, none()},
                                         RangeCase{"bytesx=0-5", kSize, none()},
                                         RangeCase{"", kSize, none()},
                                         RangeCase{"Bytes=0-5", kSize, sat(0, 5)},
                                         RangeCase{"BYTES=-5", kSize, sat(9995, 9999)}));

// multipart/byteranges is not offered: more than one range is served whole.
INSTANTIATE_TEST_SUITE_P(
    MultipleRanges, ParseRange,
    testing::Values(RangeCase{"bytes=0-5,10-20", kSize, none()},
                    RangeCase{"bytes=0-0, -1", kSize, none()},  // RFC: first and last byte
                    RangeCase{"bytes=500-600,601-999", kSize, none()},
                    RangeCase{"bytes=0-5, garbage", kSize, none()},
                    RangeCase{"bytes=20000-,30000-", kSize, none()}));  // even unsatisfiable

// OWS and empty members around commas, as in any list.
INSTANTIATE_TEST_SUITE_P(ListSyntax, ParseRange,
                         testing::Values(RangeCase{"bytes= 0-5", kSize, sat(0, 5)},
                                         RangeCase{"bytes=0-5 ", kSize, sat(0, 5)},
                                         RangeCase{"bytes=\t0-5\t", kSize, sat(0, 5)},
                                         RangeCase{"bytes=, 0-5", kSize, sat(0, 5)},
                                         RangeCase{"bytes=0-5,", kSize, sat(0, 5)},
                                         RangeCase{"bytes=,,0-5 , ,", kSize, sat(0, 5)},
                                         RangeCase{"bytes=000010-000020", kSize, sat(10, 20)},
                                         RangeCase{"bytes=0000000000000000000000000001-2", kSize,
                                                   sat(1, 2)}));

// A zero-length file has no byte to send; a one-byte file only byte 0.
INSTANTIATE_TEST_SUITE_P(
    TinyFiles, ParseRange,
    testing::Values(RangeCase{"bytes=0-", 0, unsat(0)}, RangeCase{"bytes=0-0", 0, unsat(0)},
                    RangeCase{"bytes=-0", 0, unsat(0)},
                    RangeCase{"bytes=-5", 0, none(0)},  // no 206 fits
                    RangeCase{"bytes=5-2", 0, none(0)}, RangeCase{"bytes=0-", 1, sat(0, 0, 1)},
                    RangeCase{"bytes=-1", 1, sat(0, 0, 1)},
                    RangeCase{"bytes=-100", 1, sat(0, 0, 1)}, RangeCase{"bytes=1-", 1, unsat(1)}));

// The arithmetic must not wrap at the top of the range.
INSTANTIATE_TEST_SUITE_P(
    HugeFile, ParseRange,
    testing::Values(RangeCase{"bytes=18446744073709551614-", kMax, sat(kMax - 1, kMax - 1, kMax)},
                    RangeCase{"bytes=-1", kMax, sat(kMax - 1, kMax - 1, kMax)},
                    RangeCase{"bytes=18446744073709551615-", kMax, unsat(kMax)}));

TEST(Range, Length) {
  EXPECT_EQ(sat(0, 0).length(), 1u);
  EXPECT_EQ(sat(500, 999).length(), 500u);
}

// ---- If-Range ----

constexpr std::string_view kEtag = "\"5e1f3c2a-1f4-0-2a\"";
constexpr time_t kModified = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
constexpr time_t kNow = kModified + 60;

bool allows(std::string_view if_range, time_t now = kNow) {
  return if_range_allows(if_range, kEtag, kModified, now);
}

TEST(IfRange, Absent) {
  EXPECT_TRUE(allows(""));
}

TEST(IfRange, EntityTag) {
  EXPECT_TRUE(allows(kEtag));
  EXPECT_FALSE(allows("\"other\""));
  EXPECT_FALSE(allows("W/\"5e1f3c2a-1f4-0-2a\""));       // weak never matches strongly
  EXPECT_FALSE(allows("\"5e1f3c2a-1f4-0-2a\", \"x\""));  // a single tag only
  EXPECT_FALSE(allows("*"));
}

TEST(IfRange, Date) {
  EXPECT_TRUE(allows("Sun, 06 Nov 1994 08:49:37 GMT"));
  EXPECT_TRUE(allows("Sunday, 06-Nov-94 08:49:37 GMT"));
  EXPECT_FALSE(allows("Sun, 06 Nov 1994 08:49:36 GMT"));  // exact match only
  EXPECT_FALSE(allows("Sun, 06 Nov 1994 08:49:38 GMT"));
  EXPECT_FALSE(allows("not a date"));
  // Modified in the current second: the date is not a strong validator yet.
  EXPECT_FALSE(allows("Sun, 06 Nov 1994 08:49:37 GMT", kModified));
}

TEST(IfRange, EvaluateRangeOrder) {
  const std::string_view date = "Sun, 06 Nov 1994 08:49:37 GMT";
  EXPECT_EQ(evaluate_range("", kEtag, kSize, kEtag, kModified, kNow), none());
  EXPECT_EQ(evaluate_range("", "", kSize, kEtag, kModified, kNow), none());
  EXPECT_EQ(evaluate_range("bytes=0-9", "", kSize, kEtag, kModified, kNow), sat(0, 9));
  EXPECT_EQ(evaluate_range("bytes=0-9", kEtag, kSize, kEtag, kModified, kNow), sat(0, 9));
  EXPECT_EQ(evaluate_range("bytes=0-9", date, kSize, kEtag, kModified, kNow), sat(0, 9));
  EXPECT_EQ(evaluate_range("bytes=0-9", "\"old\"", kSize, kEtag, kModified, kNow), none());
  // A failed If-Range hides even an unsatisfiable range: the full 200, not 416.
  EXPECT_EQ(evaluate_range("bytes=20000-", "\"old\"", kSize, kEtag, kModified, kNow), none());
  EXPECT_EQ(evaluate_range("bytes=20000-", kEtag, kSize, kEtag, kModified, kNow), unsat());
}

// ---- Content-Range ----

TEST(ContentRange, Format) {
  EXPECT_EQ(content_range(sat(0, 499)), "bytes 0-499/10000");
  EXPECT_EQ(content_range(sat(9999, 9999)), "bytes 9999-9999/10000");
  EXPECT_EQ(content_range(unsat()), "bytes */10000");
  EXPECT_EQ(content_range(unsat(0)), "bytes */0");
  EXPECT_EQ(content_range(none()), "");
}

TEST(ContentRange, LongestFits) {
  const ByteRange r = sat(UINT64_MAX - 1, UINT64_MAX - 1, UINT64_MAX);
  EXPECT_EQ(content_range(r),
            "bytes 18446744073709551614-18446744073709551614/18446744073709551615");
}

}  // namespace
}  // namespace zhttp::handlers::static_site
