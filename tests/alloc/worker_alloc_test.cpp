// Zero allocation through the real worker: an io::Worker runs in this process over loopback
// sockets, and after warm-up thousands of keep-alive requests (one at a time and pipelined) to
// the static file handler and to the embedding example's handler make no heap allocation in
// any thread. The client side uses fixed buffers so that it allocates nothing either.
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

#include "../../examples/checksum_handler.hpp"
#include "../../examples/compute_handler.hpp"
#include "../../examples/hello_handler.hpp"
#include "../../examples/timers_handler.hpp"
#include "../integration/socket_util.hpp"
#include "../unit/support/shared_mapping.hpp"
#include "alloc_counter.hpp"
#include "handlers/access/access_stage.hpp"
#include "handlers/metrics/metrics.hpp"
#include "handlers/static_site/static_files.hpp"
#include "handlers/static_site/virtual_hosts.hpp"
#include "io/worker.hpp"
#include "worker_fixture.hpp"

namespace zhttp::test {
namespace {

namespace fs = std::filesystem;

const std::string kHost = " HTTP/1.1\r\nHost: a\r\nUser-Agent: alloc-test\r\n";

TEST_F(WorkerAllocations, StaticFilesAllocateNothingWhenWarm) {
  char tmpl[] = "/tmp/zhttp-alloc-XXXXXX";
  fs::path root = ::mkdtemp(tmpl);
  std::ofstream(root / "index.html") << "<h1>home</h1>";
  std::ofstream(root / "small.txt") << std::string(100, 's');    // bytes kept in the cache
  std::ofstream(root / "medium.txt") << std::string(4000, 'm');  // read per request
  std::ofstream(root / "large.bin") << std::string(64 << 10, 'L');
  handlers::static_site::StaticFilesOptions options;
  options.root = root.string();
  handlers::static_site::StaticFiles files(options);
  // The whole path: read, parse, handle, respond, count (statistics) and log.
  log::AccessLog access_log((root / "access.log").string());
  ASSERT_TRUE(access_log.open(nullptr));
  // The statistics region of a segment, with this worker's slot; scraped at /metrics.
  auto region = std::make_unique<shm::StatsRegion>();
  shm::WorkerStats* stats = &region->slots[0];
  stats->in_use.store(1);
  shm::SegmentHeader header{};
  handlers::metrics::MetricsHandler metrics(files, "/metrics", {}, header, *region);
  // And the shared cache's counters and store (a scrape counts the store's live entries).
  auto cache_counters = std::make_unique<shm::CacheCountersRegion>();
  SharedMapping cache_region(shm::CacheStore::bytes_for(shm::CacheGeometry::standard(), 2));
  metrics.show_cache(cache_counters.get(),
                     shm::CacheStore::create(cache_region.get(), cache_region.size(), {1, 2}));
  start(metrics, &access_log, stats);
  // The file's ETag, for a conditional request.
  ASSERT_TRUE(send_all(client_, "HEAD /small.txt" + kHost + "\r\n"));
  bool bodiless[] = {true};
  const char* expect[] = {"HTTP/1.1 200"};
  ASSERT_EQ(read_responses(client_, buffer_, sizeof buffer_, 1, bodiless, expect), 1);
  std::string head(buffer_);
  size_t tag = head.find("ETag: ");
  ASSERT_NE(tag, std::string::npos);
  std::string etag = head.substr(tag + 6, head.find("\r\n", tag) - tag - 6);

  Batch single[4];
  single[0].add("GET /small.txt" + kHost + "\r\n", "HTTP/1.1 200");
  single[1].add("GET /" + kHost + "\r\n", "HTTP/1.1 200");
  single[2].add("GET /large.bin" + kHost + "\r\n", "HTTP/1.1 200");
  single[2].add("GET /medium.txt" + kHost + "\r\n", "HTTP/1.1 200");
  single[3].add("GET /small.txt" + kHost + "If-None-Match: " + etag + "\r\n\r\n", "HTTP/1.1 304",
                true);
  Batch pipelined[1];
  for (int i = 0; i < 2; ++i) {
    pipelined[0].add("GET /small.txt" + kHost + "\r\n", "HTTP/1.1 200");
    pipelined[0].add("HEAD /small.txt" + kHost + "\r\n", "HTTP/1.1 200", true);
    pipelined[0].add("GET /small.txt" + kHost + "Range: bytes=10-19\r\n\r\n", "HTTP/1.1 206");
    pipelined[0].add("GET /missing" + kHost + "\r\n", "HTTP/1.1 404");
    pipelined[0].add("GET /metrics" + kHost + "\r\n", "HTTP/1.1 200");
    pipelined[0].add("GET /large.bin" + kHost + "\r\n", "HTTP/1.1 200");
    pipelined[0].add("GET /small.txt" + kHost + "If-None-Match: " + etag + "\r\n\r\n",
                     "HTTP/1.1 304", true);
  }
  // 2.5 s: the open file cache (1 s) reopens every file twice while counting.
  expect_no_allocations(single, 4, 500, 2.5);
  expect_no_allocations(pipelined, 1, 300);
  // Every response was logged: count the lines once the worker has stopped (and flushed).
  long lines = 0;
  for (const std::string& line : stop_and_read_log(access_log, root / "access.log"))
    lines += line.find(" HTTP/1.1\" ") != line.npos;
  // The HEAD for the ETag, and every request of every round.
  EXPECT_EQ(lines, answered_ + 1);
  EXPECT_EQ(access_log.dropped_lines(), 0u);
  // And counted: one request per logged line.
  EXPECT_EQ(stats->get(shm::Counter::kRequests), static_cast<uint64_t>(lines));
  EXPECT_EQ(stats->get(shm::Counter::kConnectionsAccepted), 1u);
  EXPECT_GT(stats->get(shm::Counter::kResponses304), 0u);
  fs::remove_all(root);
}

// The site options: fields by path (a glob match per rule and request), precompressed variants
// (Accept-Encoding parsed, a second open file cache lookup), an error page and a single-page
// app's fallback; with --autoindex on, files and index files are still served without
// allocating (only a listing allocates).
TEST_F(WorkerAllocations, StaticSiteOptionsAllocateNothingWhenWarm) {
  char tmpl[] = "/tmp/zhttp-alloc-site-XXXXXX";
  fs::path root = ::mkdtemp(tmpl);
  fs::create_directories(root / "assets");
  std::ofstream(root / "index.html") << "<p>app shell</p>";
  std::ofstream(root / "assets" / "app.js") << "app();";
  std::ofstream(root / "assets" / "app.js.br") << "br";
  std::ofstream(root / "assets" / "app.js.gz") << "gzip";
  std::ofstream(root / "assets" / "big.css") << std::string(40000, 'c');
  std::ofstream(root / "assets" / "big.css.br") << std::string(20000, 'b');  // from its fd
  std::ofstream(root / "404.html") << "<h1>lost</h1>";
  handlers::static_site::StaticFilesOptions options;
  options.root = root.string();
  handlers::static_site::PathHeaderRule rule;
  std::string error;
  ASSERT_TRUE(
      handlers::static_site::parse_cache_control_rule("/assets/*=max-age=31536000", &rule, &error));
  options.headers.cache_control.push_back(rule);
  ASSERT_TRUE(handlers::static_site::parse_cache_control_rule("*.html=no-cache", &rule, &error));
  options.headers.cache_control.push_back(rule);
  ASSERT_TRUE(handlers::static_site::parse_add_header_rule("*=X-Content-Type-Options: nosniff",
                                                           &rule, &error));
  options.headers.add_header.push_back(rule);
  options.error_pages = {{404, "/404.html"}};
  options.fallback = "/index.html";
  options.autoindex = true;
  handlers::static_site::StaticFiles files(options);
  start(files);
  Batch pipelined[1];
  pipelined[0].add("GET /assets/app.js" + kHost + "\r\n", "HTTP/1.1 200");
  pipelined[0].add("GET /index.html" + kHost + "\r\n", "HTTP/1.1 200");
  pipelined[0].add("GET /" + kHost + "\r\n", "HTTP/1.1 200");
  pipelined[0].add("HEAD /%61ssets/app.js" + kHost + "\r\n", "HTTP/1.1 200", true);
  pipelined[0].add("GET /missing.js" + kHost + "\r\n", "HTTP/1.1 404");
  pipelined[0].add("GET /settings/profile" + kHost + "\r\n", "HTTP/1.1 200");
  pipelined[0].add("GET /assets/app.js" + kHost + "Accept-Encoding: gzip, br\r\n\r\n",
                   "HTTP/1.1 200");
  pipelined[0].add("GET /assets/app.js" + kHost + "Accept-Encoding: br;q=0, gzip\r\n\r\n",
                   "HTTP/1.1 200");
  pipelined[0].add("GET /assets/big.css" + kHost + "Accept-Encoding: br\r\n\r\n", "HTTP/1.1 200");
  pipelined[0].add(
      "GET /assets/big.css" + kHost + "Accept-Encoding: br\r\nRange: bytes=10-99\r\n\r\n",
      "HTTP/1.1 206");
  // 2.5 s: the open file cache (1 s) reopens the files and their variants while counting.
  expect_no_allocations(pipelined, 1, 100, 2.5);
  fs::remove_all(root);
}

// Virtual hosts: a host match per request (exact, wildcard, none), each host's own files and
// open file cache; logged in the extended format (the host, and the Content-Encoding copied
// from each head).
TEST_F(WorkerAllocations, VirtualHostsAllocateNothingWhenWarm) {
  char tmpl[] = "/tmp/zhttp-alloc-vhosts-XXXXXX";
  fs::path base = ::mkdtemp(tmpl);
  for (const char* site : {"default", "a", "b"}) {
    fs::create_directories(base / site);
    std::ofstream(base / site / "who.txt") << site;
    std::ofstream(base / site / "app.css") << "p{}";
  }
  handlers::static_site::StaticFilesOptions options;
  options.root = (base / "default").string();
  handlers::static_site::PathHeaderRule rule;
  std::string error;
  ASSERT_TRUE(handlers::static_site::parse_add_header_rule("*.css=Content-Encoding: identity",
                                                           &rule, &error));
  options.headers.add_header.push_back(rule);
  handlers::static_site::VirtualHosts vhosts(
      options, {{"a.test", (base / "a").string()}, {"*.b.test", (base / "b").string()}});
  log::AccessLog access_log((base / "access.log").string(), log::kAccessLogBufferBytes,
                            log::AccessLogFormat::kExtended);
  ASSERT_TRUE(access_log.open(nullptr));
  start(vhosts, &access_log);
  const std::string fields = "\r\nUser-Agent: alloc-test\r\n\r\n";
  Batch pipelined[1];
  pipelined[0].add("GET /who.txt HTTP/1.1\r\nHost: a.test" + fields, "HTTP/1.1 200");
  pipelined[0].add("GET /app.css HTTP/1.1\r\nHost: A.Test:8080" + fields, "HTTP/1.1 200");
  pipelined[0].add("GET /who.txt HTTP/1.1\r\nHost: x.b.test" + fields, "HTTP/1.1 200");
  pipelined[0].add("GET http://y.b.test/app.css HTTP/1.1\r\nHost: a.test" + fields, "HTTP/1.1 200");
  pipelined[0].add("GET /who.txt HTTP/1.1\r\nHost: other" + fields, "HTTP/1.1 200");
  pipelined[0].add("GET /missing HTTP/1.1\r\nHost: a.test" + fields, "HTTP/1.1 404");
  pipelined[0].add("GET /who.txt HTTP/1.0\r\nConnection: keep-alive" + fields, "HTTP/1.1 200");
  expect_no_allocations(pipelined, 1, 300);
  long lines = 0;
  long hosts = 0;
  for (const std::string& line : stop_and_read_log(access_log, base / "access.log")) {
    ++lines;
    hosts += line.ends_with("\"a.test\" \"identity\" \"-\" - -") ||
             line.ends_with("\"y.b.test\" \"identity\" \"-\" - -");  // no upstream: "-" - -
  }
  EXPECT_EQ(lines, answered_);
  EXPECT_EQ(hosts, answered_ / 7 * 2);  // the two .css requests of each batch
  fs::remove_all(base);
}

TEST_F(WorkerAllocations, HelloHandlerAllocatesNothingWhenWarm) {
  examples::Hello hello;
  start(hello);
  Batch single[2];
  single[0].add("GET /hello/world" + kHost + "\r\n", "HTTP/1.1 200");
  single[1].add("GET /nope" + kHost + "\r\n", "HTTP/1.1 404");
  Batch pipelined[1];
  for (int i = 0; i < 16; ++i) pipelined[0].add("GET /hello/pipe" + kHost + "\r\n", "HTTP/1.1 200");
  expect_no_allocations(single, 2, 2000);
  expect_no_allocations(pipelined, 1, 300);
}

// Deferred responses (answered from a libev timer) and streamed ones (chunked, written from it).
TEST_F(WorkerAllocations, DeferredAndStreamedResponsesAllocateNothingWhenWarm) {
  examples::Timers timers;
  start(timers);
  Batch deferred[1];
  for (int i = 0; i < 10; ++i) deferred[0].add("GET /delay?ms=0" + kHost + "\r\n", "HTTP/1.1 200");
  Batch streamed[1];
  for (int i = 0; i < 4; ++i) {
    streamed[0].add("GET /ticks?n=3&ms=0" + kHost + "\r\n", "HTTP/1.1 200");
  }
  expect_no_allocations(deferred, 1, 1000);  // 10,000 deferred responses
  expect_no_allocations(streamed, 1, 250);   // 1,000 streamed responses
}

// The compute example: answers at once and from its timer, in one piece and streamed (64 KiB),
// to GET and HEAD, pipelined; its records and its piece buffer are reused.
TEST_F(WorkerAllocations, ComputeHandlerAllocatesNothingWhenWarm) {
  examples::Compute compute;
  start(compute);
  Batch batch[1];
  batch[0].add("GET /compute?key=now&len=1000" + kHost + "\r\n", "HTTP/1.1 200");
  batch[0].add("GET /compute?key=later&ms=1&len=5000" + kHost + "\r\n", "HTTP/1.1 200");
  batch[0].add("HEAD /compute?key=head&len=5000" + kHost + "\r\n", "HTTP/1.1 200", true);
  batch[0].add("GET /compute?key=big&ms=1&len=65536" + kHost + "\r\n", "HTTP/1.1 200");
  batch[0].add("GET /compute?ms=5" + kHost + "\r\n", "HTTP/1.1 400");
  batch[0].add("GET /other" + kHost + "\r\n", "HTTP/1.1 404");
  expect_no_allocations(batch, 1, 300);
}

// A 64 MiB chunked upload streamed through the checksum example's handler.
TEST_F(WorkerAllocations, StreamedRequestBodyAllocatesNothingWhenWarm) {
  examples::Checksum checksum;
  start(checksum);
  static char chunk[65536 + 16];
  const char kSizeLine[] = "10000\r\n";  // 65536 bytes a chunk
  size_t line = sizeof kSizeLine - 1;
  std::memcpy(chunk, kSizeLine, line);
  for (size_t i = 0; i < 65536; ++i) chunk[line + i] = static_cast<char>('a' + i % 26);
  std::memcpy(chunk + line + 65536, "\r\n", 2);
  const std::string_view one_chunk(chunk, line + 65536 + 2);
  const std::string head = "POST /upload" + kHost + "Transfer-Encoding: chunked\r\n\r\n";
  bool bodiless[] = {false};
  const char* expect[] = {"HTTP/1.1 200"};
  auto upload = [&](int chunks) {
    if (!send_all(client_, head)) return -1;
    for (int i = 0; i < chunks; ++i) {
      if (!send_all(client_, one_chunk)) return -1;
    }
    if (!send_all(client_, "0\r\n\r\n")) return -1;
    return read_responses(client_, buffer_, sizeof buffer_, 1, bodiless, expect);
  };
  std::memset(buffer_, 0, sizeof buffer_);  // what is read stays NUL-terminated
  ASSERT_EQ(upload(16), 1);                 // warm-up: 1 MiB
  long allocations = 0;
  {
    AllocationWindow window;
    ASSERT_EQ(upload(1024), 1);  // 64 MiB
    allocations = window.allocations();
  }
  std::printf("streamed 64 MiB, allocations: %ld\n", allocations);
  EXPECT_NE(std::strstr(buffer_, "bytes=67108864\n"), nullptr) << buffer_;
  EXPECT_EQ(allocations, 0);
}

// A GCRA table in private, 64-byte aligned memory.
struct PrivateRateTable {
  explicit PrivateRateTable(uint32_t slots)
      : bytes((shm::RateTable::bytes_for(slots) + 63) / 64 * 64),
        memory(static_cast<char*>(std::aligned_alloc(64, bytes)), &std::free),
        table(*shm::RateTable::create(memory.get(), bytes, slots, {0x1234, 0x5678},
                                      shm::monotonic_us())) {}
  size_t bytes;
  std::unique_ptr<char, void (*)(void*)> memory;
  shm::RateTable table;
};

// The access stage in front of the handler: the client behind a trusted proxy
// (X-Forwarded-For from loopback), RateLimit fields, and three zones: one that never refuses,
// one that refuses every request to its path after the first, one that delays pipelined requests
// on the worker's timer. Passed, refused (429 + Retry-After) and delayed requests allocate
// nothing.
TEST_F(WorkerAllocations, AccessStageAllocatesNothingWhenWarm) {
  handlers::access::AccessOptions options;
  std::string error;
  for (const char* rule : {"zone=open rate=1000r/m burst=100000 nodelay",
                           "zone=strict rate=1r/h nodelay path=/hello/limited",
                           "zone=paced rate=5000r/s burst=100000 path=/hello/paced"}) {
    handlers::access::LimitReqSpec spec;
    ASSERT_TRUE(handlers::access::parse_limit_req(rule, &spec, &error)) << rule << ": " << error;
    options.limit_req.push_back(spec);
  }
  for (const char* block : {"127.0.0.0/8", "::1"}) {
    handlers::common::Cidr cidr;
    ASSERT_TRUE(handlers::common::parse_cidr(block, &cidr, &error)) << error;
    options.real_ip_from.push_back(cidr);
  }
  options.limit_req_headers = true;
  PrivateRateTable tables[3] = {PrivateRateTable(1024), PrivateRateTable(1024),
                                PrivateRateTable(1024)};
  static shm::ZoneCounters counters[3];
  handlers::access::AccessStage stage(options, {tables[0].table, tables[1].table, tables[2].table},
                                      {&counters[0], &counters[1], &counters[2]}, nullptr);
  examples::Hello hello;
  start(hello, nullptr, nullptr, &stage);
  const std::string forwarded = kHost + "X-Forwarded-For: 203.0.113.7, 127.0.0.1\r\n\r\n";
  // The strict zone's one request of the hour, before anything is counted.
  ASSERT_TRUE(send_all(client_, "GET /hello/limited" + forwarded));
  bool bodiless[] = {false};
  const char* expect[] = {"HTTP/1.1 200"};
  ASSERT_EQ(read_responses(client_, buffer_, sizeof buffer_, 1, bodiless, expect), 1);
  ASSERT_NE(std::strstr(buffer_, ", \"strict\";q=1;w=3600\r\nRateLimit: \"open\";r="), nullptr)
      << buffer_;

  Batch single[3];
  single[0].add("GET /hello/world" + forwarded, "HTTP/1.1 200");
  single[1].add("GET /hello/limited" + forwarded, "HTTP/1.1 429");
  single[2].add("GET /hello/plain" + kHost + "\r\n", "HTTP/1.1 200");
  Batch pipelined[1];
  for (int i = 0; i < 4; ++i) {
    pipelined[0].add("GET /hello/pipe" + forwarded, "HTTP/1.1 200");
    pipelined[0].add("GET /hello/limited" + forwarded, "HTTP/1.1 429");
    pipelined[0].add("GET /hello/paced" + forwarded, "HTTP/1.1 200");
    pipelined[0].add("GET /hello/paced" + forwarded, "HTTP/1.1 200");
  }
  expect_no_allocations(single, 3, 1000);
  expect_no_allocations(pipelined, 1, 200);
  // Every zone did its part: the limited path was refused, the paced one was delayed.
  EXPECT_GT(counters[1].table.refused, 1000u);
  EXPECT_EQ(counters[1].table.passed, 1u);
  EXPECT_GT(counters[2].table.delayed, 0u);
  EXPECT_EQ(counters[0].table.refused, 0u);
  EXPECT_GT(counters[0].table.passed, 3000u);
  // Keyed by the forwarded client (203.0.113.7) and by loopback (the plain requests).
  EXPECT_EQ(tables[0].table.live_entries(shm::monotonic_us()), 2u);
  EXPECT_EQ(tables[1].table.live_entries(shm::monotonic_us()), 1u);
}

// Gathers bodies whole and answers their length and the sum of their bytes.
class GatherHandler : public Handler {
 public:
  BodyMode body_mode(const RequestView&) override { return BodyMode::kGather; }
  void handle(const RequestView& request, Response& response) override {
    uint64_t sum = 0;
    for (char c : request.body()) sum += static_cast<unsigned char>(c);
    char text[64];
    int n = std::snprintf(text, sizeof text, "%zu %llu\n", request.body().size(),
                          static_cast<unsigned long long>(sum));
    response.send(200, "text/plain", {text, static_cast<size_t>(n)});
  }
};

// Bodies larger than the input block are gathered into the worker's body blocks.
TEST_F(WorkerAllocations, GatheredBodiesLargerThanTheInputBlockAllocateNothingWhenWarm) {
  GatherHandler handler;
  start(handler);
  const std::string big(200 * 1024, 'g');
  std::string chunked_big;
  for (size_t at = 0; at < big.size(); at += 10000) {
    std::string piece = big.substr(at, 10000);
    char size_line[16];
    std::snprintf(size_line, sizeof size_line, "%zx\r\n", piece.size());
    chunked_big += size_line + piece + "\r\n";
  }
  chunked_big += "0\r\n\r\n";
  Batch batches[3];
  batches[0].add(
      "POST /big" + kHost + "Content-Length: " + std::to_string(big.size()) + "\r\n\r\n" + big,
      "HTTP/1.1 200");
  batches[1].add("POST /chunked" + kHost + "Transfer-Encoding: chunked\r\n\r\n" + chunked_big,
                 "HTTP/1.1 200");
  batches[2].add("POST /small" + kHost + "Content-Length: 5\r\n\r\nsmall", "HTTP/1.1 200");
  batches[2].add("POST /small" + kHost + "Content-Length: 5\r\n\r\nsmall", "HTTP/1.1 200");
  // The handler saw each body whole: 204,800 bytes of 'g' (103) sum to 21,094,400.
  for (int b = 0; b < 2; ++b) {
    std::memset(buffer_, 0, sizeof buffer_);  // what is read stays NUL-terminated
    ASSERT_EQ(run(&batches[b], 1, 1), 1);
    EXPECT_NE(std::strstr(buffer_, "\r\n\r\n204800 21094400\n"), nullptr) << buffer_;
  }
  expect_no_allocations(batches, 3, 100);
}

// The counter sees the worker's thread: a handler that allocates is caught.
class AllocatingHandler : public Handler {
 public:
  void handle(const RequestView& request, Response& response) override {
    std::string text = "you asked for " + std::string(request.path()) + std::string(64, '.');
    response.send(200, "text/plain", text);
  }
};

TEST_F(WorkerAllocations, CountsAllocationsInTheWorkerThread) {
  AllocatingHandler handler;
  start(handler);
  Batch batch[1];
  batch[0].add("GET /x" + kHost + "\r\n", "HTTP/1.1 200");
  ASSERT_EQ(run(batch, 1, 20), 20);
  AllocationWindow window;
  ASSERT_EQ(run(batch, 1, 100), 100);
  EXPECT_GE(window.allocations(), 100);
}

}  // namespace
}  // namespace zhttp::test
