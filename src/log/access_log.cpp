#include "log/access_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <utility>

#include "log/address_text.hpp"
#include "log/log_format.hpp"

namespace zhttp::log {
namespace {

constexpr int kOpenFlags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC;
constexpr mode_t kOpenMode = 0644;

// nginx's escaping of logged request bytes: '"', '\\', controls and bytes >= 0x7f become \xHH.
constexpr std::array<bool, 256> kEscape = [] {
  std::array<bool, 256> t{};
  for (unsigned c = 0; c < 256; ++c) t[c] = c < 0x20 || c >= 0x7f || c == '"' || c == '\\';
  return t;
}();
constexpr char kHex[] = "0123456789ABCDEF";

// Writes `s` escaped, at most `cap` bytes (never half an escape); when it had to stop early,
// "..." follows. So at most cap + 3 bytes. kLower: ASCII letters lowercased (a host).
template <bool kLower = false>
char* write_escaped(char* p, std::string_view s, size_t cap) {
  char* const limit = p + cap;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (!kEscape[c]) [[likely]] {
      if (p == limit) goto truncated;
      *p++ = kLower && ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch | 0x20) : ch;
    } else {
      if (limit - p < 4) goto truncated;
      p[0] = '\\';
      p[1] = 'x';
      p[2] = kHex[c >> 4];
      p[3] = kHex[c & 0xf];
      p += 4;
    }
  }
  return p;
truncated:
  std::memcpy(p, "...", 3);
  return p + 3;
}

template <bool kLower = false>
char* write_field(char* p, std::string_view s, size_t cap) {
  if (s.empty()) {
    *p++ = '-';
    return p;
  }
  return write_escaped<kLower>(p, s, cap);
}

char* write_host(char* p, std::string_view host) {
  return write_field<true>(p, host, AccessLog::kHostCap);
}

void set_error(std::string* error, const std::string& path, int err) {
  if (error != nullptr) *error = "access log " + path + ": " + std::strerror(err);
}

}  // namespace

AccessLog::AccessLog(std::string path, size_t buffer_bytes, AccessLogFormat format)
    : path_(std::move(path)), enabled_(!path_.empty() && path_ != "off"), format_(format) {
  if (!enabled_) return;
  buffer_bytes_ = buffer_bytes;
  buffer_ = std::make_unique_for_overwrite<char[]>(buffer_bytes_ + kMaxLine);
}

AccessLog::~AccessLog() {
  flush();
  if (fd_ >= 0) ::close(fd_);
}

bool AccessLog::open(std::string* error) {
  if (!enabled_) return true;
  if (fd_ >= 0) return reopen(error);
  int fd = ::open(path_.c_str(), kOpenFlags, kOpenMode);
  if (fd < 0) {
    set_error(error, path_, errno);
    return false;
  }
  fd_ = fd;
  return true;
}

bool AccessLog::reopen(std::string* error) {
  if (!enabled_) return true;
  flush();
  int fd = ::open(path_.c_str(), kOpenFlags, kOpenMode);
  if (fd < 0) {
    set_error(error, path_, errno);
    return false;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  return true;
}

void AccessLog::flush() {
  if (used_ == 0) return;
  write_out(buffer_.get(), used_);
  used_ = 0;
}

// One write() in the normal case; continues after a partial write or EINTR. Any other failure
// drops what is left (counted): the server keeps serving whatever happens to its log.
void AccessLog::write_out(const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = fd_ >= 0 ? ::write(fd_, data, len) : (errno = EBADF, -1);
    if (n > 0) {
      data += n;
      len -= static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    last_errno_ = n < 0 ? errno : EIO;
    dropped_bytes_ += len;
    dropped_lines_ += static_cast<uint64_t>(std::count(data, data + len, '\n'));
    return;
  }
}

// "[27/Nov/2026:21:18:42 +0000]", computed once per second.
void AccessLog::format_time(time_t now) {
  const detail::UtcTime t = detail::utc_from_time(now);
  char* p = time_text_;
  *p++ = '[';
  p = detail::write_2digits(p, t.day);
  *p++ = '/';
  std::memcpy(p, detail::kMonthNames[t.month - 1], 3);
  p += 3;
  *p++ = '/';
  p = detail::write_year(p, t.year);
  *p++ = ':';
  p = detail::write_2digits(p, t.hour);
  *p++ = ':';
  p = detail::write_2digits(p, t.minute);
  *p++ = ':';
  p = detail::write_2digits(p, t.second);
  std::memcpy(p, " +0000]", 7);
  p += 7;
  time_len_ = static_cast<size_t>(p - time_text_);
  cached_now_ = now;
  time_valid_ = true;
}

void AccessLog::record(const AccessEntry& e) {
  if (!enabled_) return;
  if (!time_valid_ || e.now != cached_now_) [[unlikely]] {
    format_time(e.now);
  }

  // There are always kMaxLine bytes past used_ (used_ <= buffer_bytes_ between calls).
  char* const start = buffer_.get() + used_;
  char* p = start;
  if (format_ == AccessLogFormat::kVhostCombined) {
    p = write_host(p, e.host);
    *p++ = ' ';
  }
  p = write_address(p, e.addr, e.family);
  std::memcpy(p, " - - ", 5);
  p += 5;
  std::memcpy(p, time_text_, time_len_);
  p += time_len_;
  *p++ = ' ';
  *p++ = '"';
  if (e.has_request_line) {
    p = write_escaped(p, e.method, kMethodCap);
    *p++ = ' ';
    p = write_escaped(p, e.target, kFieldCap);
    std::memcpy(p, " HTTP/1.", 8);
    p = detail::write_u64(p + 8, e.version_minor);
  } else {
    *p++ = '-';
  }
  *p++ = '"';
  *p++ = ' ';
  p = detail::write_u64_padded(p, e.status, 3);
  *p++ = ' ';
  p = detail::write_u64(p, e.body_bytes);
  *p++ = ' ';
  *p++ = '"';
  p = write_field(p, e.referer, kFieldCap);
  std::memcpy(p, "\" \"", 3);
  p += 3;
  p = write_field(p, e.user_agent, kFieldCap);
  *p++ = '"';
  if (format_ == AccessLogFormat::kExtended) {
    std::memcpy(p, " \"", 2);
    p = write_host(p + 2, e.host);
    std::memcpy(p, "\" \"", 3);
    p = write_field(p + 3, e.content_encoding, kContentEncodingCap);
    std::memcpy(p, "\" \"", 3);
    p = write_field(p + 3, e.upstream, kUpstreamCap);
    *p++ = '"';
    *p++ = ' ';
    if (e.upstream_status == 0) {
      *p++ = '-';
    } else {
      p = detail::write_u64_padded(p, e.upstream_status, 3);
    }
    *p++ = ' ';
    if (e.upstream.empty()) {
      *p++ = '-';
    } else {
      p = detail::write_u64(p, e.upstream_us / 1000000);
      *p++ = '.';
      p = detail::write_u64_padded(p, e.upstream_us / 1000 % 1000, 3);
    }
  }
  *p++ = '\n';

  const auto len = static_cast<size_t>(p - start);
  assert(len <= kMaxLine);
  if (used_ + len <= buffer_bytes_) [[likely]] {
    used_ += len;
    return;
  }
  // It does not fit: write out the lines before it and keep it at the front of the buffer.
  if (used_ > 0) {
    write_out(buffer_.get(), used_);
    std::memmove(buffer_.get(), start, len);
  }
  used_ = len;
  if (used_ > buffer_bytes_) flush();  // a buffer smaller than one line: write it at once
}

}  // namespace zhttp::log
