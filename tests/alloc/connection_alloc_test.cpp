// Once warm, the connection layer allocates nothing: 20,000 keep-alive requests (plain,
// pipelined, with Content-Length and chunked bodies) through a Connection and a handler that
// formats its answer, with buffers taken from and given back to the pools each time.
#include <gtest/gtest.h>

#include <string>

#include "alloc_counter.hpp"
#include "conn/connection.hpp"

namespace zhttp::test {
namespace {

class HelloHandler : public Handler {
 public:
  BodyMode body_mode(const RequestView&) override { return BodyMode::kGather; }
  void handle(const RequestView& r, Response& response) override {
    response.status(200).header("Content-Type", "text/plain").header("X-Body", r.body().size());
    response.body("Hello, world!");
  }
};

TEST(ConnectionAllocations, WarmKeepAliveRequestsAllocateNothing) {
  conn::ConnectionConfig config;
  DateCache dates;
  HelloHandler handler;
  conn::BufferPool input(32768, 2);
  conn::BufferPool output(65536, 2);
  conn::ObjectPool<conn::Exchange> exchanges(2);
  conn::BodyBuffers bodies(config.max_body_bytes, 1);
  conn::ConnectionContext ctx(config, handler, dates, input, output, exchanges, bodies);
  conn::Connection connection(ctx);
  const std::string batch =
      "GET /hello HTTP/1.1\r\nHost: a\r\nUser-Agent: test\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
      "PUT /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
      "GET /again HTTP/1.1\r\nHost: a\r\n\r\n";
  size_t sent = 0;
  auto run = [&](int rounds) {
    for (int i = 0; i < rounds; ++i) {
      std::span<char> space = connection.read_space();
      std::copy(batch.begin(), batch.end(), space.begin());
      connection.on_read(batch.size(), 1700000000 + i / 100);
      while (connection.has_output()) {
        iovec iov[16];
        size_t n = connection.gather(iov, 16);
        size_t bytes = 0;
        for (size_t k = 0; k < n; ++k) bytes += iov[k].iov_len;
        sent += bytes;
        connection.on_sent(bytes, 1700000000);
      }
    }
  };
  run(10);  // warm-up: the pools allocate their blocks here
  AllocationWindow window;
  run(5000);  // 4 requests each
  long allocations = window.allocations();
  std::printf("requests: 20000, bytes sent: %zu, allocations: %ld\n", sent, allocations);
  EXPECT_EQ(allocations, 0);
  EXPECT_GT(sent, 20000u * 60);
  EXPECT_FALSE(connection.should_close());
}

}  // namespace
}  // namespace zhttp::test
