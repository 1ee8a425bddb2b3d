#pragma once
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string_view>

#include "zhttp/date_cache.hpp"

namespace zhttp {

// Most decimal digits of a uint64_t (18446744073709551615).
inline constexpr size_t kMaxUintDigits = 20;

// Writes `v` in decimal at `out` (which must have room for kMaxUintDigits bytes), no terminator.
// Returns the number of digits. Two digits per step from a 200-byte table.
size_t format_uint(uint64_t v, char* out);

enum class WriteError : uint8_t {
  kNone,
  kOverflow,        // the next piece did not fit in the buffer
  kBadStatus,       // status code outside 100..599, or HTTP/1.x minor version above 9
  kBadHeaderName,   // empty, or a byte that is not a tchar (RFC 9110 5.6.2)
  kBadHeaderValue,  // CR, LF, NUL or another control byte other than HTAB (header injection)
  kOutOfOrder,      // status line not first, header after end_headers, body before it...
};

std::string_view describe(WriteError e);

// The checks header() makes, for callers that validate names and values ahead (e.g. at start).
bool is_field_name(std::string_view name);    // a token (RFC 9110 5.6.2), not empty
bool is_field_value(std::string_view value);  // VCHAR, obs-text, SP, HTAB only

// A header field known when the program is compiled, e.g. {"Vary", "Accept-Encoding"}: the
// compiler checks it as header() would at run time (a name or value that fails does not
// compile), so writing one is a plain copy.
class ConstField {
 public:
  consteval ConstField(std::string_view name, std::string_view value) : name_(name), value_(value) {
    bool ok = !name.empty();
    for (char c : name) ok = ok && is_tchar(c);
    for (char c : value)
      ok = ok && (c == '\t' || static_cast<unsigned char>(c) >= 0x20) && c != 0x7f;
    if (!ok) throw "ConstField: not a token name or a field value";  // stops the compilation
  }
  constexpr std::string_view name() const { return name_; }
  constexpr std::string_view value() const { return value_; }

 private:
  static constexpr bool is_tchar(char c) {  // RFC 9110 5.6.2
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  }
  std::string_view name_;
  std::string_view value_;
};

// Formats a response head (and optionally a small body) into a caller-provided buffer: no
// allocation, no printf. The usual sequence:
//
//   ResponseWriter w(buf, cap);
//   w.status_line(200).date(dates, now).content_length(n).end_headers().body(bytes);
//   if (!w.ok()) ...;   // nothing may be sent; w.error() says why
//
// The first failure sets error() and turns every later call into a no-op, so a chain needs one
// check at the end. A failing call writes nothing (never a byte at or past `cap`); after a
// failure data()/size() hold the bytes of the calls before it, which must not be sent.
//
// Names and values from the embedding program are checked: a name must be a token and a value
// must not contain CR, LF, NUL or other control bytes (HTAB allowed), so a handler cannot split
// the response (RFC 9110 5.5). Leading/trailing whitespace in a value is left as given.
// The writer does not track which headers were written (no duplicate Content-Length check):
// framing is the connection layer's job.
class ResponseWriter {
 public:
  ResponseWriter(char* buf, size_t cap) : buf_(buf), cap_(cap) {}

  // "HTTP/1.<minor> <code> <reason>\r\n", reason from reason_phrase() (empty if unregistered).
  ResponseWriter& status_line(uint16_t code, uint8_t version_minor = 1);
  ResponseWriter& header(std::string_view name, std::string_view value);
  ResponseWriter& header(std::string_view name, uint64_t value);
  ResponseWriter& header(ConstField field) { return raw_header(field.name(), field.value()); }
  // "Date: <IMF-fixdate>\r\n" from the worker's cache (trusted, not re-validated).
  ResponseWriter& date(DateCache& cache, time_t now);
  // "Date: <value>\r\n"; the value is validated like any header value.
  ResponseWriter& date(std::string_view imf_fixdate);
  ResponseWriter& content_length(uint64_t n);
  ResponseWriter& connection_close();
  ResponseWriter& connection_keep_alive();  // for HTTP/1.0 clients that asked for it
  // Whole "Name: value\r\n" lines formatted (and checked) by the caller, e.g. fields an
  // access stage adds to every response.
  ResponseWriter& field_lines(std::string_view lines);
  ResponseWriter& end_headers();                 // the empty line; required before body()
  ResponseWriter& body(std::string_view bytes);  // may be called several times
  // Appends n body bytes for the caller to fill in place (e.g. read from a file); nullptr, and
  // the writer fails, when they do not fit.
  char* body_space(size_t n);

  bool ok() const { return error_ == WriteError::kNone; }
  WriteError error() const { return error_; }
  const char* data() const { return buf_; }
  size_t size() const { return len_; }
  size_t capacity() const { return cap_; }
  std::string_view view() const { return {buf_, len_}; }
  bool headers_done() const { return state_ == State::kBody; }

  // Forgets everything written and any error, to start another response in the same buffer
  // (e.g. a 500 after a handler's response overflowed).
  void reset() {
    len_ = 0;
    error_ = WriteError::kNone;
    state_ = State::kStart;
  }

 private:
  enum class State : uint8_t { kStart, kHeaders, kBody };

  bool begin(State expected, size_t need);  // checks error/state/room
  void put(std::string_view s);             // unchecked append (room already checked)
  ResponseWriter& fail(WriteError e) {
    if (error_ == WriteError::kNone) error_ = e;
    return *this;
  }
  ResponseWriter& raw_header(std::string_view name, std::string_view value);

  char* buf_;
  size_t cap_;
  size_t len_ = 0;
  WriteError error_ = WriteError::kNone;
  State state_ = State::kStart;
};

}  // namespace zhttp
