// The exchange's life: responses completed after handle() returned (through an ExchangeRef, or
// posted), in order behind pipelined requests; references that die with their exchange (reset,
// end of input, reuse); aborts and the handler timeout; a streamed body paused and resumed.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unit/support/exchange_handler.hpp"

namespace zhttp::conn {
namespace {

const std::string kSlow = "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n";
const std::string kFast = "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n";

// Defers requests to /slow, answers the others at once.
void defer_slow(ExchangeHarness& h) {
  h.handler.on_handle = [&h](const RequestView& r, Response& response) {
    if (r.path() == "/slow") {
      h.handler.refs.push_back(response.defer());
    } else {
      response.send(200, "text/plain", "ok " + std::string(r.target()));
    }
  };
}

TEST(Exchange, DeferredResponseKeepsPipelinedOnesInOrder) {
  ExchangeHarness h;
  defer_slow(h);
  h.feed(kSlow + kFast);
  EXPECT_TRUE(h.sent.empty());
  EXPECT_EQ(h.handler.log, (std::vector<std::string>{"handle /slow"}));  // /fast waits
  EXPECT_EQ(h.conn.phase(), Connection::Phase::kHandler);
  EXPECT_FALSE(h.wake_pending);

  ASSERT_EQ(h.handler.refs.size(), 1u);
  Response* r = h.handler.refs[0].response();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->request().path(), "/slow");
  r->send(200, "text/plain", "late");
  EXPECT_FALSE(h.handler.refs[0].alive());  // complete: the reference is done
  EXPECT_TRUE(h.wake_pending);
  EXPECT_TRUE(h.sent.empty());  // the io layer carries on from on_wake()
  h.run_wakes();
  EXPECT_EQ(undated(h.sent), plain_response("late") + plain_response("ok /fast"));
  EXPECT_EQ(h.handler.log, (std::vector<std::string>{"handle /slow", "handle /fast"}));
  EXPECT_EQ(h.conn.phase(), Connection::Phase::kIdle);
  EXPECT_FALSE(h.conn.holds_buffers());
  EXPECT_EQ(h.double_wakes, 0);
}

TEST(Exchange, PipelinedRequestsReadWhileDeferredAreAnsweredAfterIt) {
  ExchangeHarness h;
  defer_slow(h);
  h.feed(kSlow);
  h.feed(kFast + kSlow + kFast);  // read in while /slow is owed
  EXPECT_TRUE(h.sent.empty());
  h.handler.refs[0].response()->send(200, "text/plain", "one");
  h.run_wakes();
  EXPECT_EQ(undated(h.sent), plain_response("one") + plain_response("ok /fast"));
  ASSERT_EQ(h.handler.refs.size(), 2u);
  h.handler.refs[1].response()->send(200, "text/plain", "two");
  h.run_wakes();
  EXPECT_EQ(undated(h.sent), plain_response("one") + plain_response("ok /fast") +
                                 plain_response("two") + plain_response("ok /fast"));
}

TEST(Exchange, PostedCompletionRunsOnTheLoopThenWakes) {
  ExchangeHarness h;
  defer_slow(h);
  h.feed(kSlow + kFast);
  static const auto complete = [](Response* r, void* arg) {
    ++*static_cast<int*>(arg);
    if (r) r->send(200, "text/plain", "posted");
  };
  int ran = 0;
  ASSERT_TRUE(h.handler.refs[0].post(complete, &ran));
  EXPECT_EQ(ran, 0);  // queued until the loop runs it
  h.run_wakes();
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(undated(h.sent), plain_response("posted") + plain_response("ok /fast"));
  // Posting to a dead reference still runs the function, with no response.
  ASSERT_TRUE(h.handler.refs[0].post(complete, &ran));
  h.run_wakes();
  EXPECT_EQ(ran, 2);
  EXPECT_EQ(undated(h.sent), plain_response("posted") + plain_response("ok /fast"));
  // A full ring refuses.
  h.refuse_posts = true;
  EXPECT_FALSE(h.handler.refs[0].post(complete, &ran));
}

TEST(Exchange, ResponseCompletedInsideHandleThroughASynchronousPost) {
  ExchangeHarness h;
  h.sync_posts = true;
  h.handler.on_handle = [](const RequestView&, Response& r) {
    ExchangeRef ref = r.defer();
    ref.post([](Response* resp, void*) { resp->send(200, "text/plain", "now"); }, nullptr);
  };
  h.feed(kSlow + kFast);
  EXPECT_EQ(undated(h.sent), plain_response("now") + plain_response("now"));
  EXPECT_EQ(h.wakes, 0);  // all of it inside the read
}

TEST(Exchange, LateCompletionAfterResetSendsNothing) {
  ExchangeHarness h;
  defer_slow(h);
  h.feed(kSlow);
  ExchangeRef ref = h.handler.refs[0];
  ASSERT_TRUE(ref.alive());
  Response* kept = ref.response();  // a pointer kept past its exchange refuses every use
  h.conn.reset();
  EXPECT_EQ(h.handler.aborts, (std::vector<AbortReason>{AbortReason::kShutdown}));
  EXPECT_FALSE(ref.alive());
  EXPECT_EQ(ref.response(), nullptr);
  kept->send(200, "text/plain", "too late");
  EXPECT_FALSE(kept->finished());
  kept->status(200).stream();
  EXPECT_EQ(kept->write("x"), 0u);
  EXPECT_FALSE(kept->defer().alive());
  EXPECT_FALSE(h.conn.has_output());
  EXPECT_FALSE(h.wake_pending);
  EXPECT_TRUE(h.sent.empty());
  EXPECT_EQ(h.input.in_use() + h.output.in_use(), 0u);
}

TEST(Exchange, LateReferenceIsDeadOnceTheConnectionServesAnotherRequest) {
  ExchangeHarness h;
  defer_slow(h);
  h.feed(kSlow);
  ExchangeRef first = h.handler.refs[0];
  h.conn.reset(AbortReason::kClientGone);  // the socket closed; the object serves the next one
  EXPECT_EQ(h.handler.aborts, (std::vector<AbortReason>{AbortReason::kClientGone}));
  h.feed(kSlow);
  ExchangeRef second = h.handler.refs[1];
  EXPECT_EQ(first.response(),
            nullptr);  // same connection, same exchange object: another generation
  ASSERT_NE(second.response(), nullptr);
  second.response()->send(200, "text/plain", "second");
  h.run_wakes();
  EXPECT_EQ(undated(h.sent), plain_response("second"));

  // Completed, then the next request on the same connection: the first reference stays dead.
  h.feed(kSlow);
  ExchangeRef third = h.handler.refs[2];
  EXPECT_EQ(second.response(), nullptr);
  EXPECT_NE(third.response(), nullptr);
  EXPECT_FALSE(second.alive());
}

TEST(Exchange, EndOfInputAbortsADeferredResponse) {
  ExchangeHarness h;
  defer_slow(h);
  h.feed(kSlow + kFast);
  ExchangeRef ref = h.handler.refs[0];
  h.conn.on_eof(kNow);
  EXPECT_EQ(h.handler.aborts, (std::vector<AbortReason>{AbortReason::kClientGone}));
  EXPECT_EQ(ref.response(), nullptr);
  EXPECT_TRUE(h.conn.should_close());
  h.flush();
  EXPECT_TRUE(h.sent.empty());
  h.conn.reset();
  EXPECT_EQ(h.handler.aborts.size(), 1u);  // told once
}

TEST(Exchange, HandlerTimeoutIs504AndAborts) {
  ExchangeHarness h;
  defer_slow(h);
  h.feed(kSlow + kFast);
  ASSERT_EQ(h.conn.phase(), Connection::Phase::kHandler);
  ExchangeRef ref = h.handler.refs[0];
  h.conn.timed_out(kNow);
  h.flush();
  EXPECT_EQ(undated(h.sent), "HTTP/1.1 504 Gateway Timeout\r\n" + kDateLine +
                                 "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 15\r\n"
                                 "Connection: close\r\n\r\nGateway Timeout");
  EXPECT_EQ(h.handler.aborts, (std::vector<AbortReason>{AbortReason::kTimeout}));
  EXPECT_EQ(ref.response(), nullptr);
  EXPECT_TRUE(h.conn.should_close());
  EXPECT_EQ(h.handler.log, (std::vector<std::string>{"handle /slow", "abort 1"}));
}

TEST(Exchange, HandlerTimeoutAfterAStreamBeganJustCloses) {
  ExchangeHarness h;
  h.handler.on_handle = [&](const RequestView&, Response& r) {
    r.status(200).stream();
    r.write("part");
    h.handler.refs.push_back(r.defer());
  };
  h.feed(kSlow);
  h.conn.timed_out(kNow);
  h.flush();
  EXPECT_EQ(h.sent, "HTTP/1.1 200 OK\r\n" + kDateLine +
                        "Transfer-Encoding: chunked\r\n\r\n4\r\npart\r\n");  // no last chunk
  EXPECT_EQ(h.handler.aborts, (std::vector<AbortReason>{AbortReason::kTimeout}));
  EXPECT_TRUE(h.conn.should_close());
}

TEST(Exchange, BodyTimeoutWhileStreamingIs408AndAborts) {
  ExchangeHarness h;
  h.handler.mode = BodyMode::kStream;
  h.feed("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
  ASSERT_EQ(h.conn.phase(), Connection::Phase::kBody);
  h.conn.timed_out(kNow);
  h.flush();
  EXPECT_EQ(h.sent.rfind("HTTP/1.1 408 Request Timeout\r\n", 0), 0u);
  EXPECT_EQ(h.handler.aborts, (std::vector<AbortReason>{AbortReason::kTimeout}));
  EXPECT_TRUE(h.conn.should_close());
}

TEST(Exchange, HandlerThatNeitherAnswersNorDefersGets500WithoutAbort) {
  ExchangeHarness h;
  h.handler.on_handle = [](const RequestView&, Response&) {};
  h.feed(kSlow + kFast);
  EXPECT_EQ(h.sent.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u);
  EXPECT_EQ(h.responses(), 1);
  EXPECT_TRUE(h.handler.aborts.empty());
  EXPECT_TRUE(h.conn.should_close());
}

// --- a streamed body paused and resumed -------------------------------------------------------

// Requests with a body are deferred and their body paused in handle(); others answered.
void defer_and_pause(ExchangeHarness& h) {
  h.handler.on_handle = [&h](const RequestView& r, Response& response) {
    if (!r.request().has_body()) {
      response.send(200, "text/plain", "ok " + std::string(r.target()) + " 0");
      return;
    }
    h.handler.refs.push_back(response.defer());
    response.pause_body();
  };
}

const std::string kStreamHead = "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n";

TEST(Exchange, PausedBodyIsNeitherDeliveredNorRead) {
  ExchangeHarness h;
  h.handler.mode = BodyMode::kStream;
  defer_and_pause(h);
  h.feed(kStreamHead + "hello");
  EXPECT_EQ(h.handler.body_calls, 0);
  EXPECT_TRUE(h.conn.read_space().empty());
  EXPECT_FALSE(h.conn.wants_read());
  EXPECT_EQ(h.conn.phase(), Connection::Phase::kHandler);
  EXPECT_EQ(h.feed(", world"), 0u);  // not read while paused

  h.handler.refs[0].response()->resume_body();
  EXPECT_TRUE(h.wake_pending);
  EXPECT_EQ(h.handler.body_calls, 0);  // delivered from on_wake(), not inside resume_body()
  h.run_wakes();
  EXPECT_EQ(h.handler.streamed[0], "hello");
  EXPECT_FALSE(h.conn.read_space().empty());
  h.feed(", world");
  EXPECT_EQ(h.handler.streamed[0], "hello, world");
  EXPECT_EQ(undated(h.sent), plain_response("streamed 12"));
}

TEST(Exchange, PauseFromOnBodyStopsDeliveryAtOnce) {
  ExchangeHarness h;
  h.handler.mode = BodyMode::kStream;
  h.handler.on_data = [](Response& r, std::string_view) { r.pause_body(); };
  // One byte a chunk: each on_body() pauses, so one chunk per resume.
  std::string in =
      "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "1\r\na\r\n1\r\nb\r\n1\r\nc\r\n0\r\n\r\n";
  h.feed(in);
  EXPECT_EQ(h.handler.streamed[0], "a");
  for (const char* want : {"ab", "abc"}) {
    EXPECT_TRUE(h.conn.read_space().empty());
    h.handler.refs[0].response()->resume_body();
    h.run_wakes();
    EXPECT_EQ(h.handler.streamed[0], want);
  }
  EXPECT_TRUE(h.sent.empty());
  h.handler.refs[0].response()->resume_body();
  h.run_wakes();
  EXPECT_EQ(undated(h.sent), plain_response("streamed 3"));
}

TEST(Exchange, AnsweringAPausedBodyDiscardsTheRest) {
  ExchangeHarness h;
  h.handler.mode = BodyMode::kStream;
  defer_and_pause(h);
  h.feed(kStreamHead + "hello, world" + "GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
  h.handler.refs[0].response()->send(200, "text/plain", "no thanks");
  h.run_wakes();
  EXPECT_EQ(h.handler.body_calls, 0);
  EXPECT_EQ(undated(h.sent), plain_response("no thanks") + plain_response("ok /next 0"));
  EXPECT_FALSE(h.conn.should_close());
}

TEST(Exchange, EndOfInputWhilePausedAborts) {
  ExchangeHarness h;
  h.handler.mode = BodyMode::kStream;
  defer_and_pause(h);
  h.feed(kStreamHead + "hel");
  h.conn.on_eof(kNow);
  EXPECT_EQ(h.handler.aborts, (std::vector<AbortReason>{AbortReason::kClientGone}));
  EXPECT_TRUE(h.conn.should_close());
}

}  // namespace
}  // namespace zhttp::conn
