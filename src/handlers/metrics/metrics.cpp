#include "handlers/metrics/metrics.hpp"

#include <sys/socket.h>

#include <cstring>

#include "handlers/common/client_address.hpp"
#include "shm/prometheus.hpp"

namespace zhttp::handlers::metrics {

static_assert(MetricsHandler::kTextBytes >=
              shm::kPrometheusMaxBytes + shm::kPrometheusLimitsMaxBytes +
                  shm::kPrometheusCacheMaxBytes + shm::kPrometheusAppMaxBytes);

MetricsHandler::MetricsHandler(Handler& inner, std::string path, std::vector<PeerAddress> allow,
                               const shm::SegmentHeader& header, const shm::StatsRegion& stats)
    : inner_(inner),
      path_(std::move(path)),
      allow_(std::move(allow)),
      header_(header),
      stats_(stats),
      snapshot_(std::make_unique<shm::StatsSnapshot>()),
      text_(std::make_unique<char[]>(kTextBytes)) {}

void MetricsHandler::show_limits(const shm::LimitsRegion* limits,
                                 std::vector<shm::RateTable> tables,
                                 std::vector<shm::ConnTable> conn_tables) {
  limits_ = limits;
  tables_ = std::move(tables);
  conn_tables_ = std::move(conn_tables);
  table_views_.assign(shm::kMaxZones, nullptr);
  conn_table_views_.assign(shm::kMaxZones, nullptr);
  for (size_t i = 0; i < tables_.size(); ++i) table_views_[i] = &tables_[i];
  for (size_t i = 0; i < conn_tables_.size() && tables_.size() + i < shm::kMaxZones; ++i) {
    conn_table_views_[tables_.size() + i] = &conn_tables_[i];
  }
  limits_snapshot_ = std::make_unique<shm::LimitsSnapshot>();
}

void MetricsHandler::show_app_values(const shm::AppCountersRegion* app) {
  app_ = app;
  app_snapshot_ = std::make_unique<shm::AppValuesSnapshot>();
}

void MetricsHandler::show_cache(const shm::CacheCountersRegion* counters,
                                std::optional<shm::CacheStore> store) {
  cache_counters_ = counters;
  cache_store_ = store;
}

void MetricsHandler::show_upstreams(std::optional<shm::UpstreamTable> table) {
  upstreams_ = table;
  if (!upstreams_) return;
  upstream_rows_.assign(upstreams_->capacity(), shm::UpstreamRow{});
  text_bytes_ = kTextBytes + shm::prometheus_upstreams_max_bytes(upstreams_->capacity());
  // Not zeroed: only the part a scrape writes is ever touched.
  text_.reset(new char[text_bytes_]);
}

BodyMode MetricsHandler::body_mode(const RequestView& request) {
  return request.path() == path_ ? BodyMode::kRefuse : inner_.body_mode(request);
}

bool MetricsHandler::allowed(const PeerAddress& peer) const {
  if (allow_.empty()) return true;
  PeerAddress p = common::canonical(peer);
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
    n = shm::format_prometheus(header_, *snapshot_, text_.get(), text_bytes_);
  }
  if (n != 0 && limits_ != nullptr) {
    size_t m = 0;
    if (shm::read_limits(*limits_, stats_, table_views_.data(), conn_table_views_.data(),
                         shm::monotonic_us(), limits_snapshot_.get())) {
      m = shm::format_prometheus_limits(*limits_snapshot_, text_.get() + n, text_bytes_ - n);
    }
    n = m == 0 ? 0 : n + m;
  }
  if (n != 0 && cache_counters_ != nullptr) {
    size_t m = 0;
    if (shm::read_cache_counters(*cache_counters_, stats_, &cache_snapshot_)) {
      if (cache_store_) shm::read_cache_store(*cache_store_, shm::monotonic_us(), &cache_snapshot_);
      m = shm::format_prometheus_cache(cache_snapshot_, text_.get() + n, text_bytes_ - n);
    }
    n = m == 0 ? 0 : n + m;
  }
  if (n != 0 && app_ != nullptr) {
    if (!shm::read_app_values(*app_, stats_, app_snapshot_.get())) {
      n = 0;
    } else if (app_snapshot_->count > 0) {
      size_t m = shm::format_prometheus_app(*app_snapshot_, text_.get() + n, text_bytes_ - n);
      n = m == 0 ? 0 : n + m;
    }
  }
  if (n != 0 && upstreams_) {
    const size_t rows = shm::read_upstreams(*upstreams_, shm::monotonic_us() / 1000,
                                            upstream_rows_.data(), upstream_rows_.size());
    // A table with no server yet (a server without --upstream) shows no upstream family.
    if (rows > 0) {
      const size_t m = shm::format_prometheus_upstreams(upstream_rows_.data(), rows,
                                                        text_.get() + n, text_bytes_ - n);
      n = m == 0 ? 0 : n + m;
    }
  }
  if (n == 0) {
    response.send(503, kTextPlain, "statistics unavailable\n");
    return;
  }
  response.status(200).header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  response.header("Cache-Control", "no-store").body({text_.get(), n});
}

}  // namespace zhttp::handlers::metrics
