// The access log on real files: exact combined-format lines and the vhost_combined and extended
// variants (IPv4, IPv6, mapped, unknown peer,
// missing request line, referer or UA), nginx's escaping, truncation of huge fields, buffering
// until flush or until the buffer fills, reopen after rename (log rotation), and failing writes
// that are counted and never stop recording.
#include "log/access_log.hpp"
#include "unit/support/test_files.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace zhttp::log {
namespace {

using test::count_lines;
using test::read_file;

constexpr time_t kNow = 1795814322;  // 2026-11-27 21:18:42 UTC
constexpr char kNowText[] = "[27/Nov/2026:21:18:42 +0000]";

class AccessLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/zhttp-access-log-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/access.log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The line one entry gives, through a fresh log and its file.
  std::string line_of(const AccessEntry& e, AccessLogFormat format = AccessLogFormat::kCombined) {
    {
      AccessLog log(path_, kAccessLogBufferBytes, format);
      std::string error;
      EXPECT_TRUE(log.open(&error)) << error;
      log.record(e);
    }
    std::string s = read_file(path_);
    std::filesystem::remove(path_);
    return s;
  }

  static AccessEntry curl_entry(const void* addr, int family) {
    return AccessEntry{.addr = addr,
                       .family = family,
                       .now = kNow,
                       .method = "GET",
                       .target = "/index.html",
                       .version_minor = 1,
                       .has_request_line = true,
                       .status = 200,
                       .body_bytes = 182,
                       .referer = "",
                       .user_agent = "curl/7.88.1"};
  }

  std::string dir_;
  std::string path_;
};

TEST_F(AccessLogTest, CombinedLineForIpv4) {
  in_addr a;
  ASSERT_EQ(::inet_pton(AF_INET, "127.0.0.1", &a), 1);
  EXPECT_EQ(line_of(curl_entry(&a, AF_INET)),
            "127.0.0.1 - - [27/Nov/2026:21:18:42 +0000] \"GET /index.html HTTP/1.1\" 200 182 \"-\" "
            "\"curl/7.88.1\"\n");
  ASSERT_EQ(::inet_pton(AF_INET, "203.0.113.255", &a), 1);
  AccessEntry e = curl_entry(&a, AF_INET);
  e.method = "HEAD";
  e.target = "/a?b=c";
  e.version_minor = 0;
  e.status = 304;
  e.body_bytes = 0;
  e.referer = "http://example.com/";
  EXPECT_EQ(line_of(e), std::string("203.0.113.255 - - ") + kNowText +
                            " \"HEAD /a?b=c HTTP/1.0\" 304 0 \"http://example.com/\" "
                            "\"curl/7.88.1\"\n");
}

TEST_F(AccessLogTest, CombinedLineForIpv6) {
  in6_addr a;
  ASSERT_EQ(::inet_pton(AF_INET6, "2001:db8::1", &a), 1);
  EXPECT_EQ(line_of(curl_entry(&a, AF_INET6)),
            std::string("2001:db8::1 - - ") + kNowText +
                " \"GET /index.html HTTP/1.1\" 200 182 \"-\" \"curl/7.88.1\"\n");
}

TEST_F(AccessLogTest, Ipv6AddressesAreWrittenAsRfc5952) {
  const char* cases[][2] = {
      {"::1", "::1"},
      {"::", "::"},
      {"1::", "1::"},
      {"2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},     // the first of equal runs
      {"2001:db8:0:0:0:1:0:0", "2001:db8::1:0:0"},       // the longest run
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},  // one zero group is not shortened
      {"fe80::ab:c00", "fe80::ab:c00"},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
      {"0:0:0:0:0:fffe:0:1", "::fffe:0:1"},
  };
  for (const auto& c : cases) {
    in6_addr a;
    ASSERT_EQ(::inet_pton(AF_INET6, c[0], &a), 1) << c[0];
    std::string line = line_of(curl_entry(&a, AF_INET6));
    EXPECT_EQ(line.substr(0, line.find(' ')), c[1]) << c[0];
    char ntop[INET6_ADDRSTRLEN];
    ASSERT_NE(::inet_ntop(AF_INET6, &a, ntop, sizeof ntop), nullptr);
    EXPECT_EQ(line.substr(0, line.find(' ')), ntop) << c[0];
  }
}

TEST_F(AccessLogTest, MappedIpv4IsWrittenAsIpv4) {
  in6_addr a;
  ASSERT_EQ(::inet_pton(AF_INET6, "::ffff:192.0.2.7", &a), 1);
  EXPECT_EQ(line_of(curl_entry(&a, AF_INET6)),
            std::string("192.0.2.7 - - ") + kNowText +
                " \"GET /index.html HTTP/1.1\" 200 182 \"-\" \"curl/7.88.1\"\n");
}

TEST_F(AccessLogTest, UnknownPeerIsADash) {
  EXPECT_EQ(line_of(curl_entry(nullptr, AF_UNSPEC)),
            std::string("- - - ") + kNowText +
                " \"GET /index.html HTTP/1.1\" 200 182 \"-\" \"curl/7.88.1\"\n");
  EXPECT_EQ(line_of(curl_entry(nullptr, AF_INET)).substr(0, 6), "- - - ");
  const char bytes[16] = {};
  EXPECT_EQ(line_of(curl_entry(bytes, AF_UNIX)).substr(0, 6), "- - - ");
}

TEST_F(AccessLogTest, MissingRequestLineRefererAndUserAgentAreDashes) {
  in_addr a;
  ASSERT_EQ(::inet_pton(AF_INET, "10.1.2.3", &a), 1);
  AccessEntry e{.addr = &a, .family = AF_INET, .now = kNow, .status = 400};
  EXPECT_EQ(line_of(e), std::string("10.1.2.3 - - ") + kNowText + " \"-\" 400 0 \"-\" \"-\"\n");
  e.status = 0;  // nginx's %03ui
  e.body_bytes = 18446744073709551615ull;
  EXPECT_EQ(line_of(e), std::string("10.1.2.3 - - ") + kNowText +
                            " \"-\" 000 18446744073709551615 \"-\" \"-\"\n");
}

TEST_F(AccessLogTest, EscapesQuotesBackslashesControlAndHighBytes) {
  in_addr a;
  ASSERT_EQ(::inet_pton(AF_INET, "127.0.0.1", &a), 1);
  AccessEntry e = curl_entry(&a, AF_INET);
  e.target = std::string_view("/a\"b\\c\x01\x7f\xc3\xa9 d\0e", 14);
  e.referer = "http://x/\r\n127.0.0.1 - - [forged]";
  e.user_agent = "Mozilla/5.0\t\"evil\"";
  EXPECT_EQ(
      line_of(e),
      std::string("127.0.0.1 - - ") + kNowText +
          " \"GET /a\\x22b\\x5Cc\\x01\\x7F\\xC3\\xA9 d\\x00e HTTP/1.1\" 200 182 "
          "\"http://x/\\x0D\\x0A127.0.0.1 - - [forged]\" \"Mozilla/5.0\\x09\\x22evil\\x22\"\n");
}

TEST_F(AccessLogTest, TruncatesHugeFieldsAndNeverSplitsAnEscape) {
  in_addr a;
  ASSERT_EQ(::inet_pton(AF_INET, "127.0.0.1", &a), 1);
  AccessEntry e = curl_entry(&a, AF_INET);
  const std::string ua(100 * 1024, 'a');
  e.user_agent = ua;
  std::string line = line_of(e);
  EXPECT_EQ(line, std::string("127.0.0.1 - - ") + kNowText +
                      " \"GET /index.html HTTP/1.1\" 200 182 \"-\" \"" +
                      std::string(AccessLog::kFieldCap, 'a') + "...\"\n");

  const std::string quotes(100 * 1024, '"');
  e.user_agent = quotes;
  std::string expected_ua;
  for (size_t i = 0; i < AccessLog::kFieldCap / 4; ++i) expected_ua += "\\x22";
  EXPECT_EQ(line_of(e), std::string("127.0.0.1 - - ") + kNowText +
                            " \"GET /index.html HTTP/1.1\" 200 182 \"-\" \"" + expected_ua +
                            "...\"\n");

  // One byte of room left for a four-byte escape: cut before it.
  std::string mixed(AccessLog::kFieldCap - 1, 'b');
  mixed += "\x01zzz";
  e.user_agent = mixed;
  line = line_of(e);
  EXPECT_NE(line.find("\"" + std::string(AccessLog::kFieldCap - 1, 'b') + "...\"\n"),
            std::string::npos);

  // Exactly the cap fits without "...".
  const std::string exact(AccessLog::kFieldCap, 'c');
  e.user_agent = exact;
  line = line_of(e);
  EXPECT_NE(line.find("\"" + exact + "\"\n"), std::string::npos);
  EXPECT_EQ(line.find("..."), std::string::npos);

  // Every field at its worst at once stays within kMaxLine.
  const std::string worst(100 * 1024, '\xff');
  in6_addr a6;
  ASSERT_EQ(::inet_pton(AF_INET6, "1111:2222:3333:4444:5555:6666:7777:8888", &a6), 1);
  AccessEntry w{.addr = &a6,
                .family = AF_INET6,
                .now = kNow,
                .method = worst,
                .target = worst,
                .version_minor = 255,
                .has_request_line = true,
                .status = 65535,
                .body_bytes = ~0ull,
                .referer = worst,
                .user_agent = worst,
                .host = worst,
                .content_encoding = worst};
  line = line_of(w);
  EXPECT_LE(line.size(), AccessLog::kMaxLine);
  EXPECT_EQ(count_lines(line), 1u);
  for (AccessLogFormat format : {AccessLogFormat::kVhostCombined, AccessLogFormat::kExtended}) {
    const std::string longer = line_of(w, format);
    EXPECT_GT(longer.size(), line.size());
    EXPECT_LE(longer.size(), AccessLog::kMaxLine);
    EXPECT_EQ(count_lines(longer), 1u);
  }
  EXPECT_NE(line.find(" HTTP/1.255\" 65535 18446744073709551615 \""), std::string::npos);
}

TEST_F(AccessLogTest, VhostCombinedPutsTheHostFirst) {
  in_addr a;
  ASSERT_EQ(::inet_pton(AF_INET, "127.0.0.1", &a), 1);
  AccessEntry e = curl_entry(&a, AF_INET);
  e.host = "WWW.Example.com";
  e.content_encoding = "br";  // not in this format
  const std::string combined = std::string("127.0.0.1 - - ") + kNowText +
                               " \"GET /index.html HTTP/1.1\" 200 182 \"-\" \"curl/7.88.1\"";
  EXPECT_EQ(line_of(e, AccessLogFormat::kVhostCombined), "www.example.com " + combined + "\n");
  EXPECT_EQ(line_of(e, AccessLogFormat::kCombined), combined + "\n");
  e.host = {};
  EXPECT_EQ(line_of(e, AccessLogFormat::kVhostCombined), "- " + combined + "\n");
  e.has_request_line = false;  // a protocol error before any request: no host either
  EXPECT_EQ(line_of(e, AccessLogFormat::kVhostCombined).substr(0, 12), "- 127.0.0.1 ");
}

TEST_F(AccessLogTest, ExtendedAppendsHostAndContentEncoding) {
  in_addr a;
  ASSERT_EQ(::inet_pton(AF_INET, "127.0.0.1", &a), 1);
  AccessEntry e = curl_entry(&a, AF_INET);
  e.target = "/a.css";
  e.body_bytes = 312;
  e.user_agent = "curl/8.0";
  e.host = "LocalHost";
  e.content_encoding = "br";
  EXPECT_EQ(
      line_of(e, AccessLogFormat::kExtended),
      std::string("127.0.0.1 - - ") + kNowText +
          " \"GET /a.css HTTP/1.1\" 200 312 \"-\" \"curl/8.0\" \"localhost\" \"br\" \"-\" - -\n");
  e.upstream = "127.0.0.1:9001";
  e.upstream_status = 200;
  e.upstream_us = 2034567;
  EXPECT_TRUE(line_of(e, AccessLogFormat::kExtended)
                  .ends_with(" \"localhost\" \"br\" \"127.0.0.1:9001\" 200 2.034\n"));
  e.upstream_status = 0;  // no answer came (a refused connection)
  e.upstream_us = 5000;
  EXPECT_TRUE(line_of(e, AccessLogFormat::kExtended).ends_with(" \"127.0.0.1:9001\" - 0.005\n"));
  e.upstream = {};
  e.host = {};
  e.content_encoding = {};
  EXPECT_EQ(line_of(e, AccessLogFormat::kExtended),
            std::string("127.0.0.1 - - ") + kNowText +
                " \"GET /a.css HTTP/1.1\" 200 312 \"-\" \"curl/8.0\" \"-\" \"-\" \"-\" - -\n");
}

TEST_F(AccessLogTest, TheHostIsEscapedAndCut) {
  in_addr a;
  ASSERT_EQ(::inet_pton(AF_INET, "127.0.0.1", &a), 1);
  AccessEntry e = curl_entry(&a, AF_INET);
  e.host = "A\"b\\c\x01";
  EXPECT_EQ(line_of(e, AccessLogFormat::kVhostCombined).substr(0, 20), "a\\x22b\\x5Cc\\x01 127.");
  const std::string huge(10000, 'H');
  e.host = huge;
  e.content_encoding = huge;
  const std::string line = line_of(e, AccessLogFormat::kExtended);
  EXPECT_NE(line.find(" \"" + std::string(AccessLog::kHostCap, 'h') + "...\" \"" +
                      std::string(AccessLog::kContentEncodingCap, 'H') + "...\" \"-\" - -\n"),
            std::string::npos)
      << line;
}

TEST_F(AccessLogTest, TimeIsRecomputedWhenTheSecondChanges) {
  in_addr a;
  ASSERT_EQ(::inet_pton(AF_INET, "127.0.0.1", &a), 1);
  AccessLog log(path_);
  ASSERT_TRUE(log.open(nullptr));
  const time_t times[] = {kNow, kNow, kNow + 1, 0, 951782400 /* 2000-02-29 */, kNow};
  for (time_t t : times) {
    AccessEntry e = curl_entry(&a, AF_INET);
    e.now = t;
    log.record(e);
  }
  log.flush();
  std::string s = read_file(path_);
  std::vector<std::string> stamps;
  for (size_t pos = 0; (pos = s.find('[', pos)) != std::string::npos; ++pos) {
    stamps.push_back(s.substr(pos, s.find(']', pos) - pos + 1));
  }
  EXPECT_EQ(stamps, (std::vector<std::string>{kNowText, kNowText, "[27/Nov/2026:21:18:43 +0000]",
                                              "[01/Jan/1970:00:00:00 +0000]",
                                              "[29/Feb/2000:00:00:00 +0000]", kNowText}));
}

TEST_F(AccessLogTest, NothingIsWrittenBeforeFlushEverythingAfter) {
  in_addr a;
  ASSERT_EQ(::inet_pton(AF_INET, "127.0.0.1", &a), 1);
  AccessLog log(path_);
  std::string error;
  ASSERT_TRUE(log.open(&error)) << error;
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);  // created by open()
  EXPECT_EQ(st.st_size, 0);
  mode_t mask = ::umask(0);
  ::umask(mask);
  EXPECT_EQ(st.st_mode & 0777, 0644 & ~mask);
  for (int i = 0; i < 100; ++i) log.record(curl_entry(&a, AF_INET));
  EXPECT_EQ(read_file(path_), "");
  EXPECT_GT(log.buffered_bytes(), 0u);
  log.flush();
  EXPECT_EQ(log.buffered_bytes(), 0u);
  std::string s = read_file(path_);
  EXPECT_EQ(count_lines(s), 100u);
  EXPECT_EQ(s.substr(0, s.find('\n') + 1),
            std::string("127.0.0.1 - - ") + kNowText +
                " \"GET /index.html HTTP/1.1\" 200 182 \"-\" \"curl/7.88.1\"\n");
  log.flush();  // nothing more
  EXPECT_EQ(read_file(path_), s);
  EXPECT_EQ(log.dropped_lines(), 0u);
}

TEST_F(AccessLogTest, DestructorFlushesAndAppendsToAnExistingFile) {
  { std::ofstream(path_) << "earlier\n"; }
  {
    AccessLog log(path_);
    ASSERT_TRUE(log.open(nullptr));
    log.record(curl_entry(nullptr, AF_UNSPEC));
  }
  std::string s = read_file(path_);
  EXPECT_EQ(s.substr(0, 8), "earlier\n");
  EXPECT_EQ(count_lines(s), 2u);
}

TEST_F(AccessLogTest, WritesOutWhenTheBufferWouldOverflow) {
  in_addr a;
  ASSERT_EQ(::inet_pton(AF_INET, "127.0.0.1", &a), 1);
  const size_t line_len = line_of(curl_entry(&a, AF_INET)).size();
  AccessLog log(path_, 1024);
  ASSERT_TRUE(log.open(nullptr));
  const size_t per_buffer = 1024 / line_len;
  for (size_t i = 0; i < per_buffer; ++i) log.record(curl_entry(&a, AF_INET));
  EXPECT_EQ(read_file(path_), "");  // full, but nothing overflowed yet
  EXPECT_EQ(log.buffered_bytes(), per_buffer * line_len);
  log.record(curl_entry(&a, AF_INET));  // does not fit: the earlier lines go out
  EXPECT_EQ(read_file(path_).size(), per_buffer * line_len);
  EXPECT_EQ(log.buffered_bytes(), line_len);
  for (size_t i = 0; i < 10 * per_buffer; ++i) {
    log.record(curl_entry(&a, AF_INET));
    std::string s = read_file(path_);
    EXPECT_EQ(s.size() + log.buffered_bytes(), (i + 2 + per_buffer) * line_len);
    EXPECT_TRUE(s.empty() || s.back() == '\n');  // whole lines only
    EXPECT_LE(log.buffered_bytes(), 1024u);
  }
  log.flush();
  EXPECT_EQ(count_lines(read_file(path_)), 11 * per_buffer + 1);
}

TEST_F(AccessLogTest, LinesLongerThanATinyBufferGoOutWhole) {
  AccessLog log(path_, 16);
  ASSERT_TRUE(log.open(nullptr));
  const std::string ua(5000, 'u');
  AccessEntry e = curl_entry(nullptr, AF_UNSPEC);
  e.user_agent = ua;
  log.record(e);
  log.record(curl_entry(nullptr, AF_UNSPEC));
  log.record(e);
  EXPECT_EQ(log.buffered_bytes(), 0u);
  std::string s = read_file(path_);
  EXPECT_EQ(count_lines(s), 3u);
  EXPECT_NE(s.find("\"-\" \"curl/7.88.1\"\n- - - "), std::string::npos);
}

TEST_F(AccessLogTest, ReopenAfterRenameWritesNewLinesToTheNewFile) {
  AccessLog log(path_);
  ASSERT_TRUE(log.open(nullptr));
  AccessEntry e = curl_entry(nullptr, AF_UNSPEC);
  e.target = "/before";
  log.record(e);
  log.flush();
  log.record(e);
  const std::string rotated = path_ + ".1";
  ASSERT_EQ(std::rename(path_.c_str(), rotated.c_str()), 0);  // logrotate moves the file
  log.record(e);  // still buffered: belongs to the old file
  std::string error;
  ASSERT_TRUE(log.reopen(&error)) << error;
  e.target = "/after";
  log.record(e);
  log.record(e);
  log.flush();
  std::string old_text = read_file(rotated);
  std::string new_text = read_file(path_);
  EXPECT_EQ(count_lines(old_text), 3u);
  EXPECT_EQ(old_text.find("/after"), std::string::npos);
  EXPECT_EQ(count_lines(new_text), 2u);
  EXPECT_EQ(new_text.find("/before"), std::string::npos);
  EXPECT_EQ(log.dropped_lines(), 0u);
}

TEST_F(AccessLogTest, FailedReopenKeepsTheOldDescriptor) {
  const std::string sub = dir_ + "/sub";
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
  AccessLog log(sub + "/access.log");
  ASSERT_TRUE(log.open(nullptr));
  ASSERT_EQ(std::rename(sub.c_str(), (dir_ + "/moved").c_str()), 0);
  log.record(curl_entry(nullptr, AF_UNSPEC));
  std::string error;
  EXPECT_FALSE(log.reopen(&error));
  EXPECT_NE(error.find(sub + "/access.log"), std::string::npos) << error;
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;
  log.record(curl_entry(nullptr, AF_UNSPEC));
  log.flush();
  EXPECT_EQ(count_lines(read_file(dir_ + "/moved/access.log")), 2u);
  EXPECT_EQ(log.dropped_lines(), 0u);
}

TEST_F(AccessLogTest, OpenFailureGivesAMessage) {
  AccessLog log(dir_ + "/missing/access.log");
  std::string error;
  EXPECT_FALSE(log.open(&error));
  EXPECT_NE(error.find(dir_ + "/missing/access.log"), std::string::npos) << error;
  EXPECT_FALSE(log.open(nullptr));
  // Recording into a log that never opened drops and counts, and does not crash.
  log.record(curl_entry(nullptr, AF_UNSPEC));
  log.flush();
  EXPECT_EQ(log.dropped_lines(), 1u);
  EXPECT_EQ(log.last_error(), EBADF);
}

TEST_F(AccessLogTest, FailingWritesAreDroppedAndCountedAndRecordingGoesOn) {
  AccessLog log("/dev/full", 1024);
  std::string error;
  ASSERT_TRUE(log.open(&error)) << error;
  const AccessEntry e = curl_entry(nullptr, AF_UNSPEC);
  for (int i = 0; i < 100; ++i) log.record(e);  // several overflows, each write fails
  EXPECT_GT(log.dropped_lines(), 0u);
  EXPECT_EQ(log.last_error(), ENOSPC);
  const uint64_t dropped = log.dropped_lines();
  EXPECT_EQ(dropped * (log.dropped_bytes() / dropped), log.dropped_bytes());  // whole lines
  EXPECT_GT(log.buffered_bytes(), 0u);
  log.flush();
  EXPECT_EQ(log.buffered_bytes(), 0u);
  EXPECT_EQ(log.dropped_lines(), 100u);
  log.record(e);  // later records still work
  EXPECT_GT(log.buffered_bytes(), 0u);
  EXPECT_TRUE(log.reopen(nullptr));  // flushes (fails) and opens again
  EXPECT_EQ(log.dropped_lines(), 101u);
}

TEST_F(AccessLogTest, OffOrEmptyDisablesTheLog) {
  for (const char* path : {"off", ""}) {
    AccessLog log(path);
    EXPECT_FALSE(log.enabled());
    std::string error;
    EXPECT_TRUE(log.open(&error));
    EXPECT_TRUE(error.empty());
    log.record(curl_entry(nullptr, AF_UNSPEC));
    EXPECT_EQ(log.buffered_bytes(), 0u);
    log.flush();
    EXPECT_TRUE(log.reopen(&error));
    EXPECT_EQ(log.dropped_lines(), 0u);
  }
  EXPECT_FALSE(std::filesystem::exists("off"));
  AccessLog on(path_);
  EXPECT_TRUE(on.enabled());
}

}  // namespace
}  // namespace zhttp::log
