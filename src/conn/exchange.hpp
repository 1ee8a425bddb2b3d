#pragma once
// One request's state while a connection works on it (docs/design.md section 7): the parsed head
// (parsed once, straight into this object, and kept: its bytes stay in the connection's input
// block), how its body is taken, and the Response that may complete after handle() returned.
// Exchanges come from a per-worker pool and are held only while a request is in progress, so an
// idle connection carries none.
#include <array>
#include <cstdint>
#include <string_view>

#include "conn/access_gate.hpp"
#include "conn/body_buffers.hpp"
#include "conn/body_framing.hpp"
#include "zhttp/handler.hpp"

namespace zhttp::conn {

inline constexpr uint32_t kMaxHeaders = 100;  // the most --max-headers can be
// Bytes kept of a response's Content-Encoding value for the access log (a longer one is cut).
inline constexpr uint32_t kContentEncodingBytes = 32;

struct Exchange {
  enum class Body : uint8_t {
    kNone,     // no body, or all of it read
    kReading,  // framing is being decoded from the input
    kSkipped,  // not read at all: the connection closes after the response
  };

  Request request;
  std::array<Header, kMaxHeaders> headers;
  Response response;
  BodyFraming framing;
  BodyBlock gathered;       // kGather past the input block: the body so far
  uint64_t body_bytes = 0;  // decoded body bytes so far (gathered, streamed or discarded)
  uint64_t started_ns = 0;  // monotonic time of the event that completed the head
  PeerAddress peer;         // the client: the connection's, or the access stage's
  uint32_t head_len = 0;
  uint32_t extra_len = 0;               // of extra_fields
  char extra_fields[kExtraFieldBytes];  // added to the response head (access stage)
  // The response's Content-Encoding, copied when the head is finished (only when
  // ConnectionContext::keep_content_encoding): a streamed head is long sent by the time the
  // response completes and is logged.
  uint32_t content_encoding_len = 0;
  char content_encoding[kContentEncodingBytes];
  // Response::upstream_note(): the proxied answer's upstream, for the access log.
  std::string_view upstream_address;
  uint64_t upstream_us = 0;
  uint16_t upstream_status = 0;
  BodyMode mode = BodyMode::kRefuse;
  Body body = Body::kNone;
  bool handled = false;         // handle() was called
  bool handler_live = false;    // the handler still owes (part of) the response
  bool paused = false;          // kStream: the handler paused the body
  bool wants_writable = false;  // a streamed write() took less than offered
  bool close_after = false;     // the connection closes once this response is out
  bool delayed = false;         // the access stage delays it: nothing happens until the timer
  bool tunnel = false;          // answered 101 with Response::tunnel(): raw bytes both ways
};

}  // namespace zhttp::conn
