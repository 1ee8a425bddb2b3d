#pragma once
// The access stage's place in the connection (docs/design.md section 3, step 3): asked once per
// request head, before the handler or the body, whether the request goes on now, later, or not
// at all, and who the client really is. The connection layer only knows this interface; the
// stage itself (real client address, rate limits) lives in src/handlers/.
#include <cstdint>
#include <span>

#include "zhttp/handler.hpp"

namespace zhttp::conn {

// Header fields an access stage adds to every response of a request (RateLimit fields).
inline constexpr size_t kExtraFieldBytes = 192;

struct AccessVerdict {
  enum Outcome : uint8_t { kPass, kDelay, kRefuse };
  Outcome outcome = kPass;
  uint16_t status = 0;         // kRefuse: 429 or 503
  uint32_t retry_after_s = 0;  // kRefuse: sent as Retry-After (at least 1)
  uint64_t delay_us = 0;       // kDelay: serve after this long
  uint32_t extra_len = 0;      // bytes written to `extra`: "Name: value\r\n" lines
};

class AccessGate {
 public:
  virtual ~AccessGate() = default;
  // `peer` starts as the connection's address (the socket's, or a PROXY header's) and may be
  // replaced by the client's (a trusted X-Forwarded-For): the handler, the log and the limiter
  // then see that one. `extra` has kExtraFieldBytes of room.
  virtual AccessVerdict admit(const RequestView& request, PeerAddress* peer,
                              std::span<char> extra) = 0;
  // After admit() let a request through, while the connection is not counted yet (its token is
  // 0): count it for `peer` (connection limits). False: refused, and the connection closes
  // after a 503. A nonzero *token is handed back to release_connection() when it closes.
  virtual bool admit_connection(const PeerAddress& peer, uint64_t* token) {
    (void)peer, (void)token;
    return true;
  }
  virtual void release_connection(uint64_t token) { (void)token; }
};

}  // namespace zhttp::conn
