#pragma once
// The head of a request as the proxy forwards it (RFC 9110 7.6, RFC 9112), written into a fixed
// buffer in one pass: the request line with the route's target and HTTP/1.1; the client's fields
// without the hop-by-hop ones (Connection and every field it names, Keep-Alive,
// Proxy-Connection, TE, Upgrade, Transfer-Encoding) and without its framing (Content-Length) or
// Expect (answered here); X-Forwarded-For appended to, X-Forwarded-Proto and X-Forwarded-Host
// set, Via appended to; the body framed again by the proxy. Nothing is allocated.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "handlers/proxy/proxy_config.hpp"
#include "zhttp/handler.hpp"

namespace zhttp::handlers::proxy {

// How the forwarded body is framed.
struct BodyPlan {
  enum class Kind : uint8_t { kNone, kLength, kChunked };
  Kind kind = Kind::kNone;
  uint64_t length = 0;  // kLength
};

struct ForwardFacts {
  std::string_view client_address;  // the real client, as text (X-Forwarded-For)
  std::string_view proto = "http";  // X-Forwarded-Proto
  std::string_view default_host;    // Host when the client sent none (HTTP/1.0)
  // The client asked to upgrade (a WebSocket): its Upgrade goes on, with "Connection: upgrade".
  bool upgrade = false;
};

// Writes the head (final CRLF included) at the start of `out`; returns its length, or 0 when it
// does not fit.
size_t write_request_head(std::span<char> out, const RequestView& request, const ProxyRoute& route,
                          const ForwardFacts& facts, BodyPlan body);

// The method's requests may be repeated (RFC 9110 9.2.2): GET, HEAD, OPTIONS, TRACE, PUT, DELETE.
bool idempotent(Method method);

}  // namespace zhttp::handlers::proxy
