#pragma once
// The reverse proxy's handler (docs/proxy.md): every request it is given goes to the upstream
// group of its --proxy route, one ProxyCall each, taken from a per-worker pool with its buffer
// block. Bodies of known length up to `gather_max` are gathered first (so that a failed attempt
// can be repeated on another server); longer or chunked ones stream to the upstream as they
// arrive. ProxyRouter sends a request here or to the rest of the pipeline by its route.
#include <cstdint>

#include "conn/buffer_pool.hpp"
#include "conn/object_pool.hpp"
#include "conn/upstream_link.hpp"
#include "handlers/proxy/balancer.hpp"
#include "handlers/proxy/proxy_call.hpp"
#include "handlers/proxy/proxy_config.hpp"
#include "handlers/proxy/route_table.hpp"
#include "zhttp/handler.hpp"

namespace zhttp::log {
class ErrorLog;
}

namespace zhttp::handlers::proxy {

struct ProxyLimits {
  uint32_t max_calls = 4096;        // proxied requests in flight in a worker; then 503
  uint32_t gather_max = 65536;      // request bodies up to this are gathered, longer ones stream
  uint32_t stage_bytes = 32832;     // one streamed body piece (an input block) and its framing
  uint32_t response_bytes = 32768;  // a response head, and the largest body answered whole
};

class ProxyHandler final : public Handler {
 public:
  ProxyHandler(const ProxyConfig& config, Balancer& balancer, conn::UpstreamLinks& links,
               const ProxyLimits& limits, log::ErrorLog* error_log);

  const RouteTable& routes() const { return routes_; }
  // The route a request takes, or null.
  const ProxyRoute* route(const RequestView& request) const;

  BodyMode body_mode(const RequestView& request) override;
  void handle(const RequestView& request, Response& response) override;
  void on_body(Response& response, std::string_view bytes) override;
  void on_body_end(Response& response) override;
  void on_writable(Response& response) override;
  void on_abort(Response& response, AbortReason why) override;

 private:
  static void give_back(ProxyCall& call, void* owner);
  static ProxyCall* call_of(Response& response) { return static_cast<ProxyCall*>(response.user()); }

  const ProxyConfig& config_;
  RouteTable routes_;
  ProxyLimits limits_;
  conn::BufferPool buffers_;
  conn::ObjectPool<ProxyCall> calls_;
  CallContext context_;
};

// Sends each request to `proxied` when a --proxy route matches it, else to `rest` (the static
// files or the embedding program's handler), for every callback of its exchange.
class ProxyRouter final : public Handler {
 public:
  ProxyRouter(const ProxyHandler& proxy, Handler& proxied, Handler& rest)
      : proxy_(proxy), proxied_(proxied), rest_(rest) {}

  BodyMode body_mode(const RequestView& r) override { return pick(r).body_mode(r); }
  void handle(const RequestView& r, Response& response) override { pick(r).handle(r, response); }
  void on_body(Response& response, std::string_view bytes) override {
    pick(response.request()).on_body(response, bytes);
  }
  void on_body_end(Response& response) override { pick(response.request()).on_body_end(response); }
  void on_writable(Response& response) override { pick(response.request()).on_writable(response); }
  void on_abort(Response& response, AbortReason why) override {
    pick(response.request()).on_abort(response, why);
  }
  void on_worker_start(const WorkerContext& context) override {
    proxied_.on_worker_start(context);
    rest_.on_worker_start(context);
  }

 private:
  Handler& pick(const RequestView& r) { return proxy_.route(r) ? proxied_ : rest_; }

  const ProxyHandler& proxy_;
  Handler& proxied_;
  Handler& rest_;
};

}  // namespace zhttp::handlers::proxy
