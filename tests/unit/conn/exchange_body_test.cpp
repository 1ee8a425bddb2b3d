// Request bodies through the exchange, in each mode the handler can choose (refused, gathered,
// streamed), by Content-Length and chunked: what the handler sees, what goes out, across every
// split of the input; the limits (413, the discard bound) and malformed framing; 100 Continue.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "unit/support/exchange_handler.hpp"
#include "zhttp/status.hpp"

namespace zhttp::conn {
namespace {

const std::string kNext = "GET /next HTTP/1.1\r\nHost: x\r\n\r\n";
const std::string kBody = "hello, world";  // 12 bytes
const std::string kClHead = "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n";
const std::string kChunkedHead =
    "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
// kBody with extensions (a quoted one too) and two trailer fields.
const std::string kChunkedBody =
    "5;name=value;q=\"a \\\"b\\\"\"\r\nhello\r\n1\r\n,\r\n6 ; x\r\n world\r\n"
    "0;last\r\nTrailer-One: 1\r\nTrailer-Two: two\r\n\r\n";
const std::string kErrorHead =
    "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 11\r\nConnection: close\r\n\r\n";
const std::string k400 = "HTTP/1.1 400 Bad Request\r\n" + kDateLine + kErrorHead + "Bad Request";

struct Outcome {
  std::string sent;
  std::vector<std::string> log;
  std::vector<std::string> bodies;
  std::vector<std::string> streamed;
  bool closing = false;
};

// Feeds `in` to a fresh connection in pieces: cut at `cuts` (ascending), or `step` bytes a read.
Outcome run(BodyMode mode, std::string_view in, std::vector<size_t> cuts, size_t step = SIZE_MAX,
            ConnectionConfig config = {}) {
  auto h = std::make_unique<ExchangeHarness>(config);
  h->handler.mode = mode;
  size_t at = 0;
  cuts.push_back(in.size());
  for (size_t cut : cuts) {
    EXPECT_EQ(h->feed(in.substr(at, cut - at), step), cut - at);
    at = cut;
  }
  EXPECT_EQ(h->double_wakes, 0);
  return {h->sent, h->handler.log, h->handler.bodies, h->handler.streamed, h->conn.should_close()};
}

void expect_same(const Outcome& a, const Outcome& b, const std::string& how) {
  EXPECT_EQ(a.sent, b.sent) << how;
  EXPECT_EQ(a.log, b.log) << how;
  EXPECT_EQ(a.bodies, b.bodies) << how;
  EXPECT_EQ(a.streamed, b.streamed) << how;
  EXPECT_EQ(a.closing, b.closing) << how;
}

// The request with `framed` body, then a pipelined GET: whole, cut at every point and a byte at
// a time, the handler sees `body` as its mode says and the output is the same.
void check_every_split(BodyMode mode, const std::string& head, const std::string& framed,
                       const std::string& body) {
  const std::string in = head + framed + kNext;
  Outcome whole = run(mode, in, {});
  std::string first;
  switch (mode) {
    case BodyMode::kRefuse:
      first = "ok /p 0";
      EXPECT_EQ(whole.bodies, (std::vector<std::string>{"", ""}));
      EXPECT_EQ(whole.streamed, (std::vector<std::string>{"", ""}));
      break;
    case BodyMode::kGather:
      first = "ok /p " + std::to_string(body.size());
      EXPECT_EQ(whole.bodies, (std::vector<std::string>{body, ""}));
      break;
    case BodyMode::kStream:
      first = "streamed " + std::to_string(body.size());
      EXPECT_EQ(whole.streamed, (std::vector<std::string>{body, ""}));
      break;
  }
  EXPECT_EQ(whole.sent, plain_response(first) + plain_response("ok /next 0"));
  EXPECT_FALSE(whole.closing);
  for (size_t cut = 1; cut < in.size(); ++cut) {
    expect_same(whole, run(mode, in, {cut}), "cut at " + std::to_string(cut));
  }
  expect_same(whole, run(mode, in, {}, 1), "byte by byte");
  expect_same(whole, run(mode, in, {head.size(), head.size() + framed.size()}, 3), "threes");
}

TEST(ExchangeBody, RefusedContentLengthAtEverySplit) {
  check_every_split(BodyMode::kRefuse, kClHead, kBody, kBody);
}
TEST(ExchangeBody, RefusedChunkedAtEverySplit) {
  check_every_split(BodyMode::kRefuse, kChunkedHead, kChunkedBody, kBody);
}
TEST(ExchangeBody, GatheredContentLengthAtEverySplit) {
  check_every_split(BodyMode::kGather, kClHead, kBody, kBody);
}
TEST(ExchangeBody, GatheredChunkedAtEverySplit) {
  check_every_split(BodyMode::kGather, kChunkedHead, kChunkedBody, kBody);
}
TEST(ExchangeBody, StreamedContentLengthAtEverySplit) {
  check_every_split(BodyMode::kStream, kClHead, kBody, kBody);
}
TEST(ExchangeBody, StreamedChunkedAtEverySplit) {
  check_every_split(BodyMode::kStream, kChunkedHead, kChunkedBody, kBody);
}

// Bodies larger than the 32 KiB input block: a body block for a known length, the input block
// first and a body block once it fills for a chunked one.
TEST(ExchangeBody, GathersBodiesLargerThanTheInputBlock) {
  ConnectionConfig c;
  c.max_body_bytes = 1 << 20;
  const std::string body = pattern_body(200 * 1024);
  const std::string cl = "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 204800\r\n\r\n" + body;
  const std::string ch = kChunkedHead + chunked(body);
  const std::string expected = plain_response("ok /p 204800") + plain_response("ok /next 0");
  for (const std::string& in : {cl, ch}) {
    for (size_t step : {size_t{SIZE_MAX}, size_t{4093}, size_t{1}}) {
      Outcome o = run(BodyMode::kGather, in + kNext, {}, step, c);
      ASSERT_EQ(o.bodies.size(), 2u);
      EXPECT_TRUE(o.bodies[0] == body) << "step " << step << " size " << o.bodies[0].size();
      EXPECT_EQ(o.sent, expected);
    }
  }
}

TEST(ExchangeBody, StreamsBodiesOfAnySize) {
  ConnectionConfig c;
  c.max_body_bytes = 1000;  // not a bound for a streamed body
  const std::string body = pattern_body(300 * 1024);
  for (const std::string& in :
       {"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 307200\r\n\r\n" + body,
        kChunkedHead + chunked(body)}) {
    Outcome o = run(BodyMode::kStream, in + kNext, {}, 7777, c);
    ASSERT_EQ(o.streamed.size(), 2u);
    EXPECT_TRUE(o.streamed[0] == body);
    EXPECT_EQ(o.sent, plain_response("streamed 307200") + plain_response("ok /next 0"));
  }
}

TEST(ExchangeBody, ContentLengthOverTheLimitIs413BeforeReading) {
  ConnectionConfig c;
  c.max_body_bytes = 100;
  ExchangeHarness h(c);
  h.feed("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n");
  const std::string too_large = "HTTP/1.1 413 Content Too Large\r\n" + kDateLine +
                                "Content-Type: text/plain; charset=utf-8\r\n"
                                "Content-Length: 17\r\n\r\nContent Too Large";
  EXPECT_EQ(h.sent, too_large);
  EXPECT_EQ(h.handler.log, (std::vector<std::string>{"mode /p"}));  // handle() never called
  // The body is read through and thrown away; the connection lives on.
  h.feed(std::string(101, 'x') + kNext);
  EXPECT_EQ(h.sent, too_large + plain_response("ok /next 0"));
  EXPECT_FALSE(h.conn.should_close());
}

TEST(ExchangeBody, ChunkedBodyCrossingTheLimitIs413AndCloses) {
  ConnectionConfig c;
  c.max_body_bytes = 100;
  for (size_t cut : {size_t{0}, size_t{70}}) {
    ExchangeHarness h(c);
    const std::string in = kChunkedHead + "3c\r\n" + std::string(60, 'a') + "\r\n3c\r\n" +
                           std::string(60, 'b') + "\r\n0\r\n\r\n" + kNext;
    if (cut > 0) h.feed(std::string_view(in).substr(0, kChunkedHead.size() + cut));
    h.feed(std::string_view(in).substr(cut > 0 ? kChunkedHead.size() + cut : 0));
    EXPECT_EQ(h.sent, "HTTP/1.1 413 Content Too Large\r\n" + kDateLine +
                          "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 17\r\n"
                          "Connection: close\r\n\r\nContent Too Large");
    EXPECT_EQ(h.handler.log, (std::vector<std::string>{"mode /p"}));
    EXPECT_TRUE(h.conn.should_close());
  }
  // Right at the limit is fine.
  ExchangeHarness h(c);
  h.feed(kChunkedHead + "64\r\n" + std::string(100, 'a') + "\r\n0\r\n\r\n");
  EXPECT_EQ(h.sent, plain_response("ok /p 100"));
}

struct BadFraming {
  const char* name;
  std::string body;
  uint16_t status;
};
const std::vector<BadFraming> kBadFramings = {
    {"bad size", "zz\r\nhello\r\n0\r\n\r\n", 400},
    {"size overflow", "fffffffffffffffff\r\n", 400},
    {"bad extension", "5;=v\r\nhello\r\n0\r\n\r\n", 400},
    {"bad extension value", "5;a=\"open\r\nhello\r\n0\r\n\r\n", 400},
    {"bare CR", "5\rhello\r\n0\r\n\r\n", 400},
    {"bare LF", "5\nhello\r\n0\r\n\r\n", 400},
    {"missing data CRLF", "5\r\nhelloXY0\r\n\r\n", 400},
    {"bad trailer", "5\r\nhello\r\n0\r\nBad Trailer: x\r\n\r\n", 400},
    {"trailer without colon", "5\r\nhello\r\n0\r\nNoColon\r\n\r\n", 400},
    {"oversize line", "5;" + std::string(5000, 'e') + "\r\nhello\r\n0\r\n\r\n", 400},
    {"oversize trailers", "5\r\nhello\r\n0\r\nT: " + std::string(9000, 't') + "\r\n\r\n", 431},
};

std::string error_response(uint16_t status) {
  std::string text(reason_phrase(status));
  return "HTTP/1.1 " + std::to_string(status) + " " + text + "\r\n" + kDateLine +
         "Content-Type: text/plain; charset=utf-8\r\nContent-Length: " +
         std::to_string(text.size()) + "\r\nConnection: close\r\n\r\n" + text;
}

// A malformed body that arrived with the head is answered 400 whatever the handler would have
// said (its answer is not sent), and the connection closes; in every mode.
TEST(ExchangeBody, MalformedChunkedBodyIs400AndCloses) {
  for (const BadFraming& bad : kBadFramings) {
    for (BodyMode mode : {BodyMode::kRefuse, BodyMode::kGather, BodyMode::kStream}) {
      ExchangeHarness h;
      h.handler.mode = mode;
      h.feed(kChunkedHead + bad.body + kNext);
      const std::string how =
          std::string(bad.name) + " mode " + std::to_string(static_cast<int>(mode));
      EXPECT_EQ(h.sent, error_response(bad.status)) << how;
      EXPECT_TRUE(h.conn.should_close()) << how;
      EXPECT_TRUE(h.conn.read_space().empty()) << how;
      if (mode == BodyMode::kStream) {
        // handle() ran at once and deferred: it is told why its exchange ended.
        EXPECT_EQ(h.handler.aborts, (std::vector<AbortReason>{AbortReason::kBadBody})) << how;
      } else {
        EXPECT_TRUE(h.handler.aborts.empty()) << how;
      }
      EXPECT_EQ(std::count(h.handler.log.begin(), h.handler.log.end(), "handle /next"), 0) << how;
    }
  }
}

// The same error after the handler answered a refused body: the answer stands, then the
// connection closes without another word.
TEST(ExchangeBody, MalformedRefusedBodyAfterTheAnswerCloses) {
  for (const BadFraming& bad : kBadFramings) {
    ExchangeHarness h;
    h.handler.mode = BodyMode::kRefuse;
    h.feed(kChunkedHead);
    h.feed(bad.body + kNext);
    EXPECT_EQ(h.sent, plain_response("ok /p 0")) << bad.name;
    EXPECT_TRUE(h.conn.should_close()) << bad.name;
  }
}

// A refused body whose handler deferred: the 400 takes the place of its answer.
TEST(ExchangeBody, MalformedRefusedBodyWhileDeferredAbortsTheHandler) {
  ExchangeHarness h;
  h.handler.mode = BodyMode::kRefuse;
  h.handler.on_handle = [&](const RequestView&, Response& r) {
    h.handler.refs.push_back(r.defer());
  };
  h.feed(kChunkedHead + "5\r\nhel");
  EXPECT_TRUE(h.sent.empty());
  h.feed("lo\r\nzz\r\n");
  EXPECT_EQ(h.sent, k400);
  EXPECT_EQ(h.handler.aborts, (std::vector<AbortReason>{AbortReason::kBadBody}));
  EXPECT_FALSE(h.handler.refs[0].alive());
  EXPECT_TRUE(h.conn.should_close());
}

TEST(ExchangeBody, RefusedBodyThenPipelinedGetOnAKeptConnection) {
  for (const std::string& req : {kClHead + kBody, kChunkedHead + kChunkedBody}) {
    ExchangeHarness h;
    h.handler.mode = BodyMode::kRefuse;
    h.feed(req + kNext);
    EXPECT_EQ(h.sent, plain_response("ok /p 0") + plain_response("ok /next 0"));
    EXPECT_FALSE(h.conn.should_close());
    EXPECT_EQ(h.conn.phase(), Connection::Phase::kIdle);
    EXPECT_FALSE(h.conn.holds_buffers());
  }
}

// Refused bodies are read through up to max_discard_bytes; past it the answer says close.
TEST(ExchangeBody, DiscardBound) {
  ConnectionConfig c;
  c.max_discard_bytes = 100;
  const std::string closed = plain_response("ok /p 0", "200 OK", "Connection: close\r\n");
  {
    ExchangeHarness h(c);  // a length over the bound: not read at all
    h.handler.mode = BodyMode::kRefuse;
    h.feed("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n" + std::string(101, 'x') +
           kNext);
    EXPECT_EQ(h.sent, closed);
    EXPECT_TRUE(h.conn.should_close());
  }
  {
    ExchangeHarness h(c);  // a chunked body crossing it before the answer
    h.handler.mode = BodyMode::kRefuse;
    h.feed(kChunkedHead + "3c\r\n" + std::string(60, 'a') + "\r\n3c\r\n" + std::string(60, 'b') +
           "\r\n0\r\n\r\n" + kNext);
    EXPECT_EQ(h.sent, closed);
    EXPECT_TRUE(h.conn.should_close());
  }
  {
    ExchangeHarness h(c);  // crossing it after the answer: closes once it is out
    h.handler.mode = BodyMode::kRefuse;
    h.feed(kChunkedHead + "3c\r\n" + std::string(60, 'a') + "\r\n");
    h.feed("3c\r\n" + std::string(60, 'b') + "\r\n0\r\n\r\n" + kNext);
    EXPECT_EQ(h.sent, plain_response("ok /p 0"));
    EXPECT_TRUE(h.conn.should_close());
  }
  {
    ExchangeHarness h(c);  // up to the bound: read through, the connection lives
    h.handler.mode = BodyMode::kRefuse;
    h.feed("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x') +
           kNext);
    EXPECT_EQ(h.sent, plain_response("ok /p 0") + plain_response("ok /next 0"));
    EXPECT_FALSE(h.conn.should_close());
  }
}

const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
const std::string kExpectHead =
    "POST /p HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 12\r\n\r\n";

TEST(ExchangeBody, ExpectContinueRefusedWithoutBodyClosesAfterTheAnswer) {
  ExchangeHarness h;
  h.handler.mode = BodyMode::kRefuse;
  h.feed(kExpectHead);
  EXPECT_EQ(h.sent, plain_response("ok /p 0", "200 OK", "Connection: close\r\n"));
  EXPECT_TRUE(h.conn.should_close());
}

TEST(ExchangeBody, ExpectContinueRefusedWithTheBodyArrivedIsDiscarded) {
  ExchangeHarness h;
  h.handler.mode = BodyMode::kRefuse;
  h.feed(kExpectHead + kBody + kNext);
  EXPECT_EQ(h.sent, plain_response("ok /p 0") + plain_response("ok /next 0"));
  EXPECT_FALSE(h.conn.should_close());
}

TEST(ExchangeBody, ExpectContinueGathered) {
  ExchangeHarness h;
  h.feed(kExpectHead);
  EXPECT_EQ(h.sent, kContinue);
  EXPECT_EQ(h.handler.log, (std::vector<std::string>{"mode /p"}));
  h.feed(kBody + kNext);
  EXPECT_EQ(h.sent, kContinue + plain_response("ok /p 12") + plain_response("ok /next 0"));

  ExchangeHarness arrived;  // the body came with the head: no interim response
  arrived.feed(kExpectHead + kBody);
  EXPECT_EQ(arrived.sent, plain_response("ok /p 12"));
}

TEST(ExchangeBody, ExpectContinueStreamed) {
  ExchangeHarness h;
  h.handler.mode = BodyMode::kStream;
  h.feed(kExpectHead);
  EXPECT_EQ(h.sent, kContinue);
  EXPECT_EQ(h.handler.log, (std::vector<std::string>{"mode /p", "handle /p"}));
  h.feed(kBody);
  EXPECT_EQ(h.handler.streamed[0], kBody);
  EXPECT_EQ(h.sent, kContinue + plain_response("streamed 12"));
}

// RFC 9110 10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored (such a client
// does not wait for the interim response, and cannot read an HTTP/1.1 one).
TEST(ExchangeBody, ExpectContinueIgnoredForHttp10) {
  const std::string head =
      "POST /p HTTP/1.0\r\nConnection: keep-alive\r\nExpect: 100-continue\r\n"
      "Content-Length: 12\r\n\r\n";
  for (BodyMode mode : {BodyMode::kGather, BodyMode::kStream}) {
    ExchangeHarness h;
    h.handler.mode = mode;
    h.feed(head);
    EXPECT_TRUE(h.sent.empty()) << static_cast<int>(mode);
    h.feed(kBody);
    EXPECT_EQ(h.sent.find("100 Continue"), std::string::npos);
    EXPECT_EQ(h.responses(), 1);
  }
  ExchangeHarness refused;  // its body is read through as without the expectation
  refused.handler.mode = BodyMode::kRefuse;
  refused.feed(head);
  refused.feed(kBody);
  EXPECT_EQ(refused.sent.find("Connection: close"), std::string::npos);
  EXPECT_FALSE(refused.conn.should_close());
}

TEST(ExchangeBody, ExpectContinueOverTheLimitIs413AndCloses) {
  ConnectionConfig c;
  c.max_body_bytes = 10;
  ExchangeHarness h(c);
  h.feed(kExpectHead);
  EXPECT_EQ(h.sent.find("100 Continue"), std::string::npos);
  EXPECT_EQ(h.sent.rfind("HTTP/1.1 413 Content Too Large\r\n", 0), 0u);
  EXPECT_NE(h.sent.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(h.conn.should_close());
}

}  // namespace
}  // namespace zhttp::conn
