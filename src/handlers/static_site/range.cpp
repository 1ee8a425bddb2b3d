#include "handlers/static_site/range.hpp"

#include "handlers/common/conditional.hpp"
#include "zhttp/date_cache.hpp"
#include "zhttp/response_writer.hpp"

namespace zhttp::handlers::static_site {
namespace {

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

// 1*DIGIT at s[*pos]; false when there is no digit or the value overflows 64 bits.
bool parse_uint(std::string_view s, size_t* pos, uint64_t* out) {
  size_t i = *pos;
  uint64_t v = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    const uint64_t digit = static_cast<uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  if (i == *pos) return false;
  *pos = i;
  *out = v;
  return true;
}

bool unit_is_bytes(std::string_view unit) {
  constexpr std::string_view kBytes = "bytes";
  if (unit.size() != kBytes.size()) return false;
  for (size_t i = 0; i < unit.size(); ++i) {
    if ((unit[i] | 0x20) != kBytes[i]) return false;
  }
  return true;
}

// One range-spec (no surrounding whitespace) resolved against `size`.
ByteRange resolve_spec(std::string_view spec, uint64_t size) {
  const ByteRange none{RangeKind::kNone, 0, 0, size};
  const ByteRange unsatisfiable{RangeKind::kUnsatisfiable, 0, 0, size};
  size_t i = 0;
  uint64_t a = 0, b = 0;
  if (spec.starts_with('-')) {  // suffix-range
    i = 1;
    if (!parse_uint(spec, &i, &b) || i != spec.size()) return none;
    if (b == 0) return unsatisfiable;
    if (size == 0) return none;
    return {RangeKind::kSatisfiable, b >= size ? 0 : size - b, size - 1, size};
  }
  if (!parse_uint(spec, &i, &a) || i == spec.size() || spec[i] != '-') return none;
  ++i;
  const bool open_ended = i == spec.size();
  if (!open_ended && (!parse_uint(spec, &i, &b) || i != spec.size() || b < a)) return none;
  if (a >= size) return unsatisfiable;
  return {RangeKind::kSatisfiable, a, open_ended || b >= size ? size - 1 : b, size};
}

}  // namespace

ByteRange parse_range(std::string_view value, uint64_t size) {
  const ByteRange none{RangeKind::kNone, 0, 0, size};
  const size_t eq = value.find('=');
  if (eq == std::string_view::npos || !unit_is_bytes(value.substr(0, eq))) return none;

  // range-set = 1#range-spec; empty members and OWS around commas are allowed.
  std::string_view spec;
  std::string_view rest = value.substr(eq + 1);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view member = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    while (!member.empty() && is_ows(member.front())) member.remove_prefix(1);
    while (!member.empty() && is_ows(member.back())) member.remove_suffix(1);
    if (member.empty()) continue;
    if (!spec.empty()) return none;  // a second range
    spec = member;
  }
  if (spec.empty()) return none;
  return resolve_spec(spec, size);
}

bool if_range_allows(std::string_view if_range, std::string_view etag, time_t last_modified,
                     time_t now) {
  if (if_range.empty()) return true;
  // 13.1.5: a DQUOTE in the first three bytes means an entity-tag, else an HTTP-date.
  if (if_range.substr(0, 3).find('"') != std::string_view::npos) {
    return common::etag_strong_equal(if_range, etag);
  }
  time_t date = 0;
  return parse_http_date(if_range, &date, now) && date == last_modified && last_modified < now;
}

ByteRange evaluate_range(std::string_view range, std::string_view if_range, uint64_t size,
                         std::string_view etag, time_t last_modified, time_t now) {
  if (range.empty() || !if_range_allows(if_range, etag, last_modified, now)) {
    return {RangeKind::kNone, 0, 0, size};
  }
  return parse_range(range, size);
}

size_t format_content_range(const ByteRange& r, char out[kMaxContentRangeLen]) {
  if (r.kind == RangeKind::kNone) return 0;
  constexpr std::string_view kPrefix = "bytes ";
  size_t n = kPrefix.copy(out, kPrefix.size());
  if (r.kind == RangeKind::kSatisfiable) {
    n += format_uint(r.first, out + n);
    out[n++] = '-';
    n += format_uint(r.last, out + n);
  } else {
    out[n++] = '*';
  }
  out[n++] = '/';
  return n + format_uint(r.size, out + n);
}

}  // namespace zhttp::handlers::static_site
