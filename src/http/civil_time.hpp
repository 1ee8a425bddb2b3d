#pragma once
// Proleptic Gregorian calendar arithmetic on day counts relative to 1970-01-01 (Howard
// Hinnant's algorithms), exact far beyond any year a date field can hold. Shared by the HTTP
// date code and the logs; constexpr, no allocation, no time zone.
#include <cstdint>
#include <ctime>

namespace zhttp::http {

static_assert(sizeof(time_t) >= 8, "dates up to year 9999 need a 64-bit time_t");

inline constexpr int64_t kSecondsPerDay = 86400;
inline constexpr char kMonthNames[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct Civil {
  int64_t year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};

constexpr int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

constexpr Civil civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

// 0 = Sunday. 1970-01-01 (day 0) was a Thursday.
constexpr unsigned weekday_from_days(int64_t z) {
  return static_cast<unsigned>(z >= -4 ? (z + 4) % 7 : (z + 5) % 7 + 6);
}

// The day a time falls on (rounding down for times before 1970) and the second within it.
constexpr int64_t days_from_time(time_t t) {
  const auto secs = static_cast<int64_t>(t);
  return secs / kSecondsPerDay - (secs % kSecondsPerDay < 0);
}

struct UtcTime {
  int64_t year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
  unsigned hour;
  unsigned minute;
  unsigned second;
};

constexpr UtcTime utc_from_time(time_t t) {
  const int64_t days = days_from_time(t);
  const auto s = static_cast<unsigned>(static_cast<int64_t>(t) - days * kSecondsPerDay);
  const Civil c = civil_from_days(days);
  return {c.year, c.month, c.day, s / 3600, s / 60 % 60, s % 60};
}

static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(days_from_civil(1994, 11, 6) == 9075);
static_assert(weekday_from_days(9075) == 0);
static_assert(days_from_time(-1) == -1 && days_from_time(86399) == 0);
static_assert(utc_from_time(0).year == 1970 && utc_from_time(0).month == 1);
static_assert(utc_from_time(1795814322).year == 2026 && utc_from_time(1795814322).month == 11 &&
              utc_from_time(1795814322).day == 27 && utc_from_time(1795814322).hour == 21 &&
              utc_from_time(1795814322).minute == 18 && utc_from_time(1795814322).second == 42);
static_assert(utc_from_time(-1).year == 1969 && utc_from_time(-1).second == 59);

}  // namespace zhttp::http
