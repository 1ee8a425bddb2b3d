#pragma once
// Byte ranges for a static file (RFC 9110 14): the Range header of a GET, the If-Range
// condition, and the Content-Range value. Pure functions; no allocation.
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string_view>

namespace zhttp::handlers::static_site {

enum class RangeKind : uint8_t {
  kNone,           // serve the whole file (200)
  kSatisfiable,    // serve [first, last] (206)
  kUnsatisfiable,  // 416 with "Content-Range: bytes */size"
};

struct ByteRange {
  RangeKind kind = RangeKind::kNone;
  uint64_t first = 0;  // kSatisfiable: first <= last < size
  uint64_t last = 0;
  uint64_t size = 0;  // the file's size

  uint64_t length() const { return last - first + 1; }
};

// Parses the Range field value of a GET (14.2: range handling is defined for GET only; the
// caller ignores Range on HEAD) for a file of `size` bytes. The unit "bytes" is matched
// case-insensitively; then one range-spec, with OWS and empty members allowed around commas as
// for any list. Single range only:
//   "a-b"  -> [a, min(b, size-1)]    satisfiable when a < size
//   "a-"   -> [a, size-1]            satisfiable when a < size
//   "-n"   -> the last n bytes       satisfiable when n > 0 (all of the file when n >= size)
// kNone (the header is ignored, 14.2 allows it) for: an empty value, another unit, more than
// one range (multipart/byteranges is not offered), any syntax error including b < a and
// whitespace inside a range-spec, and a number that overflows 64 bits. A zero-length file has
// no byte to send: "-n" with n > 0 is kNone (200 with an empty body, which no 206 could
// express), every other range is kUnsatisfiable.
ByteRange parse_range(std::string_view value, uint64_t size);

// If-Range (13.1.5): whether the Range may be honoured. An entity-tag must strongly match
// `etag`; an HTTP-date must equal `last_modified` exactly, and that time must lie in a second
// already over at `now` (a file changed in the current second may change again within it, so
// its date is not a strong validator, 8.8.2.2). Anything else, weak tags and malformed values
// included, is false: send the whole file. An empty `if_range` (absent) is true.
bool if_range_allows(std::string_view if_range, std::string_view etag, time_t last_modified,
                     time_t now);

// Both steps in RFC 9110 13.2.2 order: If-Range is looked at only when there is a Range, and a
// false If-Range makes even an unsatisfiable Range kNone.
ByteRange evaluate_range(std::string_view range, std::string_view if_range, uint64_t size,
                         std::string_view etag, time_t last_modified, time_t now);

// "bytes " + three 20-digit numbers + '-' + '/'.
inline constexpr size_t kMaxContentRangeLen = 6 + 3 * 20 + 2;

// Writes the Content-Range value into out[0..kMaxContentRangeLen) and returns its length:
// "bytes first-last/size" for kSatisfiable, "bytes */size" for kUnsatisfiable; 0 for kNone.
size_t format_content_range(const ByteRange& r, char out[kMaxContentRangeLen]);

}  // namespace zhttp::handlers::static_site
