#pragma once
// Helpers shared by the parser tests: one parse with its own header array, and the
// "same result whatever the split" check.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>

#include "zhttp/parser.hpp"

namespace zhttp::test {

struct Parse {
  std::array<Header, 128> headers{};
  Request req;
  ParseResult result;
  std::string storage;  // own copy: callers often pass a temporary
  std::string_view input;

  explicit Parse(std::string_view in, const ParserLimits& limits = {})
      : storage(in), input(storage) {
    result = parse_request(input, limits, req, headers);
  }
  Parse(const Parse&) = delete;
  bool complete() const { return result.status == ParseStatus::kComplete; }
  std::string_view text(Span s) const { return s.in(input.data()); }
  std::string_view target() const { return text(req.target); }
  std::string_view name(uint32_t i) const { return text(req.headers[i].name); }
  std::string_view value(uint32_t i) const { return text(req.headers[i].value); }
};

// Everything observable about a result, to compare two parses of the same bytes.
inline std::string summarize(const Parse& p) {
  std::string s = std::to_string(static_cast<int>(p.result.status)) + "/" +
                  std::to_string(static_cast<int>(p.result.error)) + "/" +
                  std::to_string(p.result.http_status) + "/" + std::to_string(p.result.consumed);
  if (!p.complete()) return s;
  const Request& r = p.req;
  s += "|m" + std::to_string(static_cast<int>(r.method)) + ":" + std::string(p.text(r.method_name));
  s += "|t" + std::string(p.target()) + "|f" + std::to_string(static_cast<int>(r.target_form));
  s += "|v" + std::to_string(r.version_minor) + "|cl" + std::to_string(r.content_length);
  s += "|k" + std::to_string(r.keep_alive) + std::to_string(r.chunked) +
       std::to_string(r.expect_continue) + std::to_string(r.upgrade) + std::to_string(r.has_host);
  s += "|h" + std::string(p.text(r.host));
  for (uint32_t i = 0; i < r.header_count; ++i) {
    s += "|" + std::to_string(static_cast<int>(r.headers[i].id)) + ":" + std::string(p.name(i)) +
         "=" + std::string(p.value(i));
  }
  return s;
}

// Feeds `input` as growing prefixes (cut at each point of `cuts`, then whole), passing the
// previous partial length as the hint, as a connection would. Returns the summary of the first
// non-partial result (or of the final partial one).
inline std::string feed_in_pieces(std::string_view input, const std::vector<size_t>& cuts,
                                  const ParserLimits& limits = {}) {
  std::array<Header, 128> headers{};
  size_t scanned = 0;
  for (size_t cut : cuts) {
    Request req;
    ParseResult r = parse_request(input.substr(0, cut), limits, req, headers, scanned);
    if (r.status != ParseStatus::kPartial) {
      Parse whole(input.substr(0, cut), limits);  // re-parse to summarize uniformly
      return summarize(whole);
    }
    scanned = cut;
  }
  Request req;
  ParseResult r = parse_request(input, limits, req, headers, scanned);
  Parse whole(input, limits);
  EXPECT_EQ(static_cast<int>(r.status), static_cast<int>(whole.result.status));
  EXPECT_EQ(r.http_status, whole.result.http_status);
  EXPECT_EQ(r.consumed, whole.result.consumed);
  return summarize(whole);
}

}  // namespace zhttp::test
