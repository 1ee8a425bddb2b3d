// The response head parser (response_parser.hpp): status line here, field lines and the
// Transfer-Encoding rules shared with the request parser (message_head.hpp).
#include "http/response_parser.hpp"

#include <algorithm>

#include "http/char_class.hpp"
#include "http/framing_fields.hpp"
#include "http/message_head.hpp"
#include "http/scan.hpp"

namespace zhttp::http {
namespace {

constexpr ResponseResult error(ResponseError e) {
  return ResponseResult{ParseStatus::kError, e, 0};
}
constexpr ResponseResult kPartial{};

// "HTTP/1.x 200 ": the fixed-width part of a status line, before the reason phrase.
constexpr size_t kStatusPrefix = 13;

// Checks the first n bytes (n <= kStatusPrefix) of a status line, so a wrong byte is reported as
// soon as it arrives and as the same error however the bytes arrive.
ResponseError check_status_prefix(const char* p, size_t n) {
  static constexpr char kVersion[] = "HTTP/1.";
  for (size_t i = 0; i < n; ++i) {
    const char c = p[i];
    const bool digit = is_digit(static_cast<unsigned char>(c));
    if (i < 7) {
      if (c != kVersion[i]) return ResponseError::kBadVersion;
    } else if (i == 7) {
      if (c != '0' && c != '1') return ResponseError::kBadVersion;
    } else if (i == 8) {
      if (c != ' ') return digit ? ResponseError::kBadVersion : ResponseError::kBadStatusLine;
    } else if (i < 12) {
      // 3DIGIT in 100..599; a space here means a space too many or a digit too few.
      if (c == ' ') return ResponseError::kBadStatusLine;
      if (i == 9 ? c < '1' || c > '5' : !digit) return ResponseError::kBadStatusCode;
    } else if (c != ' ') {
      return digit ? ResponseError::kBadStatusCode : ResponseError::kBadStatusLine;
    }
  }
  return ResponseError::kNone;
}

// Parses the status line at p; on success leaves p after its CRLF and returns kComplete.
ResponseResult parse_status_line(const char* base, const char*& p, const char* end,
                                 ResponseHead& head) {
  const size_t avail = static_cast<size_t>(end - p);
  ResponseError e = check_status_prefix(p, std::min(avail, kStatusPrefix));
  if (e != ResponseError::kNone) return error(e);
  if (avail < kStatusPrefix) return kPartial;
  head.version_minor = p[7] == '1' ? 1 : 0;
  head.status = static_cast<uint16_t>((p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0'));

  // reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ), optional: exactly the field value bytes.
  const char* reason = p + kStatusPrefix;
  const char* stop = Scan::value(reason, end, base);
  if (stop == end) return kPartial;
  if (*stop != '\r') {
    return error(*stop == '\n' ? ResponseError::kBareLf : ResponseError::kBadReason);
  }
  if (end - stop < 2) return kPartial;
  if (stop[1] != '\n') return error(ResponseError::kBareCr);
  head.reason = {static_cast<uint32_t>(reason - base), static_cast<uint32_t>(stop - reason)};
  p = stop + 2;
  return ResponseResult{ParseStatus::kComplete, ResponseError::kNone, 0};
}

struct FieldFacts {
  TransferCodings codings;
  ConnectionOptions connection;
};

ResponseError apply_field(const Header& h, const char* base, ResponseHead& head,
                          FieldFacts& facts) {
  std::string_view value = h.value.in(base);
  switch (h.id) {
    case HeaderId::kContentLength:
      if (!add_content_length(value, &head.content_length)) return ResponseError::kBadContentLength;
      break;
    case HeaderId::kTransferEncoding:
      add_transfer_codings(value, facts.codings);
      break;
    case HeaderId::kConnection:
      add_connection_options(value, facts.connection);
      break;
    default:
      break;
  }
  return ResponseError::kNone;
}

// Framing and connection handling once the whole head is known (RFC 9112 6.3, 9.3).
ResponseError finish(ResponseHead& head, const FieldFacts& facts, Method request_method) {
  ResponseError e = check_transfer_codings<ResponseError>(facts.codings, head.content_length >= 0,
                                                          head.version_minor);
  if (e != ResponseError::kNone) return e;
  const uint16_t s = head.status;
  head.interim = s < 200 && s != 101;
  head.switched = s == 101 || (request_method == Method::kConnect && s >= 200 && s < 300);
  if (s < 200 || s == 204 || s == 304 || head.switched || request_method == Method::kHead) {
    head.framing = BodyFraming::kNone;
  } else if (facts.codings.present) {
    head.framing = BodyFraming::kChunked;
  } else if (head.content_length >= 0) {
    head.framing = BodyFraming::kContentLength;
  } else {
    head.framing = BodyFraming::kUntilClose;
  }
  const ConnectionOptions& conn = facts.connection;
  head.keep_alive = !conn.close && (head.version_minor == 1 || conn.keep_alive) &&
                    head.framing != BodyFraming::kUntilClose && !head.switched;
  head.connection_names_fields = conn.other;
  return ResponseError::kNone;
}

ResponseResult parse_head(const char* base, const char* end, Method request_method,
                          const ResponseLimits& limits, ResponseHead& head,
                          std::span<Header> headers) {
  const char* p = base;
  ResponseResult line = parse_status_line(base, p, end, head);
  if (line.status != ParseStatus::kComplete) return line;

  FieldFacts facts;
  FieldsEnd<ResponseError> fields = parse_fields<ResponseError>(
      base, p, end, headers, std::min<size_t>(headers.size(), limits.max_headers),
      [&](const Header& h) { return apply_field(h, base, head, facts); });
  if (fields.error != ResponseError::kNone) return error(fields.error);
  if (!fields.complete) return kPartial;

  head.headers = headers.data();
  head.header_count = fields.count;
  ResponseError e = finish(head, facts, request_method);
  if (e != ResponseError::kNone) return error(e);
  head.head_bytes = static_cast<uint32_t>(fields.next - base);
  return ResponseResult{ParseStatus::kComplete, ResponseError::kNone, head.head_bytes};
}

}  // namespace

ResponseResult parse_response(std::string_view input, Method request_method,
                              const ResponseLimits& limits, ResponseHead& out,
                              std::span<Header> headers, size_t scanned_before) {
  if (nothing_new_since(input, scanned_before, limits.max_head_bytes)) return kPartial;
  out = ResponseHead{};
  // Parse at most the allowed head size: a head not complete within it is too large.
  const bool over_limit = input.size() > limits.max_head_bytes;
  const char* base = input.data();
  ResponseResult r = parse_head(base, base + (over_limit ? limits.max_head_bytes : input.size()),
                                request_method, limits, out, headers);
  if (r.status == ParseStatus::kPartial && over_limit) return error(ResponseError::kHeadTooLarge);
  return r;
}

bool is_hop_by_hop(const Header& field, const ResponseHead& head, const char* base) {
  switch (field.id) {
    case HeaderId::kConnection:
    case HeaderId::kProxyConnection:
    case HeaderId::kKeepAlive:
    case HeaderId::kTe:
    case HeaderId::kTransferEncoding:
    case HeaderId::kUpgrade:
      return true;
    default:
      break;
  }
  if (!head.connection_names_fields) return false;
  const std::string_view name = field.name.in(base);
  for (uint32_t i = 0; i < head.header_count; ++i) {
    const Header& h = head.headers[i];
    if (h.id == HeaderId::kConnection && list_has_element(h.value.in(base), name)) return true;
  }
  return false;
}

std::string_view describe(ResponseError e) {
  switch (e) {
    case ResponseError::kNone:
      return "none";
    case ResponseError::kBadVersion:
      return "invalid HTTP version in status line";
    case ResponseError::kBadStatusLine:
      return "malformed status line";
    case ResponseError::kBadStatusCode:
      return "invalid status code";
    case ResponseError::kBadReason:
      return "control character in reason phrase";
    case ResponseError::kBareCr:
      return "bare CR";
    case ResponseError::kBareLf:
      return "bare LF";
    case ResponseError::kObsFold:
      return "obsolete line folding";
    case ResponseError::kBadFieldName:
      return "invalid field name";
    case ResponseError::kSpaceBeforeColon:
      return "whitespace before colon";
    case ResponseError::kBadFieldValue:
      return "control character in field value";
    case ResponseError::kHeadTooLarge:
      return "response head too large";
    case ResponseError::kTooManyHeaders:
      return "too many header fields";
    case ResponseError::kBadContentLength:
      return "invalid Content-Length";
    case ResponseError::kContentLengthAndTe:
      return "both Content-Length and Transfer-Encoding";
    case ResponseError::kChunkedNotFinal:
      return "Transfer-Encoding must end in a single chunked";
    case ResponseError::kUnknownCoding:
      return "unsupported transfer coding";
    case ResponseError::kTeInHttp10:
      return "Transfer-Encoding in HTTP/1.0";
  }
  return "unknown";
}

}  // namespace zhttp::http
