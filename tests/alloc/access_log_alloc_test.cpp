// Once constructed and open, the access log allocates nothing: 100,000 records (IPv4, IPv6,
// mapped and unknown peers, escaped and truncated fields, a new second every 100 records) with
// writes on buffer overflow and a flush every 1,000 records, a reopen, and failing writes.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "alloc_counter.hpp"
#include "log/access_log.hpp"

namespace zhttp::test {
namespace {

constexpr long kRecords = 100000;

void record_many(log::AccessLog& access_log, const std::string& huge) {
  in_addr v4;
  in6_addr v6, mapped;
  ::inet_pton(AF_INET, "192.168.10.20", &v4);
  ::inet_pton(AF_INET6, "2001:db8:85a3::8a2e:370:7334", &v6);
  ::inet_pton(AF_INET6, "::ffff:10.0.0.1", &mapped);
  for (long i = 0; i < kRecords; ++i) {
    log::AccessEntry e{.now = 1795814322 + i / 100,
                       .method = "GET",
                       .target = "/static/app.js?v=42",
                       .version_minor = 1,
                       .has_request_line = true,
                       .status = 200,
                       .body_bytes = static_cast<uint64_t>(i) * 37,
                       .referer = "https://example.com/page",
                       .user_agent = "Mozilla/5.0 (X11; Linux x86_64) \"quoted\" \xc3\xa9"};
    switch (i % 4) {
      case 0:
        e.addr = &v4;
        e.family = AF_INET;
        break;
      case 1:
        e.addr = &v6;
        e.family = AF_INET6;
        break;
      case 2:
        e.addr = &mapped;
        e.family = AF_INET6;
        break;
      default:
        e.has_request_line = false;
        e.status = 400;
        e.referer = {};
        break;
    }
    if (i % 1000 == 999) e.user_agent = huge;  // truncated
    access_log.record(e);
    if (i % 1000 == 0) access_log.flush();
  }
  access_log.flush();
}

TEST(AccessLogAllocations, RecordingAllocatesNothing) {
  char dir_template[] = "/tmp/zhttp-access-alloc-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  const std::string path = dir + "/access.log";
  const std::string huge(100 * 1024, 'h');
  long allocations = 0;
  uint64_t dropped = 0;
  {
    log::AccessLog access_log(path, 16 * 1024);
    std::string error;
    ASSERT_TRUE(access_log.open(&error)) << error;
    AllocationWindow window;
    record_many(access_log, huge);
    access_log.reopen(nullptr);
    allocations = window.allocations();
    dropped = access_log.dropped_lines();
  }
  std::ifstream in(path);
  const auto lines =
      std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n');
  std::printf("records: %ld, lines written: %ld, allocations: %ld\n", kRecords,
              static_cast<long>(lines), allocations);
  EXPECT_EQ(allocations, 0);
  EXPECT_EQ(lines, kRecords);
  EXPECT_EQ(dropped, 0u);
  std::filesystem::remove_all(dir);
}

TEST(AccessLogAllocations, FailingWritesAllocateNothing) {
  const std::string huge(100 * 1024, 'h');
  log::AccessLog access_log("/dev/full", 16 * 1024);
  ASSERT_TRUE(access_log.open(nullptr));
  AllocationWindow window;
  record_many(access_log, huge);
  long allocations = window.allocations();
  EXPECT_EQ(allocations, 0);
  EXPECT_EQ(access_log.dropped_lines(), static_cast<uint64_t>(kRecords));
}

TEST(AccessLogAllocations, DisabledLogAllocatesNothingAtAll) {
  AllocationWindow window;
  {
    log::AccessLog access_log("off");
    access_log.open(nullptr);
    record_many(access_log, std::string());
  }
  EXPECT_EQ(window.allocations(), 0);
}

}  // namespace
}  // namespace zhttp::test
