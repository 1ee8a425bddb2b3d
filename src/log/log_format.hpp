#pragma once
// Small formatting helpers shared by the access and error logs: UTC calendar time from a time_t
// and decimal numbers, written by hand into caller-provided bytes (no locale, no allocation).
#include <cstdint>
#include <ctime>

namespace zhttp::log::detail {

static_assert(sizeof(time_t) >= 8, "log dates need a 64-bit time_t");

struct UtcTime {
  int64_t year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
  unsigned hour;
  unsigned minute;
  unsigned second;
};

// Howard Hinnant's civil_from_days over days since 1970-01-01 (proleptic Gregorian), then the
// time of day. Exact for every 64-bit time_t whose day count does not overflow.
constexpr UtcTime utc_from_time(time_t t) {
  constexpr int64_t kSecondsPerDay = 86400;
  int64_t days = t / kSecondsPerDay;
  int64_t secs = t % kSecondsPerDay;
  if (secs < 0) {
    secs += kSecondsPerDay;
    --days;
  }
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const auto s = static_cast<unsigned>(secs);
  return {static_cast<int64_t>(yoe) + era * 400 + (m <= 2), m, d, s / 3600, s / 60 % 60, s % 60};
}

static_assert(utc_from_time(0).year == 1970 && utc_from_time(0).month == 1);
static_assert(utc_from_time(1795814322).year == 2026 && utc_from_time(1795814322).month == 11 &&
              utc_from_time(1795814322).day == 27 && utc_from_time(1795814322).hour == 21 &&
              utc_from_time(1795814322).minute == 18 && utc_from_time(1795814322).second == 42);
static_assert(utc_from_time(-1).year == 1969 && utc_from_time(-1).second == 59);

constexpr char kMonthNames[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Most bytes write_u64 / write_year produce.
inline constexpr size_t kMaxDecimal = 20;

inline char* write_2digits(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10 % 10);
  p[1] = static_cast<char>('0' + v % 10);
  return p + 2;
}

inline char* write_u64(char* p, uint64_t v) {
  char tmp[kMaxDecimal];
  size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n != 0) *p++ = tmp[--n];
  return p;
}

// At least `width` digits, zero-padded.
inline char* write_u64_padded(char* p, uint64_t v, unsigned width) {
  char tmp[kMaxDecimal];
  unsigned n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n < width) tmp[n++] = '0';
  while (n != 0) *p++ = tmp[--n];
  return p;
}

// Four digits for years 0..9999; a sign and more digits outside (at most 1 + kMaxDecimal bytes).
inline char* write_year(char* p, int64_t year) {
  if (year < 0) {
    *p++ = '-';
    return write_u64_padded(p, static_cast<uint64_t>(0) - static_cast<uint64_t>(year), 4);
  }
  return write_u64_padded(p, static_cast<uint64_t>(year), 4);
}

}  // namespace zhttp::log::detail
