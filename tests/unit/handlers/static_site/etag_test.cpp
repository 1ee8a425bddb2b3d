// ETag and Last-Modified of a file.
#include "handlers/static_site/etag.hpp"

#include <gtest/gtest.h>

#include <string>

namespace zhttp::handlers::static_site {
namespace {

constexpr time_t kRfcExample = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT

std::string etag(const FileVersion& v) {
  char buf[kMaxEtagLen + 1];
  buf[kMaxEtagLen] = '#';
  const size_t n = format_etag(v, buf);
  EXPECT_LE(n, kMaxEtagLen);
  EXPECT_EQ(buf[kMaxEtagLen], '#');
  return std::string(buf, n);
}

TEST(Etag, Format) {
  EXPECT_EQ(etag({500, 0x5e1f3c2a, 0, 42}), "\"5e1f3c2a-1f4-0-2a\"");
  EXPECT_EQ(etag({0, 0, 0, 0}), "\"0-0-0-0\"");
  EXPECT_EQ(etag({65536, kRfcExample, 123456789, 0xabcdef}), "\"2ebc98a1-10000-75bcd15-abcdef\"");
}

TEST(Etag, LongestFitsTheBuffer) {
  const std::string t = etag({UINT64_MAX, -1, 999999999, UINT64_MAX});
  EXPECT_EQ(t, "\"ffffffffffffffff-ffffffffffffffff-3b9ac9ff-ffffffffffffffff\"");
  EXPECT_LE(t.size(), kMaxEtagLen);
}

TEST(Etag, EachFieldChangesTheTag) {
  const FileVersion base{100, 1700000000, 5, 7};
  FileVersion v = base;
  v.size = 101;
  EXPECT_NE(etag(v), etag(base));
  v = base;
  v.mtime_sec += 1;
  EXPECT_NE(etag(v), etag(base));
  v = base;
  v.mtime_nsec += 1;
  EXPECT_NE(etag(v), etag(base));
  v = base;
  v.inode += 1;
  EXPECT_NE(etag(v), etag(base));
  EXPECT_EQ(etag(base), etag(FileVersion{100, 1700000000, 5, 7}));
}

TEST(Etag, FromStat) {
  struct stat st {};
  st.st_size = 4096;
  st.st_mtim.tv_sec = 1700000000;
  st.st_mtim.tv_nsec = 250;
  st.st_ino = 12345;
  const FileVersion v = FileVersion::of(st);
  EXPECT_EQ(v.size, 4096u);
  EXPECT_EQ(v.mtime_sec, 1700000000);
  EXPECT_EQ(v.mtime_nsec, 250u);
  EXPECT_EQ(v.inode, 12345u);
  EXPECT_EQ(etag(v), "\"6553f100-1000-fa-3039\"");
}

TEST(LastModified, FormatsTheMtime) {
  char buf[kImfFixdateLen];
  ASSERT_TRUE(format_last_modified(kRfcExample, kRfcExample + 100, buf));
  EXPECT_EQ(std::string_view(buf, kImfFixdateLen), "Sun, 06 Nov 1994 08:49:37 GMT");
}

TEST(LastModified, FutureMtimeIsClampedToNow) {
  EXPECT_EQ(last_modified_time(kRfcExample + 10, kRfcExample), kRfcExample);
  EXPECT_EQ(last_modified_time(kRfcExample, kRfcExample), kRfcExample);
  EXPECT_EQ(last_modified_time(kRfcExample - 1, kRfcExample), kRfcExample - 1);
  char buf[kImfFixdateLen];
  ASSERT_TRUE(format_last_modified(kRfcExample + 3600, kRfcExample, buf));
  EXPECT_EQ(std::string_view(buf, kImfFixdateLen), "Sun, 06 Nov 1994 08:49:37 GMT");
}

TEST(LastModified, UnformattableYearFails) {
  char buf[kImfFixdateLen];
  EXPECT_FALSE(format_last_modified(-62167219201, kRfcExample, buf));  // year -1
}

}  // namespace
}  // namespace zhttp::handlers::static_site
