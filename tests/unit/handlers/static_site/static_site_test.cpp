// The static files' site features through a real conn::Connection (no sockets): fields by path
// (--cache-control, --add-header), precompressed variants (--precompressed), error pages
// (--error-page) and a single-page app's routes (--fallback).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "handlers/static_site/static_files.hpp"
#include "unit/support/connection_harness.hpp"

namespace zhttp::handlers::static_site {
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
  void set_mtime(const std::string& name, time_t seconds, long nanoseconds = 0) {
    timespec times[2] = {{seconds, nanoseconds}, {seconds, nanoseconds}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (root_ / name).c_str(), times, 0), 0);
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
  // The decoded path is matched: "%2e" is '.'.
  EXPECT_EQ(field(get("GET", "/docs/index%2ehtml"), "Cache-Control"), "no-cache");
}

// The rules see the path of the file sent, as nginx's internal redirects do: a directory's index
// file, the fallback's file for a route, an error page's file (not the request's path).
TEST_F(StaticSiteTest, RulesMatchThePathOfTheFileSent) {
  write("404.html", "<h1>lost</h1>");
  options_.headers.cache_control = {rule(false, "/assets/*=public, max-age=31536000, immutable"),
                                    rule(false, "*.html=no-cache"), rule(false, "*=max-age=60")};
  options_.headers.add_header = {rule(true, "*.html=Content-Security-Policy: default-src 'self'"),
                                 rule(true, "/docs/*=X-Docs: yes")};
  options_.error_pages = {{404, "/404.html"}, {405, "/404.html"}};
  options_.fallback = "/index.html";
  start();
  for (const char* directory : {"/", "/docs/", "/docs/?q=1"}) {
    std::string r = get("GET", directory);
    EXPECT_EQ(r.rfind("HTTP/1.1 200 ", 0), 0u) << directory << r;
    EXPECT_EQ(field(r, "Cache-Control"), "no-cache") << directory;
    EXPECT_EQ(field(r, "Content-Security-Policy"), "default-src 'self'") << directory;
  }
  EXPECT_EQ(field(get("GET", "/docs/"), "X-Docs"), "yes");
  EXPECT_EQ(field(get("GET", "/"), "X-Docs"), "(none)");
  std::string tag = etag(get("GET", "/"));
  std::string not_modified = get("GET", "/", "If-None-Match: " + tag + "\r\n");
  EXPECT_EQ(not_modified.rfind("HTTP/1.1 304 ", 0), 0u) << not_modified;
  EXPECT_EQ(field(not_modified, "Cache-Control"), "no-cache");
  // A route gets the fallback's rules, not those its own path would match.
  std::string route = get("GET", "/docs/guide/intro");
  EXPECT_EQ(body_of(route), "<h1>home</h1>") << route;
  EXPECT_EQ(field(route, "Cache-Control"), "no-cache");
  EXPECT_EQ(field(route, "X-Docs"), "(none)");
  // A missing asset gets the error page's rules: not a year of caching for a 404.
  std::string missing = get("GET", "/assets/missing.js");
  EXPECT_EQ(missing.rfind("HTTP/1.1 404 ", 0), 0u) << missing;
  EXPECT_EQ(body_of(missing), "<h1>lost</h1>");
  EXPECT_EQ(field(missing, "Cache-Control"), "no-cache");
  EXPECT_EQ(field(missing, "Content-Security-Policy"), "default-src 'self'");
  std::string refused = get("POST", "/docs/", "Content-Length: 0\r\n");
  EXPECT_EQ(refused.rfind("HTTP/1.1 405 ", 0), 0u) << refused;
  EXPECT_EQ(field(refused, "Cache-Control"), "no-cache");
  EXPECT_EQ(field(refused, "X-Docs"), "(none)");
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
  // As nginx's add_header without "always", errors without an error page get none; nor does the
  // directory's 301.
  for (const char* target : {"/missing", "/docs", "/%2e%2e/x"}) {
    std::string r = get("GET", target);
    EXPECT_EQ(field(r, "Cache-Control"), "(none)") << r;
    EXPECT_EQ(field(r, "X-Frame-Options"), "(none)") << r;
  }
  std::string refused = get("GET", "/robots.txt", "Range: bytes=99-\r\n");
  EXPECT_EQ(refused.rfind("HTTP/1.1 416 ", 0), 0u) << refused;
  EXPECT_EQ(field(refused, "Cache-Control"), "(none)");
}

TEST_F(StaticSiteTest, ErrorPagesKeepTheirStatus) {
  write("404.html", "<h1>lost</h1>");
  write("denied.html", "<h1>no</h1>");
  options_.error_pages = {
      {404, "/404.html"}, {403, "/denied.html"}, {405, "/404.html"}, {400, "/missing-page.html"}};
  start();
  std::string missing = get("GET", "/nope.js");
  EXPECT_EQ(missing.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << missing;
  EXPECT_EQ(body_of(missing), "<h1>lost</h1>");
  EXPECT_EQ(field(missing, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(field(missing, "ETag"), "(none)");  // the answer is the 404, not the page's file
  std::string head = get("HEAD", "/nope.js");
  EXPECT_EQ(head, missing.substr(0, missing.size() - 13));
  std::string post = get("POST", "/index.html", "Content-Length: 0\r\n");
  EXPECT_EQ(post.rfind("HTTP/1.1 405 ", 0), 0u) << post;
  EXPECT_EQ(field(post, "Allow"), "GET, HEAD");
  EXPECT_EQ(body_of(post), "<h1>lost</h1>");
  // A page that does not exist: the built-in text.
  std::string bad = get("GET", "/%00");
  EXPECT_EQ(bad.rfind("HTTP/1.1 400 ", 0), 0u) << bad;
  EXPECT_EQ(field(bad, "Content-Type"), "text/plain; charset=utf-8");
  // Kept open like any file: still sent within the cache's second after it was removed.
  fs::remove(root_ / "404.html");
  EXPECT_EQ(body_of(get("GET", "/nope.js")), "<h1>lost</h1>");
  harness_->now += 2;
  EXPECT_EQ(body_of(get("GET", "/nope.js")), "not found\n");
}

// An error page is sent as a request for it would get it: precompressed where the client takes
// that, with Vary, and with the original status.
TEST_F(StaticSiteTest, ErrorPagesHaveTheirVariantsToo) {
  write("404.html", "<h1>lost</h1> and a long explanation");
  write("404.html.br", "BR-404");
  set_mtime("404.html", conn::kNow - 60);
  set_mtime("404.html.br", conn::kNow - 60);
  options_.error_pages = {{404, "/404.html"}};
  start();
  std::string br = get("GET", "/nope.js", "Accept-Encoding: gzip, br\r\n");
  EXPECT_EQ(br.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << br;
  EXPECT_EQ(body_of(br), "BR-404");
  EXPECT_EQ(field(br, "Content-Encoding"), "br");
  EXPECT_EQ(field(br, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(field(br, "Vary"), "Accept-Encoding");
  EXPECT_EQ(field(br, "ETag"), "(none)");
  std::string plain = get("GET", "/nope.js");
  EXPECT_EQ(body_of(plain), "<h1>lost</h1> and a long explanation");
  EXPECT_EQ(field(plain, "Content-Encoding"), "(none)");
  EXPECT_EQ(field(plain, "Vary"), "Accept-Encoding");
  EXPECT_EQ(get("HEAD", "/nope.js", "Accept-Encoding: br\r\n"), br.substr(0, br.size() - 6));
  // The page asked for itself is a file like any other, with its validators.
  std::string page = get("GET", "/404.html", "Accept-Encoding: br\r\n");
  EXPECT_EQ(page.rfind("HTTP/1.1 200 ", 0), 0u) << page;
  EXPECT_EQ(body_of(page), "BR-404");
  EXPECT_NE(field(page, "ETag"), "(none)");
}

TEST_F(StaticSiteTest, ErrorPageLargerThanTheKeptBytesIsSentFromItsFile) {
  write("404.html", std::string(5000, 'x'));
  options_.error_pages = {{404, "/404.html"}};
  for (uint32_t entries : {1024u, 0u}) {  // from the cache, and opened per request
    options_.open_file_cache.entries = entries;
    start();
    std::string r = get("GET", "/nope");
    EXPECT_EQ(r.rfind("HTTP/1.1 404 ", 0), 0u) << r;
    EXPECT_EQ(body_of(r), std::string(5000, 'x')) << entries;
    EXPECT_EQ(body_of(get("GET", "/nope")), std::string(5000, 'x')) << entries;
  }
}

TEST_F(StaticSiteTest, AnErrorPageRequestedItselfIsAFileLikeAnyOther) {
  write("404.html", "<h1>lost</h1>");
  write("404.html.gz", "GZ");
  options_.error_pages = {{404, "/404.html"}};
  start();
  EXPECT_EQ(body_of(get("GET", "/nope")), "<h1>lost</h1>");  // an error page goes unencoded
  std::string direct = get("GET", "/404.html", "Accept-Encoding: gzip\r\n");
  EXPECT_EQ(direct.rfind("HTTP/1.1 200 ", 0), 0u) << direct;
  EXPECT_EQ(body_of(direct), "GZ");
  EXPECT_EQ(field(direct, "Vary"), "Accept-Encoding");
}

TEST_F(StaticSiteTest, FallbackServesRoutesButNotMissingAssets) {
  write("404.html", "<h1>lost</h1>");
  options_.fallback = "/index.html";
  options_.error_pages = {{404, "/404.html"}};
  options_.headers.cache_control = {rule(false, "*.html=no-cache")};
  start();
  for (const char* route : {"/settings/profile", "/settings/", "/users/42?tab=x"}) {
    std::string r = get("GET", route);
    EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << route << r;
    EXPECT_EQ(body_of(r), "<h1>home</h1>") << route;
    EXPECT_EQ(field(r, "Content-Type"), "text/html; charset=utf-8") << route;
    EXPECT_EQ(field(r, "Cache-Control"), "no-cache") << route;  // the fields of the file sent
  }
  std::string head = get("HEAD", "/settings/profile");
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head;
  EXPECT_EQ(body_of(head), "");
  // Conditionals are the file's.
  std::string tag = etag(get("GET", "/index.html"));
  EXPECT_EQ(get("GET", "/deep/link", "If-None-Match: " + tag + "\r\n").rfind("HTTP/1.1 304 ", 0),
            0u);
  // Missing assets are still missing, and files are still themselves.
  std::string asset = get("GET", "/assets/missing.js");
  EXPECT_EQ(asset.rfind("HTTP/1.1 404 ", 0), 0u) << asset;
  EXPECT_EQ(body_of(asset), "<h1>lost</h1>");
  EXPECT_EQ(body_of(get("GET", "/assets/app.js")), "js();");
  EXPECT_EQ(body_of(get("GET", "/docs/")), "docs");
  EXPECT_EQ(get("GET", "/docs").rfind("HTTP/1.1 301 ", 0), 0u);
  EXPECT_EQ(get("GET", "/%2e%2e/x").rfind("HTTP/1.1 400 ", 0), 0u);
  EXPECT_EQ(get("POST", "/settings", "Content-Length: 0\r\n").rfind("HTTP/1.1 405 ", 0), 0u);
}

TEST_F(StaticSiteTest, AMissingFallbackIsA404) {
  options_.fallback = "/app.html";
  start();
  std::string r = get("GET", "/settings/profile");
  EXPECT_EQ(r.rfind("HTTP/1.1 404 ", 0), 0u) << r;
  EXPECT_EQ(body_of(r), "not found\n");
}

// A path that names no file is remembered like a file (open_file_cache_errors): a file created
// there is served once the cache's second is over, and a route keeps getting the fallback.
TEST_F(StaticSiteTest, MissingPathsAreRememberedForTheCachesSecond) {
  options_.fallback = "/index.html";
  start();
  EXPECT_EQ(get("GET", "/new.txt").rfind("HTTP/1.1 404 ", 0), 0u);
  EXPECT_EQ(body_of(get("GET", "/settings")), "<h1>home</h1>");
  write("new.txt", "new");
  write("settings", "a file now");
  EXPECT_EQ(get("GET", "/new.txt").rfind("HTTP/1.1 404 ", 0), 0u);
  EXPECT_EQ(body_of(get("GET", "/settings")), "<h1>home</h1>");
  EXPECT_EQ(get("HEAD", "/settings").rfind("HTTP/1.1 200 ", 0), 0u);
  harness_->now += 2;
  EXPECT_EQ(body_of(get("GET", "/new.txt")), "new");
  EXPECT_EQ(body_of(get("GET", "/settings")), "a file now");
  fs::remove(root_ / "new.txt");  // and the other way round, as before
  harness_->now += 2;
  EXPECT_EQ(get("GET", "/new.txt").rfind("HTTP/1.1 404 ", 0), 0u);
}

// style.css with a smaller .gz and a smallest .br beside it, all of one mtime.
class PrecompressedTest : public StaticSiteTest {
 protected:
  static constexpr time_t kMtime = conn::kNow - 86400;

  void SetUp() override {
    StaticSiteTest::SetUp();
    write("style.css", std::string(3000, 'c'));
    write("style.css.gz", "GZIP-BYTES-LONGER");
    write("style.css.br", "BR-BYTES");
    for (const char* name : {"style.css", "style.css.gz", "style.css.br"}) set_mtime(name, kMtime);
  }
  std::string get_css(const std::string& accept_encoding, const std::string& more = "") {
    return get("GET", "/style.css", "Accept-Encoding: " + accept_encoding + "\r\n" + more);
  }
};

TEST_F(PrecompressedTest, AcceptEncodingPicksTheSmallestAcceptableRepresentation) {
  start();
  std::string br = get_css("gzip, br");
  EXPECT_EQ(br.rfind("HTTP/1.1 200 ", 0), 0u) << br;
  EXPECT_EQ(body_of(br), "BR-BYTES");
  EXPECT_EQ(field(br, "Content-Encoding"), "br");
  EXPECT_EQ(field(br, "Vary"), "Accept-Encoding");
  EXPECT_EQ(field(br, "Content-Type"), "text/css; charset=utf-8");  // the original's
  EXPECT_EQ(field(br, "Content-Length"), "8");
  std::string gzip = get_css("br;q=0, gzip");
  EXPECT_EQ(body_of(gzip), "GZIP-BYTES-LONGER");
  EXPECT_EQ(field(gzip, "Content-Encoding"), "gzip");
  EXPECT_EQ(body_of(get_css("x-gzip")), "GZIP-BYTES-LONGER");
  EXPECT_EQ(body_of(get_css("gzip;q=0.5, br;q=0.4")), "GZIP-BYTES-LONGER");  // q before size
  EXPECT_EQ(body_of(get_css("*")), "BR-BYTES");
  // Nothing acceptable but the file itself, which still says that the answer varies.
  for (const std::string& refused :
       {std::string("br;q=0, gzip;q=0"), std::string("identity"), std::string("deflate")}) {
    std::string plain = get_css(refused);
    EXPECT_EQ(body_of(plain), std::string(3000, 'c')) << refused;
    EXPECT_EQ(field(plain, "Content-Encoding"), "(none)") << refused;
    EXPECT_EQ(field(plain, "Vary"), "Accept-Encoding") << refused;
  }
  std::string none = get("GET", "/style.css");
  EXPECT_EQ(body_of(none), std::string(3000, 'c'));
  EXPECT_EQ(field(none, "Vary"), "Accept-Encoding");
  // A file without variants does not vary.
  EXPECT_EQ(field(get("GET", "/robots.txt", "Accept-Encoding: br\r\n"), "Vary"), "(none)");
}

TEST_F(PrecompressedTest, EachRepresentationHasItsOwnValidatorsRangesAndHead) {
  start();
  const std::string br_tag = etag(get_css("br"));
  const std::string gzip_tag = etag(get_css("gzip"));
  const std::string plain_tag = etag(get_css("identity"));
  EXPECT_NE(br_tag, gzip_tag);
  EXPECT_NE(br_tag, plain_tag);
  EXPECT_NE(gzip_tag, plain_tag);
  std::string not_modified = get_css("br", "If-None-Match: " + br_tag + "\r\n");
  EXPECT_EQ(not_modified.rfind("HTTP/1.1 304 ", 0), 0u) << not_modified;
  EXPECT_EQ(field(not_modified, "ETag"), br_tag);
  EXPECT_EQ(field(not_modified, "Vary"), "Accept-Encoding");
  EXPECT_EQ(get_css("gzip", "If-None-Match: " + gzip_tag + "\r\n").rfind("HTTP/1.1 304 ", 0), 0u);
  EXPECT_EQ(get_css("identity", "If-None-Match: " + plain_tag + "\r\n").rfind("HTTP/1.1 304 ", 0),
            0u);
  // Another representation's tag does not match this one.
  std::string changed = get_css("gzip", "If-None-Match: " + br_tag + "\r\n");
  EXPECT_EQ(changed.rfind("HTTP/1.1 200 ", 0), 0u) << changed;
  EXPECT_EQ(body_of(changed), "GZIP-BYTES-LONGER");
  // Ranges are of the representation's own bytes.
  std::string part = get_css("br", "Range: bytes=3-7\r\n");
  EXPECT_EQ(part.rfind("HTTP/1.1 206 ", 0), 0u) << part;
  EXPECT_EQ(body_of(part), "BYTES");
  EXPECT_EQ(field(part, "Content-Range"), "bytes 3-7/8");
  EXPECT_EQ(field(part, "Content-Encoding"), "br");
  EXPECT_EQ(body_of(get_css("br", "Range: bytes=0-1\r\nIf-Range: " + gzip_tag + "\r\n")),
            "BR-BYTES");  // If-Range names another representation: the whole
  std::string beyond = get_css("br", "Range: bytes=8-\r\n");
  EXPECT_EQ(beyond.rfind("HTTP/1.1 416 ", 0), 0u) << beyond;
  EXPECT_EQ(field(beyond, "Content-Range"), "bytes */8");
  EXPECT_EQ(field(beyond, "Vary"), "Accept-Encoding");  // it depends on the representation
  std::string failed = get_css("br", "If-Match: \"other\"\r\n");
  EXPECT_EQ(failed.rfind("HTTP/1.1 412 ", 0), 0u) << failed;
  EXPECT_EQ(field(failed, "Vary"), "Accept-Encoding");
  std::string whole = get_css("br");
  std::string head = get("HEAD", "/style.css", "Accept-Encoding: br\r\n");
  EXPECT_EQ(head, whole.substr(0, whole.size() - 8));
}

TEST_F(PrecompressedTest, AVariantOlderThanItsFileIsIgnored) {
  // brotli -k copies the mtime without its nanoseconds: the same second is not older.
  set_mtime("style.css", kMtime, 500'000'000);
  start();
  EXPECT_EQ(body_of(get_css("br, gzip")), "BR-BYTES");
  set_mtime("style.css", kMtime + 1);  // edited after the variants were made
  harness_->now += 2;                  // past the open file cache's second
  std::string r = get_css("br, gzip");
  EXPECT_EQ(body_of(r), std::string(3000, 'c'));
  EXPECT_EQ(field(r, "Vary"), "(none)");
}

TEST_F(PrecompressedTest, TheListChoosesTheCodingsAndOffSendsTheFileAlone) {
  ASSERT_TRUE(parse_coding_list("gzip", &options_.precompressed));
  start();
  std::string r = get_css("br, gzip");
  EXPECT_EQ(field(r, "Content-Encoding"), "gzip");
  harness_.reset();
  ASSERT_TRUE(parse_coding_list("off", &options_.precompressed));
  start();
  r = get_css("br, gzip");
  EXPECT_EQ(body_of(r), std::string(3000, 'c'));
  EXPECT_EQ(field(r, "Vary"), "(none)");
}

TEST_F(PrecompressedTest, AnIndexFileHasVariantsToo) {
  write("docs/index.html.gz", "GZ-INDEX");
  start();
  std::string r = get("GET", "/docs/", "Accept-Encoding: gzip\r\n");
  EXPECT_EQ(body_of(r), "GZ-INDEX");
  EXPECT_EQ(field(r, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(field(r, "Content-Encoding"), "gzip");
}

TEST_F(PrecompressedTest, VariantsAreServedFromTheOpenFileCache) {
  start();
  EXPECT_EQ(body_of(get_css("br")), "BR-BYTES");
  fs::remove(root_ / "style.css.br");  // kept open: still served within the cache's second
  EXPECT_EQ(body_of(get_css("br")), "BR-BYTES");
  harness_->now += 2;
  EXPECT_EQ(field(get_css("br"), "Content-Encoding"), "(none)");
  EXPECT_EQ(field(get_css("br, gzip"), "Content-Encoding"), "gzip");
}

TEST_F(PrecompressedTest, AVariantEvictedBeforeItsFileIsOpenedAgain) {
  options_.open_file_cache.entries = 4;  // one set of four
  start();
  EXPECT_EQ(body_of(get_css("br")), "BR-BYTES");  // style.css, .gz and .br: three entries
  EXPECT_EQ(field(get_css("identity"), "Vary"), "Accept-Encoding");  // style.css used last
  EXPECT_EQ(body_of(get("GET", "/robots.txt")), "robots");           // the fourth
  EXPECT_EQ(body_of(get("GET", "/assets/app.js")), "js();");         // evicts .br
  EXPECT_EQ(body_of(get("GET", "/index.html")), "<h1>home</h1>");    // and .gz
  EXPECT_EQ(body_of(get_css("br")), "BR-BYTES");
  EXPECT_EQ(body_of(get_css("gzip")), "GZIP-BYTES-LONGER");
}

}  // namespace
}  // namespace zhttp::handlers::static_site
