// The open file cache: hits while valid, misses once `valid_seconds` have passed, replaces an
// entry of the same path, evicts the least recently used entry of a full set, and closes the
// descriptors it drops.
#include "handlers/static_site/open_file_cache.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace zhttp::handlers::static_site {
namespace {

constexpr time_t kT = 1700000000;

bool is_open(int fd) {
  return ::fcntl(fd, F_GETFD) != -1;
}

CachedFile open_file() {
  CachedFile f;
  f.fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  f.etag_len = 3;
  f.etag[0] = f.etag[2] = '"';
  f.etag[1] = 'x';
  return f;
}

TEST(OpenFileCache, HitsWhileValidThenMisses) {
  OpenFileCache cache({.entries = 16, .valid_seconds = 2});
  EXPECT_EQ(cache.find("/a", kT), nullptr);
  CachedFile f = open_file();
  const CachedFile* stored = cache.store("/a", f, kT);
  ASSERT_NE(stored, nullptr);
  EXPECT_EQ(stored->fd, f.fd);
  EXPECT_EQ(cache.find("/a", kT + 1), stored);
  EXPECT_EQ(cache.find("/a", kT + 2), nullptr);
  EXPECT_EQ(cache.find("/a", kT - 1), nullptr);  // the clock went back
  EXPECT_EQ(cache.find("/b", kT), nullptr);
  EXPECT_EQ(stored->etag_view(), "\"x\"");
}

TEST(OpenFileCache, StoringAPathAgainReplacesAndClosesTheOldDescriptor) {
  OpenFileCache cache({.entries = 16, .valid_seconds = 1});
  CachedFile old_file = open_file();
  cache.store("/a", old_file, kT);
  CachedFile new_file = open_file();
  const CachedFile* stored = cache.store("/a", new_file, kT + 5);
  EXPECT_EQ(stored->fd, new_file.fd);
  EXPECT_FALSE(is_open(old_file.fd));
  EXPECT_EQ(cache.find("/a", kT + 5), stored);
}

TEST(OpenFileCache, FullCacheEvictsTheLeastRecentlyUsed) {
  OpenFileCache cache({.entries = OpenFileCache::kWays, .valid_seconds = 10});  // one set
  ASSERT_EQ(cache.capacity(), OpenFileCache::kWays);
  int fds[OpenFileCache::kWays];
  for (uint32_t i = 0; i < OpenFileCache::kWays; ++i) {
    CachedFile f = open_file();
    fds[i] = f.fd;
    cache.store("/" + std::to_string(i), f, kT);
  }
  for (uint32_t i = 1; i < OpenFileCache::kWays; ++i) {
    ASSERT_NE(cache.find("/" + std::to_string(i), kT), nullptr);  // "/0" is now the oldest use
  }
  cache.store("/new", open_file(), kT);
  EXPECT_FALSE(is_open(fds[0]));
  EXPECT_EQ(cache.find("/0", kT), nullptr);
  EXPECT_NE(cache.find("/1", kT), nullptr);
  EXPECT_NE(cache.find("/new", kT), nullptr);
}

// A variant or an error page is cached beside its path's file, under the same path and a tag.
TEST(OpenFileCache, TaggedEntriesAreTheirOwn) {
  OpenFileCache cache({.entries = 64, .valid_seconds = 10});
  const CachedFile* plain = cache.store("/a", open_file(), kT);
  const CachedFile* br = cache.store("/a", '0', open_file(), kT);
  const CachedFile* gzip = cache.store("/a", '2', open_file(), kT);
  ASSERT_NE(plain, nullptr);
  ASSERT_NE(br, nullptr);
  ASSERT_NE(gzip, nullptr);
  EXPECT_NE(plain->fd, br->fd);
  EXPECT_NE(br->fd, gzip->fd);
  EXPECT_EQ(cache.find("/a", kT), plain);
  EXPECT_EQ(cache.find("/a", '0', kT), br);
  EXPECT_EQ(cache.find("/a", '2', kT), gzip);
  EXPECT_EQ(cache.find("/a", '1', kT), nullptr);
  EXPECT_EQ(cache.find("/b", '0', kT), nullptr);
  EXPECT_EQ(cache.find("/a0", kT), nullptr);  // the tag is not a byte of the path
  // A tagged key is two bytes longer than its path, and the same limit applies to it.
  CachedFile f = open_file();
  const std::string longest(OpenFileCache::kMaxKeyBytes - 2, 'a');
  EXPECT_NE(cache.store(longest, '0', open_file(), kT), nullptr);
  EXPECT_EQ(cache.store(longest + "a", '0', f, kT), nullptr);
  EXPECT_TRUE(is_open(f.fd));
  ::close(f.fd);
}

TEST(OpenFileCache, MissingPathsAreRememberedWhileValid) {
  OpenFileCache cache({.entries = 16, .valid_seconds = 2});
  ASSERT_TRUE(cache.store_missing("/gone", true, kT));
  const CachedFile* gone = cache.find("/gone", kT + 1);
  ASSERT_NE(gone, nullptr);
  EXPECT_TRUE(gone->missing);
  EXPECT_TRUE(gone->fallback_route);
  EXPECT_EQ(gone->fd, -1);
  EXPECT_EQ(cache.find("/gone", kT + 2), nullptr);
  // A file found there later takes the entry over.
  CachedFile f = open_file();
  cache.store("/gone", f, kT + 2);
  EXPECT_FALSE(cache.find("/gone", kT + 2)->missing);
  ASSERT_TRUE(cache.store_missing("/gone", false, kT + 5));  // and the other way round
  EXPECT_FALSE(is_open(f.fd));
  EXPECT_FALSE(cache.find("/gone", kT + 5)->fallback_route);
}

// Requests for paths that do not exist, however many, cannot push the files out.
TEST(OpenFileCache, MissingPathsNeverEvictFiles) {
  OpenFileCache cache({.entries = OpenFileCache::kWays, .valid_seconds = 10});  // one set
  int fds[OpenFileCache::kWays - 1];
  for (uint32_t i = 0; i + 1 < OpenFileCache::kWays; ++i) {
    CachedFile f = open_file();
    fds[i] = f.fd;
    cache.store("/" + std::to_string(i), f, kT);
  }
  EXPECT_TRUE(cache.store_missing("/missing-0", false, kT));  // the free entry
  for (int i = 1; i < 100; ++i) {
    EXPECT_TRUE(cache.store_missing("/missing-" + std::to_string(i), false, kT));  // it again
  }
  EXPECT_NE(cache.find("/missing-99", kT), nullptr);
  EXPECT_EQ(cache.find("/missing-98", kT), nullptr);
  for (uint32_t i = 0; i + 1 < OpenFileCache::kWays; ++i) {
    EXPECT_NE(cache.find("/" + std::to_string(i), kT), nullptr) << i;
    EXPECT_TRUE(is_open(fds[i]));
  }
  cache.store("/last", open_file(), kT);  // a file takes the missing path's entry
  EXPECT_EQ(cache.find("/missing-99", kT), nullptr);
  EXPECT_FALSE(cache.store_missing("/missing-100", false, kT));  // all files: not kept
  EXPECT_NE(cache.find("/last", kT), nullptr);
}

TEST(OpenFileCache, DisabledOrLongPathsAreNotCached) {
  OpenFileCache off({.entries = 0, .valid_seconds = 1});
  CachedFile f = open_file();
  EXPECT_EQ(off.store("/a", f, kT), nullptr);
  OpenFileCache cache({.entries = 8, .valid_seconds = 1});
  EXPECT_EQ(cache.store(std::string(OpenFileCache::kMaxKeyBytes + 1, 'a'), f, kT), nullptr);
  EXPECT_TRUE(is_open(f.fd));  // still the caller's
  ::close(f.fd);
}

TEST(OpenFileCache, ClosesEverythingOnDestruction) {
  int fd;
  {
    OpenFileCache cache({.entries = 8, .valid_seconds = 1});
    CachedFile f = open_file();
    fd = f.fd;
    cache.store("/a", f, kT);
  }
  EXPECT_FALSE(is_open(fd));
}

}  // namespace
}  // namespace zhttp::handlers::static_site
