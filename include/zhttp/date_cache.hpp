#pragma once
#include <cstddef>
#include <ctime>
#include <string_view>

namespace zhttp {

// IMF-fixdate (RFC 9110 5.6.7), e.g. "Sun, 06 Nov 1994 08:49:37 GMT": always this many bytes.
inline constexpr size_t kImfFixdateLen = 29;

// Writes `t` (seconds since the epoch, UTC) as an IMF-fixdate into out[0..29), no terminator.
// Pure arithmetic (civil-from-days, no gmtime_r/strftime: no locale, no timezone lock). Returns
// false, writing nothing, when the year falls outside 0000..9999, which the format cannot hold.
bool format_imf_fixdate(time_t t, char out[kImfFixdateLen]);

// Parses an HTTP-date (RFC 9110 5.6.7) into seconds since the epoch, for If-Modified-Since and
// If-Unmodified-Since. Accepts, exactly and case-sensitively, the three formats recipients must:
//   IMF-fixdate  "Sun, 06 Nov 1994 08:49:37 GMT"
//   RFC 850      "Sunday, 06-Nov-94 08:49:37 GMT"   (obsolete)
//   asctime      "Sun Nov  6 08:49:37 1994"         (obsolete; day may also be "06")
// The day name must be a valid one for the format but is not checked against the date (as
// nginx and Go do). Fields are range-checked (day valid for its month and year, hour <= 23,
// minute <= 59, second <= 60 for a leap second). No surrounding whitespace is allowed: the
// parser already trims field values. Returns false, leaving *out untouched, on anything else; the
// caller then ignores the header (RFC 9110 13.1.3).
//
// RFC 850's two-digit year follows RFC 9110: a year that would be more than 50 years after the
// year of `now` means the most recent past year with those two digits.
bool parse_http_date(std::string_view text, time_t* out, time_t now);
// Without a clock: two-digit years 00-69 are 20xx and 70-99 are 19xx (POSIX strptime's %y and
// nginx's rule, which agrees with the 50-year rule for every year a real client sends).
bool parse_http_date(std::string_view text, time_t* out);

// The Date header value for the current second. One per worker (not thread-safe): get() formats
// only when `now` moves to another second, so a busy worker formats once a second and every
// response copies 29 bytes. The view points into this object and stays valid (its bytes change
// in place on the next refresh).
class DateCache {
 public:
  DateCache();

  std::string_view get(time_t now) {
    if (now != second_) refresh(now);
    return {buf_, kImfFixdateLen};
  }

  time_t cached_second() const { return second_; }

 private:
  void refresh(time_t now);

  time_t second_ = 0;
  char buf_[kImfFixdateLen];
};

}  // namespace zhttp
