#include "zhttp/target.hpp"

namespace zhttp {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  const char lower = static_cast<char>(c | 0x20);
  if (lower >= 'a' && lower <= 'f') return lower - 'a' + 10;
  return -1;
}

bool is_control(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

// If the raw segment starting at `i` decodes to "." or "..", returns 1 or 2 and its raw length;
// otherwise 0. Looked at before writing so dot segments never take room in the output.
int dot_segment(std::string_view s, size_t i, size_t* raw_len) {
  int dots = 0;
  size_t j = i;
  while (j < s.size() && s[j] != '/') {
    if (dots == 2) return 0;
    if (s[j] == '.') {
      j += 1;
    } else if (s[j] == '%' && j + 2 < s.size() && s[j + 1] == '2' && (s[j + 2] | 0x20) == 'e') {
      j += 3;
    } else {
      return 0;
    }
    ++dots;
  }
  *raw_len = j - i;
  return dots;
}

}  // namespace

void split_target(std::string_view origin_target, std::string_view* path, std::string_view* query) {
  const size_t q = origin_target.find_first_of("?#");
  if (q == std::string_view::npos) {
    *path = origin_target;
    *query = {};
    return;
  }
  // Views built by hand: substr's range check could throw, and q is in range anyway.
  *path = {origin_target.data(), q};
  if (origin_target[q] == '#') {
    *query = {};
    return;
  }
  const std::string_view rest{origin_target.data() + q + 1, origin_target.size() - q - 1};
  const size_t hash = rest.find('#');
  *query = {rest.data(), hash == std::string_view::npos ? rest.size() : hash};
}

std::string_view describe(PathError e) {
  switch (e) {
    case PathError::kNone:
      return "no error";
    case PathError::kNotAbsolute:
      return "path does not start with '/'";
    case PathError::kBadEscape:
      return "malformed percent-escape in path";
    case PathError::kControlChar:
      return "control character in path";
    case PathError::kEncodedSlash:
      return "encoded slash in path";
    case PathError::kAboveRoot:
      return "path climbs above the root";
    case PathError::kTooLong:
      return "normalized path too long";
  }
  return "unknown error";
}

PathResult normalize_path(std::string_view path, char* out, size_t cap) {
  const size_t n = path.size();
  if (n == 0 || path[0] != '/') return {PathError::kNotAbsolute, 0};
  if (cap == 0) return {PathError::kTooLong, 0};
  out[0] = '/';
  size_t len = 1;
  // Invariant: at the start of each segment the output ends with '/'.
  size_t i = 1;
  while (i < n) {
    size_t raw_len = 0;
    const int dots = dot_segment(path, i, &raw_len);
    if (dots != 0) {
      if (dots == 2) {
        if (len == 1) return {PathError::kAboveRoot, 0};
        --len;  // drop the '/' that ends the previous segment, then the segment itself
        while (out[len - 1] != '/') --len;
      }
      i += raw_len + 1;  // the segment and the '/' after it (or past the end)
      continue;
    }
    const size_t seg_start = len;
    while (i < n && path[i] != '/') {
      auto c = static_cast<unsigned char>(path[i]);
      if (c == '%') {
        const int hi = i + 2 < n ? hex_value(path[i + 1]) : -1;
        const int lo = hi >= 0 ? hex_value(path[i + 2]) : -1;
        if (lo < 0) return {PathError::kBadEscape, 0};
        c = static_cast<unsigned char>(hi << 4 | lo);
        if (c == '/') return {PathError::kEncodedSlash, 0};
        i += 3;
      } else {
        ++i;
      }
      if (is_control(c)) return {PathError::kControlChar, 0};
      if (len == cap) return {PathError::kTooLong, 0};
      out[len++] = static_cast<char>(c);
    }
    if (i == n) break;
    ++i;  // the '/'; empty segments ("//") add nothing, so repeated slashes merge
    if (len > seg_start) {
      if (len == cap) return {PathError::kTooLong, 0};
      out[len++] = '/';
    }
  }
  return {PathError::kNone, len};
}

}  // namespace zhttp
