#pragma once
#include <cstdint>
#include <string_view>

#include "zhttp/header_id.hpp"
#include "zhttp/method.hpp"
#include "zhttp/span.hpp"

namespace zhttp {

// One header field. Spans are relative to the start of the parsed input; the value has its
// surrounding optional whitespace trimmed.
struct Header {
  HeaderId id = HeaderId::kOther;
  Span name;
  Span value;
};

enum class TargetForm : uint8_t {
  kOrigin,     // "/path?query"
  kAbsolute,   // "http://host/path" (proxy form; servers must accept it)
  kAuthority,  // "host:port", CONNECT only
  kAsterisk,   // "*", OPTIONS only
};

// A parsed request head. Lives on the caller's stack; headers point into a caller-owned array.
// Every span is relative to the first byte handed to the parser.
struct Request {
  Method method = Method::kExtension;
  TargetForm target_form = TargetForm::kOrigin;
  uint8_t version_minor = 1;  // HTTP/1.<minor>; 0 or 1
  bool keep_alive = false;    // by version and Connection tokens
  bool chunked = false;       // Transfer-Encoding ends in chunked
  bool expect_continue = false;
  bool upgrade = false;   // Connection: upgrade together with an Upgrade header
  bool has_host = false;  // a Host field was present (host may still be empty)
  Span method_name;
  Span target;
  Span host;                    // Host field value
  int64_t content_length = -1;  // -1: no Content-Length field
  Header* headers = nullptr;
  uint32_t header_count = 0;
  uint32_t head_bytes = 0;  // bytes of the head, leading empty lines and final CRLF included

  // The request has a body to read: chunked, or a positive Content-Length.
  bool has_body() const { return chunked || content_length > 0; }

  // First header with this id, or nullptr.
  const Header* find(HeaderId id) const {
    for (uint32_t i = 0; i < header_count; ++i) {
      if (headers[i].id == id) return &headers[i];
    }
    return nullptr;
  }
};

}  // namespace zhttp
