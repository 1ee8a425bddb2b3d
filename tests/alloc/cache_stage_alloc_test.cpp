// Once warm, the cache stage allocates nothing: hits, misses that store, uncacheable answers,
// HEAD from the GET entry, and a request that waits for another one's fill, through a real
// Connection over a private store.
#include <ev.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "alloc_counter.hpp"
#include "conn/connection.hpp"
#include "handlers/cache/cache_stage.hpp"

namespace zhttp::test {
namespace {

// Answers /slow later (through the kept reference), everything else at once; /nostore is
// uncacheable, the rest cacheable for a second (so that misses keep coming).
class Origin : public Handler {
 public:
  void handle(const RequestView& r, Response& response) override {
    if (r.path() == "/slow") {
      pending = response.defer();
      return;
    }
    response.status(200)
        .header("Content-Type", "text/plain")
        .header("Cache-Control", r.path() == "/nostore" ? "no-store" : "max-age=1");
    response.body("an answer worth keeping for a while");
  }
  ExchangeRef pending;
};

struct Conn {
  explicit Conn(Handler& h) : ctx(config, h, dates, input, output, exchanges, bodies) {}
  void feed(std::string_view bytes) {
    std::span<char> space = connection.read_space();
    std::copy(bytes.begin(), bytes.end(), space.begin());
    connection.on_read(bytes.size(), 1700000000);
    flush();
  }
  void flush() {
    while (connection.has_output()) {
      iovec iov[16];
      size_t n = connection.gather(iov, 16);
      size_t bytes = 0;
      for (size_t k = 0; k < n; ++k) bytes += iov[k].iov_len;
      sent += bytes;
      connection.on_sent(bytes, 1700000000);
    }
  }
  conn::ConnectionConfig config;
  DateCache dates;
  conn::BufferPool input{32768, 2};
  conn::BufferPool output{65536, 2};
  conn::ObjectPool<conn::Exchange> exchanges{2};
  conn::BodyBuffers bodies{config.max_body_bytes, 1};
  conn::ConnectionContext ctx;
  conn::Connection connection{ctx};
  size_t sent = 0;
};

TEST(CacheStageAllocations, HitsMissesStoresAndWaitsAllocateNothingWhenWarm) {
  std::vector<char> region(shm::CacheStore::bytes_for(shm::CacheGeometry::standard(), 4) + 64);
  void* aligned = region.data() + (64 - reinterpret_cast<uintptr_t>(region.data()) % 64) % 64;
  auto store = shm::CacheStore::create(aligned, region.size() - 64, shm::SipKey{1, 2});
  ASSERT_TRUE(store.has_value());
  shm::CacheStats stats;
  struct ev_loop* loop = ev_loop_new(EVFLAG_AUTO);
  Origin origin;
  handlers::cache::CacheStage stage(handlers::cache::CacheOptions{}, origin, *store, &stats, 0,
                                    loop);
  Conn a(stage), b(stage);
  const std::string batch =
      "GET /hit HTTP/1.1\r\nHost: a\r\n\r\n"
      "HEAD /hit HTTP/1.1\r\nHost: a\r\n\r\n"
      "GET /nostore HTTP/1.1\r\nHost: a\r\n\r\n"
      "GET /other?q=1 HTTP/1.1\r\nHost: a\r\n\r\n";
  auto round = [&](int i) {
    a.feed(batch);
    if (i % 50 == 0) {  // a fill with a waiter
      a.feed("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
      b.feed("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
      Response* r = origin.pending.response();
      ASSERT_NE(r, nullptr);
      r->status(200).header("Cache-Control", "max-age=1");
      r->body("slow answer");
      a.flush();
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
      ev_run(loop, EVRUN_NOWAIT);
      b.flush();
      store->purge_all(&stats);  // the next /slow misses again
    }
  };
  for (int i = 0; i < 200; ++i) round(i);  // warm-up: tickets and the timer
  AllocationWindow window;
  for (int i = 0; i < 2000; ++i) round(i);
  long allocations = window.allocations();
  std::printf("lookups %lu, hits %lu, stores %lu, coalesced waits %lu, allocations: %ld\n",
              stats.lookups.get(), stats.hits.get(), stats.stores.get(),
              stats.coalesced_waits.get(), allocations);
  EXPECT_EQ(allocations, 0);
  EXPECT_GT(stats.hits, 2000u);
  EXPECT_GT(stats.coalesced_waits, 40u);
  EXPECT_GT(b.sent, 40u * 100);
  ev_loop_destroy(loop);
}

}  // namespace
}  // namespace zhttp::test
