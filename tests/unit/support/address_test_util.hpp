#pragma once
// What the tests of client addresses and of the access stage build their cases from: addresses
// and CIDR blocks from text, an address back to text, and a parsed request head with a view.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "handlers/common/client_address.hpp"
#include "zhttp/handler.hpp"
#include "zhttp/parser.hpp"

namespace zhttp::handlers::test {

inline PeerAddress addr(std::string_view text) {
  PeerAddress a;
  EXPECT_TRUE(common::parse_address(text, &a)) << text;
  return a;
}

inline std::string text_of(const PeerAddress& a) {
  char buf[common::kMaxAddressText];
  return std::string(buf, common::format_address(a, buf));
}

inline common::Cidr cidr(std::string_view text) {
  common::Cidr c;
  std::string error;
  EXPECT_TRUE(common::parse_cidr(text, &c, &error)) << text << ": " << error;
  return c;
}

// "GET PATH HTTP/1.1" with Host and `fields`, parsed, and the view on it.
struct ParsedRequest {
  explicit ParsedRequest(std::string path, std::string fields = "")
      : text("GET " + path + " HTTP/1.1\r\nHost: x\r\n" + fields + "\r\n") {
    ParseResult r = parse_request(text, ParserLimits{}, request, headers);
    EXPECT_EQ(r.status, ParseStatus::kComplete) << text;
    view = RequestView(request, text.data(), {});
  }
  std::string text;
  Header headers[16];
  Request request;
  RequestView view;
};

}  // namespace zhttp::handlers::test
