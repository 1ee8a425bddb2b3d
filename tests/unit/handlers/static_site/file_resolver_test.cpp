// Path resolution beneath the document root, on a real temporary tree: traversal in every
// spelling, symlinks out of the root, hidden files, directories and their index.
#include "handlers/static_site/file_resolver.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace zhttp::handlers::static_site {
namespace {

namespace fs = std::filesystem;
using Outcome = ResolvedFile::Outcome;

class FileResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/zhttp-resolver-XXXXXX";
    base_ = ::mkdtemp(tmpl);
    root_ = base_ / "www";
    fs::create_directories(root_ / "docs" / "empty");
    fs::create_directories(root_ / ".git");
    write(root_ / "index.html", "home");
    write(root_ / "docs" / "index.html", "docs home");
    write(root_ / "docs" / "page.txt", "page");
    write(root_ / ".env", "secret");
    write(root_ / ".git" / "config", "secret");
    write(base_ / "outside.txt", "outside");
    fs::create_symlink(base_ / "outside.txt", root_ / "escape.txt");
    fs::create_symlink("../outside.txt", root_ / "relative-escape.txt");
    fs::create_symlink("docs/page.txt", root_ / "inside-link.txt");
    fs::create_symlink(base_, root_ / "escape-dir");
    resolver_ = std::make_unique<FileResolver>(root_.string());
  }
  void TearDown() override {
    resolver_.reset();
    fs::remove_all(base_);
  }
  static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

  // Resolves and reads the file it opened (closing it).
  std::pair<Outcome, std::string> get(std::string_view path) {
    char scratch[4096];
    ResolvedFile r = resolver_->resolve(path, scratch, sizeof scratch);
    std::string content;
    if (r.outcome == Outcome::kFile) {
      char buf[256];
      ssize_t n = ::read(r.fd, buf, sizeof buf);
      content.assign(buf, n > 0 ? static_cast<size_t>(n) : 0);
      EXPECT_EQ(static_cast<size_t>(r.st.st_size), content.size());
      ::close(r.fd);
    } else {
      EXPECT_EQ(r.fd, -1);
    }
    return {r.outcome, content};
  }

  fs::path base_;
  fs::path root_;
  std::unique_ptr<FileResolver> resolver_;
};

TEST_F(FileResolverTest, ServesFilesAndIndexes) {
  EXPECT_EQ(get("/"), std::make_pair(Outcome::kFile, std::string("home")));
  EXPECT_EQ(get("/docs/"), std::make_pair(Outcome::kFile, std::string("docs home")));
  EXPECT_EQ(get("/docs/page.txt"), std::make_pair(Outcome::kFile, std::string("page")));
  EXPECT_EQ(get("/docs/./page.txt"), std::make_pair(Outcome::kFile, std::string("page")));
  EXPECT_EQ(get("/docs//page%2etxt"), std::make_pair(Outcome::kFile, std::string("page")));
  EXPECT_EQ(get("/docs/x/../page.txt"), std::make_pair(Outcome::kFile, std::string("page")));
}

TEST_F(FileResolverTest, DirectoryWithoutSlashRedirects) {
  EXPECT_EQ(get("/docs").first, Outcome::kAddSlash);
}

TEST_F(FileResolverTest, DirectoryWithoutIndexIsNotFound) {
  EXPECT_EQ(get("/docs/empty/").first, Outcome::kNotFound);
}

TEST_F(FileResolverTest, MissingIsNotFound) {
  EXPECT_EQ(get("/nope.html").first, Outcome::kNotFound);
  EXPECT_EQ(get("/docs/page.txt/more").first, Outcome::kNotFound);
}

TEST_F(FileResolverTest, TraversalNeverLeavesTheRoot) {
  for (const char* path :
       {"/../outside.txt", "/docs/../../outside.txt", "/%2e%2e/outside.txt", "/%2E%2E/outside.txt",
        "/docs/%2e%2e/%2e%2e/outside.txt", "/..%2foutside.txt", "/%2f..%2foutside.txt",
        "/docs/..%2F..%2Foutside.txt"}) {
    auto [outcome, content] = get(path);
    EXPECT_EQ(outcome, Outcome::kBadPath) << path;
    EXPECT_NE(content, "outside");
  }
}

TEST_F(FileResolverTest, NulAndControlBytesRejected) {
  EXPECT_EQ(get("/index.html%00.txt").first, Outcome::kBadPath);
  EXPECT_EQ(get(std::string_view("/index.html\0x", 13)).first, Outcome::kBadPath);
  EXPECT_EQ(get("/a%0d%0ab").first, Outcome::kBadPath);
}

TEST_F(FileResolverTest, SymlinksOutOfTheRootAreNotFollowed) {
  EXPECT_EQ(get("/escape.txt").first, Outcome::kNotFound);
  EXPECT_EQ(get("/relative-escape.txt").first, Outcome::kNotFound);
  EXPECT_EQ(get("/escape-dir/outside.txt").first, Outcome::kNotFound);
  EXPECT_EQ(get("/escape-dir/").first, Outcome::kNotFound);
}

TEST_F(FileResolverTest, SymlinksInsideTheRootWork) {
  EXPECT_EQ(get("/inside-link.txt"), std::make_pair(Outcome::kFile, std::string("page")));
}

TEST_F(FileResolverTest, HiddenFilesAreNotFound) {
  EXPECT_EQ(get("/.env").first, Outcome::kNotFound);
  EXPECT_EQ(get("/.git/config").first, Outcome::kNotFound);
  EXPECT_EQ(get("/%2egit/config").first, Outcome::kNotFound);
  EXPECT_EQ(get("/docs/.hidden").first, Outcome::kNotFound);
}

TEST_F(FileResolverTest, MissingRootThrows) {
  EXPECT_THROW(FileResolver((base_ / "no-such-dir").string()), std::runtime_error);
}

}  // namespace
}  // namespace zhttp::handlers::static_site
