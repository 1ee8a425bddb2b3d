#include "zhttp/date_cache.hpp"

#include <cstdint>
#include <cstring>

#include "http/civil_time.hpp"

namespace zhttp {
namespace {

constexpr char kDayNames[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::string_view kLongDayNames[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                               "Thursday", "Friday", "Saturday"};

using http::civil_from_days;
using http::days_from_civil;
using http::kMonthNames;
using http::kSecondsPerDay;
using http::weekday_from_days;

// First and last second an IMF-fixdate can show: 0000-01-01T00:00:00 and 9999-12-31T23:59:59.
constexpr int64_t kMinFormattable = days_from_civil(0, 1, 1) * kSecondsPerDay;
constexpr int64_t kMaxFormattable = days_from_civil(10000, 1, 1) * kSecondsPerDay - 1;

constexpr bool is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

constexpr unsigned days_in_month(int64_t y, unsigned m) {
  constexpr unsigned kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

inline void put2(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

// s[pos, pos + n), without substr's range check and its exception: callers checked the length.
std::string_view field(std::string_view s, size_t pos, size_t n) {
  return {s.data() + pos, n};
}

// ---- parsing helpers: each reads a fixed-width field, returning false on a malformed one ----

bool digits(std::string_view s, size_t pos, size_t n, unsigned* out) {
  unsigned v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    const unsigned d = static_cast<unsigned char>(s[i]) - unsigned{'0'};
    if (d > 9) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

bool month(std::string_view s, size_t pos, unsigned* out) {
  const std::string_view m = field(s, pos, 3);
  for (unsigned i = 0; i < 12; ++i) {
    if (m == kMonthNames[i]) {
      *out = i + 1;
      return true;
    }
  }
  return false;
}

bool short_day_name(std::string_view s) {
  const std::string_view d = field(s, 0, 3);
  for (const char* name : kDayNames) {
    if (d == name) return true;
  }
  return false;
}

// "HH:MM:SS" at pos, as seconds into the day (a leap second 60 counts as the next second).
bool time_of_day(std::string_view s, size_t pos, int64_t* out) {
  unsigned h, m, sec;
  if (s[pos + 2] != ':' || s[pos + 5] != ':') return false;
  if (!digits(s, pos, 2, &h) || !digits(s, pos + 3, 2, &m) || !digits(s, pos + 6, 2, &sec)) {
    return false;
  }
  if (h > 23 || m > 59 || sec > 60) return false;
  *out = h * 3600 + m * 60 + sec;
  return true;
}

bool assemble(int64_t year, unsigned mon, unsigned day, int64_t secs, time_t* out) {
  if (day < 1 || day > days_in_month(year, mon)) return false;
  *out = static_cast<time_t>(days_from_civil(year, mon, day) * kSecondsPerDay + secs);
  return true;
}

// "Sun, 06 Nov 1994 08:49:37 GMT"
bool parse_imf_fixdate(std::string_view s, time_t* out) {
  unsigned day, mon, year;
  int64_t secs;
  if (!short_day_name(s) || field(s, 3, 2) != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      field(s, 25, 4) != " GMT") {
    return false;
  }
  if (!digits(s, 5, 2, &day) || !month(s, 8, &mon) || !digits(s, 12, 4, &year) ||
      !time_of_day(s, 17, &secs)) {
    return false;
  }
  return assemble(year, mon, day, secs, out);
}

// "Sun Nov  6 08:49:37 1994" or "Sun Nov 06 08:49:37 1994"
bool parse_asctime(std::string_view s, time_t* out) {
  unsigned day, mon, year;
  int64_t secs;
  if (!short_day_name(s) || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' || s[19] != ' ') {
    return false;
  }
  const bool day_ok = s[8] == ' ' ? digits(s, 9, 1, &day) : digits(s, 8, 2, &day);
  if (!day_ok || !month(s, 4, &mon) || !digits(s, 20, 4, &year) || !time_of_day(s, 11, &secs)) {
    return false;
  }
  return assemble(year, mon, day, secs, out);
}

// "Sunday, 06-Nov-94 08:49:37 GMT". `year_of_now` < 0: no clock, use the fixed 70 pivot.
bool parse_rfc850(std::string_view s, time_t* out, int64_t year_of_now) {
  const size_t comma = s.find(',');
  if (comma == std::string_view::npos) return false;
  bool name_ok = false;
  for (std::string_view name : kLongDayNames) name_ok |= field(s, 0, comma) == name;
  if (!name_ok) return false;
  const std::string_view r = field(s, comma, s.size() - comma);  // ", 06-Nov-94 08:49:37 GMT"
  if (r.size() != 24 || r[1] != ' ' || r[4] != '-' || r[8] != '-' || r[11] != ' ' ||
      field(r, 20, 4) != " GMT") {
    return false;
  }
  unsigned day, mon, yy;
  int64_t secs;
  if (!digits(r, 2, 2, &day) || !month(r, 5, &mon) || !digits(r, 9, 2, &yy) ||
      !time_of_day(r, 12, &secs)) {
    return false;
  }
  int64_t year;
  if (year_of_now < 0) {
    year = yy < 70 ? 2000 + yy : 1900 + yy;
  } else {
    // RFC 9110 5.6.7: more than 50 years in the future means the most recent matching past
    // year; so the year lands in (now - 50, now + 50].
    year = year_of_now - year_of_now % 100 + yy;
    if (year > year_of_now + 50) year -= 100;
    if (year <= year_of_now - 50) year += 100;
  }
  return assemble(year, mon, day, secs, out);
}

bool parse_any(std::string_view s, time_t* out, int64_t year_of_now) {
  if (s.size() == 29 && s[3] == ',') return parse_imf_fixdate(s, out);
  if (s.size() == 24 && s[3] == ' ') return parse_asctime(s, out);
  return parse_rfc850(s, out, year_of_now);
}

}  // namespace

bool format_imf_fixdate(time_t t, char out[kImfFixdateLen]) {
  const auto secs = static_cast<int64_t>(t);
  if (secs < kMinFormattable || secs > kMaxFormattable) return false;
  const int64_t days = http::days_from_time(t);
  const auto sod = static_cast<unsigned>(secs - days * kSecondsPerDay);
  const http::Civil c = civil_from_days(days);
  const auto year = static_cast<unsigned>(c.year);

  std::memcpy(out, kDayNames[weekday_from_days(days)], 3);
  out[3] = ',';
  out[4] = ' ';
  put2(out + 5, c.day);
  out[7] = ' ';
  std::memcpy(out + 8, kMonthNames[c.month - 1], 3);
  out[11] = ' ';
  put2(out + 12, year / 100);
  put2(out + 14, year % 100);
  out[16] = ' ';
  put2(out + 17, sod / 3600);
  out[19] = ':';
  put2(out + 20, sod / 60 % 60);
  out[22] = ':';
  put2(out + 23, sod % 60);
  std::memcpy(out + 25, " GMT", 4);
  return true;
}

bool parse_http_date(std::string_view text, time_t* out, time_t now) {
  const int64_t year = civil_from_days(http::days_from_time(now)).year;
  // A clock outside 0000..9999 is nonsense (and would overflow the arithmetic): use the pivot.
  return parse_any(text, out, year < 0 || year > 9999 ? -1 : year);
}

bool parse_http_date(std::string_view text, time_t* out) {
  return parse_any(text, out, -1);
}

DateCache::DateCache() {
  format_imf_fixdate(0, buf_);
}

void DateCache::refresh(time_t now) {
  second_ = now;
  // An unformattable clock (beyond year 9999) keeps the previous text: a stale Date beats none.
  format_imf_fixdate(now, buf_);
}

}  // namespace zhttp
