// Zero allocation through the reverse proxy: a proxy worker (io::Worker with the proxy handler,
// its balancer and its pool of upstream connections on the worker's loop) in front of a backend
// worker, both in threads of this process over loopback. After warm-up, proxied requests make no
// heap allocation in any thread: small answers held whole, chunked answers streamed, 64 KiB
// answers streamed with backpressure, gathered and streamed request bodies, pipelined requests,
// a new upstream connection for every request, the shared cache's hits and fills in front, and
// a WebSocket-style tunnel.
#include <netinet/in.h>

#include <memory>
#include <string>
#include <thread>

#include "../../examples/checksum_handler.hpp"
#include "../../examples/compute_handler.hpp"
#include "../../examples/hello_handler.hpp"
#include "../../examples/timers_handler.hpp"
#include "../unit/support/shared_mapping.hpp"
#include "handlers/cache/cache_stage.hpp"
#include "handlers/proxy/balancer.hpp"
#include "handlers/proxy/proxy_handler.hpp"
#include "io/upstream_pool.hpp"
#include "worker_fixture.hpp"

namespace zhttp::test {
namespace {

// A 101 to any request, then every byte back as it came: a tunnel's far end.
class Echo final : public Handler {
 public:
  void handle(const RequestView&, Response& response) override {
    response.status(101).header("Upgrade", "echo").header("Connection", "upgrade");
    response.tunnel();
  }
  void on_body(Response& response, std::string_view bytes) override {
    if (response.write(bytes) < bytes.size()) response.end();  // not expected: the test waits
  }
};

// The backend: the examples' handlers by path.
class Backend final : public Handler {
 public:
  BodyMode body_mode(const RequestView& r) override { return pick(r).body_mode(r); }
  void handle(const RequestView& r, Response& response) override { pick(r).handle(r, response); }
  void on_body(Response& r, std::string_view b) override { pick(r.request()).on_body(r, b); }
  void on_body_end(Response& r) override { pick(r.request()).on_body_end(r); }
  void on_writable(Response& r) override { pick(r.request()).on_writable(r); }
  void on_abort(Response& r, AbortReason why) override { pick(r.request()).on_abort(r, why); }
  void on_worker_start(const WorkerContext& c) override {
    timers_.on_worker_start(c);
    compute_.on_worker_start(c);
  }

 private:
  Handler& pick(const RequestView& r) {
    std::string_view path = r.path();
    if (path.starts_with("/upload")) return checksum_;
    if (path == "/ticks" || path == "/delay") return timers_;
    if (path == "/compute") return compute_;
    if (path == "/ws") return echo_;
    return hello_;
  }
  Echo echo_;
  examples::Hello hello_;
  examples::Timers timers_;
  examples::Compute compute_;
  examples::Checksum checksum_{64};
};

class ProxyAllocations : public WorkerAllocations {
 protected:
  void SetUp() override {
    backend_listener_ = listen_loopback(&backend_port_);
    ASSERT_GE(backend_listener_, 0);
    int fds[] = {backend_listener_};
    io::WorkerConfig config;
    config.max_connections = 64;
    config.max_busy_connections = 16;
    backend_ = std::make_unique<io::Worker>(config, backend_handler_, fds);
    backend_thread_ = std::thread([this] { backend_->run(); });
  }
  // The proxy worker: `keepalive` idle upstream connections kept (0: a new one per request),
  // the shared cache in front or not.
  void start_proxy(uint32_t keepalive = 32, bool cache = false) {
    handlers::proxy::UpstreamGroup group;
    group.name = "backend";
    handlers::proxy::UpstreamServer server;
    server.address = "127.0.0.1:" + std::to_string(backend_port_);
    auto* in = reinterpret_cast<sockaddr_in*>(&server.sockaddr);
    in->sin_family = AF_INET;
    in->sin_port = htons(backend_port_);
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    server.sockaddr_len = sizeof(sockaddr_in);
    group.servers.push_back(server);
    proxy_config_.groups.push_back(group);
    handlers::proxy::ProxyRoute route;
    route.prefix = "/";
    proxy_config_.routes.push_back(route);

    loop_ = io::Worker::new_loop();
    balancer_ = std::make_unique<handlers::proxy::Balancer>(proxy_config_, nullptr, -1);
    io::UpstreamGroupLimits pool_limits;
    pool_limits.keepalive = keepalive;
    pool_ = std::make_unique<io::UpstreamPool>(
        loop_, std::vector<io::UpstreamGroupLimits>{pool_limits}, 64);
    handlers::proxy::ProxyLimits limits;
    limits.max_calls = 8;
    proxy_ = std::make_unique<handlers::proxy::ProxyHandler>(proxy_config_, *balancer_, *pool_,
                                                             limits, nullptr);
    Handler* front = proxy_.get();
    if (cache) {
      store_ = shm::CacheStore::create(cache_region_.get(), cache_region_.size(), {1, 2});
      ASSERT_TRUE(store_);
      cache_ = std::make_unique<handlers::cache::CacheStage>(
          handlers::cache::CacheOptions{}, *proxy_, *store_, &cache_stats_, 0, loop_);
      front = cache_.get();
    }
    start(*front, nullptr, nullptr, nullptr, loop_);
  }
  void TearDown() override {
    WorkerAllocations::TearDown();  // the proxy worker (and its loop) first
    cache_.reset();
    proxy_.reset();
    backend_->stop();
    backend_thread_.join();
    backend_.reset();
    ::close(backend_listener_);
  }

  Backend backend_handler_;
  uint16_t backend_port_ = 0;
  int backend_listener_ = -1;
  std::unique_ptr<io::Worker> backend_;
  std::thread backend_thread_;
  handlers::proxy::ProxyConfig proxy_config_;
  struct ev_loop* loop_ = nullptr;
  std::unique_ptr<handlers::proxy::Balancer> balancer_;
  std::unique_ptr<io::UpstreamPool> pool_;
  std::unique_ptr<handlers::proxy::ProxyHandler> proxy_;
  SharedMapping cache_region_{shm::CacheStore::bytes_for(shm::CacheGeometry::standard(), 2)};
  std::optional<shm::CacheStore> store_;
  shm::CacheStats cache_stats_;
  std::unique_ptr<handlers::cache::CacheStage> cache_;
};

const std::string kHost = " HTTP/1.1\r\nHost: a\r\nUser-Agent: alloc-test\r\n";

TEST_F(ProxyAllocations, ProxiedRequestsAllocateNothingWhenWarm) {
  start_proxy();
  Batch single[5];
  single[0].add("GET /hello/world" + kHost + "\r\n", "HTTP/1.1 200");
  single[1].add("GET /nope" + kHost + "\r\n", "HTTP/1.1 404");
  single[2].add("GET /ticks?n=3&ms=0" + kHost + "\r\n", "HTTP/1.1 200");
  single[3].add("GET /compute?key=k&ms=0&len=65536" + kHost + "\r\n", "HTTP/1.1 200");
  single[4].add("POST /upload" + kHost + "Content-Length: 4096\r\n\r\n" + std::string(4096, 'p'),
                "HTTP/1.1 200");
  Batch pipelined[1];
  for (int i = 0; i < 16; ++i) pipelined[0].add("GET /hello/pipe" + kHost + "\r\n", "HTTP/1.1 200");
  expect_no_allocations(single, 5, 200);
  expect_no_allocations(pipelined, 1, 100);
}

TEST_F(ProxyAllocations, StreamedUploadsAllocateNothingWhenWarm) {
  start_proxy();
  // Past the gathered size: streamed to the backend as it comes, chunked.
  const std::string body(200000, 'u');
  Batch upload[1];
  upload[0].add("POST /upload" + kHost + "Content-Length: 200000\r\n\r\n" + body, "HTTP/1.1 200");
  Batch chunked[1];
  chunked[0].add("POST /upload" + kHost + "Transfer-Encoding: chunked\r\n\r\n1000\r\n" +
                     std::string(4096, 'c') + "\r\n0\r\n\r\n",
                 "HTTP/1.1 200");
  expect_no_allocations(upload, 1, 50);
  expect_no_allocations(chunked, 1, 200);
}

TEST_F(ProxyAllocations, ANewUpstreamConnectionPerRequestAllocatesNothingWhenWarm) {
  start_proxy(0);  // no idle connection kept: every request connects anew
  Batch single[2];
  single[0].add("GET /hello/fresh" + kHost + "\r\n", "HTTP/1.1 200");
  single[1].add("GET /ticks?n=2&ms=0" + kHost + "\r\n", "HTTP/1.1 200");
  expect_no_allocations(single, 2, 500);
}

// The shared cache in front of the proxy: hits, and fills of entries that expire every second
// (the warm-up and the measured window last over a second each, so they fill again).
TEST_F(ProxyAllocations, CacheHitsAndFillsAllocateNothingWhenWarm) {
  start_proxy(32, true);
  Batch hits[1];
  for (int i = 0; i < 4; ++i) {
    hits[0].add("GET /compute?key=hit&ms=0&len=100&ttl=3600" + kHost + "\r\n", "HTTP/1.1 200");
  }
  Batch fills[1];
  fills[0].add("GET /compute?key=fill&ms=0&len=100&ttl=1" + kHost + "\r\n", "HTTP/1.1 200");
  const uint64_t stores_before = cache_stats_.stores.get();
  expect_no_allocations(hits, 1, 500, 1.2);
  expect_no_allocations(fills, 1, 500, 1.2);
  EXPECT_GT(cache_stats_.hits.get(), 1000u);
  EXPECT_GE(cache_stats_.stores.get() - stores_before, 3u);  // filled again after expiring
}

TEST_F(ProxyAllocations, ATunnelAllocatesNothingWhenWarm) {
  start_proxy();
  ASSERT_TRUE(
      send_all(client_, "GET /ws" + kHost + "Connection: Upgrade\r\nUpgrade: echo\r\n\r\n"));
  std::string head = read_until(
      client_, [](const std::string& s) { return s.find("\r\n\r\n") != std::string::npos; }, 10);
  ASSERT_TRUE(head.starts_with("HTTP/1.1 101 ")) << head;
  char message[64];
  std::memset(message, 'w', sizeof message);
  auto round_trips = [&](int n) {
    for (int i = 0; i < n; ++i) {
      if (::send(client_, message, sizeof message, MSG_NOSIGNAL) != sizeof message) return false;
      size_t got = 0;
      while (got < sizeof message) {
        ssize_t k = ::recv(client_, buffer_ + got, sizeof message - got, 0);
        if (k <= 0) return false;
        got += static_cast<size_t>(k);
      }
      if (std::memcmp(buffer_, message, sizeof message) != 0) return false;
    }
    return true;
  };
  ASSERT_TRUE(round_trips(2000));  // warm-up
  long allocations = 0;
  {
    AllocationWindow window;
    ASSERT_TRUE(round_trips(5000));
    allocations = window.allocations();
  }
  std::printf("tunnel: 5000 round trips, allocations: %ld\n", allocations);
  EXPECT_EQ(allocations, 0);
}

}  // namespace
}  // namespace zhttp::test
