// libFuzzer target for the response head parser (src/http/response_parser.hpp). For every input:
//  - a complete head's spans lie inside the input, consumed <= input size, the field count is
//    within the limits, and the framing is consistent with the status, the method and the fields
//    (never both chunked and a Content-Length; close-delimited never keeps the connection);
//  - an error consumes nothing and has a description;
//  - feeding the same bytes in two pieces (cut chosen by the input) with the incremental hint
//    ends in the same result as one piece, whenever the result is decided;
//  - after a complete head (and its Content-Length body) the rest parses as the next head, as 1xx
//    heads before a final one and back-to-back responses do; is_hop_by_hop runs on every field.
// The first byte picks the limits and the request method, so small limits and HEAD/CONNECT get
// fuzzed too; the second picks the cut.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/response_parser.hpp"

namespace {

using zhttp::Header;
using zhttp::HeaderId;
using zhttp::Method;
using zhttp::ParseStatus;
using zhttp::http::BodyFraming;
using zhttp::http::ResponseHead;
using zhttp::http::ResponseLimits;
using zhttp::http::ResponseResult;

void check(bool ok) {
  if (!ok) std::abort();
}

void check_span(zhttp::Span s, size_t size) {
  check(uint64_t{s.off} + s.len <= size);
}

void check_head(const ResponseHead& h, const ResponseResult& res, std::string_view input,
                Method method, const ResponseLimits& limits) {
  const size_t size = input.size();
  check(res.consumed <= size && res.consumed == h.head_bytes && res.consumed > 0);
  check(res.consumed <= limits.max_head_bytes);
  check(h.header_count <= limits.max_headers);
  check(h.status >= 100 && h.status <= 599 && h.version_minor <= 1);
  check_span(h.reason, size);
  for (uint32_t i = 0; i < h.header_count; ++i) {
    check_span(h.headers[i].name, size);
    check_span(h.headers[i].value, size);
    check(h.headers[i].name.len > 0);
    bool hop = zhttp::http::is_hop_by_hop(h.headers[i], h, input.data());
    if (h.headers[i].id == HeaderId::kConnection) check(hop);
  }
  const bool no_body =
      h.status < 200 || h.status == 204 || h.status == 304 || method == Method::kHead || h.switched;
  check((h.framing == BodyFraming::kNone) == no_body);
  check(h.interim == (h.status < 200 && h.status != 101));
  check(!h.switched || (!h.keep_alive && (h.status == 101 || method == Method::kConnect)));
  const bool has_te = h.find(HeaderId::kTransferEncoding) != nullptr;
  const bool has_cl = h.find(HeaderId::kContentLength) != nullptr;
  check(has_cl == (h.content_length >= 0));
  check(!(has_te && has_cl));  // never both chunked and a content length
  if (h.framing == BodyFraming::kChunked) check(has_te && h.version_minor == 1);
  if (h.framing == BodyFraming::kContentLength) check(has_cl && !has_te);
  if (h.framing == BodyFraming::kUntilClose) check(!has_te && !has_cl && !h.keep_alive);
}

bool same(const ResponseResult& a, const ResponseHead& ha, const ResponseResult& b,
          const ResponseHead& hb) {
  if (a.status != b.status || a.error != b.error || a.consumed != b.consumed) return false;
  if (a.status != ParseStatus::kComplete) return true;
  if (ha.status != hb.status || ha.reason != hb.reason || ha.version_minor != hb.version_minor ||
      ha.framing != hb.framing || ha.content_length != hb.content_length ||
      ha.keep_alive != hb.keep_alive || ha.interim != hb.interim || ha.switched != hb.switched ||
      ha.connection_names_fields != hb.connection_names_fields ||
      ha.header_count != hb.header_count) {
    return false;
  }
  for (uint32_t i = 0; i < ha.header_count; ++i) {
    if (ha.headers[i].id != hb.headers[i].id || ha.headers[i].name != hb.headers[i].name ||
        ha.headers[i].value != hb.headers[i].value) {
      return false;
    }
  }
  return true;
}

constexpr Method kMethods[] = {Method::kGet, Method::kHead, Method::kConnect, Method::kPost};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  ResponseLimits limits;
  if (data[0] & 1) {
    limits.max_head_bytes = 32 + data[1] * 2;
    limits.max_headers = 1 + data[0] % 8;
  }
  const Method method = kMethods[(data[0] >> 1) % 4];
  const size_t cut_hint = data[1];
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  std::array<Header, 128> headers_whole;
  ResponseHead whole;
  ResponseResult r = zhttp::http::parse_response(input, method, limits, whole, headers_whole);
  if (r.status == ParseStatus::kComplete) check_head(whole, r, input, method, limits);
  if (r.status == ParseStatus::kError) {
    check(r.consumed == 0 && describe(r.error) != "unknown" && describe(r.error) != "none");
  }

  // Two pieces: a first call on a prefix, then the whole input with the prefix length as hint.
  if (!input.empty()) {
    size_t cut = 1 + cut_hint % input.size();
    std::array<Header, 128> headers_split;
    ResponseHead split;
    ResponseResult first =
        zhttp::http::parse_response(input.substr(0, cut), method, limits, split, headers_split);
    if (first.status != ParseStatus::kPartial) {
      check(same(first, split, r, whole));
    } else {
      ResponseResult second =
          zhttp::http::parse_response(input, method, limits, split, headers_split, cut);
      if (second.status != ParseStatus::kPartial) check(same(second, split, r, whole));
      if (r.status == ParseStatus::kPartial) check(second.status == ParseStatus::kPartial);
    }
  }

  // The next head: after an interim or body-less head at once, after a Content-Length body.
  std::string_view rest = input;
  ResponseResult cur = r;
  const ResponseHead* head = &whole;
  std::array<Header, 128> headers_next;
  ResponseHead next;
  for (int i = 0; i < 4 && cur.status == ParseStatus::kComplete; ++i) {
    uint64_t skip = cur.consumed;
    if (head->framing == BodyFraming::kContentLength) {
      skip += static_cast<uint64_t>(head->content_length);
    } else if (head->framing != BodyFraming::kNone || head->switched) {
      break;
    }
    if (skip >= rest.size()) break;
    rest.remove_prefix(skip);
    cur = zhttp::http::parse_response(rest, method, limits, next, headers_next);
    if (cur.status == ParseStatus::kComplete) check_head(next, cur, rest, method, limits);
    head = &next;
  }
  return 0;
}
