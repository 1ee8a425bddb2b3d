// The access stage's place in the connection (conn/access_gate.hpp), with a scripted gate: a
// refusal answered in place of the handler (its body discarded with its framing checked, no
// "100 Continue"), a delay carried out by the io layer's timer (or served at once without one),
// the client address the gate chose for the handler and the observer, the fields it adds to
// every response head of one request, and the PROXY header read before the first request.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "conn/access_gate.hpp"
#include "handlers/common/client_address.hpp"
#include "unit/support/exchange_handler.hpp"

namespace zhttp::conn {
namespace {

PeerAddress addr(std::string_view text) {
  PeerAddress a;
  EXPECT_TRUE(handlers::common::parse_address(text, &a)) << text;
  return a;
}

std::string text_of(const PeerAddress& a) {
  char buf[handlers::common::kMaxAddressText];
  return std::string(buf, handlers::common::format_address(a, buf));
}

AccessVerdict refusal(uint16_t status, uint32_t retry_after_s) {
  AccessVerdict v;
  v.outcome = AccessVerdict::kRefuse;
  v.status = status;
  v.retry_after_s = retry_after_s;
  return v;
}

AccessVerdict delay_of(uint64_t us) {
  AccessVerdict v;
  v.outcome = AccessVerdict::kDelay;
  v.delay_us = us;
  return v;
}

// Answers the verdicts of `script` in order (kPass once it runs out), after `hook` (which may
// change the peer, write fields, or change the verdict); records what it was shown.
struct ScriptedGate : AccessGate {
  AccessVerdict admit(const RequestView& request, PeerAddress* peer,
                      std::span<char> extra) override {
    targets.emplace_back(request.target());
    peers.push_back(text_of(*peer));
    rooms.push_back(extra.size());
    AccessVerdict v = calls < script.size() ? script[calls] : AccessVerdict{};
    ++calls;
    if (hook) hook(request, peer, extra, v);
    return v;
  }

  std::vector<AccessVerdict> script;
  std::function<void(const RequestView&, PeerAddress*, std::span<char>, AccessVerdict&)> hook;
  size_t calls = 0;
  std::vector<std::string> targets;  // of each request admit() saw
  std::vector<std::string> peers;    // *peer as admit() got it
  std::vector<size_t> rooms;         // extra.size()
};

struct RecordingObserver : ResponseObserver {
  void on_response(const ResponseRecord& r) override {
    statuses.push_back(r.status);
    peers.push_back(text_of(*r.peer));
    targets.emplace_back(r.request != nullptr ? std::string(r.request->target()) : "-");
  }
  std::vector<uint16_t> statuses;
  std::vector<std::string> peers;
  std::vector<std::string> targets;
};

// A harness whose connection asks `gate` about every request and reports to `observer`; the
// handler records the peer it was shown and answers as TestHandler's default does.
struct GateHarness : ExchangeHarness {
  GateHarness() {
    ctx.gate = &gate;
    ctx.observer = &observer;
    conn.set_peer(addr("10.0.0.1"));
    handler.on_handle = [this](const RequestView& r, Response& response) {
      handler_peers.push_back(text_of(r.peer()));
      if (on_handle) {
        on_handle(r, response);
        return;
      }
      response.send(200, "text/plain",
                    "ok " + std::string(r.target()) + " " + std::to_string(r.body().size()));
    };
  }
  ScriptedGate gate;
  RecordingObserver observer;
  std::vector<std::string> handler_peers;
  std::function<void(const RequestView&, Response&)> on_handle;
};

const std::string kGetA = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
const std::string kGetB = "GET /b HTTP/1.1\r\nHost: x\r\n\r\n";

std::string refused(uint32_t retry_after, std::string_view status = "429 Too Many Requests",
                    std::string_view text = "Too Many Requests", std::string_view extra = "") {
  return "HTTP/1.1 " + std::string(status) + "\r\n" + kDateLine +
         "Content-Type: text/plain; charset=utf-8\r\nRetry-After: " + std::to_string(retry_after) +
         "\r\nContent-Length: " + std::to_string(text.size()) + "\r\n" + std::string(extra) +
         "\r\n" + std::string(text);
}

size_t count(std::string_view in, std::string_view what) {
  size_t n = 0;
  for (size_t p = in.find(what); p != std::string_view::npos; p = in.find(what, p + 1)) ++n;
  return n;
}

// The responses in `sent`, split at each status line.
std::vector<std::string> split_responses(const std::string& sent) {
  std::vector<std::string> out;
  size_t p = sent.find("HTTP/1.1 ");
  while (p != std::string::npos) {
    size_t next = sent.find("HTTP/1.1 ", p + 1);
    out.push_back(sent.substr(p, next == std::string::npos ? std::string::npos : next - p));
    p = next;
  }
  return out;
}

std::string head_of(const std::string& response) {
  return response.substr(0, response.find("\r\n\r\n") + 4);
}

// --- refusals ---------------------------------------------------------------------------------

TEST(AccessGateRefusal, RefusedGetIs429WithRetryAfterAndTheConnectionStays) {
  GateHarness h;
  h.gate.script = {refusal(429, 3)};
  h.feed(kGetA + kGetB);
  EXPECT_EQ(h.sent, refused(3) + plain_response("ok /b 0"));
  EXPECT_EQ(h.gate.targets, (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(h.handler.log, (std::vector<std::string>{"handle /b"}));  // never saw /a
  EXPECT_TRUE(h.handler.aborts.empty());
  EXPECT_EQ(h.observer.statuses, (std::vector<uint16_t>{429, 200}));
  EXPECT_EQ(h.observer.targets, (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(h.conn.phase(), Connection::Phase::kIdle);
  EXPECT_FALSE(h.conn.should_close());
  EXPECT_EQ(h.gate.rooms, (std::vector<size_t>{kExtraFieldBytes, kExtraFieldBytes}));
}

TEST(AccessGateRefusal, RetryAfterZeroIsSentAsOne) {
  GateHarness h;
  h.gate.script = {refusal(429, 0), refusal(503, 0)};
  h.feed(kGetA + kGetA + kGetB);
  EXPECT_EQ(h.sent, refused(1) + refused(1, "503 Service Unavailable", "Service Unavailable") +
                        plain_response("ok /b 0"));
  EXPECT_EQ(h.handler.log, (std::vector<std::string>{"handle /b"}));
}

TEST(AccessGateRefusal, RefusedPostBodyIsDiscardedAndTheNextRequestAnswered) {
  GateHarness h;
  h.gate.script = {refusal(429, 2)};
  h.feed("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" + kGetB);
  EXPECT_EQ(h.sent, refused(2) + plain_response("ok /b 0"));
  // The handler was not even asked how it takes the body.
  EXPECT_EQ(h.handler.log, (std::vector<std::string>{"handle /b"}));
  EXPECT_EQ(h.gate.targets, (std::vector<std::string>{"/up", "/b"}));
  EXPECT_FALSE(h.conn.should_close());
}

TEST(AccessGateRefusal, RefusedPostBodyArrivingLaterIsDiscardedToo) {
  GateHarness h;
  h.gate.script = {refusal(429, 2)};
  h.feed("POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(h.sent, refused(2));  // answered at once, the body still to come
  h.feed("5\r\nhel");
  h.feed("lo\r\n0\r\n\r\n" + kGetB, 3);
  EXPECT_EQ(h.sent, refused(2) + plain_response("ok /b 0"));
  EXPECT_EQ(h.handler.log, (std::vector<std::string>{"handle /b"}));
  EXPECT_EQ(h.conn.phase(), Connection::Phase::kIdle);
}

TEST(AccessGateRefusal, MalformedChunkedBodyOfARefusedRequestIs400AndCloses) {
  GateHarness h;
  h.gate.script = {refusal(429, 2)};
  h.feed("POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + kGetB);
  h.flush();
  EXPECT_EQ(h.sent, "HTTP/1.1 400 Bad Request\r\n" + kDateLine +
                        "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 11\r\n"
                        "Connection: close\r\n\r\nBad Request");
  EXPECT_EQ(count(h.sent, "429"), 0u);
  EXPECT_TRUE(h.handler.log.empty());
  EXPECT_EQ(h.gate.targets, (std::vector<std::string>{"/up"}));  // /b is never read
  EXPECT_TRUE(h.conn.should_close());
}

TEST(AccessGateRefusal, ExpectContinueGetsNoContinueAndTheAnswerCloses) {
  GateHarness h;
  h.gate.script = {refusal(429, 4)};
  h.feed("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  h.flush();
  EXPECT_EQ(count(h.sent, "100 Continue"), 0u);
  EXPECT_EQ(h.sent,
            refused(4, "429 Too Many Requests", "Too Many Requests", "Connection: close\r\n"));
  EXPECT_TRUE(h.handler.log.empty());
  EXPECT_TRUE(h.conn.should_close());
}

// --- delays -----------------------------------------------------------------------------------

TEST(AccessGateDelay, NothingHappensUntilTheTimerFires) {
  GateHarness h;
  h.gate.script = {delay_of(250000)};
  h.feed(kGetA + kGetB);
  EXPECT_TRUE(h.sent.empty());
  EXPECT_TRUE(h.handler.log.empty());
  ASSERT_EQ(h.delays.size(), 1u);
  EXPECT_EQ(h.delays[0].us, 250000u);
  EXPECT_EQ(h.conn.phase(), Connection::Phase::kDelayed);
  EXPECT_TRUE(h.conn.read_space().empty());  // not reading meanwhile
  EXPECT_EQ(h.gate.targets, (std::vector<std::string>{"/a"}));
  EXPECT_FALSE(h.wake_pending);
  EXPECT_EQ(h.run_delays(), 1u);
  EXPECT_EQ(h.sent, plain_response("ok /a 0") + plain_response("ok /b 0"));
  EXPECT_EQ(h.handler.log, (std::vector<std::string>{"handle /a", "handle /b"}));
  EXPECT_EQ(h.gate.targets, (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(h.conn.phase(), Connection::Phase::kIdle);
  EXPECT_TRUE(h.delays.empty());
}

TEST(AccessGateDelay, DelayedBodyIsReadOnlyAfterTheTimer) {
  GateHarness h;
  h.gate.script = {delay_of(1000)};
  h.handler.mode = BodyMode::kGather;
  h.feed("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhel");
  EXPECT_TRUE(h.handler.log.empty());  // not even asked for the body mode
  EXPECT_EQ(h.conn.phase(), Connection::Phase::kDelayed);
  ASSERT_EQ(h.run_delays(), 1u);
  EXPECT_EQ(h.handler.log, (std::vector<std::string>{"mode /up"}));
  h.feed("lo");
  EXPECT_EQ(h.handler.log, (std::vector<std::string>{"mode /up", "handle /up [5]"}));
  EXPECT_EQ(h.sent, plain_response("ok /up 5"));
}

TEST(AccessGateDelay, StaleGenerationDoesNothing) {
  GateHarness h;
  h.gate.script = {delay_of(1000), delay_of(2000)};
  h.feed(kGetA);
  ASSERT_EQ(h.delays.size(), 1u);
  const auto stale = h.delays[0];
  h.delays.clear();
  h.conn.reset(AbortReason::kClientGone);
  EXPECT_TRUE(h.handler.aborts.empty());  // the handler never had it
  h.fire_delay(stale);
  EXPECT_TRUE(h.sent.empty());
  EXPECT_TRUE(h.handler.log.empty());

  // The same connection object serves another client, delayed again: the old timer still
  // does nothing, the new one serves.
  h.feed(kGetB);
  ASSERT_EQ(h.delays.size(), 1u);
  EXPECT_NE(h.delays[0].generation, stale.generation);
  h.fire_delay(stale);
  EXPECT_TRUE(h.sent.empty());
  EXPECT_TRUE(h.handler.log.empty());
  EXPECT_EQ(h.conn.phase(), Connection::Phase::kDelayed);
  h.run_delays();
  EXPECT_EQ(h.sent, plain_response("ok /b 0"));
  EXPECT_EQ(h.handler.log, (std::vector<std::string>{"handle /b"}));
  // Fired twice: the second time the exchange is gone.
  h.fire_delay(stale);
  EXPECT_EQ(h.sent, plain_response("ok /b 0"));
}

TEST(AccessGateDelay, WithoutATimerTheRequestIsServedAtOnce) {
  GateHarness h;
  h.no_delay_timer = true;
  h.gate.script = {delay_of(500000)};
  h.feed(kGetA + kGetB);
  EXPECT_EQ(h.sent, plain_response("ok /a 0") + plain_response("ok /b 0"));
  EXPECT_EQ(h.handler.log, (std::vector<std::string>{"handle /a", "handle /b"}));
  EXPECT_TRUE(h.delays.empty());
  EXPECT_EQ(h.conn.phase(), Connection::Phase::kIdle);
}

// --- the client address -----------------------------------------------------------------------

TEST(AccessGatePeer, ReplacedPeerIsWhatTheHandlerAndTheObserverSee) {
  GateHarness h;
  h.handler.mode = BodyMode::kGather;
  h.gate.hook = [](const RequestView& r, PeerAddress* peer, std::span<char>, AccessVerdict&) {
    if (r.path() != "/b") *peer = addr("192.0.2.7");
  };
  // /a: a request without a body; /up: a gathered body (its view is rebuilt once the body is
  // in); /b: not replaced, so back to the connection's address.
  h.feed(kGetA + "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi" + kGetB);
  EXPECT_EQ(h.sent,
            plain_response("ok /a 0") + plain_response("ok /up 2") + plain_response("ok /b 0"));
  EXPECT_EQ(h.handler_peers, (std::vector<std::string>{"192.0.2.7", "192.0.2.7", "10.0.0.1"}));
  EXPECT_EQ(h.observer.peers, (std::vector<std::string>{"192.0.2.7", "192.0.2.7", "10.0.0.1"}));
  // Each request starts again from the connection's own address, which never changes.
  EXPECT_EQ(h.gate.peers, (std::vector<std::string>{"10.0.0.1", "10.0.0.1", "10.0.0.1"}));
  EXPECT_EQ(text_of(h.conn.peer()), "10.0.0.1");
}

TEST(AccessGatePeer, RefusalIsReportedWithTheReplacedPeer) {
  GateHarness h;
  h.gate.script = {refusal(429, 1)};
  h.gate.hook = [](const RequestView&, PeerAddress* peer, std::span<char>, AccessVerdict&) {
    *peer = addr("2001:db8::5");
  };
  h.feed(kGetA);
  EXPECT_EQ(h.sent, refused(1));
  EXPECT_EQ(h.observer.statuses, (std::vector<uint16_t>{429}));
  EXPECT_EQ(h.observer.peers, (std::vector<std::string>{"2001:db8::5"}));
  EXPECT_EQ(text_of(h.conn.peer()), "10.0.0.1");
}

TEST(AccessGatePeer, DeferredResponseIsReportedWithTheReplacedPeer) {
  GateHarness h;
  h.gate.hook = [](const RequestView&, PeerAddress* peer, std::span<char>, AccessVerdict&) {
    *peer = addr("192.0.2.9");
  };
  h.on_handle = [&h](const RequestView&, Response& r) { h.handler.refs.push_back(r.defer()); };
  h.feed(kGetA);
  ASSERT_EQ(h.handler.refs.size(), 1u);
  Response* r = h.handler.refs[0].response();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(text_of(r->request().peer()), "192.0.2.9");
  r->send(200, "text/plain", "late");
  h.run_wakes();
  EXPECT_EQ(h.observer.peers, (std::vector<std::string>{"192.0.2.9"}));
}

// --- fields added to the response -------------------------------------------------------------

constexpr std::string_view kField = "X-Test: 1\r\n";

// The gate adds kField to the responses of requests whose path is /x...
void add_field_to_x(GateHarness& h) {
  h.gate.hook = [](const RequestView& r, PeerAddress*, std::span<char> extra, AccessVerdict& v) {
    if (!r.path().starts_with("/x")) return;
    std::memcpy(extra.data(), kField.data(), kField.size());
    v.extra_len = static_cast<uint32_t>(kField.size());
  };
}

TEST(AccessGateExtraFields, HandlersAnswerCarriesThemOnceAndTheNextDoesNot) {
  GateHarness h;
  add_field_to_x(h);
  h.feed("GET /x HTTP/1.1\r\nHost: x\r\n\r\n" + kGetB);
  EXPECT_EQ(h.sent, plain_response("ok /x 0", "200 OK", kField) + plain_response("ok /b 0"));
}

TEST(AccessGateExtraFields, StreamedAnswerCarriesThemOnce) {
  GateHarness h;
  add_field_to_x(h);
  h.on_handle = [](const RequestView& r, Response& response) {
    response.status(200).stream();
    response.write("part of " + std::string(r.target()));
    response.end();
  };
  h.feed("GET /xs HTTP/1.1\r\nHost: x\r\n\r\n" + kGetB);
  std::vector<std::string> responses = split_responses(h.sent);
  ASSERT_EQ(responses.size(), 2u) << h.sent;
  EXPECT_EQ(count(head_of(responses[0]), kField), 1u) << responses[0];
  EXPECT_EQ(count(responses[0], "Transfer-Encoding: chunked\r\n"), 1u);
  EXPECT_EQ(count(head_of(responses[1]), "X-Test"), 0u) << responses[1];
  bool ok = false;
  EXPECT_EQ(dechunk(responses[0].substr(head_of(responses[0]).size()), &ok), "part of /xs");
  EXPECT_TRUE(ok);
}

TEST(AccessGateExtraFields, RefusalCarriesThemOnce) {
  GateHarness h;
  add_field_to_x(h);
  h.gate.script = {refusal(429, 7)};
  h.feed("GET /x HTTP/1.1\r\nHost: x\r\n\r\n" + kGetB);
  EXPECT_EQ(h.sent, refused(7, "429 Too Many Requests", "Too Many Requests", kField) +
                        plain_response("ok /b 0"));
}

TEST(AccessGateExtraFields, DelayedAnswerCarriesThemOnce) {
  GateHarness h;
  add_field_to_x(h);
  h.gate.script = {delay_of(10)};
  h.feed("GET /x HTTP/1.1\r\nHost: x\r\n\r\n" + kGetB);
  h.run_delays();
  EXPECT_EQ(h.sent, plain_response("ok /x 0", "200 OK", kField) + plain_response("ok /b 0"));
}

// --- the PROXY protocol header ----------------------------------------------------------------

const std::string kProxyV1 = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 80\r\n";
const std::string kV2Sig("\r\n\r\n\0\r\nQUIT\n", 12);

TEST(AccessGateProxy, V1HeaderNamesTheClient) {
  GateHarness h;
  h.conn.expect_proxy_header();
  // The header and two requests in one read: what follows the header is parsed as requests.
  h.feed(kProxyV1 + kGetA + kGetB);
  EXPECT_EQ(h.sent, plain_response("ok /a 0") + plain_response("ok /b 0"));
  EXPECT_EQ(h.handler_peers, (std::vector<std::string>{"192.0.2.1", "192.0.2.1"}));
  EXPECT_EQ(h.gate.peers, (std::vector<std::string>{"192.0.2.1", "192.0.2.1"}));
  EXPECT_EQ(h.observer.peers, (std::vector<std::string>{"192.0.2.1", "192.0.2.1"}));
  EXPECT_EQ(text_of(h.conn.peer()), "192.0.2.1");
}

TEST(AccessGateProxy, V1HeaderSplitByteByByte) {
  GateHarness h;
  h.conn.expect_proxy_header();
  h.feed("PROXY TCP6 2001:db8::1 2001:db8::2 4000 443\r\n" + kGetA, 1);
  EXPECT_EQ(h.sent, plain_response("ok /a 0"));
  EXPECT_EQ(h.handler_peers, (std::vector<std::string>{"2001:db8::1"}));
  EXPECT_EQ(h.conn.peer().family, AF_INET6);
}

TEST(AccessGateProxy, HeaderAloneThenTheRequestInALaterRead) {
  GateHarness h;
  h.conn.expect_proxy_header();
  h.feed(kProxyV1);
  EXPECT_TRUE(h.sent.empty());
  EXPECT_FALSE(h.conn.should_close());
  h.feed(kGetA);
  EXPECT_EQ(h.sent, plain_response("ok /a 0"));
  EXPECT_EQ(h.handler_peers, (std::vector<std::string>{"192.0.2.1"}));
}

TEST(AccessGateProxy, V2LocalKeepsTheSocketsAddress) {
  GateHarness h;
  h.conn.expect_proxy_header();
  h.feed(kV2Sig + std::string("\x20\x00\x00\x00", 4) + kGetA);
  EXPECT_EQ(h.sent, plain_response("ok /a 0"));
  EXPECT_EQ(h.handler_peers, (std::vector<std::string>{"10.0.0.1"}));
  EXPECT_EQ(text_of(h.conn.peer()), "10.0.0.1");
}

TEST(AccessGateProxy, V2ProxyTcp4NamesTheClient) {
  GateHarness h;
  h.conn.expect_proxy_header();
  const std::string v2 = kV2Sig + std::string("\x21\x11\x00\x0c", 4) +
                         std::string("\xcb\x00\x71\x05", 4) +  // 203.0.113.5
                         std::string("\x0a\x00\x00\x02", 4) + std::string("\x1f\x90\x00\x50", 4);
  h.feed(v2 + kGetA, 5);
  EXPECT_EQ(h.sent, plain_response("ok /a 0"));
  EXPECT_EQ(h.handler_peers, (std::vector<std::string>{"203.0.113.5"}));
}

TEST(AccessGateProxy, GarbageClosesWithNoOutput) {
  for (const std::string& input :
       {std::string("HELLO THERE\r\n\r\n"), kGetA, std::string("PROXY TCP4 1.2.3.4\r\n") + kGetA,
        std::string("PROXY TCP4 192.0.2.1 198.51.100.2 056324 80\r\n") + kGetA}) {
    GateHarness h;
    h.conn.expect_proxy_header();
    h.feed(input);
    h.flush();
    EXPECT_TRUE(h.sent.empty()) << input;
    EXPECT_TRUE(h.conn.should_close()) << input;
    EXPECT_TRUE(h.handler.log.empty()) << input;
    EXPECT_TRUE(h.gate.targets.empty()) << input;
    EXPECT_TRUE(h.observer.statuses.empty()) << input;
  }
}

TEST(AccessGateProxy, EndOfInputInsideTheHeaderClosesWithNoOutput) {
  GateHarness h;
  h.conn.expect_proxy_header();
  h.feed("PROXY TCP4 192.0.2.1 ");
  EXPECT_FALSE(h.conn.should_close());
  h.conn.on_eof(kNow);
  h.flush();
  EXPECT_TRUE(h.sent.empty());
  EXPECT_TRUE(h.conn.should_close());
}

TEST(AccessGateProxy, OnlyTheFirstBytesAreAHeader) {
  GateHarness h;
  h.conn.expect_proxy_header();
  // A second header after a request is not read as one: it is a malformed request.
  h.feed(kProxyV1 + kGetA + "PROXY TCP4 192.0.2.3 198.51.100.2 1 2\r\n" + kGetB);
  h.flush();
  std::vector<std::string> responses = split_responses(h.sent);
  ASSERT_EQ(responses.size(), 2u) << h.sent;
  EXPECT_EQ(responses[0], plain_response("ok /a 0"));
  EXPECT_EQ(responses[1].substr(0, 13), "HTTP/1.1 400 ");
  EXPECT_EQ(h.handler_peers, (std::vector<std::string>{"192.0.2.1"}));
  EXPECT_TRUE(h.conn.should_close());
}

TEST(AccessGateProxy, ResetForgetsTheExpectation) {
  GateHarness h;
  h.conn.expect_proxy_header();
  h.feed(kProxyV1 + kGetA);
  h.conn.reset();
  h.conn.set_peer(addr("10.0.0.9"));
  h.feed(kGetB);  // a connection on a plain listener
  EXPECT_EQ(h.sent, plain_response("ok /a 0") + plain_response("ok /b 0"));
  EXPECT_EQ(h.handler_peers, (std::vector<std::string>{"192.0.2.1", "10.0.0.9"}));
}

}  // namespace
}  // namespace zhttp::conn
