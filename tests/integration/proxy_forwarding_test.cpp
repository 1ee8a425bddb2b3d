// The reverse proxy forwarding to real backends (issue 18, "Forwarding"): Python's http.server
// (HTTP/1.1) and gunicorn, each a process the test starts. What the backend sees of GET, HEAD and
// POST (a small gathered body, a 5 MB body streamed with its Content-Length, a chunked body
// framed again): Host as the client sent it, X-Forwarded-For appended to the client's,
// X-Forwarded-Proto, X-Forwarded-Host, Via, no hop-by-hop field, no Expect (zhttpd answers
// 100-continue itself). Routes: a prefix rewritten, the longest prefix winning, a host's own
// prefix, the paths no route takes served from --root as before, and unix-socket upstreams.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "proxy_fixture.hpp"

namespace zhttp::test::proxy {
namespace {

uint32_t crc32_of(std::string_view s) {
  return static_cast<uint32_t>(
      ::crc32(0, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
}

std::string random_body(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(gen() & 0xff);
  return s;
}

class ProxyForwarding : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(a_.start());
    ASSERT_NO_FATAL_FAILURE(b_.start());
    root_ = proxy_.path("root");
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
    ASSERT_NO_FATAL_FAILURE(write_file(root_ + "/hello.txt", "hello from the root\n"));
    ASSERT_NO_FATAL_FAILURE(proxy_.start({
        "--root",
        root_,
        "--upstream",
        "app " + a_.address(),
        "--proxy",
        "/app/=http://app",
        "--proxy",
        "/api/=http://app/",
        "--proxy",
        "/api/v2/=http://" + b_.address() + "/v2new/",
        "--proxy",
        "api.example.com/=http://" + b_.address(),
    }));
  }

  // One request on a connection of its own, its answer complete, and the backend's view of it.
  nlohmann::json echo_of(std::string_view request, Answer* out = nullptr) {
    Answer a = exchange(proxy_.port(), request);
    EXPECT_TRUE(a.complete) << a.raw << "\n" << proxy_.diagnostics();
    EXPECT_EQ(a.status, 200) << a.raw;
    if (out) *out = a;
    return backend_json(a.body);
  }

  PythonBackend a_{"a"};
  PythonBackend b_{"b"};
  Proxy proxy_;
  std::string root_;
};

TEST_F(ProxyForwarding, GetReachesTheBackendWithHostAndTheForwardingFieldsAndNoHopByHopField) {
  const std::string request =
      "GET /app/echo?x=1&y=%20z HTTP/1.1\r\n"
      "Host: www.example.org:8080\r\n"
      "User-Agent: proxy-test\r\n"
      "X-Forwarded-For: 203.0.113.7\r\n"
      "Via: 1.0 corp-proxy\r\n"
      "Connection: keep-alive, X-Secret-Hop\r\n"
      "X-Secret-Hop: must not pass\r\n"
      "Keep-Alive: timeout=5\r\n"
      "TE: trailers\r\n"
      "Proxy-Connection: keep-alive\r\n"
      "Upgrade: foo/1\r\n"
      "X-End-To-End: passes\r\n"
      "\r\n";
  Answer answer;
  nlohmann::json echo = echo_of(request, &answer);
  EXPECT_EQ(answer.field("X-Backend"), "a") << answer.head;
  EXPECT_EQ(echo.value("method", ""), "GET");
  EXPECT_EQ(echo.value("target", ""), "/app/echo?x=1&y=%20z");
  EXPECT_EQ(echo.value("version", ""), "HTTP/1.1");
  EXPECT_EQ(seen_fields(echo, "Host"), std::vector<std::string>{"www.example.org:8080"});
  EXPECT_EQ(seen_fields(echo, "User-Agent"), std::vector<std::string>{"proxy-test"});
  EXPECT_EQ(seen_fields(echo, "X-End-To-End"), std::vector<std::string>{"passes"});
  EXPECT_EQ(seen_fields(echo, "X-Forwarded-For"),
            std::vector<std::string>{"203.0.113.7, 127.0.0.1"});
  EXPECT_EQ(seen_fields(echo, "X-Forwarded-Proto"), std::vector<std::string>{"http"});
  EXPECT_EQ(seen_fields(echo, "X-Forwarded-Host"),
            std::vector<std::string>{"www.example.org:8080"});
  EXPECT_EQ(seen_fields(echo, "Via"), std::vector<std::string>{"1.0 corp-proxy, 1.1 zhttpd"});
  for (const char* hop : {"Connection", "X-Secret-Hop", "Keep-Alive", "TE", "Proxy-Connection",
                          "Upgrade", "Transfer-Encoding", "Content-Length", "Expect"}) {
    EXPECT_TRUE(seen_fields(echo, hop).empty()) << hop << " reached the backend: " << echo.dump();
  }

  // Without a client's X-Forwarded-For and Via: zhttpd's alone.
  echo = echo_of(get_request("/app/plain", "plain.example"));
  EXPECT_EQ(seen_fields(echo, "X-Forwarded-For"), std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(seen_fields(echo, "Via"), std::vector<std::string>{"1.1 zhttpd"});
  EXPECT_EQ(seen_fields(echo, "Host"), std::vector<std::string>{"plain.example"});
}

TEST_F(ProxyForwarding, AnHttp10RequestWithoutHostGetsTheGroupNameAsHost) {
  Client c(proxy_.port());
  ASSERT_TRUE(c.send("GET /app/old HTTP/1.0\r\nUser-Agent: old\r\n\r\n"));
  Answer a = c.read();
  ASSERT_TRUE(a.complete) << a.raw;
  EXPECT_EQ(a.status, 200);
  nlohmann::json echo = backend_json(a.body);
  EXPECT_EQ(echo.value("version", ""), "HTTP/1.1") << "the upstream request is HTTP/1.1";
  EXPECT_EQ(seen_fields(echo, "Host"), std::vector<std::string>{"app"});
  EXPECT_TRUE(seen_fields(echo, "X-Forwarded-Host").empty()) << echo.dump();
  EXPECT_EQ(seen_fields(echo, "Via"), std::vector<std::string>{"1.0 zhttpd"});
  EXPECT_TRUE(c.closed_within(5)) << "an HTTP/1.0 exchange without keep-alive ends";
}

TEST_F(ProxyForwarding, HeadHasNoBodyAndTheConnectionCarriesTheNextRequest) {
  Client c(proxy_.port());
  ASSERT_TRUE(c.send("HEAD /app/h HTTP/1.1\r\nHost: t\r\n\r\n"));
  Answer head = c.read(true);
  ASSERT_TRUE(head.complete) << head.raw;
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_TRUE(head.field("Content-Length").has_value()) << head.head;
  ASSERT_TRUE(c.send(get_request("/app/h")));
  Answer get = c.read();
  ASSERT_TRUE(get.complete) << get.raw;
  EXPECT_EQ(get.status, 200);
  nlohmann::json echo = backend_json(get.body);
  EXPECT_EQ(echo.value("method", ""), "GET") << get.raw;
  EXPECT_EQ(a_.hits("/app/h"), 2u);
}

TEST_F(ProxyForwarding, SmallPostBodyIsGatheredAndSentWithItsLength) {
  const std::string body = random_body(1000, 1);
  Answer answer;
  nlohmann::json echo = echo_of(
      "POST /app/form HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n"
      "Content-Type: application/octet-stream\r\n\r\n" +
          body,
      &answer);
  EXPECT_EQ(echo.value("method", ""), "POST");
  EXPECT_EQ(echo.value("body_len", 0u), 1000u);
  EXPECT_EQ(echo.value("body_crc32", 0u), crc32_of(body));
  EXPECT_EQ(seen_fields(echo, "Content-Length"), std::vector<std::string>{"1000"});
  EXPECT_TRUE(seen_fields(echo, "Transfer-Encoding").empty());
  EXPECT_EQ(seen_fields(echo, "Content-Type"),
            std::vector<std::string>{"application/octet-stream"});
}

TEST_F(ProxyForwarding, FiveMegabyteBodyIsStreamedWithItsContentLength) {
  constexpr size_t kSize = 5 * 1024 * 1024;
  const std::string body = random_body(kSize, 2);
  Client c(proxy_.port());
  ASSERT_TRUE(c.connected());
  // The client writes while zhttpd streams to the backend (it cannot hold it all).
  bool sent = false;
  std::thread writer([&] {
    sent =
        c.send("PUT /app/upload HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(kSize) +
               "\r\n\r\n") &&
        c.send(body);
  });
  Answer answer = c.read(false, 60);
  writer.join();
  EXPECT_TRUE(sent);
  ASSERT_TRUE(answer.complete) << answer.raw << "\n" << proxy_.diagnostics();
  ASSERT_EQ(answer.status, 200) << answer.raw;
  nlohmann::json echo = backend_json(answer.body);
  EXPECT_EQ(echo.value("method", ""), "PUT");
  EXPECT_EQ(echo.value("body_len", uint64_t{0}), kSize);
  EXPECT_EQ(echo.value("body_crc32", 0u), crc32_of(body));
  EXPECT_EQ(seen_fields(echo, "Content-Length"), std::vector<std::string>{std::to_string(kSize)});
  EXPECT_TRUE(seen_fields(echo, "Transfer-Encoding").empty());
  // The connection goes on.
  ASSERT_TRUE(c.send(get_request("/app/after")));
  Answer next = c.read();
  EXPECT_TRUE(next.complete && next.status == 200) << next.raw;
}

TEST_F(ProxyForwarding, ChunkedBodiesAreFramedAgainForTheBackend) {
  // A small one with an extension and a trailer, then 300 KB in 7 KB chunks (streamed).
  std::string small = "hello, chunked world";
  std::string request =
      "POST /app/chunks HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "6;ext=1\r\nhello,\r\n"
      "e\r\n chunked world\r\n"
      "0\r\nX-Trailer: t\r\n\r\n";
  Client c(proxy_.port());
  ASSERT_TRUE(c.send(request));
  Answer first = c.read();
  ASSERT_TRUE(first.complete) << first.raw << "\n" << proxy_.diagnostics();
  ASSERT_EQ(first.status, 200) << first.raw;
  nlohmann::json echo = backend_json(first.body);
  EXPECT_EQ(echo.value("body_len", 0u), small.size());
  EXPECT_EQ(echo.value("body_crc32", 0u), crc32_of(small));
  EXPECT_EQ(seen_fields(echo, "Transfer-Encoding"), std::vector<std::string>{"chunked"});
  EXPECT_TRUE(seen_fields(echo, "Content-Length").empty());

  const std::string big = random_body(300 * 1000, 3);
  bool sent = false;
  std::thread writer([&] {
    sent = c.send("POST /app/chunks HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (size_t at = 0; sent && at < big.size(); at += 7000) {
      std::string_view piece = std::string_view(big).substr(at, 7000);
      char size[16];
      std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
      sent = c.send(size) && c.send(piece) && c.send("\r\n");
    }
    sent = sent && c.send("0\r\n\r\n");
  });
  Answer second = c.read(false, 30);
  writer.join();
  EXPECT_TRUE(sent);
  ASSERT_TRUE(second.complete) << second.raw << "\n" << proxy_.diagnostics();
  ASSERT_EQ(second.status, 200) << second.raw;
  echo = backend_json(second.body);
  EXPECT_EQ(echo.value("body_len", 0u), big.size());
  EXPECT_EQ(echo.value("body_crc32", 0u), crc32_of(big));
  EXPECT_EQ(seen_fields(echo, "Transfer-Encoding"), std::vector<std::string>{"chunked"});
}

TEST_F(ProxyForwarding, ExpectContinueGetsItsHundredFromZhttpdAndNeverReachesTheBackend) {
  for (size_t size : {size_t{5000}, size_t{1024 * 1024}}) {  // gathered, then streamed
    SCOPED_TRACE("body of " + std::to_string(size) + " bytes");
    const std::string body = random_body(size, 4);
    Client c(proxy_.port());
    ASSERT_TRUE(
        c.send("POST /app/expect HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
               "Content-Length: " +
               std::to_string(size) + "\r\n\r\n"));
    Answer interim = c.read(false, 10);
    ASSERT_TRUE(interim.complete) << interim.raw;
    ASSERT_EQ(interim.status, 100) << interim.raw;
    bool sent = false;
    std::thread writer([&] { sent = c.send(body); });
    Answer answer = c.read(false, 30);
    writer.join();
    EXPECT_TRUE(sent);
    ASSERT_TRUE(answer.complete) << answer.raw;
    ASSERT_EQ(answer.status, 200) << answer.raw;
    nlohmann::json echo = backend_json(answer.body);
    EXPECT_EQ(echo.value("body_len", uint64_t{0}), size);
    EXPECT_EQ(echo.value("body_crc32", 0u), crc32_of(body));
    EXPECT_TRUE(seen_fields(echo, "Expect").empty()) << echo.dump();
  }
}

TEST_F(ProxyForwarding, PrefixIsRewrittenTheLongestWinsAndAHostHasItsOwnRoutes) {
  struct Case {
    std::string host, target, backend, seen;
  };
  const std::vector<Case> cases = {
      {"t", "/api/users?id=3", "a", "/users?id=3"},          // /api/ -> /
      {"t", "/api/", "a", "/"},                              //
      {"t", "/api/v2/items?q=1", "b", "/v2new/items?q=1"},   // the longer /api/v2/ wins
      {"t", "/api/v2x", "a", "/v2x"},                        // not under /api/v2/
      {"t", "/app/x", "a", "/app/x"},                        // no /PATH: as it came
      {"api.example.com", "/anything", "b", "/anything"},    // the host's own route
      {"API.Example.COM:8080", "/other", "b", "/other"},     // any case, any port
      {"api.example.com", "/api/users", "b", "/api/users"},  // the host's route first
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.host + c.target);
    Answer answer;
    nlohmann::json echo = echo_of(get_request(c.target, c.host), &answer);
    EXPECT_EQ(answer.field("X-Backend"), c.backend) << answer.head;
    EXPECT_EQ(echo.value("target", ""), c.seen);
    EXPECT_EQ(seen_fields(echo, "Host"), std::vector<std::string>{c.host});
  }
}

TEST_F(ProxyForwarding, LargeAnswersAreStreamedToTheClientWhole) {
  // 5 MB, more than zhttpd holds: streamed with its Content-Length; then HEAD of it; then the
  // connection goes on.
  Client c(proxy_.port());
  ASSERT_TRUE(c.send(get_request("/app/big?bytes=5000000")));
  Answer big = c.read(false, 30);
  ASSERT_TRUE(big.complete) << big.raw.substr(0, 300) << "\n" << proxy_.diagnostics();
  EXPECT_EQ(big.status, 200);
  EXPECT_EQ(big.field("Content-Length"), "5000000") << big.head;
  ASSERT_EQ(big.body.size(), 5000000u);
  std::string pattern;
  for (int i = 0; i < 16; ++i) {
    for (int ch = 33; ch < 127; ++ch) pattern += static_cast<char>(ch);
  }
  bool same = true;
  for (size_t at = 0; at < big.body.size() && same; at += pattern.size()) {
    same = big.body.compare(at, pattern.size(), pattern, 0,
                            std::min(pattern.size(), big.body.size() - at)) == 0;
  }
  EXPECT_TRUE(same) << "the body is not the backend's";
  ASSERT_TRUE(c.send("HEAD /app/big?bytes=5000000 HTTP/1.1\r\nHost: t\r\n\r\n"));
  Answer head = c.read(true);
  ASSERT_TRUE(head.complete) << head.raw;
  EXPECT_EQ(head.field("Content-Length"), "5000000") << head.head;
  ASSERT_TRUE(c.send(get_request("/app/small")));
  Answer next = c.read();
  EXPECT_TRUE(next.complete && next.status == 200) << next.raw;
}

TEST_F(ProxyForwarding, ASlowClientGetsAllOfALargeAnswer) {
  // A small receive buffer and a pause before reading: zhttpd's output fills and it must stop
  // reading the backend until the client takes more (backpressure), then go on to the end.
  const int fd = connect_loopback(proxy_.port(), 8192);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, get_request("/app/slow-reader?bytes=3000000")));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::string got = read_until(
      fd,
      [](const std::string& in) {
        size_t end = in.find("\r\n\r\n");
        return end != std::string::npos && in.size() >= end + 4 + 3000000;
      },
      60);
  ::close(fd);
  size_t end = got.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos) << got.substr(0, 300);
  EXPECT_EQ(got.compare(0, 13, "HTTP/1.1 200 "), 0) << got.substr(0, 300);
  EXPECT_EQ(got.size(), end + 4 + 3000000);
}

TEST_F(ProxyForwarding, PipelinedRequestsAreAnsweredInOrder) {
  Client c(proxy_.port());
  std::string all;
  for (int i = 0; i < 5; ++i) all += get_request("/app/pipelined?n=" + std::to_string(i));
  all += "POST /app/pipelined?n=5 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc";
  all += get_request("/hello.txt");  // no route: the files, in the same order
  all += get_request("/app/pipelined?n=7");
  ASSERT_TRUE(c.send(all));
  for (int i = 0; i < 8; ++i) {
    SCOPED_TRACE(i);
    Answer a = c.read();
    ASSERT_TRUE(a.complete) << a.raw;
    ASSERT_EQ(a.status, 200);
    if (i == 6) {
      EXPECT_EQ(a.body, "hello from the root\n");
    } else {
      EXPECT_EQ(backend_json(a.body).value("target", ""), "/app/pipelined?n=" + std::to_string(i));
    }
  }
}

TEST_F(ProxyForwarding, PathsWithNoRouteAreServedFromTheRootAsBefore) {
  Answer file = exchange(proxy_.port(), get_request("/hello.txt", "www.example.org"));
  ASSERT_TRUE(file.complete) << file.raw;
  EXPECT_EQ(file.status, 200);
  EXPECT_EQ(file.body, "hello from the root\n");
  Answer missing = exchange(proxy_.port(), get_request("/apx/none"));
  EXPECT_EQ(missing.status, 404) << missing.raw;
  Answer bare = exchange(proxy_.port(), get_request("/api"));  // "/api/" does not take "/api"
  EXPECT_EQ(bare.status, 404) << bare.raw;
  EXPECT_EQ(a_.total(), 0u);
  EXPECT_EQ(b_.total(), 0u);
}

// gunicorn bound to a unix socket, named by an upstream group and by a route of its own.
TEST(ProxyUnixSocket, GunicornOnAUnixSocketAnswersThroughAGroupAndThroughARoute) {
  ASSERT_EQ(::access(kGunicorn, X_OK), 0) << kGunicorn << " is missing (Debian package gunicorn)";
  ServerProcess gunicorn("zhttp-gunicorn-unix");
  const std::string socket = gunicorn.path("app.sock");
  ServerOptions g;
  g.program = kGunicorn;
  g.args = {"--chdir",     backends_dir(),   "--bind",  "unix:" + socket, "--workers",
            "1",           "--worker-class", "gthread", "--threads",      "2",
            "wsgi_app:app"};
  g.ready = ServerOptions::Ready::kNone;
  ASSERT_NO_FATAL_FAILURE(gunicorn.start(g));
  ASSERT_TRUE(eventually(
      [&] {
        struct stat st {};
        return ::stat(socket.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
      },
      15))
      << gunicorn.diagnostics();

  Proxy proxy;
  ASSERT_NO_FATAL_FAILURE(proxy.start({
      "--upstream",
      "wsgi unix:" + socket,
      "--proxy",
      "/=http://wsgi",
      "--proxy",
      "/direct/=http://unix:" + socket + ":/via-route/",
  }));
  // gunicorn may still be starting its worker: the first answers come once it accepts.
  Answer first;
  ASSERT_TRUE(eventually(
      [&] {
        first = exchange(proxy.port(), get_request("/hello"));
        return first.complete && first.status == 200;
      },
      15))
      << first.raw << "\n"
      << proxy.diagnostics() << gunicorn.diagnostics();
  EXPECT_EQ(first.body.rfind("gunicorn ", 0), 0u) << first.body;
  EXPECT_NE(first.body.find(" GET /hello body=0\n"), std::string::npos) << first.body;

  Answer post = exchange(proxy.port(),
                         "POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n"
                         "\r\nhello world");
  ASSERT_TRUE(post.complete) << post.raw;
  EXPECT_EQ(post.status, 200);
  EXPECT_NE(post.body.find(" POST /form body=11\n"), std::string::npos) << post.body;

  // An answer without a length: gunicorn sends it chunked, zhttpd streams it chunked.
  Answer streamed = exchange(proxy.port(), get_request("/stream?n=2000"));
  ASSERT_TRUE(streamed.complete) << streamed.raw.substr(0, 500);
  EXPECT_EQ(streamed.status, 200);
  EXPECT_TRUE(streamed.chunked) << streamed.head;
  std::string lines;
  for (int i = 0; i < 2000; ++i) lines += "line " + std::to_string(i) + " of 2000\n";
  EXPECT_TRUE(streamed.body == lines) << streamed.body.size() << " bytes";

  Answer routed = exchange(proxy.port(), get_request("/direct/x"));
  ASSERT_TRUE(routed.complete) << routed.raw;
  EXPECT_EQ(routed.status, 200);
  EXPECT_NE(routed.body.find(" GET /via-route/x body=0\n"), std::string::npos) << routed.body;
}

// The Python backend on a unix socket too (http.server this time).
TEST(ProxyUnixSocket, PythonBackendOnAUnixSocket) {
  Proxy proxy;
  PythonBackend app("unix");
  const std::string socket = proxy.path("py.sock");
  ASSERT_NO_FATAL_FAILURE(app.start_unix(socket));
  ASSERT_NO_FATAL_FAILURE(
      proxy.start({"--upstream", "py unix:" + socket, "--proxy", "/=http://py"}));
  Answer a = exchange(proxy.port(), get_request("/over/unix", "u.example"));
  ASSERT_TRUE(a.complete) << a.raw << "\n" << proxy.diagnostics();
  EXPECT_EQ(a.status, 200);
  nlohmann::json echo = backend_json(a.body);
  EXPECT_EQ(echo.value("target", ""), "/over/unix");
  EXPECT_EQ(seen_fields(echo, "Host"), std::vector<std::string>{"u.example"});
}

}  // namespace
}  // namespace zhttp::test::proxy
