// parse_cache_control_rule and parse_add_header_rule: what is accepted, what is refused and
// the message. (PathHeaders::apply is tested through the static files, static_files_test.cpp.)
#include "handlers/static_site/path_headers.hpp"

#include <gtest/gtest.h>

#include <string>

namespace zhttp::handlers::static_site {
namespace {

TEST(PathHeaders, CacheControlRule) {
  PathHeaderRule rule;
  std::string error;
  ASSERT_TRUE(
      parse_cache_control_rule("/assets/*= public, max-age=31536000, immutable ", &rule, &error));
  EXPECT_EQ(rule.glob, "/assets/*");
  EXPECT_EQ(rule.name, "Cache-Control");
  EXPECT_EQ(rule.value, "public, max-age=31536000, immutable");  // split at the first '='
}

TEST(PathHeaders, AddHeaderRule) {
  PathHeaderRule rule;
  std::string error;
  ASSERT_TRUE(parse_add_header_rule("*=X-Content-Type-Options: nosniff", &rule, &error));
  EXPECT_EQ(rule.glob, "*");
  EXPECT_EQ(rule.name, "X-Content-Type-Options");
  EXPECT_EQ(rule.value, "nosniff");
  ASSERT_TRUE(
      parse_add_header_rule("*.html=Content-Security-Policy:default-src 'self'", &rule, &error));
  EXPECT_EQ(rule.value, "default-src 'self'");
}

TEST(PathHeaders, RefusedRules) {
  struct Bad {
    bool add_header;
    const char* text;
    const char* error;
  };
  const Bad cases[] = {
      {false, "no-cache", "value no-cache is not GLOB=..."},
      {false, "html=no-cache", "path pattern html does not start with / or *"},
      {false, "=no-cache", "the path pattern is empty"},
      {false, "*.html=", "the field value is empty"},
      {false, "*.html=  ", "the field value is empty"},
      {false, "*.html=a\nb", "field value a\nb has a control byte"},
      {true, "*=nosniff", "value *=nosniff is not GLOB=Name: value"},
      {true, "*=Bad Name: x", "\"Bad Name\" is not a header field name"},
      {true, "*=: x", "\"\" is not a header field name"},
      {true, "*=X-A: a\rb", "field value a\rb has a control byte"},
      {true, "*=X-A:", "the field value is empty"},
      {true, "*=content-length: 5", "field content-length is the server's own"},
      {true, "*=Transfer-Encoding: chunked", "field Transfer-Encoding is the server's own"},
      {true, "*=Connection: close", "field Connection is the server's own"},
  };
  for (const Bad& bad : cases) {
    PathHeaderRule rule;
    std::string error;
    const bool ok = bad.add_header ? parse_add_header_rule(bad.text, &rule, &error)
                                   : parse_cache_control_rule(bad.text, &rule, &error);
    EXPECT_FALSE(ok) << bad.text;
    EXPECT_EQ(error, bad.error) << bad.text;
  }
}

}  // namespace
}  // namespace zhttp::handlers::static_site
