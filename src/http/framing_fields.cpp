#include "http/framing_fields.hpp"

#include <algorithm>
#include <limits>

#include "http/char_class.hpp"

namespace zhttp::http {
namespace {

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

bool all_token(std::string_view s) {
  for (char c : s) {
    if (!is_token(c)) return false;
  }
  return !s.empty();
}

// Calls on_element for each non-empty element of a comma-separated list (RFC 9110 5.6.1: empty
// elements are allowed and ignored), with surrounding whitespace removed.
template <typename OnElement>
void for_each_element(std::string_view list, OnElement on_element) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view element = trim_ows(list.substr(0, comma));
    if (!element.empty()) on_element(element);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

}  // namespace

bool equals_ignore_case(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c | 0x20);
    if (c != lower[i]) return false;
  }
  return true;
}

bool parse_content_length(std::string_view value, int64_t* out) {
  if (value.empty()) return false;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t n = 0;
  for (char c : value) {
    if (!is_digit(static_cast<unsigned char>(c))) return false;
    int digit = c - '0';
    if (n > (kMax - digit) / 10) return false;
    n = n * 10 + digit;
  }
  *out = n;
  return true;
}

bool add_content_length(std::string_view value, int64_t* known) {
  int64_t n;
  if (!parse_content_length(value, &n) || (*known >= 0 && *known != n)) return false;
  *known = n;
  return true;
}

void add_transfer_codings(std::string_view value, TransferCodings& codings) {
  codings.present = true;
  bool any = false;
  for_each_element(value, [&](std::string_view coding) {
    any = true;
    if (equals_ignore_case(coding, "chunked")) {
      ++codings.chunked_count;
      codings.last_is_chunked = true;
      return;
    }
    codings.last_is_chunked = false;
    // A coding with parameters ("gzip;q=1") is still a coding we do not implement.
    std::string_view name = trim_ows(coding.substr(0, coding.find(';')));
    if (all_token(name)) {
      codings.has_other = true;
    } else {
      codings.malformed = true;
    }
  });
  if (!any) codings.malformed = true;
}

void add_connection_options(std::string_view value, ConnectionOptions& options) {
  // Nearly every request carries exactly one of these; skip the list walk for them.
  if (equals_ignore_case(value, "keep-alive")) {
    options.keep_alive = true;
    return;
  }
  if (equals_ignore_case(value, "close")) {
    options.close = true;
    return;
  }
  for_each_element(value, [&](std::string_view option) {
    if (equals_ignore_case(option, "close")) {
      options.close = true;
    } else if (equals_ignore_case(option, "keep-alive")) {
      options.keep_alive = true;
    } else if (equals_ignore_case(option, "upgrade")) {
      options.upgrade = true;
    } else {
      options.other = true;
    }
  });
}

bool list_has_element(std::string_view list, std::string_view element) {
  auto fold = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c; };
  bool found = false;
  for_each_element(list, [&](std::string_view e) {
    found = found || std::equal(e.begin(), e.end(), element.begin(), element.end(),
                                [&](char a, char b) { return fold(a) == fold(b); });
  });
  return found;
}

bool valid_host(std::string_view value) {
  // Fast path: reg-name or IPv4 address, then an optional ":" port.
  size_t i = 0;
  const size_t n = value.size();
  while (i < n && kRegNameChar[static_cast<unsigned char>(value[i])]) ++i;
  if (i == 0 && n > 0 && value[0] == '[') {
    // IP-literal: "[" (hex digits, ":", ".", "v" forms) "]".
    i = 1;
    while (i < n && (kRegNameChar[static_cast<unsigned char>(value[i])] || value[i] == ':')) ++i;
    if (i == n || value[i] != ']') return false;
    ++i;
  }
  if (i == n) return true;
  if (value[i] != ':' || n - i > 6) return false;  // port = *DIGIT, at most 5 of them
  for (++i; i < n; ++i) {
    if (!is_digit(static_cast<unsigned char>(value[i]))) return false;
  }
  return true;
}

}  // namespace zhttp::http
