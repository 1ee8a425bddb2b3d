#pragma once
// Conditional requests for a static file (RFC 9110 13): which of 200/304/412 the preconditions
// ask for, and entity-tag comparison. Pure functions over header values; no allocation.
#include <cstdint>
#include <ctime>
#include <string_view>

namespace zhttp::handlers::common {

enum class Precondition : uint8_t {
  kProceed,             // go on (to Range, then 200 or 206)
  kNotModified,         // 304
  kPreconditionFailed,  // 412
};

// The four precondition fields; an empty view means absent (an empty field value is treated the
// same: its list has no members). Values as the parser hands them, OWS-trimmed.
struct ConditionalHeaders {
  std::string_view if_match = {};
  std::string_view if_unmodified_since = {};
  std::string_view if_none_match = {};
  std::string_view if_modified_since = {};
};

// RFC 9110 13.2.2 for a GET or HEAD of a file that exists (the only methods the static handler
// serves; the caller answers 404/405 first, since preconditions apply only to what would
// otherwise be a 2xx). `etag` is the file's own tag, `last_modified` its Last-Modified time
// (already clamped to `now`, see last_modified_time()), `now` the request time. In order:
//  1. If-Match: 412 unless "*" or a strong match with one of the listed tags.
//  2. If-Unmodified-Since, only without If-Match: 412 when modified after the date.
//  3. If-None-Match: 304 when "*" or a weak match with one of the listed tags.
//  4. If-Modified-Since, only without If-None-Match: 304 when not modified after the date.
// A malformed entity-tag list matches nothing (If-Match then fails, If-None-Match passes). A
// date that is not a valid HTTP-date is ignored (13.1.3, 13.1.4), and so is an If-Modified-Since
// later than `now`, which a client could otherwise use to pin a 304 forever (Apache does the
// same; RFC 2616 14.25 called such a date invalid).
Precondition evaluate_preconditions(const ConditionalHeaders& h, std::string_view etag,
                                    time_t last_modified, time_t now);

// RFC 9110 8.8.3.2: strong comparison needs both tags strong and the opaque-tags equal; weak
// comparison only the opaque-tags.
enum class Comparison : uint8_t { kStrong, kWeak };

// Whether `field` ("*" or a list of entity-tags, 8.8.3, with OWS and empty list members
// allowed around commas) matches the entity-tag `current`. "*" matches any current tag. A list
// that does not parse as a whole, or a malformed `current`, matches nothing.
bool etag_list_matches(std::string_view field, std::string_view current, Comparison how);

// Whether two single entity-tags match under strong comparison (for If-Range).
bool etag_strong_equal(std::string_view a, std::string_view b);

}  // namespace zhttp::handlers::common
