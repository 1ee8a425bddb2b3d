// Directory listings on a real temporary tree: read_directory (what is listed, in which order,
// the bound), FileResolver's kDirectory outcome, and StaticFiles answering with the listing
// through a real conn::Connection (no sockets).
#include "handlers/autoindex/directory_listing.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "handlers/autoindex/autoindex.hpp"
#include "handlers/static_site/file_resolver.hpp"
#include "handlers/static_site/static_files.hpp"
#include "unit/support/connection_harness.hpp"

namespace zhttp::handlers::autoindex {
namespace {

namespace fs = std::filesystem;
using Outcome = static_site::ResolvedFile::Outcome;

class DirectoryListingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/zhttp-listing-XXXXXX";
    base_ = ::mkdtemp(tmpl);
    root_ = base_ / "www";
    fs::create_directories(root_ / "sub" / "deeper");
    fs::create_directories(root_ / "with-index");
    fs::create_directories(root_ / ".git");
    write(root_ / "with-index" / "index.html", "index");
    write(root_ / "b.txt", "bb");
    write(root_ / "B.txt", "B");
    write(root_ / "a.txt", "a");
    write(root_ / "caf\xC3\xA9", "e");
    write(root_ / ".env", "secret");
    write(root_ / "line\nbreak", "unreachable by any request");
    write(root_ / "sub" / "inner.txt", "inner");
    write(base_ / "outside.txt", "outside");
    fs::create_symlink(base_ / "outside.txt", root_ / "escape.txt");
    fs::create_symlink("../outside.txt", root_ / "relative-escape.txt");
    fs::create_symlink(base_, root_ / "escape-dir");
    fs::create_symlink("missing", root_ / "dangling");
    fs::create_symlink("sub", root_ / "sub-link");
    fs::create_symlink("../a.txt", root_ / "sub" / "up.txt");  // climbs, but stays in the root
    ASSERT_EQ(::mkfifo((root_ / "fifo").c_str(), 0600), 0);
    root_fd_ = ::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(root_fd_, 0);
  }
  void TearDown() override {
    ::close(root_fd_);
    fs::remove_all(base_);
  }
  static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

  DirListing list(const std::string& dir_path, size_t max_entries = 100) {
    const int fd = ::open((root_.string() + dir_path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    std::optional<DirListing> listing = read_directory(fd, root_fd_, dir_path, max_entries);
    ::close(fd);
    EXPECT_TRUE(listing.has_value());
    return listing.value_or(DirListing{});
  }
  static std::vector<std::string> names(const DirListing& listing) {
    std::vector<std::string> out;
    for (const DirEntry& e : listing.entries) out.push_back(e.name + (e.directory ? "/" : ""));
    return out;
  }

  fs::path base_;
  fs::path root_;
  int root_fd_ = -1;
};

TEST_F(DirectoryListingTest, ListsWhatTheResolverServesDirectoriesFirstThenBytewise) {
  const DirListing listing = list("/");
  EXPECT_FALSE(listing.truncated);
  // No hidden names, no name a request cannot carry, no FIFO, no link out of the root or to
  // nothing; the link to a directory is a directory.
  EXPECT_EQ(names(listing), (std::vector<std::string>{"sub/", "sub-link/", "with-index/", "B.txt",
                                                      "a.txt", "b.txt", "caf\xC3\xA9"}));
  const DirEntry& b = listing.entries[5];
  EXPECT_EQ(b.size, 2u);
  struct stat st {};
  ASSERT_EQ(::stat((root_ / "b.txt").c_str(), &st), 0);
  EXPECT_EQ(b.mtime, st.st_mtim.tv_sec);
}

TEST_F(DirectoryListingTest, LinksAreJudgedFromTheRootNotFromTheDirectory) {
  const DirListing listing = list("/sub/");
  EXPECT_EQ(names(listing), (std::vector<std::string>{"deeper/", "inner.txt", "up.txt"}));
  EXPECT_EQ(listing.entries[2].size, 1u);  // a.txt's
}

TEST_F(DirectoryListingTest, AtMostMaxEntries) {
  DirListing listing = list("/", 3);
  EXPECT_TRUE(listing.truncated);
  EXPECT_EQ(listing.entries.size(), 3u);
  listing = list("/", 7);  // exactly all of them
  EXPECT_FALSE(listing.truncated);
  EXPECT_EQ(listing.entries.size(), 7u);
}

TEST_F(DirectoryListingTest, NothingFromWhatIsNotADirectory) {
  const int fd = ::open((root_ / "a.txt").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_FALSE(read_directory(fd, root_fd_, "/a.txt/", 10).has_value());
  ::close(fd);
}

TEST_F(DirectoryListingTest, ListableNames) {
  EXPECT_TRUE(listable_name("a.txt"));
  EXPECT_TRUE(listable_name("a b"));
  EXPECT_TRUE(listable_name("caf\xC3\xA9"));
  EXPECT_FALSE(listable_name(""));
  EXPECT_FALSE(listable_name("."));
  EXPECT_FALSE(listable_name(".."));
  EXPECT_FALSE(listable_name(".env"));
  EXPECT_FALSE(listable_name("a\tb"));
  EXPECT_FALSE(listable_name("a\x7f"));
}

TEST_F(DirectoryListingTest, ResolverReportsADirectoryWithoutIndexOnlyWhenAsked) {
  char scratch[4096];
  static_site::FileResolver plain(root_.string());
  EXPECT_EQ(plain.resolve("/sub/", scratch, sizeof scratch).outcome, Outcome::kNotFound);
  static_site::FileResolver listing(root_.string(), "index.html", true);
  for (const char* path : {"/", "/sub/", "/sub-link/"}) {
    static_site::ResolvedFile r = listing.resolve(path, scratch, sizeof scratch);
    ASSERT_EQ(r.outcome, Outcome::kDirectory) << path;
    EXPECT_EQ(r.path, path);
    EXPECT_TRUE(S_ISDIR(r.st.st_mode));
    ::close(r.fd);
  }
  static_site::ResolvedFile r = listing.resolve("/with-index/", scratch, sizeof scratch);
  EXPECT_EQ(r.outcome, Outcome::kFile);
  ::close(r.fd);
  EXPECT_EQ(listing.resolve("/sub", scratch, sizeof scratch).outcome, Outcome::kAddSlash);
  EXPECT_EQ(listing.resolve("/.git/", scratch, sizeof scratch).outcome, Outcome::kNotFound);
  EXPECT_EQ(listing.resolve("/escape-dir/", scratch, sizeof scratch).outcome, Outcome::kNotFound);
}

class AutoindexTest : public DirectoryListingTest {
 protected:
  using Harness = conn::ConnectionHarness<static_site::StaticFiles>;

  std::string get(bool autoindex, const std::string& request_line) {
    static_site::StaticFilesOptions options = options_;
    options.root = root_.string();
    options.mime_types = "";
    options.autoindex = autoindex;
    Harness harness(conn::ConnectionConfig{}, options);
    harness.feed(request_line + " HTTP/1.1\r\nHost: x\r\n\r\n");
    return harness.sent;
  }
  static std::string body_of(const std::string& response) {
    return response.substr(response.find("\r\n\r\n") + 4);
  }

  static_site::StaticFilesOptions options_;
};

TEST_F(AutoindexTest, OffByDefault) {
  EXPECT_EQ(get(false, "GET /sub/").rfind("HTTP/1.1 404 ", 0), 0u);
}

TEST_F(AutoindexTest, HtmlJsonAndHead) {
  const std::string html = get(true, "GET /sub/");
  EXPECT_EQ(html.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << html;
  EXPECT_NE(html.find("\r\nContent-Type: text/html; charset=utf-8\r\n"), std::string::npos);
  EXPECT_NE(body_of(html).find("<a href=\"inner.txt\">inner.txt</a>"), std::string::npos) << html;
  EXPECT_NE(html.find("\r\nContent-Length: " + std::to_string(body_of(html).size()) + "\r\n"),
            std::string::npos)
      << html;

  const std::string json = get(true, "GET /sub/?format=json");
  EXPECT_NE(json.find("\r\nContent-Type: application/json\r\n"), std::string::npos) << json;
  EXPECT_NE(body_of(json).find("{ \"name\":\"inner.txt\", \"type\":\"file\""), std::string::npos);

  const std::string head = get(true, "HEAD /sub/");
  EXPECT_EQ(head, html.substr(0, html.find("\r\n\r\n") + 4));
  // The index file, when there is one, is served as before.
  EXPECT_EQ(body_of(get(true, "GET /with-index/")), "index");
}

TEST_F(AutoindexTest, FieldsByPathApplyToTheDirectorysPath) {
  static_site::PathHeaderRule rule;
  std::string error;
  ASSERT_TRUE(static_site::parse_cache_control_rule("*/=no-cache", &rule, &error)) << error;
  options_.headers.cache_control.push_back(rule);
  ASSERT_TRUE(static_site::parse_add_header_rule("/sub/*=X-Frame-Options: DENY", &rule, &error))
      << error;
  options_.headers.add_header.push_back(rule);
  const std::string sub = get(true, "GET /sub/?format=json");
  EXPECT_NE(sub.find("\r\nCache-Control: no-cache\r\n"), std::string::npos) << sub;
  EXPECT_NE(sub.find("\r\nX-Frame-Options: DENY\r\n"), std::string::npos) << sub;
  const std::string root = get(true, "HEAD /");
  EXPECT_NE(root.find("\r\nCache-Control: no-cache\r\n"), std::string::npos) << root;
  EXPECT_EQ(root.find("X-Frame-Options"), std::string::npos) << root;
}

TEST_F(AutoindexTest, ALargeDirectoryIsCutAtTheCapAndSaysSo) {
  fs::create_directories(root_ / "many");
  for (size_t i = 0; i <= kMaxListingEntries; ++i) {
    std::ofstream(root_ / "many" / std::to_string(i));
  }
  const std::string html = get(true, "GET /many/");
  EXPECT_EQ(html.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << html.substr(0, 200);
  EXPECT_NE(html.find("\r\nX-Autoindex-Truncated: 10000\r\n"), std::string::npos);
  const std::string body = body_of(html);
  EXPECT_GT(body.size(), 65536u);  // more than the harness's output block: sent as a file range
  size_t links = 0;
  for (size_t at = body.find("<a href="); at != std::string::npos;
       at = body.find("<a href=", at + 1)) {
    ++links;
  }
  EXPECT_EQ(links, kMaxListingEntries + 1);  // and "../"
  EXPECT_NE(body.find("only 10000 of them are listed"), std::string::npos);
  EXPECT_EQ(get(true, "GET /sub/").find("X-Autoindex-Truncated"), std::string::npos);
}

}  // namespace
}  // namespace zhttp::handlers::autoindex
