// The checksum, timers and hello examples as users run them: real processes on loopback ports,
// raw sockets (and curl) talking to them. Times are checked from below only (a response never
// comes sooner than it should), with generous overall deadlines: the machine may be busy.
#include <gtest/gtest.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/wait.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "server_process.hpp"
#include "socket_util.hpp"

namespace zhttp::test {
namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// --- responses ----------------------------------------------------------------------------------

struct Parsed {
  int status = 0;
  std::string head;                 // status line and fields, without the final CRLFCRLF
  std::string body;                 // decoded
  std::vector<std::string> chunks;  // a chunked body's chunks, in order
  std::vector<size_t> chunk_ends;   // where each chunk ends in the raw bytes
  bool chunked = false;

  // The value of the first field `name` (exact case), or "" when absent.
  std::string field(std::string_view name) const {
    std::string key = "\r\n" + std::string(name) + ": ";
    size_t at = head.find(key);
    if (at == std::string::npos) return "";
    size_t from = at + key.size();
    return head.substr(from, head.find("\r\n", from) - from);
  }
};

// One response at the start of `raw`: its length in bytes once complete, 0 while more is needed,
// std::string::npos when it is malformed. 1xx responses have no body; others have Content-Length
// or the chunked coding (without trailers).
size_t parse_response(std::string_view raw, Parsed* out) {
  constexpr size_t kBad = std::string::npos;
  size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return 0;
  Parsed r;
  r.head = std::string(raw.substr(0, head_end));
  if (r.head.compare(0, 9, "HTTP/1.1 ") != 0 || r.head.size() < 12) return kBad;
  r.status = std::atoi(r.head.c_str() + 9);
  size_t pos = head_end + 4;
  if (r.status / 100 == 1) {
    *out = std::move(r);
    return pos;
  }
  if (r.field("Transfer-Encoding") == "chunked") {
    r.chunked = true;
    for (;;) {
      size_t eol = raw.find("\r\n", pos);
      if (eol == std::string_view::npos) return 0;
      std::string size_line(raw.substr(pos, eol - pos));
      char* end = nullptr;
      unsigned long long size = std::strtoull(size_line.c_str(), &end, 16);
      if (size_line.empty() || *end != '\0') return kBad;
      pos = eol + 2;
      if (size == 0) {
        if (raw.size() < pos + 2) return 0;
        if (raw.substr(pos, 2) != "\r\n") return kBad;
        *out = std::move(r);
        return pos + 2;
      }
      if (raw.size() < pos + size + 2) return 0;
      if (raw.substr(pos + size, 2) != "\r\n") return kBad;
      r.chunks.emplace_back(raw.substr(pos, size));
      r.body += r.chunks.back();
      r.chunk_ends.push_back(pos + size);
      pos += size + 2;
    }
  }
  std::string length = r.field("Content-Length");
  if (length.empty()) return kBad;
  size_t n = std::stoull(length);
  if (raw.size() < pos + n) return 0;
  r.body = std::string(raw.substr(pos, n));
  *out = std::move(r);
  return pos + n;
}

// A blocking loopback client with TCP_NODELAY (so split sends leave as separate segments).
class Client {
 public:
  explicit Client(uint16_t port) : fd_(connect_loopback(port)) {
    int one = 1;
    if (fd_ >= 0) ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client() { close(); }

  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  bool send(std::string_view bytes) { return send_all(fd_, bytes); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // The next response (status 0 when none came complete within `seconds`); bytes after it stay
  // for the next call.
  Parsed read_response(double seconds = 10) {
    Parsed r;
    size_t used = 0;
    auto complete = [&](const std::string& got) {
      used = parse_response(got, &r);
      return used != 0;
    };
    if (!complete(pending_)) {
      std::string more = read_until(
          fd_, [&](const std::string& got) { return complete(pending_ + got); }, seconds);
      pending_ += more;
    }
    if (used == 0 || used == std::string::npos) return Parsed{};
    pending_.erase(0, used);
    return r;
  }
  const std::string& pending() const { return pending_; }

 private:
  int fd_;
  std::string pending_;
};

// --- bodies -------------------------------------------------------------------------------------

std::string random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = random();
    std::memcpy(s.data() + i, &v, std::min<size_t>(8, n - i));
  }
  return s;
}

unsigned long crc_of(std::string_view bytes, unsigned long crc = crc32_z(0, nullptr, 0)) {
  return crc32_z(crc, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size());
}

std::string checksum_answer(unsigned long crc, uint64_t bytes) {
  char text[64];
  std::snprintf(text, sizeof text, "crc32=%08lx bytes=%llu\n", crc,
                static_cast<unsigned long long>(bytes));
  return text;
}

std::string chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + std::string(data) + "\r\n";
}

// `data` in the chunked coding, chunk sizes taken in turn from `sizes`.
std::string chunked(std::string_view data, const std::vector<size_t>& sizes) {
  std::string out;
  for (size_t i = 0; !data.empty(); ++i) {
    size_t n = std::min(sizes[i % sizes.size()], data.size());
    out += chunk(data.substr(0, n));
    data.remove_prefix(n);
  }
  return out + "0\r\n\r\n";
}

// Sends `bytes` in pieces whose sizes are taken in turn from `pieces` (not aligned with chunks).
bool send_in_pieces(Client& c, std::string_view bytes, const std::vector<size_t>& pieces) {
  for (size_t i = 0; !bytes.empty(); ++i) {
    size_t n = std::min(pieces[i % pieces.size()], bytes.size());
    if (!c.send(bytes.substr(0, n))) return false;
    bytes.remove_prefix(n);
  }
  return true;
}

// VmRSS of `pid` in KiB, or -1.
long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

// Sends `total` requests that are never finished, `batch` at a time, each on its own connection
// closed at once; after each batch, a request on a fresh connection (answered with
// `probe_status`) shows the server has seen those closes. More than the handler's pool of
// per-request states (4096): a state not given back on abort would run the pool dry.
void abandon_requests(uint16_t port, int total, const std::function<std::string(int)>& request,
                      const std::string& probe, int probe_status) {
  constexpr int kBatch = 200;
  for (int done = 0; done < total; done += kBatch) {
    std::vector<std::unique_ptr<Client>> batch;
    for (int i = done; i < std::min(total, done + kBatch); ++i) {
      batch.push_back(std::make_unique<Client>(port));
      ASSERT_TRUE(batch.back()->ok()) << i;
      ASSERT_TRUE(batch.back()->send(request(i))) << i;
    }
    batch.clear();
    Client c(port);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.send(probe));
    ASSERT_EQ(c.read_response().status, probe_status) << "after " << done + kBatch;
  }
}

// --- checksum -----------------------------------------------------------------------------------

class ExamplesChecksum : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(server_.start(ServerOptions::example("checksum")))
        << "checksum did not start";
  }
  uint16_t port() const { return server_.port(); }

  ServerProcess server_{"zhttp-example"};
};

TEST_F(ExamplesChecksum, ChunkedUploadWithSplitHeadThenContentLengthOnOneConnection) {
  Client c(port());
  ASSERT_TRUE(c.ok());
  // A head that arrives a byte at a time.
  std::string head = "PUT /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (char ch : head) {
    ASSERT_TRUE(c.send({&ch, 1}));
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // A few MiB of pseudo-random bytes in chunks of many sizes, sent in pieces of other sizes.
  std::string data = random_bytes((3 << 20) + 12345, 1);
  std::string body = chunked(data, {1, 2, 3, 100, 4095, 4096, 4097, 32768, 65536, 1 << 20, 7});
  ASSERT_TRUE(send_in_pieces(c, body, {1, 5, 1000, 70000, 3, 300000}));
  Parsed r = c.read_response();
  ASSERT_EQ(r.status, 200) << r.head;
  EXPECT_EQ(r.body, checksum_answer(crc_of(data), data.size()));
  EXPECT_EQ(r.field("Content-Type"), "text/plain");
  EXPECT_EQ(r.field("Connection"), "");

  // The same connection: a body with Content-Length, then an empty one.
  std::string second = random_bytes((1 << 20) + 1, 2);
  ASSERT_TRUE(c.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                     std::to_string(second.size()) + "\r\n\r\n"));
  ASSERT_TRUE(send_in_pieces(c, second, {65536, 1, 17}));
  r = c.read_response();
  ASSERT_EQ(r.status, 200) << r.head;
  EXPECT_EQ(r.body, checksum_answer(crc_of(second), second.size()));

  ASSERT_TRUE(c.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"));
  r = c.read_response();
  ASSERT_EQ(r.status, 200) << r.head;
  EXPECT_EQ(r.body, "crc32=00000000 bytes=0\n");
}

TEST_F(ExamplesChecksum, ContentLengthUploadInOneSend) {
  std::string data = random_bytes(2 << 20, 3);
  Client c(port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.send("POST /sum HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                     std::to_string(data.size()) + "\r\n\r\n" + data));
  Parsed r = c.read_response();
  ASSERT_EQ(r.status, 200) << r.head;
  EXPECT_EQ(r.body, checksum_answer(crc_of(data), data.size()));
}

TEST_F(ExamplesChecksum, ExpectContinueGets100BeforeTheAnswer) {
  Client c(port());
  ASSERT_TRUE(c.ok());
  std::string data = random_bytes(100000, 4);
  ASSERT_TRUE(c.send("PUT /sum HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: " +
                     std::to_string(data.size()) + "\r\n\r\n"));
  Parsed interim = c.read_response();
  ASSERT_EQ(interim.status, 100) << interim.head;
  EXPECT_EQ(interim.head, "HTTP/1.1 100 Continue");
  EXPECT_EQ(c.pending(), "");  // nothing else before the body is sent
  ASSERT_TRUE(c.send(data));
  Parsed r = c.read_response();
  ASSERT_EQ(r.status, 200) << r.head;
  EXPECT_EQ(r.body, checksum_answer(crc_of(data), data.size()));

  // Chunked, on the same connection.
  ASSERT_TRUE(
      c.send("POST /sum HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nTransfer-Encoding: "
             "chunked\r\n\r\n"));
  interim = c.read_response();
  ASSERT_EQ(interim.status, 100) << interim.head;
  ASSERT_TRUE(c.send(chunked(data, {999, 10000})));
  r = c.read_response();
  ASSERT_EQ(r.status, 200) << r.head;
  EXPECT_EQ(r.body, checksum_answer(crc_of(data), data.size()));
}

TEST_F(ExamplesChecksum, OtherMethodsGet405AndTheConnectionStaysUsable) {
  Client c(port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
  Parsed r = c.read_response();
  ASSERT_EQ(r.status, 405) << r.head;
  EXPECT_EQ(r.field("Allow"), "POST, PUT");
  EXPECT_EQ(r.field("Content-Type"), "text/plain");
  EXPECT_EQ(r.field("Connection"), "");
  // A body sent with another method is read and thrown away.
  ASSERT_TRUE(c.send("DELETE /x HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123456789"));
  r = c.read_response();
  ASSERT_EQ(r.status, 405) << r.head;
  ASSERT_TRUE(c.send("PUT /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"));
  r = c.read_response();
  ASSERT_EQ(r.status, 200) << r.head;
  EXPECT_EQ(r.body, checksum_answer(crc_of("hello"), 5));
}

TEST_F(ExamplesChecksum, CurlChunkedUploadFromAPipe) {
  std::string data = random_bytes(20 << 20, 5);
  int in[2], out[2];
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  std::string url = "http://" + server_.address() + "/upload";
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::execlp("curl", "curl", "--noproxy", "*", "-sS", "--max-time", "60", "-T", "-", "-H",
             "Transfer-Encoding: chunked", url.c_str(), nullptr);
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::signal(SIGPIPE, SIG_IGN);  // should curl die, writing fails instead of killing the test
  std::thread writer([&] {
    std::string_view rest = data;
    while (!rest.empty()) {
      ssize_t n = ::write(in[1], rest.data(), std::min<size_t>(rest.size(), 100000));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      rest.remove_prefix(static_cast<size_t>(n));
    }
    ::close(in[1]);
  });
  std::string answer;
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    answer.append(buf, static_cast<size_t>(n));
  }
  ::close(out[0]);
  writer.join();
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(answer, checksum_answer(crc_of(data), data.size()));
}

TEST_F(ExamplesChecksum, StatesComeBackWhenUploadsAreAbandonedOrMalformed) {
  const std::string head = "PUT /u HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  auto request = [&](int i) {
    // Closed mid-body (the client went away), or a malformed chunk (400).
    return head + (i % 2 == 0 ? "10\r\nsixteen bytes..." : "5\r\nhello\r\nzz\r\n");
  };
  ASSERT_NO_FATAL_FAILURE(
      abandon_requests(port(), 4400, request, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", 405));
  Client c(port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.send(head + chunked("hello", {5})));
  Parsed r = c.read_response();
  ASSERT_EQ(r.status, 200) << r.head;  // not 503
  EXPECT_EQ(r.body, checksum_answer(crc_of("hello"), 5));
}

TEST_F(ExamplesChecksum, MemoryStaysFlatOverA256MiBUpload) {
  Client c(port());
  ASSERT_TRUE(c.ok());
  // Warm up: a first upload touches whatever buffers a request uses.
  std::string block = random_bytes(1 << 20, 6);
  ASSERT_TRUE(c.send("PUT /warm HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(c.send(chunk(block)));
  ASSERT_TRUE(c.send("0\r\n\r\n"));
  ASSERT_EQ(c.read_response().status, 200);
  const long before = rss_kib(server_.pid());
  ASSERT_GT(before, 0);

  constexpr int kMiB = 256;
  ASSERT_TRUE(c.send("PUT /big HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
  unsigned long crc = crc_of("");
  long peak = before;
  for (int i = 0; i < kMiB; ++i) {
    std::memcpy(block.data(), &i, sizeof i);  // every MiB differs
    crc = crc_of(block, crc);
    ASSERT_TRUE(c.send(chunk(block)));
    if (i % 16 == 0) peak = std::max(peak, rss_kib(server_.pid()));
  }
  ASSERT_TRUE(c.send("0\r\n\r\n"));
  Parsed r = c.read_response(60);
  peak = std::max(peak, rss_kib(server_.pid()));
  ASSERT_EQ(r.status, 200) << r.head;
  EXPECT_EQ(r.body, checksum_answer(crc, uint64_t{kMiB} << 20));
  EXPECT_LT(peak - before, 4096) << "VmRSS " << before << " KiB before, " << peak << " KiB at most";
}

// --- timers -------------------------------------------------------------------------------------

class ExamplesTimers : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(server_.start(ServerOptions::example("timers")))
        << "timers did not start";
  }
  uint16_t port() const { return server_.port(); }

  ServerProcess server_{"zhttp-example"};
};

TEST_F(ExamplesTimers, HundredConcurrentDelaysAllComeNoSooner) {
  constexpr int kClients = 100;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<Client>(port()));
    ASSERT_TRUE(clients.back()->ok()) << i;
  }
  std::vector<Clock::time_point> sent(kClients), first_byte(kClients);
  std::vector<std::string> got(kClients);
  std::vector<bool> done(kClients, false);
  for (int i = 0; i < kClients; ++i) {
    sent[i] = Clock::now();
    ASSERT_TRUE(clients[i]->send("GET /delay?ms=200 HTTP/1.1\r\nHost: t\r\n\r\n"));
  }
  auto deadline = Clock::now() + std::chrono::seconds(10);
  int left = kClients;
  while (left > 0 && Clock::now() < deadline) {
    std::vector<pollfd> fds;
    std::vector<int> which;
    for (int i = 0; i < kClients; ++i) {
      if (done[i]) continue;
      fds.push_back({clients[i]->fd(), POLLIN, 0});
      which.push_back(i);
    }
    if (::poll(fds.data(), static_cast<nfds_t>(fds.size()), 100) < 0) break;
    for (size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents == 0) continue;
      int i = which[k];
      char buf[4096];
      ssize_t n = ::recv(fds[k].fd, buf, sizeof buf, 0);
      if (n <= 0) {
        done[i] = true;  // closed: checked below
        --left;
        continue;
      }
      if (got[i].empty()) first_byte[i] = Clock::now();
      got[i].append(buf, static_cast<size_t>(n));
      Parsed r;
      size_t used = parse_response(got[i], &r);
      if (used != 0) {
        done[i] = true;
        --left;
      }
    }
  }
  ASSERT_EQ(left, 0) << "not all answered within 10 s";
  for (int i = 0; i < kClients; ++i) {
    Parsed r;
    ASSERT_EQ(parse_response(got[i], &r), got[i].size()) << i << ": " << got[i];
    EXPECT_EQ(r.status, 200) << i;
    EXPECT_EQ(r.body, "ok\n") << i;
    EXPECT_GE(ms_between(sent[i], first_byte[i]), 200) << i;
  }
}

TEST_F(ExamplesTimers, PipelinedDelaysAreAnsweredInOrder) {
  Client c(port());
  ASSERT_TRUE(c.ok());
  Clock::time_point sent = Clock::now();
  ASSERT_TRUE(
      c.send("GET /delay?ms=300 HTTP/1.1\r\nHost: t\r\n\r\n"
             "GET /delay?ms=0 HTTP/1.1\r\nHost: t\r\n\r\n"
             "GET /delay?ms=x HTTP/1.1\r\nHost: t\r\n\r\n"));
  // Nothing comes before the first request's 300 ms: the later ones wait behind it.
  pollfd p{c.fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10000), 1);
  EXPECT_GE(ms_between(sent, Clock::now()), 300);
  Parsed first = c.read_response();
  Parsed second = c.read_response();
  Parsed third = c.read_response();
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, "ok\n");
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.body, "ok\n");
  EXPECT_EQ(third.status, 400);
}

// Regression: a response completed from a timer carried the Date of the request's arrival (the
// connection's clock moved only with its own events).
TEST_F(ExamplesTimers, DeferredResponseIsDatedWhenItIsSent) {
  auto date_of = [](const Parsed& r) {
    tm t{};
    std::string d = r.field("Date");
    EXPECT_NE(strptime(d.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &t), nullptr) << d;
    return timegm(&t);
  };
  Client late(port());
  Client now(port());
  ASSERT_TRUE(late.ok() && now.ok());
  ASSERT_TRUE(late.send("GET /delay?ms=2100 HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(now.send("GET /delay?ms=0 HTTP/1.1\r\nHost: t\r\n\r\n"));
  Parsed at_once = now.read_response();
  Parsed later = late.read_response();
  ASSERT_EQ(at_once.status, 200);
  ASSERT_EQ(later.status, 200);
  EXPECT_GE(date_of(later) - date_of(at_once), 2) << later.head << "\n" << at_once.head;
}

TEST_F(ExamplesTimers, TicksArriveOverTime) {
  Client c(port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.send("GET /ticks?n=5&ms=200 HTTP/1.1\r\nHost: t\r\n\r\n"));
  // Every read, timestamped: a chunk arrived when the read holding its last byte returned.
  std::string raw;
  std::vector<std::pair<size_t, Clock::time_point>> reads;  // bytes so far, and when
  Parsed r;
  size_t used = 0;
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (used == 0 && Clock::now() < deadline) {
    pollfd p{c.fd(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
    reads.emplace_back(raw.size(), Clock::now());
    used = parse_response(raw, &r);
  }
  ASSERT_NE(used, 0u) << "no complete response within 10 s: " << raw;
  ASSERT_NE(used, std::string::npos) << raw;
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.chunked);
  EXPECT_EQ(r.field("Content-Type"), "text/plain");
  EXPECT_EQ(r.body, "tick 1\ntick 2\ntick 3\ntick 4\ntick 5\n");
  ASSERT_EQ(r.chunks.size(), 5u);
  auto arrival = [&](size_t end) {
    for (const auto& [bytes, when] : reads) {
      if (bytes >= end) return when;
    }
    return reads.back().second;
  };
  // Five ticks 200 ms apart: the first and the last are 800 ms apart (at least 600 asserted).
  EXPECT_GE(ms_between(arrival(r.chunk_ends.front()), arrival(r.chunk_ends.back())), 600);
}

TEST_F(ExamplesTimers, ClientsThatLeaveDoNotDisturbTheNext) {
  {
    Client gone(port());
    ASSERT_TRUE(gone.ok());
    ASSERT_TRUE(gone.send("GET /delay?ms=5000 HTTP/1.1\r\nHost: t\r\n\r\n"));
    Client streaming(port());
    ASSERT_TRUE(streaming.ok());
    ASSERT_TRUE(streaming.send("GET /ticks?n=1000&ms=20 HTTP/1.1\r\nHost: t\r\n\r\n"));
    std::string first = read_until(
        streaming.fd(), [](const std::string& s) { return s.find("tick 2\n") != s.npos; }, 10);
    ASSERT_NE(first.find("tick 2\n"), std::string::npos) << first;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }                                                             // both close mid-response
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the ticks timer would fire

  Client next(port());
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(next.send("GET /delay?ms=0 HTTP/1.1\r\nHost: t\r\n\r\n"));
  Parsed r = next.read_response();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
  ASSERT_TRUE(next.send("GET /ticks?n=3&ms=10 HTTP/1.1\r\nHost: t\r\n\r\n"));
  r = next.read_response();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "tick 1\ntick 2\ntick 3\n");
}

TEST_F(ExamplesTimers, TimersComeBackWhenClientsLeave) {
  auto request = [](int i) {
    return std::string(i % 2 == 0 ? "GET /delay?ms=30000" : "GET /ticks?n=1000&ms=30000") +
           " HTTP/1.1\r\nHost: t\r\n\r\n";
  };
  ASSERT_NO_FATAL_FAILURE(
      abandon_requests(port(), 4400, request, "GET /delay?ms=0 HTTP/1.1\r\nHost: t\r\n\r\n", 200));
}

TEST_F(ExamplesTimers, BadRequestsAndOtherPathsAndMethods) {
  Client c(port());
  ASSERT_TRUE(c.ok());
  for (std::string_view target :
       {"/delay", "/delay?ms=", "/delay?ms=-1", "/delay?ms=1e3", "/delay?ms=30001", "/ticks?n=3",
        "/ticks?ms=3", "/ticks?n=1001&ms=1", "/ticks?n=x&ms=1"}) {
    ASSERT_TRUE(c.send("GET " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n\r\n"));
    EXPECT_EQ(c.read_response().status, 400) << target;
  }
  ASSERT_TRUE(c.send("GET /ticks?n=0&ms=0 HTTP/1.1\r\nHost: t\r\n\r\n"));
  Parsed empty = c.read_response();
  EXPECT_EQ(empty.status, 200);
  EXPECT_TRUE(empty.chunked);
  EXPECT_EQ(empty.body, "");
  ASSERT_TRUE(c.send("GET /elsewhere HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_EQ(c.read_response().status, 404);
  ASSERT_TRUE(c.send("POST /delay?ms=0 HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"));
  Parsed post = c.read_response();
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.field("Allow"), "GET");
  ASSERT_TRUE(c.send("GET /delay?ms=1&ms=x HTTP/1.1\r\nHost: t\r\n\r\n"));  // the first wins
  EXPECT_EQ(c.read_response().status, 200);
}

TEST_F(ExamplesTimers, SigtermWithTimersPendingStopsCleanly) {
  Client waiting(port());
  Client streaming(port());
  ASSERT_TRUE(waiting.ok() && streaming.ok());
  ASSERT_TRUE(waiting.send("GET /delay?ms=5000 HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(streaming.send("GET /ticks?n=1000&ms=50 HTTP/1.1\r\nHost: t\r\n\r\n"));
  std::string first = read_until(
      streaming.fd(), [](const std::string& s) { return s.find("tick 1\n") != s.npos; }, 10);
  ASSERT_NE(first.find("tick 1\n"), std::string::npos) << first;
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the delay has been handled
  int status = server_.stop(SIGTERM, 10);
  ASSERT_NE(status, ServerProcess::kStillRunning) << "still running 10 s after SIGTERM";
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  bool closed = false;
  std::string rest = read_until(
      waiting.fd(), [](const std::string&) { return false; }, 5, &closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(rest, "");  // stopped at once: no answer
}

// --- the command line ---------------------------------------------------------------------------

TEST(ExamplesCommandLine, EveryExampleTakesListen) {
  for (std::string_view form : {"--listen", "--listen="}) {
    std::vector<std::string> args = form == "--listen"
                                        ? std::vector<std::string>{"--listen", "{address}"}
                                        : std::vector<std::string>{"--listen={address}"};
    ServerProcess hello("zhttp-example"), checksum("zhttp-example"), timers("zhttp-example");
    ASSERT_NO_FATAL_FAILURE(hello.start(ServerOptions::example("hello", args))) << form;
    ASSERT_NO_FATAL_FAILURE(checksum.start(ServerOptions::example("checksum", args))) << form;
    ASSERT_NO_FATAL_FAILURE(timers.start(ServerOptions::example("timers", args))) << form;
    OneShotResponse r = get_once(hello.port(), "/hello/world");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "Hello, world!");
    EXPECT_EQ(get_once(checksum.port(), "/").status, 405);
    r = get_once(timers.port(), "/delay?ms=0");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "ok\n");
    for (ServerProcess* p : {&hello, &checksum, &timers}) {
      int status = p->stop(SIGTERM);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
  }
}

TEST(ExamplesCommandLine, UnknownArgumentsAreUsageErrors) {
  for (std::string name : {"hello", "checksum", "timers"}) {
    std::string binary = ZHTTP_BUILD_DIR "/examples/" + name;
    int status = std::system((binary + " --bogus 2>/dev/null").c_str());
    ASSERT_TRUE(WIFEXITED(status)) << name;
    EXPECT_EQ(WEXITSTATUS(status), 2) << name;
    status = std::system((binary + " --listen 2>/dev/null").c_str());
    EXPECT_EQ(WEXITSTATUS(status), 2) << name;
    status = std::system((binary + " --help >/dev/null").c_str());
    EXPECT_EQ(WEXITSTATUS(status), 0) << name;
  }
  // No example takes a bare address: --listen it is, as for zhttpd.
  for (std::string name : {"hello", "timers"}) {
    std::string binary = ZHTTP_BUILD_DIR "/examples/" + name;
    int status = std::system((binary + " 127.0.0.1:1 2>/dev/null").c_str());
    EXPECT_EQ(WEXITSTATUS(status), 2) << name;
  }
}

}  // namespace
}  // namespace zhttp::test
