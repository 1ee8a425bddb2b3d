#include "handlers/metrics.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstring>

#include "shm/prometheus.hpp"

namespace zhttp::handlers {
namespace {

// An IPv4 client on an IPv6 socket arrives as ::ffff:a.b.c.d.
PeerAddress unmapped(const PeerAddress& p) {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (p.family != AF_INET6 || std::memcmp(p.bytes, kMapped, 12) != 0) return p;
  PeerAddress v4;
  v4.family = AF_INET;
  std::memcpy(v4.bytes, p.bytes + 12, 4);
  return v4;
}

}  // namespace

bool parse_peer_address(const std::string& text, PeerAddress* out) {
  *out = PeerAddress{};
  if (::inet_pton(AF_INET, text.c_str(), out->bytes) == 1) {
    out->family = AF_INET;
    return true;
  }
  if (::inet_pton(AF_INET6, text.c_str(), out->bytes) == 1) {
    out->family = AF_INET6;
    *out = unmapped(*out);
    return true;
  }
  return false;
}

MetricsHandler::MetricsHandler(Handler& inner, std::string path, std::vector<PeerAddress> allow,
                               const shm::SegmentHeader& header, const shm::StatsRegion& stats)
    : inner_(inner),
      path_(std::move(path)),
      allow_(std::move(allow)),
      header_(header),
      stats_(stats),
      snapshot_(std::make_unique<shm::StatsSnapshot>()),
      text_(std::make_unique<char[]>(kTextBytes)) {}

BodyMode MetricsHandler::body_mode(const RequestView& request) {
  return request.path() == path_ ? BodyMode::kRefuse : inner_.body_mode(request);
}

bool MetricsHandler::allowed(const PeerAddress& peer) const {
  if (allow_.empty()) return true;
  PeerAddress p = unmapped(peer);
  size_t len = p.family == AF_INET ? 4 : 16;
  for (const PeerAddress& a : allow_) {
    if (a.family == p.family && std::memcmp(a.bytes, p.bytes, len) == 0) return true;
  }
  return false;
}

void MetricsHandler::handle(const RequestView& request, Response& response) {
  if (request.path() != path_) {
    inner_.handle(request, response);
    return;
  }
  constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";
  if (!allowed(request.peer())) {
    response.send(403, kTextPlain, "forbidden\n");
    return;
  }
  if (request.method() != Method::kGet && request.method() != Method::kHead) {
    response.status(405).header("Allow", "GET, HEAD").header("Content-Type", kTextPlain);
    response.body("method not allowed\n");
    return;
  }
  size_t n = 0;
  if (shm::read_stats(stats_, snapshot_.get())) {
    n = shm::format_prometheus(header_, *snapshot_, text_.get(), kTextBytes);
  }
  if (n == 0) {
    response.send(503, kTextPlain, "statistics unavailable\n");
    return;
  }
  response.status(200).header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  response.header("Cache-Control", "no-store").body({text_.get(), n});
}

}  // namespace zhttp::handlers
