// The response head writer: format_uint, status lines and fields (validated names and values,
// no injection), the first error sticking, and never a byte past the capacity it was given.
#include "zhttp/response_writer.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <random>
#include <string>

namespace zhttp {
namespace {

constexpr time_t kRfcExample = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT

// A buffer with guard bytes after `cap`: any write at or past cap changes them.
struct Guarded {
  static constexpr size_t kGuard = 16;
  static constexpr char kCanary = '\xA5';
  char bytes[4096 + kGuard];
  size_t cap;

  explicit Guarded(size_t c) : cap(c) { std::memset(bytes, kCanary, sizeof bytes); }
  char* data() { return bytes; }
  bool intact() const {
    for (size_t i = cap; i < cap + kGuard; ++i) {
      if (bytes[i] != kCanary) return false;
    }
    return true;
  }
};

std::string str(const ResponseWriter& w) {
  return std::string(w.view());
}

// ---- format_uint ----

std::string fmt_uint(uint64_t v) {
  char buf[kMaxUintDigits + 1];
  buf[kMaxUintDigits] = '#';
  const size_t n = format_uint(v, buf);
  EXPECT_EQ(buf[kMaxUintDigits], '#');
  return std::string(buf, n);
}

TEST(FormatUint, SmallValues) {
  EXPECT_EQ(fmt_uint(0), "0");
  EXPECT_EQ(fmt_uint(7), "7");
  EXPECT_EQ(fmt_uint(10), "10");
  EXPECT_EQ(fmt_uint(99), "99");
  EXPECT_EQ(fmt_uint(100), "100");
  EXPECT_EQ(fmt_uint(12345), "12345");
}

TEST(FormatUint, Max) {
  EXPECT_EQ(fmt_uint(std::numeric_limits<uint64_t>::max()), "18446744073709551615");
}

TEST(FormatUint, EveryPowerOfTenBoundary) {
  uint64_t p = 1;
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(fmt_uint(p), std::to_string(p));
    EXPECT_EQ(fmt_uint(p - 1), std::to_string(p - 1));
    if (i < 19) p *= 10;
  }
}

TEST(FormatUint, MatchesToStringOnRandomValues) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t v = rng() >> (rng() % 64);
    ASSERT_EQ(fmt_uint(v), std::to_string(v));
  }
}

// ---- exact output ----

TEST(ResponseWriter, MinimalResponse) {
  char buf[256];
  ResponseWriter w(buf, sizeof buf);
  w.status_line(200).content_length(5).end_headers().body("hello");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(str(w), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(w.size(), str(w).size());
  EXPECT_EQ(w.data(), buf);
  EXPECT_TRUE(w.headers_done());
}

TEST(ResponseWriter, FullHeadWithCachedDate) {
  char buf[512];
  DateCache dates;
  ResponseWriter w(buf, sizeof buf);
  w.status_line(404)
      .date(dates, kRfcExample)
      .header("Server", "zhttpd")
      .header("Content-Type", "text/plain; charset=utf-8")
      .content_length(0)
      .connection_close()
      .end_headers();
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(str(w),
            "HTTP/1.1 404 Not Found\r\n"
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "Server: zhttpd\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 0\r\n"
            "Connection: close\r\n"
            "\r\n");
}

TEST(ResponseWriter, Http10KeepAlive) {
  char buf[256];
  ResponseWriter w(buf, sizeof buf);
  w.status_line(304, 0).connection_keep_alive().end_headers();
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(str(w), "HTTP/1.0 304 Not Modified\r\nConnection: keep-alive\r\n\r\n");
}

TEST(ResponseWriter, UnregisteredCodeHasEmptyReasonButKeepsTheSpace) {
  char buf[64];
  ResponseWriter w(buf, sizeof buf);
  w.status_line(599).end_headers();
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(str(w), "HTTP/1.1 599 \r\n\r\n");
}

TEST(ResponseWriter, EveryStatusCodeFormatsItsDigits) {
  char buf[128];
  for (uint16_t code = 100; code <= 599; ++code) {
    ResponseWriter w(buf, sizeof buf);
    w.status_line(code);
    ASSERT_TRUE(w.ok());
    ASSERT_EQ(str(w).substr(0, 13), "HTTP/1.1 " + std::to_string(code) + " ") << code;
  }
}

TEST(ResponseWriter, StatusCodesRfc9110Phrases) {
  char buf[128];
  ResponseWriter w(buf, sizeof buf);
  w.status_line(413);
  EXPECT_EQ(str(w), "HTTP/1.1 413 Content Too Large\r\n");
}

TEST(ResponseWriter, NumericHeaderAndStringDate) {
  char buf[256];
  ResponseWriter w(buf, sizeof buf);
  w.status_line(429)
      .header("Retry-After", uint64_t{120})
      .header("X-Zero", uint64_t{0})
      .date("Sun, 06 Nov 1994 08:49:37 GMT")
      .end_headers();
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(str(w),
            "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 120\r\nX-Zero: 0\r\n"
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n");
}

TEST(ResponseWriter, IntegerLiteralsPickTheNumericOverload) {
  char buf[128];
  ResponseWriter w(buf, sizeof buf);
  w.status_line(200).header("A", 0).header("B", 42).end_headers();
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(str(w), "HTTP/1.1 200 OK\r\nA: 0\r\nB: 42\r\n\r\n");
}

TEST(ResponseWriter, LargeContentLength) {
  char buf[128];
  ResponseWriter w(buf, sizeof buf);
  w.status_line(200).content_length(std::numeric_limits<uint64_t>::max()).end_headers();
  EXPECT_EQ(str(w), "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n");
}

TEST(ResponseWriter, BodyInPieces) {
  char buf[128];
  ResponseWriter w(buf, sizeof buf);
  w.status_line(200).end_headers().body("ab").body("").body("cd");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(str(w), "HTTP/1.1 200 OK\r\n\r\nabcd");
}

TEST(ResponseWriter, EmptyHeaderValueAndTabsAreAllowed) {
  char buf[128];
  ResponseWriter w(buf, sizeof buf);
  w.status_line(200).header("X-Empty", "").header("X-Tab", "a\tb").end_headers();
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(str(w), "HTTP/1.1 200 OK\r\nX-Empty: \r\nX-Tab: a\tb\r\n\r\n");
}

TEST(ResponseWriter, ObsTextValueIsAllowed) {
  char buf[128];
  ResponseWriter w(buf, sizeof buf);
  w.status_line(200).header("X-Name", "caf\xC3\xA9");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(str(w), "HTTP/1.1 200 OK\r\nX-Name: caf\xC3\xA9\r\n");
}

TEST(ResponseWriter, TokenNamesWithAllTcharPunctuation) {
  char buf[128];
  ResponseWriter w(buf, sizeof buf);
  w.status_line(200).header("!#$%&'*+-.^_`|~Az09", "v");
  ASSERT_TRUE(w.ok());
}

// ---- validation ----

TEST(ResponseWriter, RejectsBadStatus) {
  char buf[64];
  for (uint16_t code : {0, 99, 600, 999, 1000, 65535}) {
    ResponseWriter w(buf, sizeof buf);
    w.status_line(code);
    EXPECT_EQ(w.error(), WriteError::kBadStatus) << code;
    EXPECT_EQ(w.size(), 0u);
  }
  ResponseWriter w(buf, sizeof buf);
  w.status_line(200, 10);
  EXPECT_EQ(w.error(), WriteError::kBadStatus);
}

TEST(ResponseWriter, RejectsNonTokenHeaderNames) {
  char buf[128];
  for (std::string_view name :
       {std::string_view(""), std::string_view("X Y"), std::string_view("X:Y"),
        std::string_view("X\r\nEvil"), std::string_view("X\0", 2), std::string_view("(x)"),
        std::string_view("X\t"), std::string_view("caf\xC3\xA9")}) {
    ResponseWriter w(buf, sizeof buf);
    w.status_line(200);
    const size_t before = w.size();
    w.header(name, "v");
    EXPECT_EQ(w.error(), WriteError::kBadHeaderName) << name;
    EXPECT_EQ(w.size(), before);
    ResponseWriter n(buf, sizeof buf);
    n.status_line(200).header(name, uint64_t{1});
    EXPECT_EQ(n.error(), WriteError::kBadHeaderName) << name;
  }
}

TEST(ResponseWriter, RejectsHeaderInjectionInValues) {
  char buf[128];
  for (std::string_view value :
       {std::string_view("a\r\nSet-Cookie: x=1"), std::string_view("a\nb"),
        std::string_view("a\rb"), std::string_view("a\0b", 3), std::string_view("\x01"),
        std::string_view("a\x7f"), std::string_view("\r\n\r\n<html>")}) {
    ResponseWriter w(buf, sizeof buf);
    w.status_line(200);
    const size_t before = w.size();
    w.header("X-Test", value);
    EXPECT_EQ(w.error(), WriteError::kBadHeaderValue);
    EXPECT_EQ(w.size(), before);
    EXPECT_EQ(str(w).find("Set-Cookie"), std::string::npos);
  }
}

// Names and values are checked 16 bytes at a time, with the last block overlapping: every
// length and every position of the bad byte, in the vector part and in the tail.
TEST(ResponseWriter, ChecksEveryByteOfLongNamesAndValues) {
  for (size_t length = 1; length <= 40; ++length) {
    std::string value(length, 'v');
    for (size_t i = 0; i < length; i += 3) value[i] = i % 2 ? '\t' : '\xA9';  // HTAB, obs-text
    std::string name(length, 'N');
    for (size_t i = 0; i < length; i += 4) name[i] = i % 2 ? '-' : '~';  // rarer token bytes
    EXPECT_TRUE(is_field_value(value)) << length;
    EXPECT_TRUE(is_field_name(name)) << length;
    for (size_t at = 0; at < length; ++at) {
      for (char bad : {'\r', '\n', '\0', '\x7f'}) {
        std::string v = value;
        v[at] = bad;
        EXPECT_FALSE(is_field_value(v)) << length << " " << at << " " << int{bad};
      }
      for (char bad : {' ', ':', '\r', '(', '\xC3'}) {
        std::string n = name;
        n[at] = bad;
        EXPECT_FALSE(is_field_name(n)) << length << " " << at << " " << int{bad};
      }
    }
  }
  EXPECT_TRUE(is_field_value(""));
  EXPECT_FALSE(is_field_name(""));
}

TEST(ResponseWriter, ConstFieldsAreWrittenAsGiven) {
  char buf[128];
  ResponseWriter w(buf, sizeof buf);
  constexpr ConstField kVary{"Vary", "Accept-Encoding"};
  w.status_line(204).header(kVary).header({"X-Tab", "a\tb"}).end_headers();
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(str(w), "HTTP/1.1 204 No Content\r\nVary: Accept-Encoding\r\nX-Tab: a\tb\r\n\r\n");
}

TEST(ResponseWriter, StringDateIsValidatedToo) {
  char buf[128];
  ResponseWriter w(buf, sizeof buf);
  w.status_line(200).date("x\r\nEvil: 1");
  EXPECT_EQ(w.error(), WriteError::kBadHeaderValue);
}

TEST(ResponseWriter, FirstErrorSticksAndLaterCallsAreNoOps) {
  char buf[256];
  ResponseWriter w(buf, sizeof buf);
  w.status_line(200).header("Bad Name", "v");
  const size_t size = w.size();
  w.header("Good", "v").content_length(3).connection_close().end_headers().body("abc");
  w.status_line(99);
  EXPECT_EQ(w.error(), WriteError::kBadHeaderName);
  EXPECT_EQ(w.size(), size);
  EXPECT_FALSE(w.headers_done());
}

TEST(ResponseWriter, OutOfOrderCalls) {
  char buf[256];
  {
    ResponseWriter w(buf, sizeof buf);
    w.header("A", "b");
    EXPECT_EQ(w.error(), WriteError::kOutOfOrder);
    EXPECT_EQ(w.size(), 0u);
  }
  {
    ResponseWriter w(buf, sizeof buf);
    w.status_line(200).body("x");
    EXPECT_EQ(w.error(), WriteError::kOutOfOrder);
  }
  {
    ResponseWriter w(buf, sizeof buf);
    w.status_line(200).status_line(200);
    EXPECT_EQ(w.error(), WriteError::kOutOfOrder);
  }
  {
    ResponseWriter w(buf, sizeof buf);
    w.status_line(200).end_headers().header("A", "b");
    EXPECT_EQ(w.error(), WriteError::kOutOfOrder);
  }
  {
    ResponseWriter w(buf, sizeof buf);
    w.status_line(200).end_headers().end_headers();
    EXPECT_EQ(w.error(), WriteError::kOutOfOrder);
  }
  {
    ResponseWriter w(buf, sizeof buf);
    w.end_headers();
    EXPECT_EQ(w.error(), WriteError::kOutOfOrder);
  }
}

TEST(ResponseWriter, ResetStartsOver) {
  char buf[64];
  ResponseWriter w(buf, sizeof buf);
  w.status_line(200).header("X", std::string(100, 'a'));
  EXPECT_EQ(w.error(), WriteError::kOverflow);
  w.reset();
  EXPECT_TRUE(w.ok());
  w.status_line(500).content_length(0).end_headers();
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(str(w), "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
}

TEST(ResponseWriter, DescribeEveryError) {
  for (auto e :
       {WriteError::kNone, WriteError::kOverflow, WriteError::kBadStatus,
        WriteError::kBadHeaderName, WriteError::kBadHeaderValue, WriteError::kOutOfOrder}) {
    EXPECT_FALSE(describe(e).empty());
  }
  EXPECT_EQ(describe(WriteError::kBadHeaderValue), "control character in header value");
}

// ---- overflow ----

// Writes the same response at every capacity from 0 to its full size: below full it must fail
// with kOverflow, never touch a byte at or past cap, and hold a prefix of the full output.
void check_every_capacity(void (*write)(ResponseWriter&)) {
  Guarded full_buf(4096);
  ResponseWriter full(full_buf.data(), full_buf.cap);
  write(full);
  ASSERT_TRUE(full.ok());
  const std::string expected = str(full);
  for (size_t cap = 0; cap <= expected.size(); ++cap) {
    Guarded g(cap);
    ResponseWriter w(g.data(), cap);
    write(w);
    ASSERT_TRUE(g.intact()) << "wrote past cap " << cap;
    ASSERT_LE(w.size(), cap);
    ASSERT_EQ(expected.compare(0, w.size(), w.data(), w.size()), 0) << cap;
    if (cap < expected.size()) {
      ASSERT_EQ(w.error(), WriteError::kOverflow) << cap;
    } else {
      ASSERT_TRUE(w.ok());
      ASSERT_EQ(str(w), expected);
    }
  }
}

TEST(ResponseWriterOverflow, EveryCapacityTypicalResponse) {
  check_every_capacity([](ResponseWriter& w) {
    static DateCache dates;
    w.status_line(200)
        .date(dates, kRfcExample)
        .header("Content-Type", "text/html")
        .header("ETag", "\"abc\"")
        .header("X-Count", uint64_t{1234567890123})
        .content_length(11)
        .connection_close()
        .end_headers()
        .body("hello world");
  });
}

TEST(ResponseWriterOverflow, EveryCapacityKeepAliveAndStringDate) {
  check_every_capacity([](ResponseWriter& w) {
    w.status_line(431, 0)
        .date("Sun, 06 Nov 1994 08:49:37 GMT")
        .connection_keep_alive()
        .content_length(0)
        .end_headers();
  });
}

TEST(ResponseWriterOverflow, ZeroCapacityWithNullBuffer) {
  ResponseWriter w(nullptr, 0);
  w.status_line(200);
  EXPECT_EQ(w.error(), WriteError::kOverflow);
  EXPECT_EQ(w.size(), 0u);
}

TEST(ResponseWriterOverflow, ExactFitThenOneMoreByte) {
  const std::string_view line = "HTTP/1.1 200 OK\r\n\r\n";
  Guarded g(line.size());
  ResponseWriter w(g.data(), g.cap);
  w.status_line(200).end_headers();
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(str(w), line);
  w.body("x");
  EXPECT_EQ(w.error(), WriteError::kOverflow);
  EXPECT_EQ(w.size(), line.size());
  EXPECT_TRUE(g.intact());
}

TEST(ResponseWriterOverflow, HugeBodyDoesNotWrapSizeArithmetic) {
  Guarded g(64);
  ResponseWriter w(g.data(), g.cap);
  w.status_line(200).end_headers();
  // A length near SIZE_MAX must not wrap the room check.
  w.body(std::string_view(g.data(), std::numeric_limits<size_t>::max() / 2));
  EXPECT_EQ(w.error(), WriteError::kOverflow);
  EXPECT_TRUE(g.intact());
}

}  // namespace
}  // namespace zhttp
