#include "http/framing_fields.hpp"

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
  for_each_element(value, [&](std::string_view option) {
    if (equals_ignore_case(option, "close")) {
      options.close = true;
    } else if (equals_ignore_case(option, "keep-alive")) {
      options.keep_alive = true;
    } else if (equals_ignore_case(option, "upgrade")) {
      options.upgrade = true;
    }
  });
}

bool valid_host(std::string_view value) {
  size_t host_end = value.size();
  if (!value.empty() && value.front() == '[') {
    // IP-literal: everything up to "]" then an optional port.
    size_t close = value.find(']');
    if (close == std::string_view::npos) return false;
    host_end = close + 1;
  } else {
    size_t colon = value.rfind(':');
    if (colon != std::string_view::npos) host_end = colon;
  }
  for (size_t i = 0; i < host_end; ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (!kAuthorityChar[c]) return false;
    if ((c == '[' || c == ']') && value.front() != '[') return false;
    if (c == ':' && value.front() != '[') return false;
  }
  std::string_view port = value.substr(host_end);
  if (port.empty()) return true;
  if (port.front() != ':') return false;
  for (char c : port.substr(1)) {
    if (!is_digit(static_cast<unsigned char>(c))) return false;
  }
  return port.size() <= 6;
}

}  // namespace zhttp::http
