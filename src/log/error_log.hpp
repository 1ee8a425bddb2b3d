#pragma once
// The error log of one process, in nginx's layout:
//
//   2026/11/27 21:18:42 [error] 12345#0: message
//
// (UTC date, level, pid, '#', worker index: 0 for the master unless set). Each line goes out with
// one write() on an O_APPEND descriptor, so lines of several processes sharing the file do not
// interleave. Off the hot path (errors, start-up, reloads): the message is formatted with
// vsnprintf into a stack buffer of kMaxMessage bytes (longer ones are cut, ending in "...").
// Control bytes in the message (a newline from a client's bytes, say) are written as \xHH, so one
// call is always one line.
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

namespace zhttp::log {

// The order of zhttp::cli::LogLevel: one may static_cast between the two.
enum class Level : uint8_t { kDebug, kInfo, kNotice, kWarn, kError, kCrit };

class ErrorLog {
 public:
  static constexpr size_t kMaxMessage = 2048;

  // `path` "stderr" (or "") writes to descriptor 2; anything else is a file opened by open().
  // Until open() succeeds, lines go to stderr, so start-up errors are never lost.
  ErrorLog(std::string path, Level min_level);
  ~ErrorLog();  // closes the file (never stderr)
  ErrorLog(const ErrorLog&) = delete;
  ErrorLog& operator=(const ErrorLog&) = delete;

  // Opens the file (O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC, 0644); false with a message in *error
  // (may be null) when it cannot. True at once for stderr. Opening again acts as reopen().
  bool open(std::string* error);
  // For log rotation: opens the path again and swaps descriptors; on failure keeps the old one.
  bool reopen(std::string* error);

  void log(Level level, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
  void vlog(Level level, const char* fmt, va_list args) __attribute__((format(printf, 3, 0)));

  bool enabled(Level level) const { return level >= min_level_; }
  Level min_level() const { return min_level_; }
  void set_min_level(Level level) { min_level_ = level; }
  void set_worker_index(int index) { worker_index_ = index; }
  int worker_index() const { return worker_index_; }
  const std::string& path() const { return path_; }
  uint64_t dropped_lines() const { return dropped_lines_; }  // lines whose write() failed

  // "debug", "info", "notice", "warn", "error", "crit". Anything else: *ok = false (ok may be
  // null) and kNotice; else *ok = true.
  static Level parse_level(std::string_view name, bool* ok);
  static std::string_view level_name(Level level);

 private:
  bool to_stderr() const { return path_.empty() || path_ == "stderr"; }

  std::string path_;
  Level min_level_;
  int worker_index_ = 0;
  int fd_ = 2;
  bool owns_fd_ = false;
  uint64_t dropped_lines_ = 0;
};

}  // namespace zhttp::log
