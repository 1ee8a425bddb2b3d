#pragma once
// What the request parser and the response parser share about a message head (RFC 9112 2-5):
// the field section, the Transfer-Encoding rules and the incremental-read hint. Inline templates,
// so each parser's hot loop is compiled in place; each parser keeps its own error enum (see
// FieldsEnd).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "http/char_class.hpp"
#include "http/framing_fields.hpp"
#include "http/header_lookup.hpp"
#include "http/scan.hpp"
#include "zhttp/request.hpp"

namespace zhttp::http {

// How a field section ended. `Error` is the caller's error enum: it must have the enumerators
// kNone, kBareCr, kBareLf, kObsFold, kBadFieldName, kSpaceBeforeColon, kBadFieldValue and
// kTooManyHeaders, which the field lines' errors are reported as.
template <class Error>
struct FieldsEnd {
  bool complete = false;       // the empty line was read; false with kNone: need more bytes
  Error error = Error::kNone;  // a field line's error, or the one on_field returned
  uint32_t count = 0;          // fields stored in the array
  const char* next = nullptr;  // complete: the byte after the empty line
};

// Parses field lines from p up to and including the empty line that ends the head, into at most
// `capacity` entries of `headers` (ids looked up, values trimmed of OWS). on_field(const Header&)
// is called for each field with a known id and returns an Error (kNone to go on). `base` is the
// start of the head: spans are offsets from it. p is taken by value: a cursor the loop keeps in a
// register (through a reference it was stored on every line).
template <class Error, class OnField>
inline FieldsEnd<Error> parse_fields(const char* base, const char* p, const char* end,
                                     std::span<Header> headers, size_t capacity,
                                     OnField&& on_field) {
  uint32_t count = 0;
  auto partial = [&count] { return FieldsEnd<Error>{false, Error::kNone, count}; };
  auto fail = [&count](Error e) { return FieldsEnd<Error>{false, e, count}; };
  for (;;) {
    if (p == end) return partial();
    char c = *p;
    if (c == '\r') {
      if (end - p < 2) return partial();
      if (p[1] != '\n') return fail(Error::kBareCr);
      return {true, Error::kNone, count, p + 2};
    }
    if (c == '\n') return fail(Error::kBareLf);
    if (is_ows(c)) return fail(Error::kObsFold);

    // The next line's start depends only on where this one ends, so find the end first (the first
    // control byte, which must be CR); the colon and the name are checked beside that chain.
    const char* name = p;
    const char* stop = Scan::value(p, end, base);
    const char* colon = Scan::token(name, stop, base);
    if (colon == stop) {
      if (stop == end) return partial();
      return fail(Error::kBadFieldName);  // the line ends with no colon
    }
    if (*colon != ':') {
      return fail(is_ows(*colon) ? Error::kSpaceBeforeColon : Error::kBadFieldName);
    }
    if (colon == name) return fail(Error::kBadFieldName);
    if (stop == end) return partial();
    if (*stop != '\r') return fail(*stop == '\n' ? Error::kBareLf : Error::kBadFieldValue);
    if (end - stop < 2) return partial();
    if (stop[1] != '\n') return fail(Error::kBareCr);
    p = stop + 2;
    const size_t name_len = static_cast<size_t>(colon - name);
    const char* value = colon + 1;
    const char* value_end = stop;
    value += value < value_end && *value == ' ';  // the usual single space, without a loop
    while (value < value_end && is_ows(*value)) ++value;
    while (value_end > value && is_ows(value_end[-1])) --value_end;

    if (count == capacity) return fail(Error::kTooManyHeaders);
    Header& h = headers[count++];
    h.id = lookup_header_id_in_head(name, name_len, base);
    h.name = {static_cast<uint32_t>(name - base), static_cast<uint32_t>(name_len)};
    h.value = {static_cast<uint32_t>(value - base), static_cast<uint32_t>(value_end - value)};
    if (h.id != HeaderId::kOther) {
      Error e = on_field(static_cast<const Header&>(h));
      if (e != Error::kNone) return fail(e);
    }
  }
}

// The framing rules for a message's Transfer-Encoding (RFC 9112 6.1, 6.3), strict: no
// Content-Length beside it, not in HTTP/1.0, chunked applied once and last, and no other coding
// (we implement none). kNone when absent or plain chunked. `Error` needs kNone,
// kContentLengthAndTe, kTeInHttp10, kChunkedNotFinal and kUnknownCoding.
template <class Error>
inline Error check_transfer_codings(const TransferCodings& te, bool has_content_length,
                                    uint8_t version_minor) {
  if (!te.present) return Error::kNone;
  if (has_content_length) return Error::kContentLengthAndTe;
  if (version_minor == 0) return Error::kTeInHttp10;
  if (te.malformed || !te.last_is_chunked || te.chunked_count > 1) return Error::kChunkedNotFinal;
  if (te.has_other) return Error::kUnknownCoding;
  return Error::kNone;
}

// The incremental-read hint (see zhttp::parse_request): true when the bytes after the
// `scanned_before` already seen hold no line end, so nothing new can be decided and the call may
// answer "partial" without parsing. Never while the input is over the head limit (that must be
// reported). Starts one byte back: a CR that ended the previous piece is judged by the byte after.
inline bool nothing_new_since(std::string_view input, size_t scanned_before,
                              size_t max_head_bytes) {
  const size_t len = input.size();
  if (scanned_before == 0 || scanned_before > len || len > max_head_bytes) return false;
  const char* from = input.data() + scanned_before - 1;
  size_t n = len - scanned_before + 1;
  return !std::memchr(from, '\n', n) && !std::memchr(from, '\r', n);
}

}  // namespace zhttp::http
