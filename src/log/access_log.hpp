#pragma once
// The access log of one worker process (single-threaded): one line per response in nginx's
// `combined` format (or one of the AccessLogFormat variants around it), formatted by hand into a
// buffer allocated once in the constructor and written with one write() when it would overflow or
// when flush() is called. record() never allocates, never blocks on anything but that write(), and
// never fails: a write that fails drops the buffered lines and counts them.
//
//   127.0.0.1 - - [27/Nov/2026:21:18:42 +0000] "GET /index.html HTTP/1.1" 200 182 "-" "curl/7.88.1"
//
// vhost_combined puts the host first (`example.com 127.0.0.1 - - [...`, as Apache's without the
// port); extended appends ` "HOST" "CONTENT-ENCODING" "UPSTREAM" UPSTREAM_STATUS UPSTREAM_TIME` to
// the combined line (the proxied answer's server, its status and its response time in seconds
// with milliseconds, as nginx's $upstream_addr, $upstream_status and $upstream_response_time; "-"
// for answers that did not come from an upstream).
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>

namespace zhttp::log {

inline constexpr size_t kAccessLogBufferBytes = 64 * 1024;

enum class AccessLogFormat : uint8_t { kCombined, kVhostCombined, kExtended };

// What one access-log line says. Views only: nothing is copied until record() formats it.
struct AccessEntry {
  const void* addr = nullptr;  // the peer's address bytes (network order), see family
  int family = AF_UNSPEC;      // AF_INET: 4 bytes at addr; AF_INET6: 16 bytes; else "-"
  time_t now = 0;              // seconds since the epoch; printed in UTC
  std::string_view method = {};
  std::string_view target = {};
  uint8_t version_minor = 1;      // HTTP/1.<version_minor>
  bool has_request_line = false;  // false (an error before a request was parsed): "$request" is "-"
  uint16_t status = 0;
  uint64_t body_bytes = 0;
  std::string_view referer = {};     // empty: "-"
  std::string_view user_agent = {};  // empty: "-"
  // Only the formats that print them read these (the worker fills them for those only).
  std::string_view host = {};              // as http::request_host() gives it; empty: "-"
  std::string_view content_encoding = {};  // the response's field value; empty: "-"
  std::string_view upstream = {};          // the upstream server's address; empty: "-"
  uint16_t upstream_status = 0;            // 0: "-"
  uint64_t upstream_us = 0;
};

class AccessLog {
 public:
  // Output bytes kept of one field (method: kMethodCap) before it is cut and "..." appended.
  static constexpr size_t kFieldCap = 2048;
  static constexpr size_t kMethodCap = 64;
  static constexpr size_t kHostCap = 256;  // a longer one is no host name
  static constexpr size_t kContentEncodingCap = 64;
  static constexpr size_t kUpstreamCap = 128;
  // The longest line record() can produce, whatever the entry holds and the format.
  static constexpr size_t kMaxLine =
      (kHostCap + 3) + (kContentEncodingCap + 3) + 6 /* extended */ + (kUpstreamCap + 3) + 2 + 5 +
      1 + 24 /* upstream */ + 64 /* address */ + 5 /* " - - " */ + 64 /* [time] */ + 2 +
      (kMethodCap + 3) + 1 + (kFieldCap + 3) + 12 + 2 /* '"' ' ' */ + 5 + 1 +
      20 /* status, bytes */ + 2 + (kFieldCap + 3) + 3 + (kFieldCap + 3) + 2 /* '"' '\n' */;

  // `path` "off" or "" disables the log: nothing is allocated or opened, record() returns at
  // once. Otherwise the buffer (buffer_bytes, plus room for one line) is allocated here.
  explicit AccessLog(std::string path, size_t buffer_bytes = kAccessLogBufferBytes,
                     AccessLogFormat format = AccessLogFormat::kCombined);
  ~AccessLog();  // flushes and closes
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Opens the file (O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC, 0644). False with a message in *error
  // (may be null) when it cannot. True at once when disabled. Opening again replaces the
  // descriptor (as reopen() does).
  bool open(std::string* error);
  // For log rotation (SIGUSR1): flushes, opens the path again and swaps descriptors. On failure
  // keeps the old descriptor and returns false with a message.
  bool reopen(std::string* error);

  // Formats one line into the buffer; writes out the buffered lines first when it would not fit.
  void record(const AccessEntry& e);
  // Writes out whatever is buffered (the worker calls it at least once a second and on exit).
  void flush();

  bool enabled() const { return enabled_; }
  AccessLogFormat format() const { return format_; }
  const std::string& path() const { return path_; }
  size_t buffered_bytes() const { return used_; }
  // Lines (and their bytes) lost to failing writes since construction; a line cut by a partial
  // write counts as dropped.
  uint64_t dropped_lines() const { return dropped_lines_; }
  uint64_t dropped_bytes() const { return dropped_bytes_; }
  int last_error() const { return last_errno_; }  // errno of the last failed write, or 0

 private:
  void write_out(const char* data, size_t len);
  void format_time(time_t now);

  std::string path_;
  bool enabled_;
  AccessLogFormat format_;
  int fd_ = -1;
  size_t buffer_bytes_ = 0;         // flush threshold
  std::unique_ptr<char[]> buffer_;  // buffer_bytes_ + kMaxLine bytes
  size_t used_ = 0;
  uint64_t dropped_lines_ = 0;
  uint64_t dropped_bytes_ = 0;
  int last_errno_ = 0;

  // "[27/Nov/2026:21:18:42 +0000]" for cached_now_.
  bool time_valid_ = false;
  time_t cached_now_ = 0;
  char time_text_[64];
  size_t time_len_ = 0;
};

}  // namespace zhttp::log
