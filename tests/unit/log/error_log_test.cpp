// The error log: nginx's line layout, level filtering, one line per call whatever the message
// holds, stderr, reopen after rename, and level names.
#include "log/error_log.hpp"
#include "unit/support/test_files.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "cli/config.hpp"

namespace zhttp::log {
namespace {

using test::count_lines;
using test::read_file;

// Levels convert to and from the command line's by static_cast.
static_assert(static_cast<int>(Level::kDebug) == static_cast<int>(cli::LogLevel::kDebug));
static_assert(static_cast<int>(Level::kInfo) == static_cast<int>(cli::LogLevel::kInfo));
static_assert(static_cast<int>(Level::kNotice) == static_cast<int>(cli::LogLevel::kNotice));
static_assert(static_cast<int>(Level::kWarn) == static_cast<int>(cli::LogLevel::kWarn));
static_assert(static_cast<int>(Level::kError) == static_cast<int>(cli::LogLevel::kError));
static_assert(static_cast<int>(Level::kCrit) == static_cast<int>(cli::LogLevel::kCrit));

std::string utc_text(time_t t) {
  tm parts;
  ::gmtime_r(&t, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y/%m/%d %H:%M:%S", &parts);
  return text;
}

// "2026/11/27 21:18:42"
bool is_stamp(const std::string& s) {
  const std::string shape = "dddd/dd/dd dd:dd:dd";
  if (s.size() != shape.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i]) return false;
  }
  return true;
}

class ErrorLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/zhttp-error-log-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/error.log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  std::string path_;
};

TEST_F(ErrorLogTest, WritesNginxLayout) {
  ErrorLog log(path_, Level::kInfo);
  std::string error;
  ASSERT_TRUE(log.open(&error)) << error;
  const time_t before = ::time(nullptr);
  log.log(Level::kError, "open() \"%s\" failed (%d: %s)", "/srv/x", 2, "No such file or directory");
  log.set_worker_index(3);
  log.log(Level::kNotice, "worker %d started", 3);
  const time_t after = ::time(nullptr);
  const std::string s = read_file(path_);
  const std::string pid = std::to_string(::getpid());
  ASSERT_EQ(count_lines(s), 2u) << s;
  const std::string first = s.substr(0, s.find('\n') + 1);
  const std::string second = s.substr(first.size());
  // "yyyy/mm/dd hh:mm:ss", then the rest exactly.
  for (const std::string& line : {first, second}) {
    ASSERT_GT(line.size(), 20u);
    EXPECT_TRUE(is_stamp(line.substr(0, 19))) << line;
    EXPECT_EQ(line[19], ' ');
  }
  EXPECT_EQ(first.substr(20),
            "[error] " + pid + "#0: open() \"/srv/x\" failed (2: No such file or directory)\n");
  EXPECT_EQ(second.substr(20), "[notice] " + pid + "#3: worker 3 started\n");
  EXPECT_GE(first.substr(0, 19), utc_text(before));
  EXPECT_LE(second.substr(0, 19), utc_text(after));
}

TEST_F(ErrorLogTest, SkipsMessagesBelowTheMinimumLevel) {
  ErrorLog log(path_, Level::kWarn);
  ASSERT_TRUE(log.open(nullptr));
  EXPECT_FALSE(log.enabled(Level::kNotice));
  EXPECT_TRUE(log.enabled(Level::kWarn));
  for (int l = 0; l <= static_cast<int>(Level::kCrit); ++l) {
    log.log(static_cast<Level>(l), "level %d", l);
  }
  std::string s = read_file(path_);
  EXPECT_EQ(count_lines(s), 3u);
  EXPECT_EQ(s.find("level 2"), std::string::npos);
  EXPECT_NE(s.find("[warn] "), std::string::npos);
  EXPECT_NE(s.find("[error] "), std::string::npos);
  EXPECT_NE(s.find("[crit] "), std::string::npos);
  log.set_min_level(Level::kDebug);
  log.log(Level::kDebug, "now %s", "visible");
  EXPECT_NE(read_file(path_).find("[debug] "), std::string::npos);
}

TEST_F(ErrorLogTest, OneCallIsOneLine) {
  ErrorLog log(path_, Level::kDebug);
  ASSERT_TRUE(log.open(nullptr));
  log.log(Level::kInfo, "bad target \"%s\"", "/a\r\nforged line\x7f\tb");
  std::string s = read_file(path_);
  EXPECT_EQ(count_lines(s), 1u);
  EXPECT_NE(s.find(": bad target \"/a\\x0D\\x0Aforged line\\x7F\tb\"\n"), std::string::npos) << s;

  std::filesystem::remove(path_);
  ASSERT_TRUE(log.reopen(nullptr));
  const std::string big(10000, 'z');
  log.log(Level::kWarn, "long: %s", big.c_str());
  s = read_file(path_);
  EXPECT_EQ(count_lines(s), 1u);
  const std::string expected_end = std::string(ErrorLog::kMaxMessage - 1 - 6, 'z') + "...\n";
  ASSERT_GT(s.size(), expected_end.size());
  EXPECT_EQ(s.substr(s.size() - expected_end.size()), expected_end);
  EXPECT_NE(s.find(": long: zzz"), std::string::npos);
}

TEST_F(ErrorLogTest, KeepsErrno) {
  ErrorLog log(path_, Level::kDebug);
  ASSERT_TRUE(log.open(nullptr));
  errno = ENOENT;
  log.log(Level::kError, "x");
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(ErrorLogTest, StderrAndLinesBeforeOpenGoToDescriptorTwo) {
  const std::string captured = dir_ + "/stderr";
  int fd = ::open(captured.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  std::fflush(stderr);
  int saved = ::dup(2);
  ASSERT_GE(saved, 0);
  ASSERT_EQ(::dup2(fd, 2), 2);
  {
    ErrorLog to_stderr("stderr", Level::kNotice);
    EXPECT_TRUE(to_stderr.open(nullptr));
    to_stderr.log(Level::kNotice, "to stderr");
    EXPECT_TRUE(to_stderr.reopen(nullptr));
    to_stderr.log(Level::kError, "still stderr");
    ErrorLog file(path_, Level::kNotice);
    file.log(Level::kWarn, "before open");
    ASSERT_TRUE(file.open(nullptr));
    file.log(Level::kWarn, "after open");
  }
  ::dup2(saved, 2);
  ::close(saved);
  ::close(fd);
  EXPECT_NE(::fcntl(2, F_GETFD), -1);  // the log did not close stderr
  std::string s = read_file(captured);
  EXPECT_EQ(count_lines(s), 3u) << s;
  EXPECT_NE(s.find("[notice] "), std::string::npos);
  EXPECT_NE(s.find(": to stderr\n"), std::string::npos);
  EXPECT_NE(s.find(": still stderr\n"), std::string::npos);
  EXPECT_NE(s.find(": before open\n"), std::string::npos);
  EXPECT_EQ(read_file(path_).find("before open"), std::string::npos);
  EXPECT_NE(read_file(path_).find(": after open\n"), std::string::npos);
}

TEST_F(ErrorLogTest, ReopenAfterRename) {
  ErrorLog log(path_, Level::kNotice);
  ASSERT_TRUE(log.open(nullptr));
  log.log(Level::kNotice, "first");
  const std::string rotated = path_ + ".1";
  ASSERT_EQ(std::rename(path_.c_str(), rotated.c_str()), 0);
  log.log(Level::kNotice, "second");
  std::string error;
  ASSERT_TRUE(log.reopen(&error)) << error;
  log.log(Level::kNotice, "third");
  std::string old_text = read_file(rotated);
  std::string new_text = read_file(path_);
  EXPECT_EQ(count_lines(old_text), 2u);
  EXPECT_NE(old_text.find(": second\n"), std::string::npos);
  EXPECT_EQ(count_lines(new_text), 1u);
  EXPECT_NE(new_text.find(": third\n"), std::string::npos);
}

TEST_F(ErrorLogTest, FailedOpenOrReopenKeepsWhatItHad) {
  ErrorLog missing(dir_ + "/missing/error.log", Level::kNotice);
  std::string error;
  EXPECT_FALSE(missing.open(&error));
  EXPECT_NE(error.find(dir_ + "/missing/error.log"), std::string::npos) << error;

  const std::string sub = dir_ + "/sub";
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
  ErrorLog log(sub + "/error.log", Level::kNotice);
  ASSERT_TRUE(log.open(nullptr));
  ASSERT_EQ(std::rename(sub.c_str(), (dir_ + "/moved").c_str()), 0);
  EXPECT_FALSE(log.reopen(&error));
  log.log(Level::kError, "kept");
  EXPECT_NE(read_file(dir_ + "/moved/error.log").find(": kept\n"), std::string::npos);
}

TEST_F(ErrorLogTest, FailingWritesAreCounted) {
  ErrorLog log("/dev/full", Level::kNotice);
  ASSERT_TRUE(log.open(nullptr));
  log.log(Level::kError, "lost");
  log.log(Level::kError, "lost too");
  EXPECT_EQ(log.dropped_lines(), 2u);
}

TEST(ErrorLogLevels, ParseAndName) {
  const std::pair<const char*, Level> cases[] = {
      {"debug", Level::kDebug}, {"info", Level::kInfo},   {"notice", Level::kNotice},
      {"warn", Level::kWarn},   {"error", Level::kError}, {"crit", Level::kCrit}};
  for (const auto& [name, level] : cases) {
    bool ok = false;
    EXPECT_EQ(ErrorLog::parse_level(name, &ok), level) << name;
    EXPECT_TRUE(ok) << name;
    EXPECT_EQ(ErrorLog::level_name(level), name);
  }
  for (const char* bad : {"", "warning", "ERROR", "err", "debug ", "alert"}) {
    bool ok = true;
    EXPECT_EQ(ErrorLog::parse_level(bad, &ok), Level::kNotice) << bad;
    EXPECT_FALSE(ok) << bad;
  }
  EXPECT_EQ(ErrorLog::parse_level("crit", nullptr), Level::kCrit);
  EXPECT_EQ(ErrorLog::parse_level("nope", nullptr), Level::kNotice);
}

}  // namespace
}  // namespace zhttp::log
