// What the connection tells its observer about each response beyond status and size: the
// response's Content-Encoding (for the extended access log), only when the context asks, for
// whole and streamed answers alike.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unit/support/exchange_handler.hpp"

namespace zhttp::conn {
namespace {

struct EncodingObserver : ResponseObserver {
  void on_response(const ResponseRecord& r) override { encodings.emplace_back(r.content_encoding); }
  std::vector<std::string> encodings;
};

struct RecordHarness : ExchangeHarness {
  explicit RecordHarness(bool keep) {
    ctx.observer = &observer;
    ctx.keep_content_encoding = keep;
  }
  EncodingObserver observer;
};

const std::string kGet = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";

void answer_with_encoding(const RequestView&, Response& response) {
  response.status(200).header("Content-Type", "text/plain").header("content-encoding", "br");
  response.body("xx");
}

TEST(ResponseRecord, CarriesTheContentEncodingWhenAsked) {
  RecordHarness h(true);
  h.handler.on_handle = answer_with_encoding;
  h.feed(kGet);
  h.handler.on_handle = nullptr;  // the default answer: no Content-Encoding
  h.feed(kGet);
  EXPECT_EQ(h.observer.encodings, (std::vector<std::string>{"br", ""}));
}

TEST(ResponseRecord, NoContentEncodingUnlessAsked) {
  RecordHarness h(false);
  h.handler.on_handle = answer_with_encoding;
  h.feed(kGet);
  EXPECT_EQ(h.observer.encodings, (std::vector<std::string>{""}));
}

TEST(ResponseRecord, AStreamedResponseKeepsItsEncodingAfterTheHeadIsSent) {
  RecordHarness h(true);
  ExchangeRef ref;
  h.handler.on_handle = [&ref](const RequestView&, Response& response) {
    response.status(200).header("Content-Encoding", "gzip, br");
    ASSERT_TRUE(response.stream());
    response.write("part");
    ref = response.defer();
  };
  h.feed(kGet);
  ASSERT_NE(h.sent.find("part"), std::string::npos);  // the head went out
  ASSERT_NE(ref.response(), nullptr);
  // More output where the head was: the value must have been copied, not pointed at.
  ref.response()->write(std::string(500, 'z'));
  ref.response()->end();
  h.run_wakes();
  EXPECT_EQ(h.observer.encodings, (std::vector<std::string>{"gzip, br"}));
}

TEST(ResponseRecord, ALongValueIsCut) {
  RecordHarness h(true);
  const std::string value(kContentEncodingBytes + 10, 'x');
  h.handler.on_handle = [&value](const RequestView&, Response& response) {
    response.status(200).header("Content-Encoding", value).body("");
  };
  h.feed(kGet);
  EXPECT_EQ(h.observer.encodings,
            (std::vector<std::string>{value.substr(0, kContentEncodingBytes)}));
}

}  // namespace
}  // namespace zhttp::conn
