#include "zhttp/response_writer.hpp"

#include <cstring>

#include "http/scan.hpp"
#include "zhttp/status.hpp"

namespace zhttp {
namespace {

// "00" "01" ... "99": one table load writes two digits.
constexpr auto kDigitPairs = [] {
  struct {
    char c[200];
  } t{};
  for (int i = 0; i < 100; ++i) {
    t.c[2 * i] = static_cast<char>('0' + i / 10);
    t.c[2 * i + 1] = static_cast<char>('0' + i % 10);
  }
  return t;
}();

size_t count_digits(uint64_t v) {
  size_t n = 1;
  for (;;) {
    if (v < 10) return n;
    if (v < 100) return n + 1;
    if (v < 1000) return n + 2;
    if (v < 10000) return n + 3;
    v /= 10000;
    n += 4;
  }
}

}  // namespace

// Both scan 16 bytes at a time (http/scan.hpp): a head's fields are checked as they are written.
bool is_field_name(std::string_view name) {
  const char* end = name.data() + name.size();
  return !name.empty() && http::Scan::token(name.data(), end, name.data()) == end;
}

// field-value bytes (VCHAR, obs-text, SP, HTAB): rejects CR, LF, NUL and the other controls.
bool is_field_value(std::string_view value) {
  const char* end = value.data() + value.size();
  return http::Scan::value(value.data(), end, value.data()) == end;
}

size_t format_uint(uint64_t v, char* out) {
  const size_t n = count_digits(v);
  char* p = out + n;
  while (v >= 100) {
    const auto r = static_cast<size_t>(v % 100);
    v /= 100;
    p -= 2;
    std::memcpy(p, &kDigitPairs.c[2 * r], 2);
  }
  if (v >= 10) {
    std::memcpy(p - 2, &kDigitPairs.c[2 * v], 2);
  } else {
    p[-1] = static_cast<char>('0' + v);
  }
  return n;
}

std::string_view describe(WriteError e) {
  switch (e) {
    case WriteError::kNone:
      return "no error";
    case WriteError::kOverflow:
      return "response does not fit in the buffer";
    case WriteError::kBadStatus:
      return "invalid status code or version";
    case WriteError::kBadHeaderName:
      return "header name is not a token";
    case WriteError::kBadHeaderValue:
      return "control character in header value";
    case WriteError::kOutOfOrder:
      return "response parts written out of order";
  }
  return "unknown error";
}

bool ResponseWriter::begin(State expected, size_t need) {
  if (error_ != WriteError::kNone) return false;
  if (state_ != expected) {
    fail(WriteError::kOutOfOrder);
    return false;
  }
  if (need > cap_ - len_) {
    fail(WriteError::kOverflow);
    return false;
  }
  return true;
}

void ResponseWriter::put(std::string_view s) {
  if (s.empty()) return;  // memcpy with a null source is undefined even for 0 bytes
  std::memcpy(buf_ + len_, s.data(), s.size());
  len_ += s.size();
}

ResponseWriter& ResponseWriter::status_line(uint16_t code, uint8_t version_minor) {
  if (!ok()) return *this;
  if (code < 100 || code > 599 || version_minor > 9) return fail(WriteError::kBadStatus);
  const std::string_view reason = reason_phrase(code);
  // "HTTP/1.1 " + "200" + " " + reason + "\r\n"
  if (!begin(State::kStart, 15 + reason.size())) return *this;
  char line[13] = {'H', 'T', 'T', 'P', '/', '1', '.', '1', ' ', '0', '0', '0', ' '};
  line[7] = static_cast<char>('0' + version_minor);
  line[9] = static_cast<char>('0' + code / 100);
  std::memcpy(&line[10], &kDigitPairs.c[2 * (code % 100)], 2);
  put({line, sizeof line});
  put(reason);
  put("\r\n");
  state_ = State::kHeaders;
  return *this;
}

ResponseWriter& ResponseWriter::raw_header(std::string_view name, std::string_view value) {
  if (!begin(State::kHeaders, name.size() + value.size() + 4)) return *this;
  put(name);
  put(": ");
  put(value);
  put("\r\n");
  return *this;
}

ResponseWriter& ResponseWriter::header(std::string_view name, std::string_view value) {
  if (!ok()) return *this;
  if (!is_field_name(name)) return fail(WriteError::kBadHeaderName);
  if (!is_field_value(value)) return fail(WriteError::kBadHeaderValue);
  return raw_header(name, value);
}

ResponseWriter& ResponseWriter::header(std::string_view name, uint64_t value) {
  if (!ok()) return *this;
  if (!is_field_name(name)) return fail(WriteError::kBadHeaderName);
  char digits[kMaxUintDigits];
  return raw_header(name, {digits, format_uint(value, digits)});
}

ResponseWriter& ResponseWriter::date(DateCache& cache, time_t now) {
  return raw_header("Date", cache.get(now));
}

ResponseWriter& ResponseWriter::date(std::string_view imf_fixdate) {
  return header("Date", imf_fixdate);
}

ResponseWriter& ResponseWriter::content_length(uint64_t n) {
  char digits[kMaxUintDigits];
  return raw_header("Content-Length", {digits, format_uint(n, digits)});
}

ResponseWriter& ResponseWriter::connection_close() {
  return raw_header("Connection", "close");
}

ResponseWriter& ResponseWriter::connection_keep_alive() {
  return raw_header("Connection", "keep-alive");
}

ResponseWriter& ResponseWriter::field_lines(std::string_view lines) {
  if (begin(State::kHeaders, lines.size())) put(lines);
  return *this;
}

ResponseWriter& ResponseWriter::end_headers() {
  if (!begin(State::kHeaders, 2)) return *this;
  put("\r\n");
  state_ = State::kBody;
  return *this;
}

ResponseWriter& ResponseWriter::body(std::string_view bytes) {
  if (!begin(State::kBody, bytes.size())) return *this;
  put(bytes);
  return *this;
}

char* ResponseWriter::body_space(size_t n) {
  if (!begin(State::kBody, n)) return nullptr;
  char* space = buf_ + len_;
  len_ += n;
  return space;
}

}  // namespace zhttp
