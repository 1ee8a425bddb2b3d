#pragma once
// Query-string helpers the examples share: one parameter's value, and a bounded decimal number.
#include <cstdint>
#include <string_view>

namespace zhttp::examples {

// The value of the first `name=` in a query "a=1&b=2", as sent (not percent-decoded); false
// when there is none.
inline bool query_param(std::string_view query, std::string_view name, std::string_view* value) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name &&
        pair[name.size()] == '=') {
      *value = pair.substr(name.size() + 1);
      return true;
    }
  }
  return false;
}

// Decimal digits only (1 to 9 of them: no overflow), at most `max`.
inline bool parse_decimal(std::string_view digits, uint64_t max, uint64_t* out) {
  if (digits.empty() || digits.size() > 9) return false;
  uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return false;
  *out = v;
  return true;
}

}  // namespace zhttp::examples
