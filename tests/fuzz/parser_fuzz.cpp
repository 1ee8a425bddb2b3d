// libFuzzer target for the request parser. For every input:
//  - spans of a complete request lie inside the input, consumed <= input size;
//  - feeding the same bytes in two pieces (cut chosen by the input) with the incremental hint
//    ends in the same result as one piece, whenever the result is decided (see parser.hpp);
//  - after a complete request, the rest parses as the next pipelined request without trouble.
// The first byte picks the limits, so small limits (414/431 paths) get fuzzed too.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "zhttp/parser.hpp"

namespace {

using zhttp::Header;
using zhttp::ParseResult;
using zhttp::ParseStatus;
using zhttp::Request;

void check(bool ok) {
  if (!ok) std::abort();
}

void check_span(zhttp::Span s, size_t size) {
  check(uint64_t{s.off} + s.len <= size);
}

void check_request(const Request& r, const ParseResult& res, size_t size) {
  check(res.consumed <= size && res.consumed == r.head_bytes);
  check_span(r.method_name, size);
  check_span(r.target, size);
  check_span(r.host, size);
  for (uint32_t i = 0; i < r.header_count; ++i) {
    check_span(r.headers[i].name, size);
    check_span(r.headers[i].value, size);
  }
  check(!(r.chunked && r.content_length >= 0));
}

bool same(const ParseResult& a, const Request& ra, const ParseResult& b, const Request& rb) {
  if (a.status != b.status || a.error != b.error || a.http_status != b.http_status ||
      a.consumed != b.consumed) {
    return false;
  }
  if (a.status != ParseStatus::kComplete) return true;
  if (ra.method != rb.method || ra.target != rb.target || ra.header_count != rb.header_count ||
      ra.content_length != rb.content_length || ra.chunked != rb.chunked ||
      ra.keep_alive != rb.keep_alive || ra.host != rb.host) {
    return false;
  }
  for (uint32_t i = 0; i < ra.header_count; ++i) {
    if (ra.headers[i].id != rb.headers[i].id || ra.headers[i].name != rb.headers[i].name ||
        ra.headers[i].value != rb.headers[i].value) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  zhttp::ParserLimits limits;
  if (data[0] & 1) {
    limits.max_target_bytes = 16 + data[0] % 64;
    limits.max_head_bytes = 32 + data[1] * 2;
    limits.max_headers = 1 + data[0] % 8;
  }
  const size_t cut_hint = data[1];
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  std::array<Header, 128> headers_whole;
  Request whole;
  ParseResult r = zhttp::parse_request(input, limits, whole, headers_whole);
  if (r.status == ParseStatus::kComplete) check_request(whole, r, input.size());
  if (r.status == ParseStatus::kError) check(r.http_status >= 400 && r.http_status < 600);

  // Two pieces: a first call on a prefix, then the whole input with the prefix length as hint.
  // Decided results must agree; a partial whole may come back partial (hint) or decided later.
  if (!input.empty()) {
    size_t cut = 1 + cut_hint % input.size();
    std::array<Header, 128> headers_split;
    Request split;
    ParseResult first = zhttp::parse_request(input.substr(0, cut), limits, split, headers_split);
    if (first.status != ParseStatus::kPartial) {
      // Decided on the prefix: the whole input must decide the same way (a complete head is
      // complete whatever follows it; an error is the first error from the left).
      check(same(first, split, r, whole));
    } else {
      ParseResult second = zhttp::parse_request(input, limits, split, headers_split, cut);
      if (second.status != ParseStatus::kPartial) check(same(second, split, r, whole));
      // The hint may only defer: if the whole parse is still partial so is the hinted one.
      if (r.status == ParseStatus::kPartial) check(second.status == ParseStatus::kPartial);
    }
  }

  // Pipelining: the bytes after a complete head (and its Content-Length body) parse again.
  if (r.status == ParseStatus::kComplete && whole.content_length >= 0) {
    uint64_t next = uint64_t{r.consumed} + static_cast<uint64_t>(whole.content_length);
    if (next < input.size()) {
      std::array<Header, 128> headers_next;
      Request req_next;
      ParseResult n = zhttp::parse_request(input.substr(next), limits, req_next, headers_next);
      if (n.status == ParseStatus::kComplete) check_request(req_next, n, input.size() - next);
    }
  }
  return 0;
}
