// --error-page and --fallback values, and which request paths are a single-page app's routes.
#include "handlers/static_site/site_paths.hpp"

#include <gtest/gtest.h>

#include <string>

namespace zhttp::handlers::static_site {
namespace {

TEST(SitePaths, ErrorPagesNameAStatusTheFileHandlerAnswersAndAPath) {
  ErrorPage page;
  std::string error;
  ASSERT_TRUE(parse_error_page("404=/404.html", &page, &error)) << error;
  EXPECT_EQ(page.status, 404);
  EXPECT_EQ(page.path, "/404.html");
  ASSERT_TRUE(parse_error_page("403=/errors/denied.html", &page, &error)) << error;
  EXPECT_EQ(page.status, 403);
  struct Bad {
    const char* text;
    const char* error;
  };
  const Bad cases[] = {
      {"404", "value 404 is not CODE=/PATH"},
      {"500=/500.html", "status 500 is not one the file handler answers (400, 403, 404 or 405)"},
      {"0404=/404.html", "status 0404 is not one"},
      {"404=404.html", "value 404.html is not a path (it starts with /)"},
      {"404=/errors/", "value /errors/ names a directory, not a file"},
      {"404=/a b.html", "value /a b.html is not a plain path"},
      {"404=/404.html?x", "value /404.html?x is not a plain path"},
      {"404=/../404.html", "path /../404.html: "},
      {"404=/%2e%2e/404.html", "path /%2e%2e/404.html: "},
  };
  for (const Bad& bad : cases) {
    EXPECT_FALSE(parse_error_page(bad.text, &page, &error)) << bad.text;
    EXPECT_EQ(error.rfind(bad.error, 0), 0u) << bad.text << ": " << error;
  }
}

TEST(SitePaths, TheFirstPageForAStatusIsUsed) {
  const std::vector<ErrorPage> pages = {{404, "/a.html"}, {403, "/b.html"}, {404, "/c.html"}};
  EXPECT_EQ(error_page_for(pages, 404), "/a.html");
  EXPECT_EQ(error_page_for(pages, 403), "/b.html");
  EXPECT_EQ(error_page_for(pages, 400), "");
}

TEST(SitePaths, RoutesHaveNoExtensionInTheirLastSegment) {
  for (const char* route : {"/settings/profile", "/settings/", "/a", "/", "/v1.2/users"}) {
    EXPECT_TRUE(is_fallback_route(route)) << route;
  }
  for (const char* asset : {"/app.js", "/assets/app.3f9a.css", "/v1.2/", "/.well-known"}) {
    EXPECT_FALSE(is_fallback_route(asset)) << asset;
  }
}

}  // namespace
}  // namespace zhttp::handlers::static_site
