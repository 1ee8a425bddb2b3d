// The static files' site features through a real conn::Connection (no sockets): fields by path
// (--cache-control, --add-header).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "connection_harness.hpp"
#include "handlers/static_files.hpp"

namespace zhttp::handlers {
namespace {

namespace fs = std::filesystem;
using Harness = conn::ConnectionHarness<StaticFiles>;

PathHeaderRule rule(bool add_header, const char* text) {
  PathHeaderRule r;
  std::string error;
  bool ok = add_header ? parse_add_header_rule(text, &r, &error)
                       : parse_cache_control_rule(text, &r, &error);
  EXPECT_TRUE(ok) << error;
  return r;
}

class StaticSiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/zhttp-site-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    fs::create_directories(root_ / "assets");
    fs::create_directories(root_ / "docs");
    write("index.html", "<h1>home</h1>");
    write("docs/index.html", "docs");
    write("assets/app.js", "js();");
    write("robots.txt", "robots");
    options_.root = root_.string();
    options_.mime_types = "";
  }
  void TearDown() override {
    harness_.reset();
    fs::remove_all(root_);
  }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(root_ / name) << text;
  }
  void start() { harness_ = std::make_unique<Harness>(conn::ConnectionConfig{}, options_); }
  std::string get(const std::string& method, const std::string& target,
                  const std::string& fields = "") {
    harness_->sent.clear();
    harness_->feed(method + " " + target + " HTTP/1.1\r\nHost: x\r\n" + fields + "\r\n");
    return harness_->sent;
  }
  static std::string body_of(const std::string& response) {
    size_t end = response.find("\r\n\r\n");
    return end == std::string::npos ? "" : response.substr(end + 4);
  }
  static std::string field(const std::string& response, const std::string& name) {
    size_t at = response.find("\r\n" + name + ": ");
    if (at == std::string::npos || at > response.find("\r\n\r\n")) return "(none)";
    at += name.size() + 4;
    return response.substr(at, response.find("\r\n", at) - at);
  }
  static std::string etag(const std::string& response) { return field(response, "ETag"); }

  fs::path root_;
  StaticFilesOptions options_;
  std::unique_ptr<Harness> harness_;
};

TEST_F(StaticSiteTest, CacheControlFirstMatchWins) {
  options_.headers.cache_control = {rule(false, "/assets/*=public, max-age=31536000, immutable"),
                                    rule(false, "*.html=no-cache"), rule(false, "*=max-age=60")};
  start();
  EXPECT_EQ(field(get("GET", "/assets/app.js"), "Cache-Control"),
            "public, max-age=31536000, immutable");
  EXPECT_EQ(field(get("GET", "/docs/index.html"), "Cache-Control"), "no-cache");
  EXPECT_EQ(field(get("GET", "/robots.txt?x=1"), "Cache-Control"), "max-age=60");
  // The decoded path is matched: "%2e" is '.', and "/docs/" is a directory, not "*.html".
  EXPECT_EQ(field(get("GET", "/docs/index%2ehtml"), "Cache-Control"), "no-cache");
  EXPECT_EQ(field(get("GET", "/docs/"), "Cache-Control"), "max-age=60");
}

TEST_F(StaticSiteTest, AddHeaderAddsEveryMatchInOrder) {
  options_.headers.add_header = {rule(true, "*=X-Content-Type-Options: nosniff"),
                                 rule(true, "*.html=Content-Security-Policy: default-src 'self'"),
                                 rule(true, "/assets/*=X-Asset: yes")};
  start();
  std::string html = get("GET", "/index.html");
  EXPECT_NE(html.find("X-Content-Type-Options: nosniff\r\nContent-Security-Policy: default-src "
                      "'self'\r\n"),
            std::string::npos)
      << html;
  EXPECT_EQ(field(html, "X-Asset"), "(none)");
  std::string js = get("GET", "/assets/app.js");
  EXPECT_EQ(field(js, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(field(js, "Content-Security-Policy"), "(none)");
  EXPECT_EQ(field(js, "X-Asset"), "yes");
}

TEST_F(StaticSiteTest, FieldsGoOnHead304And206ButNotOnErrors) {
  options_.headers.cache_control = {rule(false, "*=no-cache")};
  options_.headers.add_header = {rule(true, "*=X-Frame-Options: DENY")};
  start();
  std::string head = get("HEAD", "/robots.txt");
  EXPECT_EQ(field(head, "Cache-Control"), "no-cache");
  EXPECT_EQ(body_of(head), "");
  std::string not_modified = get("GET", "/robots.txt", "If-None-Match: " + etag(head) + "\r\n");
  EXPECT_EQ(not_modified.rfind("HTTP/1.1 304 ", 0), 0u) << not_modified;
  EXPECT_EQ(field(not_modified, "Cache-Control"), "no-cache");
  EXPECT_EQ(field(not_modified, "X-Frame-Options"), "DENY");
  std::string partial = get("GET", "/robots.txt", "Range: bytes=0-1\r\n");
  EXPECT_EQ(partial.rfind("HTTP/1.1 206 ", 0), 0u) << partial;
  EXPECT_EQ(field(partial, "Cache-Control"), "no-cache");
  // As nginx's add_header without "always", errors get none; nor does the directory's 301.
  for (const char* target : {"/missing", "/docs", "/%2e%2e/x"}) {
    std::string r = get("GET", target);
    EXPECT_EQ(field(r, "Cache-Control"), "(none)") << r;
    EXPECT_EQ(field(r, "X-Frame-Options"), "(none)") << r;
  }
  std::string refused = get("GET", "/robots.txt", "Range: bytes=99-\r\n");
  EXPECT_EQ(refused.rfind("HTTP/1.1 416 ", 0), 0u) << refused;
  EXPECT_EQ(field(refused, "Cache-Control"), "(none)");
}

}  // namespace
}  // namespace zhttp::handlers
