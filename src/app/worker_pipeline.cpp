#include "app/worker_pipeline.hpp"

#include <ev.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "app/app_values.hpp"
#include "app/cache_region.hpp"
#include "app/limit_zones.hpp"
#include "app/upstream_region.hpp"
#include "handlers/cache/cache_stage.hpp"
#include "handlers/common/client_address.hpp"
#include "handlers/metrics/metrics.hpp"
#include "handlers/proxy/health_checks.hpp"
#include "handlers/proxy/proxy_handler.hpp"
#include "handlers/static_site/static_files.hpp"
#include "handlers/static_site/virtual_hosts.hpp"
#include "io/listener.hpp"
#include "io/upstream_pool.hpp"
#include "io/worker.hpp"
#include "log/access_log.hpp"

namespace zhttp::app {

struct AppContextAccess {
  static AppContext make(const cli::Config& config, const proc::WorkerSetup& setup,
                         struct ev_loop* loop, Handler* files) {
    AppContext c;
    c.loop_ = loop;
    c.worker_index_ = setup.index;
    c.generation_ = setup.generation;
    c.options_ = &config.app_options;
    c.word_ = [segment = setup.segment, slot = setup.stats_slot](std::string_view name) {
      return app_value_word(segment, slot, name);
    };
    c.files_ = files;
    return c;
  }
};

namespace {

struct ReopenTarget {
  log::ErrorLog* error_log;
  log::AccessLog* access_log;
};

// The worker's copy of the error log and its access log, both renamed by logrotate.
void reopen_logs(void* arg) {
  auto* t = static_cast<ReopenTarget*>(arg);
  std::string error;
  if (!t->error_log->reopen(&error)) {
    t->error_log->log(log::Level::kError, "cannot reopen the error log: %s", error.c_str());
  }
  if (!t->access_log->reopen(&error)) {
    t->error_log->log(log::Level::kError, "cannot reopen the access log: %s", error.c_str());
  }
}

std::unique_ptr<handlers::metrics::MetricsHandler> make_metrics(const cli::Config& config,
                                                                Handler& inner,
                                                                shm::Segment& segment) {
  std::vector<PeerAddress> allow;
  for (const std::string& a : config.metrics_allow) {
    handlers::common::parse_peer_address(a, &allow.emplace_back());
  }
  auto metrics = std::make_unique<handlers::metrics::MetricsHandler>(
      inner, config.metrics_path, std::move(allow), segment.header(), segment.stats());
  if (shm::LimitsRegion* limits = limits_region(segment)) {
    ZoneTables tables = zone_tables(segment);
    metrics->show_limits(limits, std::move(tables.requests), std::move(tables.connections));
  }
  metrics->show_cache(
      static_cast<const shm::CacheCountersRegion*>(segment.region(shm::RegionKind::kCacheCounters)),
      attach_cache(segment));
  metrics->show_app_values(
      static_cast<const shm::AppCountersRegion*>(segment.region(shm::RegionKind::kAppCounters)));
  metrics->show_upstreams(attach_upstreams(segment));
  return metrics;
}

std::unique_ptr<handlers::cache::CacheStage> make_cache_stage(
    const handlers::cache::CacheOptions& options, Handler& inner, shm::Segment* segment,
    int stats_slot, struct ev_loop* loop, io::WorkerConfig* worker_config) {
  if (!options.enabled() || segment == nullptr) return nullptr;
  std::optional<shm::CacheStore> store = attach_cache(*segment);
  shm::CacheStats* counters = cache_counters(*segment, stats_slot);
  if (!store || counters == nullptr) return nullptr;
  // A hit is answered in one piece from the output buffer: the connection starts a request
  // only with room for the largest entry's head and body there.
  size_t& room = worker_config->connection.min_output_room;
  room = std::max<size_t>(room, store->max_entry() + 2048);
  const size_t block = conn::OutputQueue::kRingBytes + room + 16384;
  worker_config->output_buffer_bytes =
      std::max<uint32_t>(worker_config->output_buffer_bytes, static_cast<uint32_t>(block));
  return std::make_unique<handlers::cache::CacheStage>(options, inner, *store, counters,
                                                       static_cast<uint32_t>(stats_slot), loop);
}

// The reverse proxy's parts in a worker: the balancer over the shared upstream table, the pool of
// upstream connections on the worker's loop, the handler, and the router that sends the proxied
// paths to it (through the shared cache unless --proxy-cache off) and the rest to `rest`.
struct ProxyStage {
  // The view the balancer points into: on the heap, so that it stays put when the stage moves.
  std::unique_ptr<shm::UpstreamTable> table;
  std::unique_ptr<handlers::proxy::Balancer> balancer;
  std::unique_ptr<io::UpstreamPool> pool;
  std::unique_ptr<handlers::proxy::HealthChecks> checks;
  std::unique_ptr<handlers::proxy::ProxyHandler> handler;
  std::unique_ptr<handlers::cache::CacheStage> cache;
  std::unique_ptr<handlers::proxy::ProxyRouter> router;
};

ProxyStage make_proxy_stage(const cli::Config& config, Handler& rest, shm::Segment* segment,
                            const proc::WorkerSetup& setup, struct ev_loop* loop,
                            io::WorkerConfig* worker_config) {
  ProxyStage p;
  const handlers::proxy::ProxyConfig& proxy = config.proxy;
  if (segment != nullptr) {
    if (std::optional<shm::UpstreamTable> table = attach_upstreams(*segment)) {
      p.table = std::make_unique<shm::UpstreamTable>(*table);
    }
  }
  p.balancer = std::make_unique<handlers::proxy::Balancer>(proxy, p.table.get(), setup.stats_slot);
  std::vector<io::UpstreamGroupLimits> limits;
  uint32_t idle = 0;
  for (const handlers::proxy::UpstreamGroup& g : proxy.groups) {
    limits.push_back({g.keepalive, g.keepalive_timeout, g.keepalive_requests, g.keepalive_time});
    idle += g.keepalive;
  }
  p.pool = std::make_unique<io::UpstreamPool>(loop, std::move(limits),
                                              worker_config->max_busy_connections + idle);
  handlers::proxy::ProxyLimits proxy_limits;
  proxy_limits.max_calls = worker_config->max_busy_connections;
  proxy_limits.gather_max = static_cast<uint32_t>(
      std::min<uint64_t>(proxy_limits.gather_max, worker_config->connection.max_body_bytes));
  proxy_limits.stage_bytes = worker_config->input_buffer_bytes + 64;
  p.handler = std::make_unique<handlers::proxy::ProxyHandler>(proxy, *p.balancer, *p.pool,
                                                              proxy_limits, setup.error_log);
  p.checks = std::make_unique<handlers::proxy::HealthChecks>(proxy, *p.balancer, *p.pool, loop,
                                                             setup.generation, setup.error_log);
  // An answer held whole is sent in one piece: a connection starts a request only with room for
  // it in its output buffer.
  size_t& room = worker_config->connection.min_output_room;
  room = std::max<size_t>(room, proxy_limits.response_bytes + 2048);
  const size_t block = conn::OutputQueue::kRingBytes + room + 16384;
  worker_config->output_buffer_bytes =
      std::max<uint32_t>(worker_config->output_buffer_bytes, static_cast<uint32_t>(block));
  // The upstream's own timeouts come first; the handler timeout is only a backstop.
  const handlers::proxy::ProxyTimeouts& t = proxy.timeouts;
  worker_config->handler_timeout =
      std::max({worker_config->handler_timeout, t.connect + 1, t.read + 1, t.send + 1});
  worker_config->tunnel_timeout = t.tunnel;
  Handler* proxied = p.handler.get();
  if (proxy.cache) {
    p.cache =
        make_cache_stage(config.cache, *p.handler, segment, setup.stats_slot, loop, worker_config);
    if (p.cache) proxied = p.cache.get();
  }
  p.router = std::make_unique<handlers::proxy::ProxyRouter>(*p.handler, *proxied, rest);
  return p;
}

// The static files: on --root alone, or behind the --vhost dispatch.
std::unique_ptr<Handler> make_files(const cli::Config& config) {
  if (config.vhosts.empty())
    return std::make_unique<handlers::static_site::StaticFiles>(config.files);
  return std::make_unique<handlers::static_site::VirtualHosts>(config.files, config.vhosts);
}

}  // namespace

int serve_worker(const cli::Config& config, App* app, const proc::WorkerSetup& setup) {
  log::ErrorLog& error_log = *setup.error_log;
  shm::Segment* segment = setup.segment;
  std::string error;

  std::unique_ptr<Handler> files = make_files(config);
  // The application's handler, made here after fork; it answers in front of the files.
  std::unique_ptr<Handler> own;
  // The worker's loop exists before the handler, so that the application can use it there.
  struct ev_loop* loop = io::Worker::new_loop();
  if (loop == nullptr) throw std::runtime_error("cannot create the event loop");
  if (app != nullptr) {
    try {
      own = app->make_handler(AppContextAccess::make(config, setup, loop, files.get()));
    } catch (...) {
      ev_loop_destroy(loop);
      throw;
    }
  }
  Handler* content = own ? own.get() : files.get();
  io::WorkerConfig worker_config = config.worker;
  // The shared cache answers in front of the application's handler (not of the static files
  // alone: the page cache and sendfile already make those cheap).
  std::unique_ptr<handlers::cache::CacheStage> cache =
      own ? make_cache_stage(config.cache, *own, segment, setup.stats_slot, loop, &worker_config)
          : nullptr;
  if (cache) content = cache.get();
  ProxyStage proxy;
  if (config.proxy.enabled()) {
    proxy = make_proxy_stage(config, *content, segment, setup, loop, &worker_config);
    content = proxy.router.get();
  }
  std::unique_ptr<handlers::metrics::MetricsHandler> metrics;
  if (!config.metrics_path.empty() && segment != nullptr) {
    metrics = make_metrics(config, *content, *segment);
    content = metrics.get();
  }
  std::unique_ptr<handlers::access::AccessStage> access =
      make_access_stage(config.access, segment, setup.stats_slot, &error_log);

  worker_config.worker_index = setup.index;
  io::Worker worker(worker_config, *content, setup.listeners, loop);
  worker.set_access_gate(access.get());
  for (size_t i = 0; i < config.listen.size() && i < setup.listeners.size(); ++i) {
    io::ListenSpec spec;
    if (io::parse_listen_spec(config.listen[i], &spec, &error) && spec.proxy_protocol) {
      worker.expect_proxy_protocol_on(setup.listeners[i]);
    }
  }
  log::AccessLog access_log(config.access_log, log::kAccessLogBufferBytes,
                            config.access_log_format);
  if (!access_log.open(&error)) {
    error_log.log(log::Level::kError, "cannot open the access log: %s", error.c_str());
  }
  worker.set_access_log(&access_log);
  if (segment != nullptr && setup.stats_slot >= 0) {
    worker.set_stats(&segment->stats().slots[setup.stats_slot]);
  }
  worker.take_orders_from(setup.orders_fd);
  ReopenTarget reopen{&error_log, &access_log};
  worker.on_reopen_logs(reopen_logs, &reopen);
  worker.run();
  return 0;
}

}  // namespace zhttp::app
