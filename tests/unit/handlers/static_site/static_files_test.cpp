// The static file handler through a real conn::Connection (no sockets), on a temporary tree:
// status codes, headers and bodies for plain, conditional, ranged and refused requests.
#include "handlers/static_site/static_files.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "handlers/static_site/etag.hpp"
#include "unit/support/connection_harness.hpp"

namespace zhttp::handlers::static_site {
namespace {

namespace fs = std::filesystem;
using Harness = conn::ConnectionHarness<StaticFiles>;

// Files are dated well before the harness clock, so Last-Modified is their own mtime.
constexpr time_t kMtime = conn::kNow - 86400;
const std::string kMtimeText = "Mon, 13 Nov 2023 22:13:20 GMT";

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/zhttp-static-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    fs::create_directories(root_ / "docs");
    fs::create_directories(root_ / "a b");
    write("index.html", "<h1>home</h1>");
    write("docs/index.html", "docs");
    write("digits.txt", "0123456789");
    write("style.css", "p{}");
    write("empty.txt", "");
    write("medium.txt", std::string(1000, 'a') + std::string(1000, 'b'));  // over the kept bytes
    write(".secret", "hidden");
    StaticFilesOptions options;
    options.root = root_.string();
    options.mime_types = "";  // the built-in table: the test does not depend on media-types
    harness_ = std::make_unique<Harness>(conn::ConnectionConfig{}, options);
  }
  void TearDown() override {
    harness_.reset();
    fs::remove_all(root_);
  }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(root_ / name) << text;
    timespec times[2] = {{kMtime, 0}, {kMtime, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (root_ / name).c_str(), times, 0), 0);
  }
  std::string etag_of(const std::string& name) {
    struct stat st {};
    ::stat((root_ / name).c_str(), &st);
    char buf[kMaxEtagLen];
    return std::string(buf, format_etag(FileVersion::of(st), buf));
  }
  // One request on a fresh connection; returns everything sent back.
  std::string get(const std::string& head) {
    harness_->sent.clear();
    harness_->feed(head);
    return harness_->sent;
  }
  static std::string request(const std::string& method, const std::string& target,
                             const std::string& fields = "") {
    return method + " " + target + " HTTP/1.1\r\nHost: x\r\n" + fields + "\r\n";
  }
  static std::string body_of(const std::string& response) {
    size_t end = response.find("\r\n\r\n");
    return end == std::string::npos ? "" : response.substr(end + 4);
  }

  fs::path root_;
  std::unique_ptr<Harness> harness_;
};

TEST_F(StaticFilesTest, ServesAFileWithValidators) {
  std::string r = get(request("GET", "/digits.txt"));
  EXPECT_EQ(r,
            "HTTP/1.1 200 OK\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nETag: " +
                etag_of("digits.txt") + "\r\nLast-Modified: " + kMtimeText +
                "\r\nAccept-Ranges: bytes\r\nContent-Length: 10\r\n\r\n0123456789");
}

TEST_F(StaticFilesTest, ServesTheIndexOfADirectoryWithItsType) {
  std::string r = get(request("GET", "/"));
  EXPECT_NE(r.find("Content-Type: text/html; charset=utf-8\r\n"), std::string::npos) << r;
  EXPECT_EQ(body_of(r), "<h1>home</h1>");
  EXPECT_EQ(body_of(get(request("GET", "/docs/"))), "docs");
  EXPECT_NE(get(request("GET", "/style.css")).find("Content-Type: text/css"), std::string::npos);
}

TEST_F(StaticFilesTest, HeadHasTheHeadersOfGetAndNoBody) {
  std::string g = get(request("GET", "/digits.txt"));
  std::string h = get(request("HEAD", "/digits.txt"));
  EXPECT_EQ(h, g.substr(0, g.size() - 10));
}

TEST_F(StaticFilesTest, EmptyFileHasZeroLength) {
  std::string r = get(request("GET", "/empty.txt"));
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Length: 0\r\n"), std::string::npos);
  EXPECT_EQ(body_of(r), "");
}

TEST_F(StaticFilesTest, OtherMethodsGet405WithAllow) {
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
    std::string r = get(request(method, "/digits.txt", "Content-Length: 0\r\n"));
    EXPECT_EQ(r.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u) << method;
    EXPECT_NE(r.find("Allow: GET, HEAD\r\n"), std::string::npos) << method;
  }
}

TEST_F(StaticFilesTest, RefusedPaths) {
  EXPECT_EQ(get(request("GET", "/nope")).rfind("HTTP/1.1 404 ", 0), 0u);
  EXPECT_EQ(get(request("GET", "/.secret")).rfind("HTTP/1.1 404 ", 0), 0u);
  EXPECT_EQ(get(request("GET", "/%2esecret")).rfind("HTTP/1.1 404 ", 0), 0u);
  EXPECT_EQ(get(request("GET", "/../digits.txt")).rfind("HTTP/1.1 400 ", 0), 0u);
  EXPECT_EQ(get(request("GET", "/a%2Fb")).rfind("HTTP/1.1 400 ", 0), 0u);
}

TEST_F(StaticFilesTest, DirectoryWithoutSlashRedirectsToTheNormalisedPath) {
  std::string r = get(request("GET", "/docs?x=1"));
  EXPECT_EQ(r.rfind("HTTP/1.1 301 Moved Permanently\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("Location: /docs/?x=1\r\n"), std::string::npos) << r;
  // Decoded names are re-encoded; merged slashes cannot become a "//host" redirect.
  EXPECT_NE(get(request("GET", "/a%20b")).find("Location: /a%20b/\r\n"), std::string::npos);
  EXPECT_NE(get(request("GET", "//docs")).find("Location: /docs/\r\n"), std::string::npos);
}

TEST_F(StaticFilesTest, AbsoluteFormTargetsServeTheirPath) {
  EXPECT_EQ(body_of(get(request("GET", "http://x/digits.txt"))), "0123456789");
  EXPECT_EQ(body_of(get(request("GET", "http://x"))), "<h1>home</h1>");
}

TEST_F(StaticFilesTest, IfNoneMatchGives304WithTheTag) {
  std::string etag = etag_of("digits.txt");
  std::string r = get(request("GET", "/digits.txt", "If-None-Match: W/\"x\", " + etag + "\r\n"));
  EXPECT_EQ(r, "HTTP/1.1 304 Not Modified\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\nETag: " + etag +
                   "\r\nLast-Modified: " + kMtimeText + "\r\n\r\n");
  EXPECT_EQ(
      get(request("GET", "/digits.txt", "If-None-Match: \"other\"\r\n")).rfind("HTTP/1.1 200", 0),
      0u);
}

TEST_F(StaticFilesTest, IfModifiedSinceGives304UnlessModified) {
  EXPECT_EQ(get(request("GET", "/digits.txt", "If-Modified-Since: " + kMtimeText + "\r\n"))
                .rfind("HTTP/1.1 304", 0),
            0u);
  EXPECT_EQ(
      get(request("GET", "/digits.txt", "If-Modified-Since: Sun, 12 Nov 2023 00:00:00 GMT\r\n"))
          .rfind("HTTP/1.1 200", 0),
      0u);
}

TEST_F(StaticFilesTest, FailedPreconditionsGive412) {
  EXPECT_EQ(get(request("GET", "/digits.txt", "If-Match: \"other\"\r\n")).rfind("HTTP/1.1 412", 0),
            0u);
  EXPECT_EQ(
      get(request("GET", "/digits.txt", "If-Unmodified-Since: Sun, 12 Nov 2023 00:00:00 GMT\r\n"))
          .rfind("HTTP/1.1 412", 0),
      0u);
}

TEST_F(StaticFilesTest, SingleRangeGives206) {
  std::string r = get(request("GET", "/digits.txt", "Range: bytes=2-4\r\n"));
  EXPECT_EQ(r.rfind("HTTP/1.1 206 Partial Content\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Range: bytes 2-4/10\r\n"), std::string::npos);
  EXPECT_NE(r.find("Content-Length: 3\r\n"), std::string::npos);
  EXPECT_EQ(body_of(r), "234");
  EXPECT_EQ(body_of(get(request("GET", "/digits.txt", "Range: bytes=-3\r\n"))), "789");
  EXPECT_EQ(body_of(get(request("GET", "/digits.txt", "Range: bytes=7-\r\n"))), "789");
}

TEST_F(StaticFilesTest, FilesOverTheKeptSizeAreReadFromTheirDescriptor) {
  ASSERT_GT(2000u, CachedFile::kMaxContentBytes);
  for (int i = 0; i < 2; ++i) {  // opened, then from the cache
    EXPECT_EQ(body_of(get(request("GET", "/medium.txt"))),
              std::string(1000, 'a') + std::string(1000, 'b'));
    EXPECT_EQ(body_of(get(request("GET", "/medium.txt", "Range: bytes=995-1004\r\n"))),
              "aaaaabbbbb");
  }
}

TEST_F(StaticFilesTest, UnsatisfiableRangeGives416) {
  std::string r = get(request("GET", "/digits.txt", "Range: bytes=10-\r\n"));
  EXPECT_EQ(r.rfind("HTTP/1.1 416 Range Not Satisfiable\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Range: bytes */10\r\n"), std::string::npos);
}

TEST_F(StaticFilesTest, RangesAreIgnoredForHeadAndStaleIfRange) {
  std::string head = get(request("HEAD", "/digits.txt", "Range: bytes=2-4\r\n"));
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_NE(head.find("Content-Length: 10\r\n"), std::string::npos);
  std::string stale =
      get(request("GET", "/digits.txt", "Range: bytes=2-4\r\nIf-Range: \"old\"\r\n"));
  EXPECT_EQ(body_of(stale), "0123456789");
  std::string fresh = get(request(
      "GET", "/digits.txt", "Range: bytes=2-4\r\nIf-Range: " + etag_of("digits.txt") + "\r\n"));
  EXPECT_EQ(body_of(fresh), "234");
}

// Without the open file cache every request opens the file itself: same answers.
TEST_F(StaticFilesTest, ServesTheSameWithoutTheOpenFileCache) {
  StaticFilesOptions options;
  options.root = root_.string();
  options.mime_types = "";
  options.open_file_cache.entries = 0;
  Harness uncached(conn::ConnectionConfig{}, options);
  for (const std::string& head :
       {request("GET", "/digits.txt"), request("HEAD", "/"), request("GET", "/empty.txt"),
        request("GET", "/digits.txt", "Range: bytes=2-4\r\n"), request("GET", "/medium.txt"),
        request("GET", "/digits.txt", "Range: bytes=20-\r\n"),
        request("GET", "/digits.txt", "If-None-Match: " + etag_of("digits.txt") + "\r\n")}) {
    uncached.sent.clear();
    uncached.feed(head);
    EXPECT_EQ(uncached.sent, get(head)) << head;
  }
}

// A cached entry lives `valid_seconds`: a file replaced under the same name is served once the
// path is resolved again (the harness clock moves one second on).
TEST_F(StaticFilesTest, ReplacedFileIsSeenOnceTheEntryExpires) {
  EXPECT_EQ(body_of(get(request("GET", "/digits.txt"))), "0123456789");
  fs::remove(root_ / "digits.txt");
  write("digits.txt", "abc");
  EXPECT_EQ(body_of(get(request("GET", "/digits.txt"))), "0123456789");  // same second: cached
  harness_->now = conn::kNow + 1;
  EXPECT_EQ(body_of(get(request("GET", "/digits.txt"))), "abc");
  fs::remove(root_ / "digits.txt");
  harness_->now = conn::kNow + 2;
  EXPECT_EQ(get(request("GET", "/digits.txt")).rfind("HTTP/1.1 404", 0), 0u);
}

TEST_F(StaticFilesTest, PipelinedRequestsKeepTheirOrder) {
  std::string r = get(request("GET", "/digits.txt") + request("HEAD", "/") +
                      request("GET", "/nope") + request("GET", "/style.css"));
  size_t a = r.find("0123456789");
  size_t b = r.find("text/html");
  size_t c = r.find("404 Not Found");
  size_t d = r.find("p{}");
  ASSERT_NE(d, std::string::npos) << r;
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(c, d);
}

}  // namespace
}  // namespace zhttp::handlers::static_site
