// path_glob_matches and check_path_glob: stars across '/', '?', whole-path matching, and the
// patterns refused at start.
#include "handlers/common/path_glob.hpp"

#include <gtest/gtest.h>

#include <string>

namespace zhttp::handlers::common {
namespace {

TEST(PathGlob, StarMatchesAnyBytesSlashIncluded) {
  EXPECT_TRUE(path_glob_matches("*.html", "/docs/index.html"));
  EXPECT_TRUE(path_glob_matches("*.html", "/.html"));
  EXPECT_TRUE(path_glob_matches("/assets/*", "/assets/app.1234.js"));
  EXPECT_TRUE(path_glob_matches("/assets/*", "/assets/deep/er/x.css"));
  EXPECT_TRUE(path_glob_matches("/assets/*", "/assets/"));
  EXPECT_TRUE(path_glob_matches("*", "/"));
  EXPECT_TRUE(path_glob_matches("**", "/a/b"));
  EXPECT_TRUE(path_glob_matches("/*/index.html", "/a/b/index.html"));
  EXPECT_TRUE(path_glob_matches("*a*b*c", "/xaybzc"));
  EXPECT_FALSE(path_glob_matches("*a*b*c", "/xaybzcd"));
}

TEST(PathGlob, MatchesTheWholePath) {
  EXPECT_FALSE(path_glob_matches("*.html", "/index.html.br"));
  EXPECT_FALSE(path_glob_matches("/assets/*", "/static/assets/x"));
  EXPECT_FALSE(path_glob_matches("/assets", "/assets/"));
  EXPECT_TRUE(path_glob_matches("/assets", "/assets"));
  EXPECT_FALSE(path_glob_matches("/a", ""));
  EXPECT_FALSE(path_glob_matches("/A.html", "/a.html"));  // paths are case-sensitive
}

TEST(PathGlob, QuestionMarkIsOneByteAndOtherBytesAreLiteral) {
  EXPECT_TRUE(path_glob_matches("/v?/x", "/v1/x"));
  EXPECT_FALSE(path_glob_matches("/v?/x", "/v12/x"));
  EXPECT_FALSE(path_glob_matches("/v?/x", "/v/x"));
  EXPECT_TRUE(path_glob_matches("/[a]", "/[a]"));
  EXPECT_FALSE(path_glob_matches("/[a]", "/a"));
}

TEST(PathGlob, BacktracksOnlyToTheLastStar) {
  // Many stars over a long path that almost matches: stays quick (no exponential search).
  const std::string path = "/" + std::string(4000, 'a');
  EXPECT_FALSE(path_glob_matches("*a*a*a*a*a*a*a*a*b", path));
  EXPECT_TRUE(path_glob_matches("*a*a*a*a*a*a*a*a*a", path));
}

TEST(PathGlob, RefusesPatternsNoPathMatches) {
  std::string error;
  EXPECT_TRUE(check_path_glob("*.html", &error));
  EXPECT_TRUE(check_path_glob("/assets/*", &error));
  EXPECT_FALSE(check_path_glob("", &error));
  EXPECT_EQ(error, "the path pattern is empty");
  EXPECT_FALSE(check_path_glob("assets/*", &error));
  EXPECT_EQ(error, "path pattern assets/* does not start with / or *");
  EXPECT_FALSE(check_path_glob("/a\tb", &error));
  EXPECT_EQ(error, "path pattern /a\tb has a control byte");
}

}  // namespace
}  // namespace zhttp::handlers::common
