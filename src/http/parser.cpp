#include "zhttp/parser.hpp"

#include <algorithm>
#include <cstring>

#include "http/char_class.hpp"
#include "http/framing_fields.hpp"
#include "http/message_head.hpp"
#include "http/scan.hpp"

namespace zhttp {
namespace {

constexpr uint16_t status_of(ParseError e) {
  switch (e) {
    case ParseError::kTargetTooLong:
      return 414;
    case ParseError::kVersionNotSupported:
      return 505;
    case ParseError::kHeadTooLarge:
    case ParseError::kTooManyHeaders:
      return 431;
    case ParseError::kUnknownCoding:
      return 501;
    case ParseError::kBadExpect:
      return 417;
    default:
      return 400;
  }
}

constexpr ParseResult error(ParseError e) {
  return ParseResult{ParseStatus::kError, e, status_of(e), 0};
}
constexpr ParseResult kPartial{};

constexpr uint32_t word4(const char (&s)[5]) {
  return static_cast<uint32_t>(static_cast<unsigned char>(s[0])) |
         static_cast<uint32_t>(static_cast<unsigned char>(s[1])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(s[2])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(s[3])) << 24;
}

Method method_from_name(std::string_view m) {
  // Methods are case-sensitive (RFC 9110 9.1): "get" is an extension method.
  switch (m.size()) {
    case 3:
      if (m == "GET") return Method::kGet;
      if (m == "PUT") return Method::kPut;
      break;
    case 4:
      if (m == "HEAD") return Method::kHead;
      if (m == "POST") return Method::kPost;
      break;
    case 5:
      if (m == "TRACE") return Method::kTrace;
      if (m == "PATCH") return Method::kPatch;
      break;
    case 6:
      if (m == "DELETE") return Method::kDelete;
      break;
    case 7:
      if (m == "CONNECT") return Method::kConnect;
      if (m == "OPTIONS") return Method::kOptions;
      break;
  }
  return Method::kExtension;
}

// absolute-URI starts with scheme ":" where scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
bool has_scheme(std::string_view t) {
  if (t.empty() || !http::is_alpha(static_cast<unsigned char>(t[0]))) return false;
  for (size_t i = 1; i < t.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(t[i]);
    if (c == ':') return true;
    if (!http::is_alpha(c) && !http::is_digit(c) && c != '+' && c != '-' && c != '.') return false;
  }
  return false;
}

bool classify_target(std::string_view t, Method method, TargetForm* form) {
  if (method == Method::kConnect) {
    // authority-form: host ":" port, nothing else.
    *form = TargetForm::kAuthority;
    size_t colon = t.rfind(':');
    return colon != std::string_view::npos && colon + 1 < t.size() && t[0] != '/' &&
           http::valid_host(t);
  }
  if (t[0] == '/') {
    *form = TargetForm::kOrigin;
    return true;
  }
  if (t == "*") {
    *form = TargetForm::kAsterisk;
    return method == Method::kOptions;
  }
  *form = TargetForm::kAbsolute;
  return has_scheme(t);
}

// Facts gathered from the fields while they are parsed; turned into Request flags at the end.
struct FieldFacts {
  http::TransferCodings codings;
  http::ConnectionOptions connection;
  bool has_upgrade_field = false;
  bool expect_continue = false;
};

// Applies one field to the request; returns the error it causes, if any.
ParseError apply_field(const Header& h, const char* base, Request& req, FieldFacts& facts) {
  std::string_view value = h.value.in(base);
  switch (h.id) {
    case HeaderId::kContentLength:
      if (!http::add_content_length(value, &req.content_length)) {
        return ParseError::kBadContentLength;
      }
      break;
    case HeaderId::kTransferEncoding:
      http::add_transfer_codings(value, facts.codings);
      break;
    case HeaderId::kHost:
      if (req.has_host) return ParseError::kDuplicateHost;
      if (!http::valid_host(value)) return ParseError::kBadHost;
      req.has_host = true;
      req.host = h.value;
      break;
    case HeaderId::kConnection:
      http::add_connection_options(value, facts.connection);
      break;
    case HeaderId::kUpgrade:
      facts.has_upgrade_field = true;
      break;
    case HeaderId::kExpect:
      // HTTP/1.0 predates Expect: a server must ignore it there (RFC 9110 10.1.1).
      if (req.version_minor == 0) break;
      if (!http::equals_ignore_case(value, "100-continue")) return ParseError::kBadExpect;
      facts.expect_continue = true;
      break;
    default:
      break;
  }
  return ParseError::kNone;
}

// Checks made once the whole head is known.
ParseError finish(Request& req, const FieldFacts& facts) {
  ParseError te = http::check_transfer_codings<ParseError>(facts.codings, req.content_length >= 0,
                                                           req.version_minor);
  if (te != ParseError::kNone) return te;
  req.chunked = facts.codings.present;
  if (req.version_minor == 1 && !req.has_host) return ParseError::kMissingHost;
  const http::ConnectionOptions& conn = facts.connection;
  req.keep_alive = !conn.close && (req.version_minor == 1 || conn.keep_alive);
  req.upgrade = conn.upgrade && facts.has_upgrade_field;
  req.expect_continue = facts.expect_continue;
  return ParseError::kNone;
}

// Matches as much of "HTTP/d.d" as is available. Returns false on a mismatch.
bool version_prefix_ok(const char* p, size_t n) {
  static constexpr char kPattern[] = "HTTP/0.0";
  for (size_t i = 0; i < n && i < 8; ++i) {
    char c = p[i];
    bool ok = kPattern[i] == '0' ? http::is_digit(static_cast<unsigned char>(c)) : c == kPattern[i];
    if (!ok) return false;
  }
  return true;
}

constexpr uint64_t word8(const char (&s)[9]) {
  uint64_t w = 0;
  for (int i = 7; i >= 0; --i) w = w << 8 | static_cast<unsigned char>(s[i]);
  return w;
}

// Parses the request line starting at p. On success leaves p after its CRLF and returns kComplete
// with consumed unset; otherwise returns the partial/error result.
ParseResult parse_request_line(const char* base, const char*& p, const char* end,
                               const ParserLimits& limits, Request& req) {
  const char* line = p;
  // Fast path for the methods that make up nearly all traffic.
  if (end - p >= 5) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    if (w == word4("GET ")) {
      req.method = Method::kGet;
      p += 3;
    } else if (w == word4("POST") && p[4] == ' ') {
      req.method = Method::kPost;
      p += 4;
    } else if (w == word4("HEAD") && p[4] == ' ') {
      req.method = Method::kHead;
      p += 4;
    }
  }
  if (p == line) {
    p = http::Scan::token(p, end, base);
    if (p == end) return kPartial;
    if (p == line || *p != ' ') return error(ParseError::kBadMethod);
    req.method = method_from_name({line, static_cast<size_t>(p - line)});
  }
  req.method_name = {static_cast<uint32_t>(line - base), static_cast<uint32_t>(p - line)};

  const char* target = ++p;
  p = http::Scan::target(p, end, base);
  size_t target_len = static_cast<size_t>(p - target);
  if (target_len > limits.max_target_bytes) return error(ParseError::kTargetTooLong);
  if (p == end) return kPartial;
  if (*p != ' ') {
    return error(*p == '\r' || *p == '\n' ? ParseError::kBadRequestLine : ParseError::kBadTarget);
  }
  if (target_len == 0) return error(ParseError::kBadRequestLine);
  req.target = {static_cast<uint32_t>(target - base), static_cast<uint32_t>(target_len)};

  const char* version = ++p;
  size_t avail = static_cast<size_t>(end - version);
  uint64_t v8 = 0;
  if (avail >= 8) std::memcpy(&v8, version, 8);
  // Fast path for the two versions in use; anything else goes through the digit pattern.
  bool common = v8 == word8("HTTP/1.1") || v8 == word8("HTTP/1.0");
  if (!common && !version_prefix_ok(version, avail)) return error(ParseError::kBadVersion);
  if (avail < 10) {
    if (avail > 8 && version[8] != '\r') {
      return error(version[8] == '\n' ? ParseError::kBareLf : ParseError::kBadRequestLine);
    }
    return kPartial;
  }
  if (version[8] != '\r') {
    return error(version[8] == '\n' ? ParseError::kBareLf : ParseError::kBadRequestLine);
  }
  if (version[9] != '\n') return error(ParseError::kBareCr);
  if (version[5] != '1') return error(ParseError::kVersionNotSupported);
  // HTTP/1.x with x > 1 is handled as the highest 1.x we implement (RFC 9110 2.5).
  req.version_minor = version[7] == '0' ? 0 : 1;
  p = version + 10;

  if (!classify_target(req.target.in(base), req.method, &req.target_form)) {
    return error(ParseError::kBadTarget);
  }
  return ParseResult{ParseStatus::kComplete, ParseError::kNone, 0, 0};
}

ParseResult parse_head(const char* base, const char* end, const ParserLimits& limits, Request& req,
                       std::span<Header> headers) {
  const char* p = base;
  // RFC 9112 2.2: ignore empty lines before the request line.
  for (;;) {
    if (p == end) return kPartial;
    if (*p == '\n') return error(ParseError::kBareLf);
    if (*p != '\r') break;
    if (end - p < 2) return kPartial;
    if (p[1] != '\n') return error(ParseError::kBareCr);
    p += 2;
  }

  ParseResult line = parse_request_line(base, p, end, limits, req);
  if (line.status != ParseStatus::kComplete) return line;

  const size_t capacity = std::min<size_t>(headers.size(), limits.max_headers);
  FieldFacts facts;
  http::FieldsEnd<ParseError> fields = http::parse_fields<ParseError>(
      base, p, end, headers, capacity,
      [&](const Header& h) { return apply_field(h, base, req, facts); });
  if (fields.error != ParseError::kNone) return error(fields.error);
  if (!fields.complete) return kPartial;

  req.headers = headers.data();
  req.header_count = fields.count;
  ParseError e = finish(req, facts);
  if (e != ParseError::kNone) return error(e);
  req.head_bytes = static_cast<uint32_t>(fields.next - base);
  return ParseResult{ParseStatus::kComplete, ParseError::kNone, 0, req.head_bytes};
}

}  // namespace

ParseResult parse_request(std::string_view input, const ParserLimits& limits, Request& out,
                          std::span<Header> headers, size_t scanned_before) {
  const bool over_limit = input.size() > limits.max_head_bytes;
  if (http::nothing_new_since(input, scanned_before, limits.max_head_bytes)) return kPartial;
  out = Request{};
  // Parse at most the allowed head size: a head not complete within it is too large.
  const char* base = input.data();
  ParseResult r = parse_head(base, base + (over_limit ? limits.max_head_bytes : input.size()),
                             limits, out, headers);
  if (r.status == ParseStatus::kPartial && over_limit) return error(ParseError::kHeadTooLarge);
  return r;
}

std::string_view describe(ParseError e) {
  switch (e) {
    case ParseError::kNone:
      return "none";
    case ParseError::kBadMethod:
      return "invalid method";
    case ParseError::kBadTarget:
      return "invalid request-target";
    case ParseError::kTargetTooLong:
      return "request-target too long";
    case ParseError::kBadVersion:
      return "invalid HTTP version";
    case ParseError::kVersionNotSupported:
      return "HTTP version not supported";
    case ParseError::kBadRequestLine:
      return "malformed request line";
    case ParseError::kBareCr:
      return "bare CR";
    case ParseError::kBareLf:
      return "bare LF";
    case ParseError::kObsFold:
      return "obsolete line folding";
    case ParseError::kBadFieldName:
      return "invalid field name";
    case ParseError::kSpaceBeforeColon:
      return "whitespace before colon";
    case ParseError::kBadFieldValue:
      return "control character in field value";
    case ParseError::kHeadTooLarge:
      return "request head too large";
    case ParseError::kTooManyHeaders:
      return "too many header fields";
    case ParseError::kBadContentLength:
      return "invalid Content-Length";
    case ParseError::kContentLengthAndTe:
      return "both Content-Length and Transfer-Encoding";
    case ParseError::kChunkedNotFinal:
      return "Transfer-Encoding must end in a single chunked";
    case ParseError::kUnknownCoding:
      return "unsupported transfer coding";
    case ParseError::kTeInHttp10:
      return "Transfer-Encoding in HTTP/1.0";
    case ParseError::kMissingHost:
      return "missing Host";
    case ParseError::kDuplicateHost:
      return "duplicate Host";
    case ParseError::kBadHost:
      return "invalid Host";
    case ParseError::kBadExpect:
      return "unsupported expectation";
  }
  return "unknown";
}

}  // namespace zhttp
