// The proxy's exchange with an upstream, driven without sockets: a client connection in the
// connection harness, upstream links scripted by the test (what the upstream reads, what it
// answers, when it fails), every behaviour of a ProxyCall checked from both ends.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>
#include <deque>
#include <initializer_list>
#include <string>
#include <vector>

#include "handlers/proxy/balancer.hpp"
#include "handlers/proxy/proxy_handler.hpp"
#include "unit/support/connection_harness.hpp"

namespace zhttp::handlers::proxy {
namespace {

struct FakeLink final : conn::UpstreamLink {
  std::string written;
  std::string to_read;
  size_t write_room = SIZE_MAX;  // bytes the socket takes before it is full
  bool eof = false;
  bool reset = false;
  bool was_reused = false;
  bool read_wanted = false;
  bool write_wanted = false;
  double timeout = 0;
  bool released = false;
  bool kept = false;
  bool fresh = false;
  uint32_t server = 0;
  conn::UpstreamLinkUser* user = nullptr;

  ssize_t write(const iovec* iov, int count) override {
    if (reset) return -1;
    size_t total = 0;
    for (int i = 0; i < count && write_room > 0; ++i) {
      size_t n = std::min(iov[i].iov_len, write_room);
      written.append(static_cast<const char*>(iov[i].iov_base), n);
      write_room -= n;
      total += n;
    }
    return static_cast<ssize_t>(total);
  }
  ssize_t read(char* into, size_t room) override {
    if (reset) return -2;
    if (to_read.empty()) return eof ? 0 : -1;
    size_t n = std::min(room, to_read.size());
    std::memcpy(into, to_read.data(), n);
    to_read.erase(0, n);
    return static_cast<ssize_t>(n);
  }
  void watch(bool read, bool write) override {
    read_wanted = read;
    write_wanted = write;
  }
  void set_timeout(double seconds) override { timeout = seconds; }
  bool reused() const override { return was_reused; }
  uint16_t local_port() const override { return 0; }
};

struct FakeLinks final : conn::UpstreamLinks {
  std::deque<FakeLink> links;
  bool refuse = false;      // no slot
  int refuse_connects = 0;  // the next opens refused at once (nobody listens)
  std::vector<uint32_t> refused_servers;
  bool next_reused = false;

  conn::UpstreamLink* open(uint32_t, uint32_t server, const sockaddr*, socklen_t, double,
                           bool fresh, conn::UpstreamLinkUser& user, bool* refused) override {
    *refused = refuse_connects > 0;
    if (refuse_connects > 0) {
      --refuse_connects;
      refused_servers.push_back(server);
      return nullptr;
    }
    if (refuse) return nullptr;
    FakeLink& l = links.emplace_back();
    l.user = &user;
    l.server = server;
    l.fresh = fresh;
    l.was_reused = next_reused && !fresh;
    return &l;
  }
  void release(conn::UpstreamLink* link, bool keep) override {
    auto* l = static_cast<FakeLink*>(link);
    l->released = true;
    l->kept = keep;
    l->user = nullptr;
  }
};

ProxyConfig servers(std::initializer_list<uint16_t> ports) {
  ProxyConfig c;
  UpstreamGroup g;
  g.name = "app";
  for (uint16_t port : ports) {
    UpstreamServer s;
    s.address = "127.0.0.1:" + std::to_string(port);
    auto* in = reinterpret_cast<sockaddr_in*>(&s.sockaddr);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s.sockaddr_len = sizeof(sockaddr_in);
    g.servers.push_back(s);
  }
  c.groups.push_back(g);
  ProxyRoute all;
  all.prefix = "/";
  c.routes.push_back(all);
  ProxyRoute api;
  api.prefix = "/api/";
  api.rewrite = true;
  api.replacement = "/v2/";
  c.routes.push_back(api);
  return c;
}

ProxyConfig two_servers() {
  return servers({9001, 9002});
}
ProxyConfig one_server() {
  return servers({9001});
}

// The handler under test with everything it needs, as the harness holds one handler object.
template <ProxyConfig (*kConfig)()>
struct ProxyUnderTestOf final : Handler {
  ProxyConfig config = kConfig();
  Balancer balancer{config, nullptr, -1};
  FakeLinks links;
  ProxyHandler proxy{config, balancer, links, ProxyLimits{8, 1024, 32832, 4096}, nullptr};

  BodyMode body_mode(const RequestView& r) override { return proxy.body_mode(r); }
  void handle(const RequestView& r, Response& response) override { proxy.handle(r, response); }
  void on_body(Response& r, std::string_view b) override { proxy.on_body(r, b); }
  void on_body_end(Response& r) override { proxy.on_body_end(r); }
  void on_writable(Response& r) override { proxy.on_writable(r); }
  void on_abort(Response& r, AbortReason why) override { proxy.on_abort(r, why); }
};
using ProxyUnderTest = ProxyUnderTestOf<two_servers>;

class ProxyCallTest : public ::testing::Test {
 protected:
  conn::ConnectionHarness<ProxyUnderTest> h;
  FakeLinks& links() { return h.handler.links; }
  FakeLink& link(size_t i) { return links().links.at(i); }

  // The upstream end of link i becomes ready / readable / writable, as the pool reports it.
  void ready(size_t i) {
    link(i).user->on_link_ready(link(i));
    settle();
  }
  void answer(size_t i, std::string_view bytes, bool then_close = false) {
    link(i).to_read += bytes;
    link(i).eof = then_close;
    pump(i);
  }
  void pump(size_t i) {
    for (int rounds = 0; rounds < 1000 && link(i).user != nullptr && link(i).read_wanted &&
                         (!link(i).to_read.empty() || link(i).eof || link(i).reset);
         ++rounds) {
      link(i).user->on_link_io(link(i), true, false);
      settle();
    }
  }
  void fail(size_t i, conn::LinkFailure why) {
    link(i).user->on_link_failed(link(i), why);
    settle();
  }
  void settle() {
    h.run_wakes();
    h.flush();
  }
};

TEST_F(ProxyCallTest, ForwardsTheRequestAndTheAnswer) {
  h.feed("GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n");
  ASSERT_EQ(links().links.size(), 1u);
  ready(0);
  EXPECT_EQ(link(0).written,
            "GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n"
            "X-Forwarded-For: unknown\r\nX-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: example.com\r\nVia: 1.1 zhttpd\r\n\r\n");
  EXPECT_TRUE(link(0).read_wanted);
  EXPECT_EQ(link(0).timeout, 60);
  answer(0,
         "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
         "Keep-Alive: timeout=5\r\nX-App: yes\r\n\r\nhello");
  EXPECT_NE(h.sent.find("HTTP/1.1 200 OK\r\n"), std::string::npos) << h.sent;
  EXPECT_NE(h.sent.find("X-App: yes\r\n"), std::string::npos);
  EXPECT_NE(h.sent.find("Content-Length: 5\r\n\r\nhello"), std::string::npos) << h.sent;
  EXPECT_EQ(h.sent.find("Keep-Alive"), std::string::npos);
  EXPECT_EQ(h.sent.find("2024"), std::string::npos);  // the upstream's Date is replaced
  EXPECT_TRUE(link(0).released);
  EXPECT_TRUE(link(0).kept);
}

TEST_F(ProxyCallTest, RewritesTheMatchedPrefix) {
  h.feed("GET /api/users?id=7 HTTP/1.1\r\nHost: h\r\n\r\n");
  ready(0);
  EXPECT_TRUE(link(0).written.starts_with("GET /v2/users?id=7 HTTP/1.1\r\n")) << link(0).written;
}

TEST_F(ProxyCallTest, DropsHopByHopFieldsAndAppendsToForwardingOnes) {
  h.feed(
      "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\n"
      "Keep-Alive: 300\r\nTE: trailers\r\nProxy-Connection: keep-alive\r\nUpgrade: websocket\r\n"
      "X-Forwarded-For: 10.0.0.1\r\nVia: 1.0 edge\r\nX-Forwarded-Proto: https\r\n"
      "Expect: 100-continue\r\nX-Kept: 2\r\n\r\n");
  ready(0);
  const std::string& w = link(0).written;
  for (const char* gone :
       {"Connection", "X-Secret", "Keep-Alive", "TE:", "Upgrade", "Expect", "https"}) {
    EXPECT_EQ(w.find(gone), std::string::npos) << gone << " in\n" << w;
  }
  EXPECT_NE(w.find("X-Kept: 2\r\n"), std::string::npos);
  EXPECT_NE(w.find("X-Forwarded-For: 10.0.0.1, unknown\r\n"), std::string::npos) << w;
  EXPECT_NE(w.find("Via: 1.0 edge, 1.1 zhttpd\r\n"), std::string::npos) << w;
}

TEST_F(ProxyCallTest, ChunkedAnswerSplitAtEveryByteIsReframed) {
  const std::string answer_bytes =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
  h.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  ready(0);
  for (char c : answer_bytes) answer(0, std::string_view(&c, 1));
  EXPECT_NE(h.sent.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << h.sent;
  std::string body = h.sent.substr(h.sent.find("\r\n\r\n") + 4);
  // Re-chunked: the bytes come through whatever the pieces.
  std::string decoded;
  for (size_t p = 0;;) {
    size_t eol = body.find("\r\n", p);
    ASSERT_NE(eol, std::string::npos) << body;
    size_t n = std::stoul(body.substr(p, eol - p), nullptr, 16);
    if (n == 0) break;
    decoded += body.substr(eol + 2, n);
    p = eol + 2 + n + 2;
  }
  EXPECT_EQ(decoded, "hello world");
  EXPECT_TRUE(h.sent.ends_with("0\r\n\r\n"));
  EXPECT_TRUE(link(0).kept);
}

TEST_F(ProxyCallTest, CloseDelimitedAnswerIsChunkedAndTheLinkNotKept) {
  h.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  ready(0);
  answer(0, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome bytes", true);
  EXPECT_NE(h.sent.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << h.sent;
  EXPECT_NE(h.sent.find("a\r\nsome bytes\r\n0\r\n\r\n"), std::string::npos) << h.sent;
  EXPECT_TRUE(link(0).released);
  EXPECT_FALSE(link(0).kept);
}

TEST_F(ProxyCallTest, SmugglingShapedAnswersAre502) {
  for (const char* bad :
       {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\nContent-Length: 0\n\n", "HTTP/1.1 200 OK\r\nX-A: 1\r2\r\n\r\n"}) {
    SCOPED_TRACE(bad);
    conn::ConnectionHarness<ProxyUnderTest> fresh;
    fresh.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    FakeLink& l = fresh.handler.links.links.at(0);
    l.user->on_link_ready(l);
    l.to_read = bad;
    l.user->on_link_io(l, true, false);
    fresh.run_wakes();
    fresh.flush();
    EXPECT_TRUE(fresh.sent.starts_with("HTTP/1.1 502 ")) << fresh.sent;
    EXPECT_EQ(fresh.sent.find("hello"), std::string::npos);
    EXPECT_TRUE(l.released);
    EXPECT_FALSE(l.kept);
  }
}

TEST_F(ProxyCallTest, AFailedConnectGoesToTheNextServer) {
  h.feed("POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc");
  ASSERT_EQ(links().links.size(), 1u);
  fail(0, conn::LinkFailure::kConnect);
  ASSERT_EQ(links().links.size(), 2u);
  EXPECT_NE(link(1).server, link(0).server);
  ready(1);
  EXPECT_TRUE(link(1).written.ends_with("Content-Length: 3\r\n\r\nabc")) << link(1).written;
  answer(1, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
  EXPECT_TRUE(h.sent.starts_with("HTTP/1.1 201 ")) << h.sent;
}

TEST_F(ProxyCallTest, AConnectRefusedAtOnceGoesToTheNextServerAtOnce) {
  links().refuse_connects = 1;
  h.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(links().refused_servers.size(), 1u);
  ASSERT_EQ(links().links.size(), 1u);  // the next server, within the same call
  EXPECT_NE(link(0).server, links().refused_servers[0]);
  ready(0);
  answer(0, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_TRUE(h.sent.starts_with("HTTP/1.1 200 ")) << h.sent;

  conn::ConnectionHarness<ProxyUnderTest> none;
  none.handler.links.refuse_connects = 2;
  none.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  none.run_wakes();
  none.flush();
  EXPECT_TRUE(none.sent.starts_with("HTTP/1.1 502 ")) << none.sent;
}

TEST_F(ProxyCallTest, EveryServerFailingIs502AndATimeoutIs504) {
  h.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  fail(0, conn::LinkFailure::kConnect);
  fail(1, conn::LinkFailure::kConnect);
  EXPECT_TRUE(h.sent.starts_with("HTTP/1.1 502 ")) << h.sent;

  conn::ConnectionHarness<ProxyUnderTest> slow;
  slow.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  for (size_t i = 0; i < 2; ++i) {
    FakeLink& l = slow.handler.links.links.at(i);
    l.user->on_link_ready(l);
    l.user->on_link_failed(l, conn::LinkFailure::kTimeout);
    slow.run_wakes();
    slow.flush();
  }
  EXPECT_TRUE(slow.sent.starts_with("HTTP/1.1 504 ")) << slow.sent;
}

// A pooled link that ends unanswered (the idle-close race, or a server that died under it): the
// request goes to the other server (a pooled link there too), and when that one ends unanswered
// as well, once more on a new connection to it.
TEST_F(ProxyCallTest, AReusedLinkClosedBeforeAnswerGoesToTheOtherServerThenToANewConnection) {
  links().next_reused = true;
  h.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  ready(0);
  answer(0, "", true);  // the server had closed the idle connection
  ASSERT_EQ(links().links.size(), 2u);
  EXPECT_NE(link(1).server, link(0).server);
  EXPECT_FALSE(link(1).fresh);
  ready(1);
  answer(1, "", true);  // and so had the other one
  ASSERT_EQ(links().links.size(), 3u) << h.sent;
  EXPECT_TRUE(link(2).fresh);
  EXPECT_EQ(link(2).server, link(1).server);
  ready(2);
  answer(2, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_TRUE(h.sent.starts_with("HTTP/1.1 200 ")) << h.sent;
}

// A group of one server: the race is retried on a new connection to it; when that one fails too
// (the server died), a 502.
TEST(ProxyCallOneServer, AReusedLinkClosedBeforeAnswerIsRetriedOnceOnANewOne) {
  conn::ConnectionHarness<ProxyUnderTestOf<one_server>> h;
  auto& ls = h.handler.links.links;
  auto settle = [&] {
    h.run_wakes();
    h.flush();
  };
  h.handler.links.next_reused = true;
  h.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  ls.at(0).user->on_link_ready(ls.at(0));
  ls.at(0).eof = true;
  ls.at(0).user->on_link_io(ls.at(0), true, false);
  settle();
  ASSERT_EQ(ls.size(), 2u);
  EXPECT_TRUE(ls.at(1).fresh);
  ls.at(1).user->on_link_ready(ls.at(1));
  ls.at(1).to_read = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  ls.at(1).user->on_link_io(ls.at(1), true, false);
  settle();
  EXPECT_TRUE(h.sent.starts_with("HTTP/1.1 200 ")) << h.sent;

  conn::ConnectionHarness<ProxyUnderTestOf<one_server>> dead;
  auto& ds = dead.handler.links.links;
  dead.handler.links.next_reused = true;
  dead.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  ds.at(0).user->on_link_ready(ds.at(0));
  ds.at(0).eof = true;
  ds.at(0).user->on_link_io(ds.at(0), true, false);
  dead.run_wakes();
  ASSERT_EQ(ds.size(), 2u);
  ds.at(1).user->on_link_failed(ds.at(1), conn::LinkFailure::kConnect);
  dead.run_wakes();
  dead.flush();
  EXPECT_EQ(ds.size(), 2u);  // not a third time
  EXPECT_TRUE(dead.sent.starts_with("HTTP/1.1 502 ")) << dead.sent;
}

TEST_F(ProxyCallTest, APostOnAReusedLinkIsNotRepeated) {
  links().next_reused = true;
  h.feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx");
  ready(0);
  answer(0, "", true);
  EXPECT_EQ(links().links.size(), 1u);
  // The client's first request: answered 502 (a client retries only on a reused connection).
  EXPECT_TRUE(h.sent.starts_with("HTTP/1.1 502 ")) << h.sent;
}

TEST_F(ProxyCallTest, ABodyCutAfterTheHeadClosesTheClientConnection) {
  h.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  ready(0);
  std::string big(40000, 'x');
  answer(0, "HTTP/1.1 200 OK\r\nContent-Length: 50000\r\n\r\n" + big, true);
  EXPECT_TRUE(h.sent.starts_with("HTTP/1.1 200 ")) << h.sent.substr(0, 200);
  EXPECT_NE(h.sent.find("Content-Length: 50000"), std::string::npos);
  EXPECT_LT(h.sent.size(), 50000u);
  EXPECT_TRUE(h.conn.should_close());
}

TEST_F(ProxyCallTest, AStreamedBodyIsForwardedChunked) {
  h.feed("POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
  ready(0);
  h.feed("3\r\nabc\r\n");
  h.run_wakes();
  h.feed("2\r\nde\r\n0\r\n\r\n");
  h.run_wakes();
  const std::string& w = link(0).written;
  EXPECT_NE(w.find("Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"),
            std::string::npos)
      << w;
  answer(0, "HTTP/1.1 204 No Content\r\n\r\n");
  EXPECT_TRUE(h.sent.starts_with("HTTP/1.1 204 ")) << h.sent;
  EXPECT_TRUE(link(0).kept);
}

TEST_F(ProxyCallTest, ALargeBodyWaitsForASlowClient) {
  h.read_per_step = 1000;
  h.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  ready(0);
  std::string big(600000, 'y');
  link(0).to_read = "HTTP/1.1 200 OK\r\nContent-Length: 600000\r\n\r\n" + big;
  pump(0);
  // The upstream is not read while the client lags: what was read waits in bounded buffers.
  EXPECT_FALSE(link(0).read_wanted);
  EXPECT_GT(link(0).to_read.size(), 300000u);
  for (int i = 0; i < 100000 && !link(0).released; ++i) {
    h.flush();
    h.run_wakes();
    pump(0);
  }
  EXPECT_TRUE(link(0).released);
  EXPECT_TRUE(link(0).kept);
  h.flush_all();
  EXPECT_EQ(h.sent.size() - h.sent.find("\r\n\r\n") - 4, 600000u);
}

TEST_F(ProxyCallTest, HeadAnswersKeepTheirLengthAndNoBody) {
  h.feed("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n");
  ready(0);
  answer(0, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
  EXPECT_NE(h.sent.find("Content-Length: 1234\r\n"), std::string::npos) << h.sent;
  EXPECT_TRUE(h.sent.ends_with("\r\n\r\n"));
  EXPECT_TRUE(link(0).kept);
}

TEST_F(ProxyCallTest, InterimAnswersAreSkipped) {
  h.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  ready(0);
  answer(0,
         "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
         "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_TRUE(h.sent.starts_with("HTTP/1.1 200 ")) << h.sent;
  EXPECT_EQ(h.responses(), 1);
}

TEST_F(ProxyCallTest, AnUpgradeBecomesATunnelBothWays) {
  h.feed(
      "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
      "Sec-WebSocket-Key: k\r\n\r\n");
  ready(0);
  EXPECT_NE(link(0).written.find("Upgrade: websocket\r\n"), std::string::npos) << link(0).written;
  EXPECT_NE(link(0).written.find("Connection: upgrade\r\n"), std::string::npos);
  answer(0,
         "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: a\r\n\r\nfrom-server");
  EXPECT_TRUE(h.sent.starts_with("HTTP/1.1 101 ")) << h.sent;
  EXPECT_NE(h.sent.find("Upgrade: websocket\r\n"), std::string::npos) << h.sent;
  EXPECT_NE(h.sent.find("Connection: upgrade\r\n"), std::string::npos) << h.sent;
  EXPECT_TRUE(h.sent.ends_with("\r\n\r\nfrom-server")) << h.sent;
  EXPECT_EQ(h.conn.phase(), conn::Connection::Phase::kTunnel);
  h.feed("from-client");
  h.run_wakes();
  EXPECT_TRUE(link(0).written.ends_with("\r\n\r\nfrom-client")) << link(0).written;
  EXPECT_EQ(link(0).timeout, 300);
  answer(0, "more", true);
  EXPECT_TRUE(h.sent.ends_with("from-servermore")) << h.sent;
  EXPECT_TRUE(link(0).released);
  EXPECT_FALSE(link(0).kept);
  EXPECT_TRUE(h.conn.should_close());
}

TEST_F(ProxyCallTest, AnUpgradeNotAskedForIs502) {
  h.feed("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n");  // no Connection: upgrade
  ready(0);
  EXPECT_EQ(link(0).written.find("Upgrade"), std::string::npos) << link(0).written;
  answer(0, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
  EXPECT_TRUE(h.sent.starts_with("HTTP/1.1 502 ")) << h.sent;
}

TEST_F(ProxyCallTest, TheClientGoingAwayReleasesTheLinkUnkept) {
  h.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  ready(0);
  h.conn.on_eof(conn::kNow);
  h.conn.reset();
  EXPECT_TRUE(link(0).released);
  EXPECT_FALSE(link(0).kept);
}

}  // namespace
}  // namespace zhttp::handlers::proxy
