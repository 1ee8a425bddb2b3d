#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace zhttp {

// Splits an origin-form target ("/path?query") into its still-encoded path and query. The path
// ends at the first '?' (or '#'); the query is what follows that '?', without it, up to a '#'.
// A fragment is never sent by a conforming client; if one is, it is dropped rather than becoming
// part of a file name. No '?': *query is empty with a null data() (an empty but present query,
// "/a?", has a non-null data()). Split before decoding: "%3F" belongs to the path.
void split_target(std::string_view origin_target, std::string_view* path, std::string_view* query);

enum class PathError : uint8_t {
  kNone,
  kNotAbsolute,   // empty, or does not start with '/'
  kBadEscape,     // '%' not followed by two hex digits
  kControlChar,   // a control byte (0x00-0x1f, 0x7f), raw or decoded: NUL, CR, LF...
  kEncodedSlash,  // %2F: would turn one segment into two (see normalize_path)
  kAboveRoot,     // a ".." segment would climb above "/"
  kTooLong,       // the output does not fit in `cap` bytes
};

// Short reason for the error log, e.g. "encoded slash in path".
std::string_view describe(PathError e);

struct PathResult {
  PathError error = PathError::kNone;
  size_t length = 0;  // bytes written to `out` when ok()

  bool ok() const { return error == PathError::kNone; }
};

// Turns the encoded path of a request target into the canonical, decoded path a file handler can
// append to its root. One pass, writes only into out[0..cap), no terminator, no allocation.
//
//  - Percent-escapes are decoded (%XX, hex digits of either case); a malformed escape is
//    kBadEscape. Decoding happens once: "%252e" becomes the three bytes "%2e", never ".".
//  - Control bytes, raw or decoded (NUL above all: it would cut the path short in open()), are
//    kControlChar. Bytes >= 0x80 pass through untouched (UTF-8 file names).
//  - %2F is rejected (kEncodedSlash), as Apache does by default (AllowEncodedSlashes Off): a
//    decoded '/' would let one segment become two, so "/a%2F..%2Fb" or a per-directory rule for
//    "/a/b" could be dodged. The raw '/' are the only separators.
//  - Backslash, raw or encoded (%5C), is an ordinary byte: on Linux it is a valid file name
//    character, not a separator, so "..\" or "%5C.." cannot climb. (A server in front that maps
//    '\' to '/' would have normalized it already.)
//  - Repeated slashes merge; "." and ".." segments are removed after decoding (so "%2e%2E" is
//    ".."), as in RFC 3986 5.2.4; a ".." that would climb above the root is kAboveRoot (the
//    caller answers 400): escaping the root is impossible, not silently clamped.
//  - The output starts with '/'; a trailing slash is kept ("/a/b/" -> "/a/b/", "/a/." -> "/a/",
//    "/a/b/.." -> "/a/"), since it tells a directory request from a file request.
//
// `out` is also the working space: a path whose output exceeds `cap` at any point, even if a
// later ".." would shorten it again, is kTooLong. The first error from the left is reported.
PathResult normalize_path(std::string_view path, char* out, size_t cap);

}  // namespace zhttp
