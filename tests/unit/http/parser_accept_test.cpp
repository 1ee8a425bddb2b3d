// Valid requests: what the parser extracts from them, exactly.
#include <gtest/gtest.h>

#include "unit/http/parser_test_util.hpp"

namespace zhttp::test {
namespace {

TEST(ParserAccept, MinimalGet) {
  Parse p("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.result.consumed, p.input.size());
  EXPECT_EQ(p.req.head_bytes, p.input.size());
  EXPECT_EQ(p.req.method, Method::kGet);
  EXPECT_EQ(p.text(p.req.method_name), "GET");
  EXPECT_EQ(p.target(), "/");
  EXPECT_EQ(p.req.target_form, TargetForm::kOrigin);
  EXPECT_EQ(p.req.version_minor, 1);
  EXPECT_TRUE(p.req.keep_alive);
  EXPECT_FALSE(p.req.chunked);
  EXPECT_EQ(p.req.content_length, -1);
  EXPECT_FALSE(p.req.has_body());
  ASSERT_EQ(p.req.header_count, 1u);
  EXPECT_EQ(p.req.headers[0].id, HeaderId::kHost);
  EXPECT_EQ(p.name(0), "Host");
  EXPECT_EQ(p.value(0), "a");
  EXPECT_TRUE(p.req.has_host);
  EXPECT_EQ(p.text(p.req.host), "a");
}

TEST(ParserAccept, SpansAreOffsetsFromInputStart) {
  Parse p("GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.req.target, (Span{4, 2}));
  EXPECT_EQ(p.req.headers[0].name, (Span{17, 4}));
  EXPECT_EQ(p.req.headers[0].value, (Span{23, 1}));
}

TEST(ParserAccept, AllStandardMethods) {
  const std::pair<const char*, Method> methods[] = {
      {"GET", Method::kGet},     {"HEAD", Method::kHead},     {"POST", Method::kPost},
      {"PUT", Method::kPut},     {"DELETE", Method::kDelete}, {"OPTIONS", Method::kOptions},
      {"TRACE", Method::kTrace}, {"PATCH", Method::kPatch},
  };
  for (const auto& [name, method] : methods) {
    std::string in = std::string(name) + " /r HTTP/1.1\r\nHost: a\r\n\r\n";
    Parse p(in);
    ASSERT_TRUE(p.complete()) << name;
    EXPECT_EQ(p.req.method, method) << name;
    EXPECT_EQ(p.text(p.req.method_name), name);
    EXPECT_EQ(method_name(method), name);
  }
}

TEST(ParserAccept, ExtensionMethodKeepsItsName) {
  Parse p("PROPFIND /dav HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.req.method, Method::kExtension);
  EXPECT_EQ(p.text(p.req.method_name), "PROPFIND");
}

TEST(ParserAccept, MethodsAreCaseSensitive) {
  Parse p("get / HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.req.method, Method::kExtension);
}

TEST(ParserAccept, MethodWithTokenPunctuation) {
  Parse p("M-SEARCH /upnp HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.req.method, Method::kExtension);
  EXPECT_EQ(p.text(p.req.method_name), "M-SEARCH");
}

TEST(ParserAccept, AbsoluteForm) {
  Parse p("GET http://example.com/a?b=c HTTP/1.1\r\nHost: example.com\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.req.target_form, TargetForm::kAbsolute);
  EXPECT_EQ(p.target(), "http://example.com/a?b=c");
}

TEST(ParserAccept, AuthorityFormForConnect) {
  Parse p("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.req.method, Method::kConnect);
  EXPECT_EQ(p.req.target_form, TargetForm::kAuthority);
  EXPECT_EQ(p.target(), "example.com:443");
}

TEST(ParserAccept, AsteriskFormForOptions) {
  Parse p("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.req.target_form, TargetForm::kAsterisk);
  EXPECT_EQ(p.target(), "*");
}

TEST(ParserAccept, TargetKeepsQueryAndEscapes) {
  Parse p("GET /a%20b/c.html?x=1&y=%2F#frag HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.target(), "/a%20b/c.html?x=1&y=%2F#frag");
}

TEST(ParserAccept, LongTargetWithinLimit) {
  std::string path = "/" + std::string(8191, 'p');
  Parse p("GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.target(), path);
}

TEST(ParserAccept, Http10DefaultsToClose) {
  Parse p("GET / HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.req.version_minor, 0);
  EXPECT_FALSE(p.req.keep_alive);
  EXPECT_FALSE(p.req.has_host);  // Host is optional in 1.0
}

TEST(ParserAccept, Http10KeepAliveToken) {
  Parse p("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_TRUE(p.req.keep_alive);
}

TEST(ParserAccept, Http11ConnectionCloseAnyCase) {
  Parse p("GET / HTTP/1.1\r\nHost: a\r\nconnection: CLOSE\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_FALSE(p.req.keep_alive);
}

TEST(ParserAccept, ConnectionTokenList) {
  Parse p("GET / HTTP/1.1\r\nHost: a\r\nConnection: TE, , close ,foo\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_FALSE(p.req.keep_alive);
}

TEST(ParserAccept, CloseWinsOverKeepAlive) {
  Parse p("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_FALSE(p.req.keep_alive);
}

TEST(ParserAccept, HigherMinorVersionTreatedAs11) {
  Parse p("GET / HTTP/1.2\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.req.version_minor, 1);
}

TEST(ParserAccept, LeadingEmptyLinesSkipped) {
  Parse p("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.result.consumed, p.input.size());
  EXPECT_EQ(p.req.method_name, (Span{4, 3}));
  EXPECT_EQ(p.target(), "/");
}

TEST(ParserAccept, ValueOwsTrimmed) {
  Parse p("GET / HTTP/1.1\r\nHost: a\r\nX-A: \t  spaced out \t \r\nX-B:tight\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.value(1), "spaced out");
  EXPECT_EQ(p.value(2), "tight");
}

TEST(ParserAccept, EmptyAndWhitespaceOnlyValues) {
  Parse p("GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Blank:   \r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.value(1), "");
  EXPECT_EQ(p.value(2), "");
}

TEST(ParserAccept, ObsTextAndTabsInValue) {
  Parse p("GET / HTTP/1.1\r\nHost: a\r\nX-A: caf\xc3\xa9\tb\x80\xff\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.value(1), "caf\xc3\xa9\tb\x80\xff");
}

TEST(ParserAccept, TokenPunctuationInFieldName) {
  Parse p("GET / HTTP/1.1\r\nHost: a\r\nX_!#$%&'*+.^`|~9: v\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.name(1), "X_!#$%&'*+.^`|~9");
  EXPECT_EQ(p.req.headers[1].id, HeaderId::kOther);
}

TEST(ParserAccept, LongFieldNamesAndValues) {
  std::string name(300, 'N');
  std::string value(5000, 'v');
  Parse p("GET / HTTP/1.1\r\nHost: a\r\n" + name + ": " + value + "\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.name(1), name);
  EXPECT_EQ(p.value(1), value);
}

TEST(ParserAccept, KnownHeaderIdsAnyCase) {
  Parse p(
      "GET / HTTP/1.1\r\nhOsT: a\r\nUSER-AGENT: x\r\naccept-encoding: gzip\r\n"
      "Content-Type: text/plain\r\nIf-None-Match: \"e\"\r\nX-Forwarded-For: 1.2.3.4\r\n"
      "Upgrade-Insecure-Requests: 1\r\nAccess-Control-Request-Headers: x\r\n"
      "Sec-Fetch-Mode: cors\r\nX-Custom: y\r\nTE: trailers\r\n\r\n");
  ASSERT_TRUE(p.complete());
  const HeaderId expected[] = {
      HeaderId::kHost,
      HeaderId::kUserAgent,
      HeaderId::kAcceptEncoding,
      HeaderId::kContentType,
      HeaderId::kIfNoneMatch,
      HeaderId::kXForwardedFor,
      HeaderId::kUpgradeInsecureRequests,
      HeaderId::kAccessControlRequestHeaders,
      HeaderId::kSecFetchMode,
      HeaderId::kOther,
      HeaderId::kTe,
  };
  ASSERT_EQ(p.req.header_count, std::size(expected));
  for (uint32_t i = 0; i < p.req.header_count; ++i) {
    EXPECT_EQ(p.req.headers[i].id, expected[i]) << p.name(i);
  }
  EXPECT_EQ(p.req.find(HeaderId::kContentType), &p.req.headers[3]);
  EXPECT_EQ(p.req.find(HeaderId::kCookie), nullptr);
}

TEST(ParserAccept, EveryKnownHeaderNameRoundTrips) {
  for (int i = 1; i < static_cast<int>(HeaderId::kCount); ++i) {
    auto id = static_cast<HeaderId>(i);
    std::string_view name = header_name(id);
    ASSERT_FALSE(name.empty());
    EXPECT_EQ(lookup_header_id(name), id) << name;
    std::string lower(name);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(lookup_header_id(lower), id) << lower;
  }
  EXPECT_EQ(lookup_header_id("Hosts"), HeaderId::kOther);
  EXPECT_EQ(lookup_header_id("Cookie2"), HeaderId::kOther);
  EXPECT_EQ(lookup_header_id("X"), HeaderId::kOther);
  EXPECT_EQ(lookup_header_id("Hos"), HeaderId::kOther);
  EXPECT_EQ(lookup_header_id("Content_Length"), HeaderId::kOther);
}

// Inside a request the parser compares names as whole words; every known name, in any case, and
// every one-byte change of it must still be told apart.
TEST(ParserAccept, EveryKnownHeaderIdentifiedInsideRequest) {
  for (int i = 1; i < static_cast<int>(HeaderId::kCount); ++i) {
    auto id = static_cast<HeaderId>(i);
    std::string name(header_name(id));
    if (id == HeaderId::kHost || id == HeaderId::kContentLength ||
        id == HeaderId::kTransferEncoding || id == HeaderId::kExpect) {
      continue;  // framing fields: their values are checked, covered elsewhere
    }
    std::string upper = name;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (const std::string& variant : {name, upper}) {
      Parse p("GET / HTTP/1.1\r\nHost: a\r\n" + variant + ": v\r\n\r\n");
      ASSERT_TRUE(p.complete()) << variant;
      EXPECT_EQ(p.req.headers[1].id, id) << variant;
    }
    for (size_t pos = 0; pos < name.size(); ++pos) {
      std::string changed = name;
      changed[pos] = (changed[pos] | 0x20) == 'q' ? 'z' : 'q';  // never just a case change
      Parse p("GET / HTTP/1.1\r\nHost: a\r\n" + changed + ": v\r\n\r\n");
      ASSERT_TRUE(p.complete()) << changed;
      EXPECT_EQ(p.req.headers[1].id, HeaderId::kOther) << changed;
    }
  }
}

TEST(ParserAccept, ContentLengthBody) {
  Parse p("POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 0012\r\n\r\nhello world!");
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.req.content_length, 12);
  EXPECT_TRUE(p.req.has_body());
  EXPECT_EQ(p.result.consumed, p.input.size() - 12);
}

TEST(ParserAccept, ContentLengthZero) {
  Parse p("POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.req.content_length, 0);
  EXPECT_FALSE(p.req.has_body());
}

TEST(ParserAccept, ContentLengthMaxInt64) {
  Parse p("POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.req.content_length, INT64_MAX);
}

TEST(ParserAccept, IdenticalDuplicateContentLength) {
  Parse p("POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_EQ(p.req.content_length, 5);
}

TEST(ParserAccept, ChunkedAnyCase) {
  Parse p("POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ChUnKeD\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_TRUE(p.req.chunked);
  EXPECT_TRUE(p.req.has_body());
  EXPECT_EQ(p.req.content_length, -1);
}

TEST(ParserAccept, ChunkedWithEmptyListElements) {
  Parse p("POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked ,\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_TRUE(p.req.chunked);
}

TEST(ParserAccept, ExpectContinue) {
  Parse p("PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_TRUE(p.req.expect_continue);
}

TEST(ParserAccept, ExpectIgnoredInHttp10) {
  Parse p("PUT /f HTTP/1.0\r\nExpect: something-else\r\nContent-Length: 3\r\n\r\n");
  ASSERT_TRUE(p.complete());
  EXPECT_FALSE(p.req.expect_continue);
}

TEST(ParserAccept, UpgradeNeedsBothFields) {
  Parse both("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  ASSERT_TRUE(both.complete());
  EXPECT_TRUE(both.req.upgrade);
  Parse only_upgrade("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n");
  ASSERT_TRUE(only_upgrade.complete());
  EXPECT_FALSE(only_upgrade.req.upgrade);
}

TEST(ParserAccept, HostForms) {
  for (const char* host : {"", "a.b.c", "a:8080", "[::1]", "[::1]:80", "127.0.0.1:1", "x-y_z~"}) {
    Parse p(std::string("GET / HTTP/1.1\r\nHost: ") + host + "\r\n\r\n");
    ASSERT_TRUE(p.complete()) << host;
    EXPECT_EQ(p.text(p.req.host), host);
    EXPECT_TRUE(p.req.has_host);
  }
}

TEST(ParserAccept, PipelinedRequestsParsedInOrder) {
  const std::string in =
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
      "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody"
      "HEAD /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
      "GET /4 HTTP/1.1\r\nHo";
  std::string_view rest = in;
  std::vector<std::string> targets;
  for (;;) {
    Parse p(rest);
    if (!p.complete()) {
      EXPECT_EQ(p.result.status, ParseStatus::kPartial);
      break;
    }
    targets.emplace_back(p.target());
    rest.remove_prefix(p.result.consumed + std::max<int64_t>(p.req.content_length, 0));
  }
  EXPECT_EQ(targets, (std::vector<std::string>{"/1", "/2", "/3"}));
  EXPECT_EQ(rest, "GET /4 HTTP/1.1\r\nHo");
}

TEST(ParserAccept, PartialAtEveryPrefix) {
  const std::string in = "GET /p HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\r\n";
  for (size_t i = 0; i < in.size(); ++i) {
    Parse p(std::string_view(in).substr(0, i));
    EXPECT_EQ(p.result.status, ParseStatus::kPartial) << "prefix " << i;
  }
}

}  // namespace
}  // namespace zhttp::test
