// IMF-fixdate formatting (against gmtime), the per-second DateCache, and parse_http_date in its
// three formats (RFC 9110 5.6.7) with the two-digit-year rules.
#include "zhttp/date_cache.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <ctime>
#include <random>
#include <string>

namespace zhttp {
namespace {

constexpr time_t kRfcExample = 784111777;          // Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110 5.6.7)
constexpr time_t kLastFormattable = 253402300799;  // 9999-12-31T23:59:59Z
constexpr time_t kFirstFormattable = -62167219200;  // 0000-01-01T00:00:00Z
constexpr time_t kNow2025 = 1748779200;             // 2025-06-01T12:00:00Z

std::string fmt(time_t t) {
  char buf[kImfFixdateLen + 1];
  buf[kImfFixdateLen] = '#';
  if (!format_imf_fixdate(t, buf)) return "<false>";
  EXPECT_EQ(buf[kImfFixdateLen], '#') << "wrote past 29 bytes";
  return std::string(buf, kImfFixdateLen);
}

// The C library as an oracle (test code only): gmtime_r + strftime in the "C" locale.
std::string oracle(time_t t) {
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  const size_t n = strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

bool parse(std::string_view s, time_t* out) {
  return parse_http_date(s, out);
}

// ---- format_imf_fixdate ----

TEST(FormatImfFixdate, Epoch) {
  EXPECT_EQ(fmt(0), "Thu, 01 Jan 1970 00:00:00 GMT");
}

TEST(FormatImfFixdate, RfcExample) {
  EXPECT_EQ(fmt(kRfcExample), "Sun, 06 Nov 1994 08:49:37 GMT");
}

TEST(FormatImfFixdate, LeapDayAndCenturyRules) {
  EXPECT_EQ(fmt(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");  // 400-year leap
  EXPECT_EQ(fmt(951868800), "Wed, 01 Mar 2000 00:00:00 GMT");
  EXPECT_EQ(fmt(4107542400), "Mon, 01 Mar 2100 00:00:00 GMT");  // 2100 is not leap
  EXPECT_EQ(fmt(1709164800), "Thu, 29 Feb 2024 00:00:00 GMT");
}

TEST(FormatImfFixdate, Year2038AndBeforeEpoch) {
  EXPECT_EQ(fmt(2147483648), "Tue, 19 Jan 2038 03:14:08 GMT");
  EXPECT_EQ(fmt(-1), "Wed, 31 Dec 1969 23:59:59 GMT");
  EXPECT_EQ(fmt(-86400), "Wed, 31 Dec 1969 00:00:00 GMT");
  EXPECT_EQ(fmt(-86401), "Tue, 30 Dec 1969 23:59:59 GMT");
}

TEST(FormatImfFixdate, FourDigitYearLimits) {
  EXPECT_EQ(fmt(kLastFormattable), "Fri, 31 Dec 9999 23:59:59 GMT");
  EXPECT_EQ(fmt(kFirstFormattable), "Sat, 01 Jan 0000 00:00:00 GMT");
  EXPECT_EQ(fmt(kLastFormattable + 1), "<false>");
  EXPECT_EQ(fmt(kFirstFormattable - 1), "<false>");
  EXPECT_EQ(fmt(std::numeric_limits<time_t>::max()), "<false>");
  EXPECT_EQ(fmt(std::numeric_limits<time_t>::min()), "<false>");
}

TEST(FormatImfFixdate, FailureWritesNothing) {
  char buf[kImfFixdateLen];
  std::memset(buf, '#', sizeof buf);
  EXPECT_FALSE(format_imf_fixdate(kLastFormattable + 1, buf));
  EXPECT_EQ(std::string(buf, sizeof buf), std::string(kImfFixdateLen, '#'));
}

TEST(FormatImfFixdate, MatchesGmtimeOnRandomTimes) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<time_t> any(0, kLastFormattable);
  for (int i = 0; i < 20000; ++i) {
    const time_t t = any(rng);
    ASSERT_EQ(fmt(t), oracle(t)) << t;
  }
}

TEST(FormatImfFixdate, MatchesGmtimeEverySecondOfADayAndEveryDayOfYears) {
  for (time_t t = kRfcExample; t < kRfcExample + 86400; t += 7) ASSERT_EQ(fmt(t), oracle(t));
  for (time_t t = 946684800 - 86400 * 400; t < 946684800 + 86400 * 800; t += 86400 - 1) {
    ASSERT_EQ(fmt(t), oracle(t)) << t;
  }
}

// ---- DateCache ----

TEST(DateCache, SameSecondSameBytesSamePointer) {
  DateCache cache;
  const std::string_view a = cache.get(kRfcExample);
  const std::string first(a);
  const std::string_view b = cache.get(kRfcExample);
  EXPECT_EQ(a.data(), b.data());
  EXPECT_EQ(b, "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(first, b);
  EXPECT_EQ(cache.cached_second(), kRfcExample);
}

TEST(DateCache, NextSecondRefreshesInPlace) {
  DateCache cache;
  const std::string_view a = cache.get(kRfcExample);
  const std::string_view b = cache.get(kRfcExample + 1);
  EXPECT_EQ(a.data(), b.data());
  EXPECT_EQ(b, "Sun, 06 Nov 1994 08:49:38 GMT");
  EXPECT_EQ(cache.get(kRfcExample + 3600), "Sun, 06 Nov 1994 09:49:37 GMT");
}

TEST(DateCache, ClockGoingBackwardsRefreshesToo) {
  DateCache cache;
  cache.get(kRfcExample);
  EXPECT_EQ(cache.get(kRfcExample - 1), "Sun, 06 Nov 1994 08:49:36 GMT");
}

TEST(DateCache, FreshCacheIsTheEpochAndFormatsAnyFirstSecond) {
  DateCache cache;
  EXPECT_EQ(cache.cached_second(), 0);
  EXPECT_EQ(cache.get(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(cache.get(kNow2025), "Sun, 01 Jun 2025 12:00:00 GMT");
}

TEST(DateCache, UnformattableClockKeepsPreviousText) {
  DateCache cache;
  cache.get(kRfcExample);
  EXPECT_EQ(cache.get(kLastFormattable + 10), "Sun, 06 Nov 1994 08:49:37 GMT");
}

// ---- parse_http_date ----

TEST(ParseHttpDate, ImfFixdate) {
  time_t t = 0;
  ASSERT_TRUE(parse("Sun, 06 Nov 1994 08:49:37 GMT", &t));
  EXPECT_EQ(t, kRfcExample);
}

TEST(ParseHttpDate, Rfc850) {
  time_t t = 0;
  ASSERT_TRUE(parse("Sunday, 06-Nov-94 08:49:37 GMT", &t));
  EXPECT_EQ(t, kRfcExample);
  ASSERT_TRUE(parse("Wednesday, 09-Nov-94 08:49:37 GMT", &t));
  EXPECT_EQ(t, kRfcExample + 3 * 86400);
}

TEST(ParseHttpDate, Asctime) {
  time_t t = 0;
  ASSERT_TRUE(parse("Sun Nov  6 08:49:37 1994", &t));
  EXPECT_EQ(t, kRfcExample);
  t = 0;
  ASSERT_TRUE(parse("Sun Nov 06 08:49:37 1994", &t));  // day = 2DIGIT / ( SP 1DIGIT )
  EXPECT_EQ(t, kRfcExample);
  ASSERT_TRUE(parse("Thu Jan 01 00:00:00 1970", &t));
  EXPECT_EQ(t, 0);
}

TEST(ParseHttpDate, RoundTripsFormattedDates) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<time_t> any(kFirstFormattable, kLastFormattable);
  char buf[kImfFixdateLen];
  for (int i = 0; i < 20000; ++i) {
    const time_t t = any(rng);
    ASSERT_TRUE(format_imf_fixdate(t, buf));
    time_t back = 0;
    ASSERT_TRUE(parse({buf, sizeof buf}, &back)) << std::string(buf, sizeof buf);
    ASSERT_EQ(back, t);
  }
}

TEST(ParseHttpDate, DayNameIsNotCheckedAgainstTheDate) {
  time_t t = 0;
  ASSERT_TRUE(parse("Mon, 06 Nov 1994 08:49:37 GMT", &t));
  EXPECT_EQ(t, kRfcExample);
}

TEST(ParseHttpDate, LeapSecondIsTheNextSecond) {
  time_t t = 0;
  ASSERT_TRUE(parse("Sat, 31 Dec 2016 23:59:60 GMT", &t));
  EXPECT_EQ(t, 1483228800);
}

TEST(ParseHttpDate, CalendarValidity) {
  time_t t = 0;
  EXPECT_TRUE(parse("Tue, 29 Feb 2000 00:00:00 GMT", &t));
  EXPECT_TRUE(parse("Thu, 29 Feb 2024 00:00:00 GMT", &t));
  EXPECT_FALSE(parse("Thu, 29 Feb 1900 00:00:00 GMT", &t));
  EXPECT_FALSE(parse("Thu, 29 Feb 2023 00:00:00 GMT", &t));
  EXPECT_FALSE(parse("Thu, 31 Apr 2024 00:00:00 GMT", &t));
  EXPECT_FALSE(parse("Thu, 00 Apr 2024 00:00:00 GMT", &t));
  EXPECT_FALSE(parse("Thu, 32 Jan 2024 00:00:00 GMT", &t));
  EXPECT_FALSE(parse("Sun, 06 Nov 1994 24:00:00 GMT", &t));
  EXPECT_FALSE(parse("Sun, 06 Nov 1994 08:60:00 GMT", &t));
  EXPECT_FALSE(parse("Sun, 06 Nov 1994 08:49:61 GMT", &t));
  EXPECT_FALSE(parse("Sun Nov  0 08:49:37 1994", &t));
}

TEST(ParseHttpDate, RejectsMalformedText) {
  const char* bad[] = {
      "",
      "Sun, 06 Nov 1994 08:49:37 GMT ",  // trailing space
      " Sun, 06 Nov 1994 08:49:37 GMT",  // leading space
      "Sun, 06 Nov 1994 08:49:37 gmt",   // case-sensitive
      "Sun, 06 Nov 1994 08:49:37 UTC",
      "sun, 06 Nov 1994 08:49:37 GMT",
      "Sun, 06 nov 1994 08:49:37 GMT",
      "Sux, 06 Nov 1994 08:49:37 GMT",
      "Sun, 6 Nov 1994 08:49:37 GMT",  // IMF day is 2DIGIT
      "Sun,  6 Nov 1994 08:49:37 GMT",
      "Sun, 06 Nov 94 08:49:37 GMT",
      "Sun, 06 Nov 1994 08-49-37 GMT",
      "Sun, 06 Nov 1994 8:49:37 GMT",
      "Sun, 06 Nov 199x 08:49:37 GMT",
      "Sun, 06 Nov +994 08:49:37 GMT",
      "Sun,06 Nov 1994 08:49:37 GMT",
      "Sun, 06 Nov 1994 08:49:37",
      "Sun, 06 Nov 1994 08:49:37 GMT\r",
      "Sun, 06-Nov-94 08:49:37 GMT",  // RFC 850 needs the long day name
      "Sunday, 06-Nov-1994 08:49:37 GMT",
      "Sunday, 06 Nov 94 08:49:37 GMT",
      "Sonntag, 06-Nov-94 08:49:37 GMT",
      "Sunday,06-Nov-94 08:49:37 GMT",
      "Sun Nov 6 08:49:37 1994",  // asctime single digit needs the leading space
      "Sun Nov  6 08:49:37 94",
      "Sun Nov  6 08:49:37 1994 GMT",
      "Sunday Nov  6 08:49:37 1994",
      "1994-11-06T08:49:37Z",
      "784111777",
  };
  for (const char* s : bad) {
    time_t t = 12345;
    EXPECT_FALSE(parse(s, &t)) << s;
    EXPECT_EQ(t, 12345) << "output touched on failure: " << s;
  }
}

TEST(ParseHttpDate, RejectsEmbeddedNul) {
  time_t t = 0;
  EXPECT_FALSE(parse(std::string_view("Sun, 06 Nov 1994 08:49:37 G\0T", 29), &t));
}

TEST(ParseHttpDate, TwoDigitYearWithoutClockPivotsAt70) {
  time_t t = 0;
  ASSERT_TRUE(parse("Thursday, 01-Jan-70 00:00:00 GMT", &t));
  EXPECT_EQ(t, 0);
  ASSERT_TRUE(parse("Saturday, 01-Jan-00 00:00:00 GMT", &t));
  EXPECT_EQ(t, 946684800);  // 2000
  ASSERT_TRUE(parse("Sunday, 01-Jan-69 00:00:00 GMT", &t));
  EXPECT_EQ(fmt(t), "Tue, 01 Jan 2069 00:00:00 GMT");
}

TEST(ParseHttpDate, TwoDigitYearFollowsTheFiftyYearRule) {
  time_t t = 0;
  // now = 2025: years land in (1975, 2075].
  ASSERT_TRUE(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", &t, kNow2025));
  EXPECT_EQ(t, kRfcExample);
  ASSERT_TRUE(parse_http_date("Friday, 01-Jan-75 00:00:00 GMT", &t, kNow2025));
  EXPECT_EQ(fmt(t), "Tue, 01 Jan 2075 00:00:00 GMT");
  ASSERT_TRUE(parse_http_date("Friday, 01-Jan-76 00:00:00 GMT", &t, kNow2025));
  EXPECT_EQ(fmt(t), "Thu, 01 Jan 1976 00:00:00 GMT");
  ASSERT_TRUE(parse_http_date("Friday, 01-Jan-25 00:00:00 GMT", &t, kNow2025));
  EXPECT_EQ(fmt(t), "Wed, 01 Jan 2025 00:00:00 GMT");
  // now = 2080: "10" is 30 years ahead, not 70 back.
  const time_t now2080 = 3471292800;
  ASSERT_TRUE(parse_http_date("Friday, 01-Jan-10 00:00:00 GMT", &t, now2080));
  EXPECT_EQ(fmt(t), "Wed, 01 Jan 2110 00:00:00 GMT");
}

TEST(ParseHttpDate, FourDigitFormatsIgnoreTheClock) {
  time_t t = 0;
  ASSERT_TRUE(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", &t, kNow2025));
  EXPECT_EQ(t, kRfcExample);
  ASSERT_TRUE(parse_http_date("Sun Nov  6 08:49:37 1994", &t, std::numeric_limits<time_t>::max()));
  EXPECT_EQ(t, kRfcExample);
}

TEST(ParseHttpDate, AbsurdClockFallsBackToPivot) {
  time_t t = 0;
  ASSERT_TRUE(
      parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", &t, std::numeric_limits<time_t>::min()));
  EXPECT_EQ(t, kRfcExample);
  ASSERT_TRUE(
      parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", &t, std::numeric_limits<time_t>::max()));
  EXPECT_EQ(t, kRfcExample);
}

}  // namespace
}  // namespace zhttp
