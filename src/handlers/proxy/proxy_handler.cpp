#include "handlers/proxy/proxy_handler.hpp"

#include "http/request_host.hpp"

namespace zhttp::handlers::proxy {

ProxyHandler::ProxyHandler(const ProxyConfig& config, Balancer& balancer,
                           conn::UpstreamLinks& links, const ProxyLimits& limits,
                           log::ErrorLog* error_log)
    : config_(config),
      routes_(config.routes),
      limits_(limits),
      buffers_(ProxyCall::kHeadArea + limits.stage_bytes + limits.response_bytes, limits.max_calls),
      calls_(limits.max_calls),
      context_{config,    balancer,  links, buffers_, ProxyCall::kHeadArea + limits.stage_bytes,
               error_log, give_back, this} {}

// Asked for every callback of an exchange (the router's and this handler's): the host is looked
// up only when some route needs it.
const ProxyRoute* ProxyHandler::route(const RequestView& r) const {
  if (!routes_.by_host()) return routes_.match({}, r.path());
  std::string_view host =
      http::request_host(r.request().target_form, r.target(), r.header(HeaderId::kHost));
  return routes_.match(host, r.path());
}

BodyMode ProxyHandler::body_mode(const RequestView& r) {
  const Request& head = r.request();
  if (!head.has_body()) return BodyMode::kRefuse;
  if (!head.chunked && static_cast<uint64_t>(head.content_length) <= limits_.gather_max)
    return BodyMode::kGather;
  return BodyMode::kStream;
}

void ProxyHandler::handle(const RequestView& r, Response& response) {
  const ProxyRoute* route = this->route(r);
  ProxyCall* call = route != nullptr ? calls_.take() : nullptr;
  const bool streamed = body_mode(r) == BodyMode::kStream;
  if (call != nullptr && call->start(context_, *route, response, streamed)) return;
  // Every call or buffer block of the worker in use.
  if (call != nullptr) calls_.give(call);
  response.status(503)
      .header("Content-Type", "text/plain; charset=utf-8")
      .header("Retry-After", "1")
      .body("Service Unavailable\n");
}

void ProxyHandler::on_body(Response& response, std::string_view bytes) {
  if (ProxyCall* call = call_of(response)) call->on_body(bytes);
}

void ProxyHandler::on_body_end(Response& response) {
  if (ProxyCall* call = call_of(response)) call->on_body_end();
}

void ProxyHandler::on_writable(Response& response) {
  if (ProxyCall* call = call_of(response)) call->on_client_writable();
}

void ProxyHandler::on_abort(Response& response, AbortReason) {
  if (ProxyCall* call = call_of(response)) call->on_abort();
}

void ProxyHandler::give_back(ProxyCall& call, void* owner) {
  auto* self = static_cast<ProxyHandler*>(owner);
  self->calls_.give(&call);
}

}  // namespace zhttp::handlers::proxy
