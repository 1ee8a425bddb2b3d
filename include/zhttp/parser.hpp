#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "zhttp/request.hpp"

namespace zhttp {

// Limits the parser enforces. Defaults follow common servers (nginx: 8 KiB lines, ~16 KiB heads).
struct ParserLimits {
  uint32_t max_target_bytes = 8192;  // request-target longer than this: 414
  uint32_t max_head_bytes = 16384;   // whole head (request line + fields) longer than this: 431
  uint32_t max_headers = 100;        // more fields than this (or than the array holds): 431
};

enum class ParseStatus : uint8_t {
  kComplete,  // request head parsed; `consumed` bytes belong to it
  kPartial,   // valid so far, need more bytes
  kError,     // reject with `http_status`, then close the connection
};

// Why a request was rejected, for the error log. Each maps to one status code.
enum class ParseError : uint8_t {
  kNone,
  kBadMethod,            // 400: empty or non-token method
  kBadTarget,            // 400: empty target, invalid character, or wrong form for the method
  kTargetTooLong,        // 414
  kBadVersion,           // 400: not HTTP/<digit>.<digit>
  kVersionNotSupported,  // 505: major version other than 1
  kBadRequestLine,       // 400: wrong spacing or line ending in the request line
  kBareCr,               // 400: CR not followed by LF
  kBareLf,               // 400: LF without CR
  kObsFold,              // 400: field line starting with whitespace
  kBadFieldName,         // 400: empty or non-token field name
  kSpaceBeforeColon,     // 400
  kBadFieldValue,        // 400: control character in a field value
  kHeadTooLarge,         // 431: head over max_head_bytes
  kTooManyHeaders,       // 431
  kBadContentLength,     // 400: not 1*DIGIT, overflow, or differing duplicates
  kContentLengthAndTe,   // 400: both Content-Length and Transfer-Encoding
  kChunkedNotFinal,      // 400: Transfer-Encoding whose last coding is not chunked
  kUnknownCoding,        // 501: transfer coding we do not implement
  kTeInHttp10,           // 400: Transfer-Encoding in an HTTP/1.0 request
  kMissingHost,          // 400: HTTP/1.1 without Host
  kDuplicateHost,        // 400
  kBadHost,              // 400: Host value not a valid authority
  kBadExpect,            // 417: expectation other than 100-continue
};

struct ParseResult {
  ParseStatus status = ParseStatus::kPartial;
  ParseError error = ParseError::kNone;
  uint16_t http_status = 0;  // set with kError
  uint32_t consumed = 0;     // set with kComplete: == Request::head_bytes
};

// Short human-readable reason, e.g. "bare LF", for log lines.
std::string_view describe(ParseError e);

// Parses one request head from the start of `input` (the unread bytes of a connection buffer).
// Fields go into `headers` (caller-owned, typically on the stack); `out.headers` points there.
// Never allocates. Leading empty lines (CRLF) before the request line are skipped (RFC 9112 2.2).
//
// `scanned_before` is an optional hint for incremental reads: the input length of the previous
// call on this same request that returned kPartial. While the new bytes hold no CR or LF and the
// head limit is not passed, the call returns kPartial without re-parsing, so a byte-at-a-time
// sender costs one parse per line, not one per byte. The price: an error inside a line is
// reported when that line ends (or the head limit is passed) rather than at its first byte. Once
// the line holding an error has ended, or the head is complete, the result is the same however
// the input was split (tests check every split point).
ParseResult parse_request(std::string_view input, const ParserLimits& limits, Request& out,
                          std::span<Header> headers, size_t scanned_before = 0);

}  // namespace zhttp
