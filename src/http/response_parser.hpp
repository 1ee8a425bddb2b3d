#pragma once
// Parser of one HTTP/1.1 response head (RFC 9112 4-6), the upstream side of a proxy: status line,
// fields into a caller-owned array, and the body's framing (RFC 9112 6.3) for the request method
// it answers. Same rules and style as the request parser (zhttp/parser.hpp): spans into the input,
// no allocation, incremental with the same hint, strict where leniency enables smuggling or
// response splitting. Every error means "do not forward, answer 502, close the upstream".
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "zhttp/method.hpp"
#include "zhttp/parser.hpp"
#include "zhttp/request.hpp"

namespace zhttp::http {

struct ResponseLimits {
  uint32_t max_head_bytes = 16384;  // status line + fields + empty line
  uint32_t max_headers = 100;       // also bounded by the size of the caller's array
};

// Why a response head was refused, for the error log (see describe()).
enum class ResponseError : uint8_t {
  kNone,
  kBadVersion,          // not "HTTP/1.0" or "HTTP/1.1"
  kBadStatusLine,       // not exactly one SP around the status code, or a bad line ending
  kBadStatusCode,       // not three digits in 100..599
  kBadReason,           // control byte in the reason phrase
  kBareCr,              // CR not followed by LF
  kBareLf,              // LF without CR
  kObsFold,             // field line starting with whitespace
  kBadFieldName,        // empty or non-token field name
  kSpaceBeforeColon,    //
  kBadFieldValue,       // control byte in a field value
  kHeadTooLarge,        // head over max_head_bytes
  kTooManyHeaders,      // more fields than max_headers (or than the array holds)
  kBadContentLength,    // not 1*DIGIT, overflow, or differing values
  kContentLengthAndTe,  // both Content-Length and Transfer-Encoding
  kChunkedNotFinal,     // Transfer-Encoding not ending in one chunked (RFC: close-delimited)
  kUnknownCoding,       // a transfer coding besides chunked (gzip, chunked)
  kTeInHttp10,          // Transfer-Encoding in an HTTP/1.0 response
};

std::string_view describe(ResponseError e);

// How the body after the head ends (RFC 9112 6.3).
enum class BodyFraming : uint8_t {
  kNone,           // no body: HEAD, 1xx, 204, 304, 2xx to CONNECT
  kContentLength,  // exactly content_length bytes (possibly 0)
  kChunked,        // chunked transfer coding (ChunkedDecoder)
  kUntilClose,     // everything until the upstream closes
};

// A parsed response head. Spans are relative to the first byte handed to the parser.
struct ResponseHead {
  uint16_t status = 0;        // 100..599
  uint8_t version_minor = 1;  // HTTP/1.<minor>: 0 or 1
  BodyFraming framing = BodyFraming::kNone;
  // The upstream connection can carry the next request once this response's body is read: by
  // version and Connection options, and never after a close-delimited body or a switch.
  bool keep_alive = false;
  bool interim = false;   // 1xx other than 101: forward or drop it, then parse the next head
  bool switched = false;  // 101, or 2xx to CONNECT: the bytes after the head are not HTTP
  // A Connection field listed options other than close/keep-alive/upgrade, i.e. names of further
  // hop-by-hop fields: is_hop_by_hop() reads the Connection values only when this is set.
  bool connection_names_fields = false;
  Span reason;                  // may be empty
  int64_t content_length = -1;  // the field's value, -1 without one; framing says if it counts
  Header* headers = nullptr;
  uint32_t header_count = 0;
  uint32_t head_bytes = 0;  // bytes of the head, final CRLF included

  // First header with this id, or nullptr.
  const Header* find(HeaderId id) const {
    for (uint32_t i = 0; i < header_count; ++i) {
      if (headers[i].id == id) return &headers[i];
    }
    return nullptr;
  }
};

struct ResponseResult {
  ParseStatus status = ParseStatus::kPartial;  // kComplete, kPartial (need more) or kError
  ResponseError error = ResponseError::kNone;
  uint32_t consumed = 0;  // with kComplete: == ResponseHead::head_bytes
};

// Parses one response head from the start of `input` (the unread bytes from the upstream), as the
// answer to a request with `request_method` (HEAD and CONNECT change the framing). Fields go into
// `headers`; `out.headers` points there. Never allocates. No empty lines may precede the status
// line. A 1xx (interim) head is complete on its own: the caller skips `consumed` bytes and parses
// again, as often as 1xx heads come (capping their number is the caller's choice).
//
// Framing fields are checked in every response, also where they do not frame the body (HEAD, 204,
// 304...): the proxy forwards the head, and whoever reads it next must not see conflicting framing.
// A Transfer-Encoding whose last coding is not chunked is refused, although RFC 9112 6.3 reads such
// a response until close: the body could not be forwarded with the framing its head announces,
// and origin servers do not send it; refusing is the safe side. Other transfer codings before
// chunked are refused too (the proxy would have to decode them).
//
// `scanned_before` is the incremental-read hint of parse_request, with the same promise: once the
// line holding an error has ended, or the head is complete, the result does not depend on how the
// input was split.
ResponseResult parse_response(std::string_view input, Method request_method,
                              const ResponseLimits& limits, ResponseHead& out,
                              std::span<Header> headers, size_t scanned_before = 0);

// Whether a proxy must drop `field` (a field of `head`, whose bytes start at `base`) rather than
// forward it: the hop-by-hop fields of RFC 9110 7.6.1 (Connection, Proxy-Connection, Keep-Alive,
// TE, Transfer-Encoding, Upgrade) and any field a Connection field names. Known ids decide at
// once; the Connection values are read only when head.connection_names_fields. (A 101's Upgrade
// is hop-by-hop too: a proxy that tunnels the switch forwards it deliberately.)
bool is_hop_by_hop(const Header& field, const ResponseHead& head, const char* base);

}  // namespace zhttp::http
