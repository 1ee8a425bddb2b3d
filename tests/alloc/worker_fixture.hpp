#pragma once
// What the allocation tests through a real worker share: an io::Worker serving on a loopback
// port in a thread of this process, a client with fixed buffers (it allocates nothing either),
// batches of requests with the status each answer must start with, and the check that after a
// warm-up a number of rounds makes no heap allocation in any thread.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../integration/socket_util.hpp"
#include "alloc_counter.hpp"
#include "io/worker.hpp"

namespace zhttp::test {

namespace fs = std::filesystem;

// Where the response whose head ends at buf[head_end] ends, once buf[0, have) holds it all; 0
// while incomplete, SIZE_MAX when malformed. Its body is Content-Length bytes (none when
// `bodiless`), or chunked up to the last chunk (the bodies here hold no "0\r\n\r\n").
inline size_t response_end(const char* buf, size_t at, size_t head_end, size_t have,
                           bool bodiless) {
  if (bodiless) return head_end;
  if (memmem(buf + at, head_end - at, "Transfer-Encoding: chunked", 26) != nullptr) {
    const char* last =
        static_cast<const char*>(memmem(buf + head_end, have - head_end, "0\r\n\r\n", 5));
    return last == nullptr ? 0 : static_cast<size_t>(last - buf) + 5;
  }
  const char* cl =
      static_cast<const char*>(memmem(buf + at, head_end - at, "Content-Length: ", 16));
  if (cl == nullptr) return SIZE_MAX;
  size_t end = head_end + std::strtoul(cl + 16, nullptr, 10);
  return have >= end ? end : 0;
}

// Reads exactly the responses to `count` requests from a blocking socket into `buf` (no
// allocation), skipping interim "100 Continue" answers. Returns the number of responses whose
// status line starts with `expect[i]`, or -1 on a short read.
inline int read_responses(int fd, char* buf, size_t cap, int count, const bool* bodiless,
                          const char* const* expect) {
  size_t have = 0;
  size_t at = 0;
  int matched = 0;
  for (int i = 0; i < count; ++i) {
    for (;;) {
      const char* end = static_cast<const char*>(memmem(buf + at, have - at, "\r\n\r\n", 4));
      if (end != nullptr) {
        size_t head_end = static_cast<size_t>(end - buf) + 4;
        if (std::strncmp(buf + at, "HTTP/1.1 100 ", 13) == 0) {
          at = head_end;
          continue;
        }
        size_t response_ends = response_end(buf, at, head_end, have, bodiless[i]);
        if (response_ends == SIZE_MAX) return -1;
        if (response_ends != 0) {
          if (std::strncmp(buf + at, expect[i], std::strlen(expect[i])) == 0) ++matched;
          at = response_ends;
          break;
        }
      }
      if (have == cap) return -1;
      ssize_t n = ::recv(fd, buf + have, cap - have, 0);
      if (n <= 0) return -1;
      have += static_cast<size_t>(n);
    }
  }
  return at == have ? matched : -1;
}

// One round trip of a batch: sends `requests` at once and reads the answers.
struct Batch {
  std::string bytes;
  int count = 0;
  bool bodiless[16] = {};
  const char* expect[16] = {};

  void add(const std::string& request, const char* status, bool no_body = false) {
    bytes += request;
    bodiless[count] = no_body;
    expect[count++] = status;
  }
};

class WorkerAllocations : public ::testing::Test {
 protected:
  // `access_log`: logs every response there (the worker flushes it once a second). `gate`:
  // every request passes it first.
  // `loop`: one made with io::Worker::new_loop() for the handler beforehand (null: the
  // worker's own).
  void start(Handler& handler, log::AccessLog* access_log = nullptr,
             shm::WorkerStats* stats = nullptr, conn::AccessGate* gate = nullptr,
             struct ev_loop* loop = nullptr) {
    listener_ = listen_loopback(&port_);
    ASSERT_GE(listener_, 0);
    int fds[] = {listener_};
    io::WorkerConfig config;
    config.max_connections = 64;
    config.max_busy_connections = 8;
    worker_ = std::make_unique<io::Worker>(config, handler, fds, loop);
    worker_->set_access_log(access_log);
    worker_->set_stats(stats);
    worker_->set_access_gate(gate);
    thread_ = std::thread([this] { worker_->run(); });
    client_ = connect_loopback(port_);
    ASSERT_GE(client_, 0);
  }
  void TearDown() override {
    if (client_ >= 0) ::close(client_);
    if (thread_.joinable()) {
      worker_->stop();
      thread_.join();
    }
    worker_.reset();
    if (listener_ >= 0) ::close(listener_);
  }
  // Runs each batch `rounds` times; returns how many responses matched their expectation.
  long run(const Batch* batches, int batch_count, int rounds) {
    long matched = 0;
    for (int r = 0; r < rounds; ++r) {
      for (int b = 0; b < batch_count; ++b) {
        const Batch& batch = batches[b];
        if (!send_all(client_, batch.bytes)) return -1;
        int m = read_responses(client_, buffer_, sizeof buffer_, batch.count, batch.bodiless,
                               batch.expect);
        if (m < 0) return -1;
        matched += m;
        answered_ += m;
      }
    }
    return matched;
  }
  // Warms up, then counts allocations over `rounds` more rounds of every batch, repeated for
  // at least `min_seconds` (so that cached files expire and are opened again meanwhile).
  void expect_no_allocations(const Batch* batches, int batch_count, int rounds,
                             double min_seconds = 0) {
    int per_round = 0;
    for (int b = 0; b < batch_count; ++b) per_round += batches[b].count;
    // Warm-up as long as the count, so whatever happens once a second has happened before; and
    // past the worker's first tick (1 s), whose first expiry grows libev's array of timers to
    // feed (one realloc in the loop's life).
    auto warm_until = std::chrono::steady_clock::now() +
                      std::chrono::duration<double>(std::max(min_seconds, 1.2));
    do {
      ASSERT_EQ(run(batches, batch_count, 20), 20L * per_round);
    } while (std::chrono::steady_clock::now() < warm_until);
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(min_seconds);
    long requests = 0;
    long matched = 0;
    AllocationWindow window;
    do {
      long m = run(batches, batch_count, rounds);
      if (m < 0) break;
      matched += m;
      requests += static_cast<long>(rounds) * per_round;
    } while (std::chrono::steady_clock::now() < until);
    long allocations = window.allocations();
    std::printf("requests: %ld, answered as expected: %ld, allocations: %ld\n", requests, matched,
                allocations);
    EXPECT_GT(requests, 0);
    EXPECT_EQ(matched, requests);
    EXPECT_EQ(allocations, 0);
  }

  // Stops the worker, writes out what `log` holds and returns the lines of its file at `path`.
  std::vector<std::string> stop_and_read_log(log::AccessLog& log, const fs::path& path) {
    worker_->stop();
    thread_.join();
    log.flush();
    std::ifstream file(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(file, line);) lines.push_back(line);
    return lines;
  }

  long answered_ = 0;  // by run(), warm-up included
  uint16_t port_ = 0;
  int listener_ = -1;
  int client_ = -1;
  std::unique_ptr<io::Worker> worker_;
  std::thread thread_;
  char buffer_[1 << 20];
};

}  // namespace zhttp::test
