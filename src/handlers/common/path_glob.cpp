#include "handlers/common/path_glob.hpp"

namespace zhttp::handlers::common {

bool path_glob_matches(std::string_view pattern, std::string_view path) {
  size_t p = 0;
  size_t s = 0;
  // Where the last star was and the path byte it is tried against next: on a mismatch the star
  // takes one more byte. Earlier stars never need revisiting (the classic greedy glob match).
  size_t star = std::string_view::npos;
  size_t star_s = 0;
  while (s < path.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_s = s;
    } else if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == path[s])) {
      ++p;
      ++s;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      s = ++star_s;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool check_path_glob(std::string_view pattern, std::string* error) {
  if (pattern.empty()) {
    *error = "the path pattern is empty";
    return false;
  }
  if (pattern.front() != '/' && pattern.front() != '*') {
    *error = "path pattern " + std::string(pattern) + " does not start with / or *";
    return false;
  }
  for (char c : pattern) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      *error = "path pattern " + std::string(pattern) + " has a control byte";
      return false;
    }
  }
  return true;
}

}  // namespace zhttp::handlers::common
