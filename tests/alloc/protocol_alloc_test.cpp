// The protocol layer never touches the heap: 100,000 parses of varied requests (valid, invalid,
// partial, pipelined, with the incremental hint), as many of upstream responses (1xx then final,
// back to back, refused, with the hint), plus response writing, date formatting and path
// normalisation, make zero allocations.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "alloc_counter.hpp"
#include "http/response_parser.hpp"
#include "zhttp/date_cache.hpp"
#include "zhttp/parser.hpp"
#include "zhttp/response_writer.hpp"
#include "zhttp/target.hpp"

namespace zhttp::test {
namespace {

// Built before counting starts.
std::vector<std::string> corpus() {
  std::string browser =
      "GET /static/app.js?v=3 HTTP/1.1\r\nHost: www.example.com\r\nConnection: keep-alive\r\n"
      "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0 Safari/537.36\r\nAccept: */*\r\nSec-Fetch-Site: same-origin\r\n"
      "Sec-Fetch-Mode: no-cors\r\nReferer: https://www.example.com/\r\n"
      "Accept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n"
      "Cookie: session=0123456789abcdef0123456789abcdef; theme=dark\r\n\r\n";
  std::vector<std::string> c = {
      "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
      browser,
      browser + browser + "GET /3 HTTP/1.1\r\nHost: a\r\n\r\n",  // pipelined
      "\r\nPOST /u HTTP/1.1\r\nHost: a:80\r\nContent-Length: 5\r\nExpect: "
      "100-continue\r\n\r\nhello",
      "PUT /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
      "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
      "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
      "GET http://a/b HTTP/1.0\r\nConnection: keep-alive, Upgrade\r\nUpgrade: x\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
      "GET / HTTP/1.1\n\n",
      "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
      "GET / HTTP/2.0\r\n\r\n",
      "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(20000, 'v'),
      "GET / HTTP/1.1\r\nHost: a\r\n obs\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nExpect: nope\r\n\r\n",
      "GET /partial HTTP/1.1\r\nHost: a\r\nX-Inco",
  };
  std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 120; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  c.push_back(many + "\r\n");
  return c;
}

TEST(ProtocolAllocations, CounterSeesAnAllocation) {
  AllocationWindow window;
  int* volatile p = new int(7);
  long n = window.allocations();
  delete p;
  EXPECT_EQ(n, 1);  // if this fails the hook is broken and the zero below would mean nothing
}

TEST(ProtocolAllocations, HundredThousandParsesAllocateNothing) {
  const std::vector<std::string> inputs = corpus();
  std::array<Header, 100> headers;
  ParserLimits limits;
  long parses = 0;
  size_t checksum = 0;
  AllocationWindow window;
  while (parses < 100000) {
    for (const std::string& in : inputs) {
      std::string_view rest = in;
      // Whole input, request after request (pipelining).
      for (int i = 0; i < 4 && !rest.empty(); ++i) {
        Request req;
        ParseResult r = parse_request(rest, limits, req, headers);
        ++parses;
        checksum += r.consumed + r.http_status + req.header_count;
        if (r.status != ParseStatus::kComplete) break;
        rest.remove_prefix(r.consumed +
                           static_cast<size_t>(std::max<int64_t>(req.content_length, 0)));
      }
      // Growing prefixes with the incremental hint, as a connection reads them.
      size_t scanned = 0;
      for (size_t cut = 7; cut < in.size(); cut += 97) {
        Request req;
        ParseResult r =
            parse_request(std::string_view(in).substr(0, cut), limits, req, headers, scanned);
        ++parses;
        checksum += r.consumed;
        if (r.status != ParseStatus::kPartial) break;
        scanned = cut;
      }
    }
  }
  long allocations = window.allocations();
  std::printf("parses: %ld, allocations: %ld (checksum %zu)\n", parses, allocations, checksum);
  EXPECT_EQ(allocations, 0);
}

std::vector<std::string> response_corpus() {
  std::string origin =
      "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: origin\r\n"
      "Content-Type: text/html; charset=utf-8\r\nCache-Control: public, max-age=60\r\n"
      "ETag: \"0123456789abcdef\"\r\nVary: Accept-Encoding\r\nConnection: keep-alive, X-Hop\r\n"
      "X-Hop: 1\r\nContent-Length: 5\r\n\r\nhello";
  std::vector<std::string> c = {
      origin,
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" + origin,
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      "HTTP/1.0 200 OK\r\nServer: old\r\n\r\nuntil close",
      "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
      "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
      "HTTP/2 200\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX: " + std::string(20000, 'v'),
      "HTTP/1.1 200 OK\r\nX-Inco",
  };
  std::string many = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 120; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  c.push_back(many + "\r\n");
  return c;
}

TEST(ProtocolAllocations, HundredThousandResponseParsesAllocateNothing) {
  const std::vector<std::string> inputs = response_corpus();
  std::array<Header, 100> headers;
  const http::ResponseLimits limits;
  long parses = 0;
  size_t checksum = 0;
  AllocationWindow window;
  while (parses < 100000) {
    for (const std::string& in : inputs) {
      std::string_view rest = in;
      // Head after head, as 1xx heads and back-to-back responses come.
      for (int i = 0; i < 4 && !rest.empty(); ++i) {
        http::ResponseHead head;
        http::ResponseResult r = http::parse_response(rest, Method::kGet, limits, head, headers);
        ++parses;
        checksum += r.consumed + static_cast<size_t>(r.error) + head.header_count;
        if (r.status != ParseStatus::kComplete) break;
        for (uint32_t f = 0; f < head.header_count; ++f) {
          checksum += http::is_hop_by_hop(head.headers[f], head, rest.data());
        }
        rest.remove_prefix(r.consumed);
        if (head.framing == http::BodyFraming::kContentLength) {
          rest.remove_prefix(std::min(rest.size(), static_cast<size_t>(head.content_length)));
        }
      }
      // Growing prefixes with the incremental hint, as an upstream connection reads them.
      size_t scanned = 0;
      for (size_t cut = 7; cut < in.size(); cut += 97) {
        http::ResponseHead head;
        http::ResponseResult r = http::parse_response(
            std::string_view(in).substr(0, cut), Method::kHead, limits, head, headers, scanned);
        ++parses;
        checksum += r.consumed;
        if (r.status != ParseStatus::kPartial) break;
        scanned = cut;
      }
    }
  }
  long allocations = window.allocations();
  std::printf("parses: %ld, allocations: %ld (checksum %zu)\n", parses, allocations, checksum);
  EXPECT_EQ(allocations, 0);
}

TEST(ProtocolAllocations, WriterDatesAndPathsAllocateNothing) {
  char out[512];
  char path[256];
  DateCache dates;
  size_t checksum = 0;
  AllocationWindow window;
  for (int i = 0; i < 100000; ++i) {
    ResponseWriter w(out, sizeof out);
    w.status_line(i % 2 ? 200 : 404).date(dates, 1700000000 + i / 1000).content_length(i);
    w.header("Content-Type", "text/html").end_headers().body("hello");
    PathResult p = normalize_path("/a/./b/../c%20d/index.html", path, sizeof path);
    time_t t;
    checksum += w.size() + p.length + parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", &t);
  }
  long allocations = window.allocations();
  std::printf("allocations: %ld (checksum %zu)\n", allocations, checksum);
  EXPECT_EQ(allocations, 0);
}

}  // namespace
}  // namespace zhttp::test
