#pragma once
// The opt-in metrics endpoint (--metrics-path): answers GET/HEAD of one path with the
// Prometheus text of the server's totals (and the limiter's, the cache's, the application's,
// the upstream servers'),
// read from the shared segment, and hands every other
// request to the wrapped handler. Optionally only for listed client addresses (403 otherwise).
// The snapshot and the text buffer are allocated once: a scrape allocates nothing.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "shm/app_counters.hpp"
#include "shm/cache_counters.hpp"
#include "shm/cache_store.hpp"
#include "shm/limits.hpp"
#include "shm/segment.hpp"
#include "shm/upstream_table.hpp"
#include "zhttp/handler.hpp"

namespace zhttp::handlers::metrics {

class MetricsHandler : public Handler {
 public:
  // `allow`: client addresses allowed to scrape; empty: everyone.
  MetricsHandler(Handler& inner, std::string path, std::vector<PeerAddress> allow,
                 const shm::SegmentHeader& header, const shm::StatsRegion& stats);

  // Also expose the limiter's zones: `tables` are the first zones' (--limit-req), `conn_tables`
  // the ones after them (--limit-conn).
  void show_limits(const shm::LimitsRegion* limits, std::vector<shm::RateTable> tables,
                   std::vector<shm::ConnTable> conn_tables);

  // Also expose the application's counters and gauges (null: none), after the limits.
  void show_app_values(const shm::AppCountersRegion* app);

  // Also expose the shared cache's counters (null: no cache) and its store's entries, slots and
  // bytes (nullopt: none of those), after the limits.
  void show_cache(const shm::CacheCountersRegion* counters, std::optional<shm::CacheStore> store);

  // Also expose the reverse proxy's upstream servers (nullopt: no table), after the rest. The
  // text buffer grows once here to hold the table's capacity.
  void show_upstreams(std::optional<shm::UpstreamTable> table);

  BodyMode body_mode(const RequestView& request) override;
  void handle(const RequestView& request, Response& response) override;
  // The wrapped handler's exchanges come back to it (the metrics answer is always whole).
  void on_body(Response& r, std::string_view bytes) override { inner_.on_body(r, bytes); }
  void on_body_end(Response& r) override { inner_.on_body_end(r); }
  void on_writable(Response& r) override { inner_.on_writable(r); }
  void on_abort(Response& r, AbortReason why) override { inner_.on_abort(r, why); }
  void on_worker_start(const WorkerContext& w) override { inner_.on_worker_start(w); }

  // The stats, every zone's, the cache's and every app value's families (the upstreams' come on
  // top, sized by show_upstreams).
  static constexpr size_t kTextBytes = 96 * 1024;

 private:
  bool allowed(const PeerAddress& peer) const;

  Handler& inner_;
  std::string path_;
  std::vector<PeerAddress> allow_;
  const shm::SegmentHeader& header_;
  const shm::StatsRegion& stats_;
  std::unique_ptr<shm::StatsSnapshot> snapshot_;
  const shm::LimitsRegion* limits_ = nullptr;
  std::vector<shm::RateTable> tables_;
  std::vector<const shm::RateTable*> table_views_;
  std::vector<shm::ConnTable> conn_tables_;
  std::vector<const shm::ConnTable*> conn_table_views_;
  std::unique_ptr<shm::LimitsSnapshot> limits_snapshot_;
  const shm::AppCountersRegion* app_ = nullptr;
  std::unique_ptr<shm::AppValuesSnapshot> app_snapshot_;
  const shm::CacheCountersRegion* cache_counters_ = nullptr;
  std::optional<shm::CacheStore> cache_store_;
  shm::CacheSnapshot cache_snapshot_;
  std::optional<shm::UpstreamTable> upstreams_;
  std::vector<shm::UpstreamRow> upstream_rows_;
  std::unique_ptr<char[]> text_;
  size_t text_bytes_ = kTextBytes;
};

}  // namespace zhttp::handlers::metrics
