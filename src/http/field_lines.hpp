#pragma once
// Reading field lines as ResponseWriter formats them ("Name: value\r\n"...), e.g. a handler's
// head. Header-only, no allocation.
#include <string_view>

#include "http/framing_fields.hpp"

namespace zhttp::http {

// Calls take(name, value, whole line) for each "Name: value\r\n" line.
template <class Take>
void for_each_line(std::string_view lines, Take take) {
  while (!lines.empty()) {
    size_t end = lines.find("\r\n");
    size_t next = end == lines.npos ? lines.size() : end + 2;
    std::string_view line = lines.substr(0, end == lines.npos ? lines.size() : end);
    size_t colon = line.find(':');
    if (colon != line.npos) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      take(line.substr(0, colon), value, lines.substr(0, next));
    }
    lines.remove_prefix(next);
  }
}

// The value of the first line named `lower_name` (a lowercase literal; names compare without
// case), or an empty view with a null data().
inline std::string_view first_field_value(std::string_view lines, std::string_view lower_name) {
  std::string_view found;
  for_each_line(lines, [&](std::string_view name, std::string_view value, std::string_view) {
    if (found.data() == nullptr && equals_ignore_case(name, lower_name)) found = value;
  });
  return found;
}

}  // namespace zhttp::http
