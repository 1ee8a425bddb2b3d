#include "log/error_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "log/log_format.hpp"

namespace zhttp::log {
namespace {

constexpr std::string_view kLevelNames[] = {"debug", "info", "notice", "warn", "error", "crit"};

}  // namespace

ErrorLog::ErrorLog(std::string path, Level min_level)
    : path_(std::move(path)), min_level_(min_level) {}

ErrorLog::~ErrorLog() {
  if (owns_fd_) ::close(fd_);
}

bool ErrorLog::open(std::string* error) {
  return reopen(error);
}

bool ErrorLog::reopen(std::string* error) {
  if (to_stderr()) return true;
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (error != nullptr) *error = "error log " + path_ + ": " + std::strerror(errno);
    return false;
  }
  if (owns_fd_) ::close(fd_);
  fd_ = fd;
  owns_fd_ = true;
  return true;
}

std::string_view ErrorLog::level_name(Level level) {
  auto i = static_cast<size_t>(level);
  return i < std::size(kLevelNames) ? kLevelNames[i] : "unknown";
}

Level ErrorLog::parse_level(std::string_view name, bool* ok) {
  for (size_t i = 0; i < std::size(kLevelNames); ++i) {
    if (name == kLevelNames[i]) {
      if (ok != nullptr) *ok = true;
      return static_cast<Level>(i);
    }
  }
  if (ok != nullptr) *ok = false;
  return Level::kNotice;
}

void ErrorLog::log(Level level, const char* fmt, ...) {
  if (level < min_level_) return;
  va_list args;
  va_start(args, fmt);
  vlog(level, fmt, args);
  va_end(args);
}

void ErrorLog::vlog(Level level, const char* fmt, va_list args) {
  if (level < min_level_) return;
  const int saved_errno = errno;  // callers often log right after a failing call

  char message[kMaxMessage];
  int n = std::vsnprintf(message, sizeof message, fmt, args);
  size_t message_len = n < 0 ? 0 : static_cast<size_t>(n);
  const bool cut = message_len >= sizeof message;
  if (cut) message_len = sizeof message - 1;

  // Prefix (<= 80 bytes), the message escaped (<= 4 bytes per byte), "...\n".
  char line[96 + 4 * kMaxMessage + 4];
  char* p = line;
  const detail::UtcTime t = detail::utc_from_time(::time(nullptr));
  p = detail::write_year(p, t.year);
  *p++ = '/';
  p = detail::write_2digits(p, t.month);
  *p++ = '/';
  p = detail::write_2digits(p, t.day);
  *p++ = ' ';
  p = detail::write_2digits(p, t.hour);
  *p++ = ':';
  p = detail::write_2digits(p, t.minute);
  *p++ = ':';
  p = detail::write_2digits(p, t.second);
  *p++ = ' ';
  *p++ = '[';
  const std::string_view name = level_name(level);
  std::memcpy(p, name.data(), name.size());
  p += name.size();
  *p++ = ']';
  *p++ = ' ';
  p = detail::write_u64(p, static_cast<uint64_t>(::getpid()));
  *p++ = '#';
  if (worker_index_ < 0) *p++ = '-';
  p = detail::write_u64(p, worker_index_ < 0 ? 0 - static_cast<uint64_t>(worker_index_)
                                             : static_cast<uint64_t>(worker_index_));
  *p++ = ':';
  *p++ = ' ';
  for (size_t i = 0; i < message_len; ++i) {
    const auto c = static_cast<unsigned char>(message[i]);
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      p[0] = '\\';
      p[1] = 'x';
      p[2] = "0123456789ABCDEF"[c >> 4];
      p[3] = "0123456789ABCDEF"[c & 0xf];
      p += 4;
    } else {
      *p++ = static_cast<char>(c);
    }
  }
  if (cut) {
    std::memcpy(p, "...", 3);
    p += 3;
  }
  *p++ = '\n';

  const char* data = line;
  auto len = static_cast<size_t>(p - line);
  while (len > 0) {
    ssize_t w = ::write(fd_, data, len);
    if (w > 0) {
      data += w;
      len -= static_cast<size_t>(w);
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else {
      ++dropped_lines_;
      break;
    }
  }
  errno = saved_errno;
}

}  // namespace zhttp::log
