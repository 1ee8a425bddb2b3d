// The connection state machine, driven with byte strings and no sockets: what goes in, what
// comes out, in which order, and when it closes.
#include "conn/connection.hpp"

#include "unit/support/connection_harness.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

namespace zhttp::conn {
namespace {

// Answers "<method> <target> [<body>]"; a few targets behave specially.
class EchoHandler : public Handler {
 public:
  BodyMode body_mode(const RequestView& r) override {
    return r.path() == "/nobody" ? BodyMode::kRefuse : BodyMode::kGather;
  }
  void handle(const RequestView& r, Response& response) override {
    seen.push_back(std::string(r.method_name()) + " " + std::string(r.target()) +
                   (r.body().empty() ? "" : " " + std::string(r.body())));
    if (r.path() == "/silent") return;  // forgets to answer
    if (r.path() == "/static") {
      response.status(200).header("Content-Type", "text/plain").body_static(big);
      return;
    }
    if (r.path() == "/file" || r.path() == "/bigfile") {
      // "file-contents", or that followed by 20,000 'z' (over the inline limit).
      std::FILE* f = std::tmpfile();
      std::fputs("file-contents", f);
      if (r.path() == "/bigfile") std::fputs(std::string(20000, 'z').c_str(), f);
      std::fflush(f);
      response.status(200).file(::dup(fileno(f)), 5, r.path() == "/file" ? 8 : 20008);
      std::fclose(f);
      return;
    }
    if (r.path() == "/304") {
      response.status(304).no_body();
      return;
    }
    response.send(200, "text/plain", seen.back());
  }
  std::vector<std::string> seen;
  std::string big = std::string(100000, 'b');
};

using Harness = ConnectionHarness<EchoHandler>;

const std::string kDate = "Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n";

TEST(Connection, AnswersAGetAndStaysOpen) {
  Harness h;
  h.feed("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(h.sent, "HTTP/1.1 200 OK\r\n" + kDate +
                        "Content-Type: text/plain\r\nContent-Length: 6\r\n\r\nGET /a");
  EXPECT_FALSE(h.conn.should_close());
  EXPECT_EQ(h.conn.phase(), Connection::Phase::kIdle);
}

TEST(Connection, ByteByByteGivesTheSameBytes) {
  const std::string in =
      "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n"
      "abcPUT /3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
  Harness whole;
  whole.feed(in);
  Harness bytewise;
  bytewise.feed(in, 1);
  EXPECT_EQ(bytewise.sent, whole.sent);
  EXPECT_EQ(whole.handler.seen, (std::vector<std::string>{"GET /1", "POST /2 abc", "PUT /3 hi"}));
}

TEST(Connection, PipelinedResponsesInOrderInOneWrite) {
  Harness h;
  h.feed(
      "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /3 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(h.responses(), 3);
  EXPECT_LT(h.sent.find("GET /1"), h.sent.find("GET /2"));
  EXPECT_LT(h.sent.find("GET /2"), h.sent.find("GET /3"));
  EXPECT_EQ(h.writes, 1);  // all three in one gather: one writev
}

TEST(Connection, HeadGetsLengthButNoBody) {
  Harness h;
  h.feed("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\nGET /g HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(h.responses(), 2);
  size_t second = h.sent.find("HTTP/1.1", 1);
  EXPECT_EQ(h.sent.substr(0, second), "HTTP/1.1 200 OK\r\n" + kDate +
                                          "Content-Type: text/plain\r\nContent-Length: 7\r\n\r\n");
}

TEST(Connection, ContentLengthBodyThenNextRequest) {
  Harness h;
  h.feed(
      "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /n HTTP/1.1\r\nHost: "
      "x\r\n\r\n");
  EXPECT_EQ(h.handler.seen, (std::vector<std::string>{"POST /p hello", "GET /n"}));
}

TEST(Connection, ChunkedBodyDecoded) {
  Harness h;
  h.feed(
      "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3;ext=1\r\nabc\r\n4\r\ndefg\r\n0\r\nTrailer: t\r\n\r\nGET /n HTTP/1.1\r\nHost: x\r\n\r\n",
      7);
  EXPECT_EQ(h.handler.seen, (std::vector<std::string>{"POST /c abcdefg", "GET /n"}));
  EXPECT_EQ(h.responses("HTTP/1.1 200"), 2);
}

TEST(Connection, ExpectContinueWhenTheHandlerWantsTheBody) {
  Harness h;
  h.feed("PUT /u HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  EXPECT_EQ(h.sent, "HTTP/1.1 100 Continue\r\n\r\n");
  h.feed("ok");
  EXPECT_EQ(h.handler.seen, (std::vector<std::string>{"PUT /u ok"}));
  EXPECT_NE(h.sent.find("HTTP/1.1 200 OK"), std::string::npos);
}

TEST(Connection, NoContinueWhenTheHandlerDoesNotWantTheBody) {
  Harness h;
  h.feed("PUT /nobody HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  EXPECT_EQ(h.sent.find("100 Continue"), std::string::npos);
  EXPECT_NE(h.sent.find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_NE(h.sent.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(h.conn.should_close());
}

TEST(Connection, UnknownExpectationIs417AndCloses) {
  Harness h;
  h.feed("PUT /u HTTP/1.1\r\nHost: x\r\nExpect: magic\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_EQ(h.sent.rfind("HTTP/1.1 417 Expectation Failed\r\n", 0), 0u);
  EXPECT_TRUE(h.conn.should_close());
  EXPECT_TRUE(h.handler.seen.empty());
}

// Said before reading; the body is then discarded like a refused one and the connection lives.
TEST(Connection, BodyOverLimitIs413AndTheNextRequestIsAnswered) {
  ConnectionConfig c;
  c.max_body_bytes = 10;
  Harness h(c);
  h.feed(
      "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n01234567890"
      "GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(h.sent.rfind("HTTP/1.1 413 Content Too Large\r\n", 0), 0u);
  EXPECT_EQ(h.sent.find("Connection: close"), std::string::npos);
  EXPECT_EQ(h.handler.seen, (std::vector<std::string>{"GET /next"}));
  EXPECT_FALSE(h.conn.should_close());
}

TEST(Connection, BodyOverLimitAndOverTheDiscardBoundIs413AndCloses) {
  ConnectionConfig c;
  c.max_body_bytes = 10;
  c.max_discard_bytes = 10;
  Harness h(c);
  h.feed("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n01234567890");
  EXPECT_EQ(h.sent.rfind("HTTP/1.1 413 Content Too Large\r\n", 0), 0u);
  EXPECT_NE(h.sent.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(h.conn.should_close());
}

TEST(Connection, ChunkedBodyOverLimitIs413) {
  ConnectionConfig c;
  c.max_body_bytes = 10;
  Harness h(c);
  h.feed(
      "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
      "chunked\r\n\r\n6\r\n012345\r\n6\r\n012345\r\n0\r\n\r\n");
  EXPECT_EQ(h.sent.rfind("HTTP/1.1 413", 0), 0u);
  EXPECT_TRUE(h.handler.seen.empty());
}

TEST(Connection, MalformedChunkedBodyIs400) {
  Harness h;
  h.feed("POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  EXPECT_EQ(h.sent.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
  EXPECT_TRUE(h.conn.should_close());
}

TEST(Connection, ParseErrorClosesAndIgnoresWhatFollows) {
  Harness h;
  h.feed("GET / HTTP/1.1\r\nHost : x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(h.responses(), 1);
  EXPECT_EQ(h.sent.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
  EXPECT_NE(h.sent.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(h.handler.seen.empty());
  EXPECT_TRUE(h.conn.should_close());
  EXPECT_TRUE(h.conn.read_space().empty());
}

TEST(Connection, ErrorAfterGoodPipelinedRequestsKeepsTheirAnswers) {
  Harness h;
  h.feed("GET /ok HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/9.9\r\nHost: x\r\n\r\n");
  EXPECT_EQ(h.responses(), 2);
  EXPECT_LT(h.sent.find("200 OK"), h.sent.find("505 HTTP Version Not Supported"));
}

TEST(Connection, Http10ClosesByDefault) {
  Harness h;
  h.feed("GET /a HTTP/1.0\r\n\r\n");
  EXPECT_NE(h.sent.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(h.conn.should_close());
}

TEST(Connection, Http10KeepAliveIsAcknowledged) {
  Harness h;
  h.feed("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_NE(h.sent.find("Connection: keep-alive\r\n"), std::string::npos);
  EXPECT_FALSE(h.conn.should_close());
}

TEST(Connection, ConnectionCloseRequestClosesAfterResponse) {
  Harness h;
  h.feed(
      "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(h.responses(), 1);
  EXPECT_TRUE(h.conn.should_close());
}

TEST(Connection, HandlerThatDoesNotAnswerGets500) {
  Harness h;
  h.feed("GET /silent HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(h.sent.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u);
  EXPECT_TRUE(h.conn.should_close());
}

TEST(Connection, NotModifiedHasNoLength) {
  Harness h;
  h.feed("GET /304 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(h.sent, "HTTP/1.1 304 Not Modified\r\n" + kDate + "\r\n");
}

TEST(Connection, SmallFileRangeIsReadIntoTheOutputBuffer) {
  Harness h;
  h.feed("GET /file HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(h.sent, "HTTP/1.1 200 OK\r\n" + kDate + "Content-Length: 8\r\n\r\ncontents");
  EXPECT_EQ(h.file_sends, 0);
  EXPECT_EQ(h.writes, 1);
}

TEST(Connection, LargeFileRangeIsSentAsAFileSegment) {
  Harness h;
  h.feed("GET /bigfile HTTP/1.1\r\nHost: x\r\n\r\nHEAD /bigfile HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string head = "HTTP/1.1 200 OK\r\n" + kDate + "Content-Length: 20008\r\n\r\n";
  EXPECT_EQ(h.sent, head + "contents" + std::string(20000, 'z') + head);
  EXPECT_EQ(h.file_sends, 1);
}

TEST(Connection, PipelinedSmallFilesLeaveInOneWrite) {
  Harness h;
  std::string batch;
  for (int i = 0; i < 16; ++i) batch += "GET /file HTTP/1.1\r\nHost: x\r\n\r\n";
  h.feed(batch);
  EXPECT_EQ(h.responses("HTTP/1.1 200 OK"), 16);
  EXPECT_EQ(h.writes, 1);
}

TEST(Connection, BackpressureHoldsPipelinedRequestsUntilOutputDrains) {
  Harness h;
  std::string many;
  for (int i = 0; i < 20; ++i) many += "GET /static HTTP/1.1\r\nHost: x\r\n\r\n";
  std::span<char> space = h.conn.read_space();
  std::copy(many.begin(), many.end(), space.begin());
  h.conn.on_read(many.size(), kNow);
  // 100 KB each against a 256 KB bound: only a few are answered before output is sent.
  EXPECT_LT(h.handler.seen.size(), 5u);
  EXPECT_TRUE(h.conn.read_space().empty());
  h.flush();
  EXPECT_EQ(h.handler.seen.size(), 20u);
  EXPECT_EQ(h.responses("HTTP/1.1 200"), 20);
}

TEST(Connection, IdleConnectionHoldsNoBuffers) {
  Harness h;
  h.feed("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_FALSE(h.conn.holds_buffers());
  EXPECT_EQ(h.input.in_use(), 0u);
  EXPECT_EQ(h.output.in_use(), 0u);
  h.feed("GET /a HTTP/1.1\r\nHo");
  EXPECT_TRUE(h.conn.holds_buffers());  // a partial head keeps its bytes
}

TEST(Connection, IdleConnectionIsSmall) {
  // The design target is <= 256 bytes per idle keep-alive connection, io watcher included.
  EXPECT_LE(sizeof(Connection), 160u);
}

TEST(Connection, DrainKeepsIdleOpenAndEndsKeepAliveAtTheNextResponse) {
  Harness idle;
  idle.feed("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  idle.conn.drain();
  EXPECT_FALSE(idle.conn.should_close());
  idle.feed("GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(idle.sent.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(idle.conn.should_close());

  Harness busy;
  busy.conn.drain();
  busy.feed("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(busy.sent.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(busy.conn.should_close());
}

TEST(Connection, EofMidRequestClosesWithoutAnswer) {
  Harness h;
  h.feed("GET /a HTTP/1.1\r\nHo");
  h.conn.on_eof(kNow);
  EXPECT_TRUE(h.sent.empty());
  EXPECT_TRUE(h.conn.should_close());
}

TEST(Connection, EofAfterCompleteRequestsAnswersThemFirst) {
  Harness h;
  std::span<char> space = h.conn.read_space();
  std::string in = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
  std::copy(in.begin(), in.end(), space.begin());
  h.conn.on_read(in.size(), kNow);
  h.conn.on_eof(kNow);
  h.flush();
  EXPECT_EQ(h.responses(), 1);
  EXPECT_TRUE(h.conn.should_close());
}

TEST(Connection, TimeoutMidHeadIs408) {
  Harness h;
  h.feed("GET /slow HTTP/1.1\r\nHo");
  h.conn.timed_out(kNow);
  h.flush();
  EXPECT_EQ(h.sent.rfind("HTTP/1.1 408 Request Timeout\r\n", 0), 0u);
  EXPECT_TRUE(h.conn.should_close());
}

TEST(Connection, TimeoutWhenIdleClosesSilently) {
  Harness h;
  h.feed("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  size_t before = h.sent.size();
  h.conn.timed_out(kNow);
  EXPECT_EQ(h.sent.size(), before);
  EXPECT_TRUE(h.conn.should_close());
}

TEST(Connection, ResetMakesItNew) {
  Harness h;
  h.feed("GET / HTTP/1.1\r\nBad Field: x\r\n\r\n");
  ASSERT_TRUE(h.conn.should_close());
  h.conn.reset();
  EXPECT_FALSE(h.conn.should_close());
  EXPECT_EQ(h.input.in_use() + h.output.in_use(), 0u);
  h.sent.clear();
  h.feed("GET /again HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(h.responses("HTTP/1.1 200"), 1);
}

}  // namespace
}  // namespace zhttp::conn
