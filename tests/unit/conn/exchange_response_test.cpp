// Responses written in pieces: chunked for HTTP/1.1, delimited by the close for HTTP/1.0, with a
// declared length, none of it for HEAD; from handle() or later through the ExchangeRef; and the
// backpressure of a slow reader (write() takes less, on_writable() once there is room).
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "unit/support/exchange_handler.hpp"

namespace zhttp::conn {
namespace {

const std::string kGet = "GET /s HTTP/1.1\r\nHost: x\r\n\r\n";
const std::string kNext = "GET /next HTTP/1.1\r\nHost: x\r\n\r\n";
const std::string kNextAnswer = plain_response("ok /next 0");
const std::string kChunkedHead = "HTTP/1.1 200 OK\r\n" + kDateLine +
                                 "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";

// /s streams "hello, world" in two writes from handle() (stream(length) when length > 0);
// other targets get the default answer.
void stream_in_handle(ExchangeHarness& h, uint64_t length = 0) {
  h.handler.on_handle = [length](const RequestView& r, Response& response) {
    if (r.path() != "/s") {
      response.send(200, "text/plain", "ok " + std::string(r.target()) + " 0");
      return;
    }
    response.status(200).header("Content-Type", "text/plain");
    ASSERT_TRUE(length > 0 ? response.stream(length) : response.stream());
    EXPECT_TRUE(response.streaming());
    EXPECT_EQ(response.write("hello"), 5u);
    EXPECT_EQ(response.write(", world"), 7u);
    response.end();
    EXPECT_TRUE(response.finished());
  };
}

TEST(ExchangeResponse, StreamIsChunkedForHttp11AndKeepsTheConnection) {
  ExchangeHarness h;
  stream_in_handle(h);
  h.feed(kGet + kNext);
  EXPECT_EQ(h.sent, kChunkedHead + "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n" + kNextAnswer);
  EXPECT_FALSE(h.conn.should_close());
}

TEST(ExchangeResponse, StreamIsCloseDelimitedForHttp10) {
  for (const char* fields : {"", "Connection: keep-alive\r\n"}) {
    ExchangeHarness h;
    stream_in_handle(h);
    h.feed("GET /s HTTP/1.0\r\n" + std::string(fields) + "\r\n" + kNext);
    EXPECT_EQ(h.sent, "HTTP/1.1 200 OK\r\n" + kDateLine +
                          "Content-Type: text/plain\r\nConnection: close\r\n\r\nhello, world");
    EXPECT_TRUE(h.conn.should_close());
  }
}

TEST(ExchangeResponse, StreamWithADeclaredLength) {
  ExchangeHarness h;
  stream_in_handle(h, 12);
  h.feed(kGet + kNext);
  EXPECT_EQ(h.sent, plain_response("hello, world") + kNextAnswer);
  EXPECT_FALSE(h.conn.should_close());
}

TEST(ExchangeResponse, DeclaredLengthRefusesBytesBeyondItAndClosesWhenShort) {
  ExchangeHarness h;
  h.handler.on_handle = [](const RequestView&, Response& r) {
    r.status(200).stream(4);
    EXPECT_EQ(r.write("abcdef"), 4u);
    EXPECT_EQ(r.write("g"), 0u);
    r.end();
  };
  h.feed(kGet);
  EXPECT_EQ(h.sent, "HTTP/1.1 200 OK\r\n" + kDateLine + "Content-Length: 4\r\n\r\nabcd");
  EXPECT_FALSE(h.conn.should_close());

  ExchangeHarness short_one;
  short_one.handler.on_handle = [](const RequestView&, Response& r) {
    r.status(200).stream(10);
    r.write("abc");
    r.end();  // 7 bytes short: the client can only learn it from the close
  };
  short_one.feed(kGet + kNext);
  EXPECT_EQ(short_one.sent, "HTTP/1.1 200 OK\r\n" + kDateLine + "Content-Length: 10\r\n\r\nabc");
  EXPECT_TRUE(short_one.conn.should_close());
}

TEST(ExchangeResponse, HeadWithAStreamSendsNoBody) {
  ExchangeHarness h;
  stream_in_handle(h);
  h.feed("HEAD /s HTTP/1.1\r\nHost: x\r\n\r\n" + kNext);
  EXPECT_EQ(h.sent, kChunkedHead + kNextAnswer);  // no chunk, not even the last one

  ExchangeHarness declared;
  stream_in_handle(declared, 12);
  declared.feed("HEAD /s HTTP/1.1\r\nHost: x\r\n\r\n" + kNext);
  EXPECT_EQ(declared.sent, "HTTP/1.1 200 OK\r\n" + kDateLine +
                               "Content-Type: text/plain\r\nContent-Length: 12\r\n\r\n" +
                               kNextAnswer);
  EXPECT_FALSE(declared.conn.should_close());
}

// A HEAD answer owes no body bytes: ending a declared-length stream without writing is whole.
TEST(ExchangeResponse, HeadWithADeclaredLengthEndedAtOnceKeepsTheConnection) {
  ExchangeHarness h;
  h.handler.on_handle = [](const RequestView& r, Response& response) {
    if (r.path() != "/s") {
      response.send(200, "text/plain", "ok " + std::string(r.target()) + " 0");
      return;
    }
    response.status(200).header("Content-Type", "text/plain");
    ASSERT_TRUE(response.stream(12));
    response.end();
  };
  h.feed("HEAD /s HTTP/1.1\r\nHost: x\r\n\r\n" + kNext);
  EXPECT_EQ(h.sent, "HTTP/1.1 200 OK\r\n" + kDateLine +
                        "Content-Type: text/plain\r\nContent-Length: 12\r\n\r\n" + kNextAnswer);
  EXPECT_FALSE(h.conn.should_close());
}

// A head must be written in one callback: one begun in handle() and finished later (when the
// output block may have gone back to the pool, to another connection) is refused, not written.
TEST(ExchangeResponse, HeadBegunInOneCallbackAndFinishedInAnotherIsRefused) {
  ExchangeHarness h;
  h.handler.on_handle = [&h](const RequestView&, Response& response) {
    response.status(200).header("Content-Type", "text/plain");
    h.handler.refs.push_back(response.defer());
  };
  h.feed(kGet);
  EXPECT_EQ(h.sent, "");
  EXPECT_FALSE(h.conn.holds_buffers() && h.output.in_use() > 0);  // its output block went back
  Response* r = h.handler.refs[0].response();
  ASSERT_NE(r, nullptr);
  r->header("X-Late", "1").body("late");
  EXPECT_TRUE(r->failed());
  EXPECT_FALSE(r->finished());
  h.run_wakes();
  EXPECT_EQ(h.sent, "");
  // It can still answer properly, in one go.
  r->send(200, "text/plain", "ok");
  h.run_wakes();
  EXPECT_EQ(undated(h.sent), plain_response("ok"));
}

TEST(ExchangeResponse, StreamFedLaterThroughTheReference) {
  ExchangeHarness h;
  h.handler.on_handle = [&h](const RequestView& r, Response& response) {
    if (r.path() != "/s") {
      response.send(200, "text/plain", "ok " + std::string(r.target()) + " 0");
      return;
    }
    response.status(200).header("Content-Type", "text/plain").stream();
    h.handler.refs.push_back(response.defer());
  };
  h.feed(kGet + kNext);
  EXPECT_EQ(h.sent, kChunkedHead);
  ExchangeRef ref = h.handler.refs[0];
  EXPECT_EQ(ref.response()->write("one"), 3u);
  EXPECT_TRUE(h.wake_pending);
  h.run_wakes();
  EXPECT_EQ(h.sent, kChunkedHead + "3\r\none\r\n");
  EXPECT_EQ(ref.response()->write("two"), 3u);
  EXPECT_EQ(ref.response()->write("three"), 5u);
  h.run_wakes();
  EXPECT_EQ(h.sent, kChunkedHead + "3\r\none\r\n3\r\ntwo\r\n5\r\nthree\r\n");
  ref.response()->end();
  EXPECT_FALSE(ref.alive());
  h.run_wakes();
  EXPECT_EQ(undated(h.sent),
            kChunkedHead + "3\r\none\r\n3\r\ntwo\r\n5\r\nthree\r\n0\r\n\r\n" + kNextAnswer);
  EXPECT_EQ(h.double_wakes, 0);
}

TEST(ExchangeResponse, ResetWhileStreamingAbortsAndKillsTheReference) {
  ExchangeHarness h;
  h.handler.on_handle = [&h](const RequestView&, Response& response) {
    response.status(200).stream();
    h.handler.refs.push_back(response.defer());
  };
  h.feed(kGet);
  h.conn.on_eof(kNow);
  EXPECT_EQ(h.handler.aborts, (std::vector<AbortReason>{AbortReason::kClientGone}));
  EXPECT_EQ(h.handler.refs[0].response(), nullptr);
  EXPECT_TRUE(h.conn.should_close());
}

// --- a slow reader --------------------------------------------------------------------------

// Streams `payload` from handle() and on_writable(), as much as write() takes, then ends.
struct Producer {
  explicit Producer(ExchangeHarness& h, std::string data) : payload(std::move(data)) {
    h.handler.on_handle = [this](const RequestView& r, Response& response) {
      if (r.path() != "/s") {
        response.send(200, "text/plain", "ok " + std::string(r.target()) + " 0");
        return;
      }
      response.status(200).stream();
      push(response);
    };
    h.handler.on_room = [this](Response& response) { push(response); };
  }
  void push(Response& r) {
    while (at < payload.size()) {
      size_t offer = std::min<size_t>(payload.size() - at, 3000);
      size_t took = r.write(std::string_view(payload).substr(at, offer));
      at += took;
      if (took < offer) {
        ++short_writes;
        return;  // on_writable() follows
      }
    }
    r.end();
  }
  std::string payload;
  size_t at = 0;
  int short_writes = 0;
};

TEST(ExchangeResponse, SlowReaderBackpressuresTheStream) {
  ConnectionConfig c;
  c.max_pending_output = 8192;
  ExchangeHarness h(c);
  Producer producer(h, pattern_body(100000));
  h.read_per_step = 1000;
  h.feed(kGet + kNext);
  EXPECT_GT(producer.short_writes, 0);
  EXPECT_LT(producer.at, producer.payload.size());
  int steps = 0;
  while (h.conn.has_output() && steps++ < 10000) h.flush();
  EXPECT_FALSE(h.conn.has_output());
  EXPECT_GT(h.handler.writable_calls, 0);
  EXPECT_EQ(producer.at, producer.payload.size());
  // What waited never passed the bound by more than one chunk's framing.
  EXPECT_LE(h.peak_output, c.max_pending_output + 32);
  EXPECT_GT(h.peak_output, c.max_pending_output / 2);
  ASSERT_EQ(h.sent.rfind(kChunkedHead.substr(0, 17), 0), 0u);
  size_t body_at = h.sent.find("\r\n\r\n") + 4;
  bool ok = false;
  std::string_view rest;
  std::string body = dechunk(std::string_view(h.sent).substr(body_at), &ok, &rest);
  EXPECT_TRUE(ok);
  EXPECT_TRUE(body == producer.payload);
  EXPECT_EQ(rest, kNextAnswer);
}

TEST(ExchangeResponse, WriteTakesNothingWhileTheOutputIsFull) {
  ConnectionConfig c;
  c.max_pending_output = 4096;
  ExchangeHarness h(c);
  h.read_per_step = 0;  // the reader takes nothing
  h.handler.on_handle = [&h](const RequestView&, Response& r) {
    r.status(200).stream();
    h.handler.refs.push_back(r.defer());
  };
  h.feed(kGet);
  Response* r = h.handler.refs[0].response();
  size_t first = r->write(std::string(10000, 'x'));
  EXPECT_GT(first, 0u);
  EXPECT_LT(first, 4096u);
  EXPECT_EQ(r->write("more"), 0u);
  h.run_wakes();
  EXPECT_EQ(h.handler.writable_calls, 0);  // no room yet
  h.read_per_step = 2048;
  h.flush();
  EXPECT_EQ(h.handler.writable_calls, 1);
  EXPECT_GT(r->write(std::string(10000, 'y')), 0u);
}

// Resuming the body from on_writable(): the body bytes already read are delivered without
// waiting for more input.
// A POST of "hello, world" to a handler that streams its body in, paused, while it streams out
// an answer begun with `start` (which overfills the 4 KiB of output allowed); then kNext.
// on_writable() and the end of the body are the test's.
void paused_upload_while_streaming(ExchangeHarness& h, std::function<void(Response&)> start) {
  h.handler.mode = BodyMode::kStream;
  h.handler.on_handle = [&h, start](const RequestView& r, Response& response) {
    if (!r.request().has_body()) {
      response.send(200, "text/plain", "ok " + std::string(r.target()) + " 0");
      return;
    }
    h.handler.refs.push_back(response.defer());
    response.pause_body();
    response.status(200).stream();
    start(response);
  };
  h.feed("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\nhello, world" + kNext);
  h.flush_all();
  h.run_wakes();
}

ConnectionConfig small_output() {
  ConnectionConfig c;
  c.max_pending_output = 4096;
  return c;
}

TEST(ExchangeResponse, BodyResumedFromOnWritableIsDelivered) {
  ExchangeHarness h(small_output());
  std::string payload = pattern_body(20000);
  size_t at = 0;
  auto push = [&](Response& r) {
    while (at < payload.size()) {
      size_t took = r.write(std::string_view(payload).substr(at));
      at += took;
      if (took == 0) return;
    }
    r.resume_body();  // all written: now the request body
  };
  h.handler.on_room = push;
  h.handler.on_data_end = [](Response& r) { r.end(); };
  paused_upload_while_streaming(h, push);
  EXPECT_EQ(at, payload.size());
  EXPECT_EQ(h.handler.streamed[0], "hello, world");
  EXPECT_FALSE(h.handler.refs[0].alive());
  EXPECT_EQ(h.sent.substr(h.sent.size() - kNextAnswer.size()), kNextAnswer);
}

// The same when on_writable() only resumes the body, once all output is out: nothing else
// would call the connection again.
TEST(ExchangeResponse, BodyResumedFromOnWritableWithNothingToWrite) {
  ExchangeHarness h(small_output());
  h.handler.on_room = [](Response& r) { r.resume_body(); };
  h.handler.on_data_end = [](Response& r) { r.end(); };
  paused_upload_while_streaming(
      h, [](Response& r) { EXPECT_LT(r.write(std::string(10000, 'x')), 10000u); });
  EXPECT_EQ(h.handler.writable_calls, 1);
  EXPECT_EQ(h.handler.streamed[0], "hello, world");
  EXPECT_FALSE(h.handler.refs[0].alive());
  EXPECT_EQ(h.sent.substr(h.sent.size() - kNextAnswer.size()), kNextAnswer);
}

// Ending the response from on_writable() while the body is paused: the rest of the body is
// discarded and the next request answered, without waiting for more input.
TEST(ExchangeResponse, ResponseEndedFromOnWritableDiscardsThePausedBody) {
  ExchangeHarness h(small_output());
  h.handler.on_room = [](Response& r) { r.end(); };
  paused_upload_while_streaming(
      h, [](Response& r) { EXPECT_LT(r.write(std::string(10000, 'x')), 10000u); });
  EXPECT_EQ(h.handler.writable_calls, 1);
  EXPECT_EQ(h.handler.body_calls, 0);
  EXPECT_EQ(h.sent.substr(h.sent.size() - kNextAnswer.size()), kNextAnswer);
  EXPECT_FALSE(h.conn.should_close());
}

}  // namespace
}  // namespace zhttp::conn
