#pragma once
// Drives one conn::Connection with byte strings and no sockets, sending its output as a socket
// that always accepts would (file segments are read with pread), at a fixed clock.
#include <gtest/gtest.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "conn/connection.hpp"

namespace zhttp::conn {

constexpr time_t kNow = 1700000000;  // Tue, 14 Nov 2023 22:13:20 GMT in every Date header

template <class HandlerType>
struct ConnectionHarness {
  template <class... HandlerArgs>
  explicit ConnectionHarness(ConnectionConfig c = {}, HandlerArgs&&... args)
      : config(c), handler(std::forward<HandlerArgs>(args)...) {}

  // Feeds bytes in pieces of `step`, sending output as a socket that always accepts would.
  void feed(std::string_view bytes, size_t step = SIZE_MAX) {
    while (!bytes.empty()) {
      std::span<char> space = conn.read_space();
      if (space.empty()) {
        if (!conn.has_output()) return;  // closing: the rest is never read
        flush();
        continue;
      }
      size_t n = std::min({bytes.size(), step, space.size()});
      std::copy_n(bytes.data(), n, space.data());
      bytes.remove_prefix(n);
      conn.on_read(n, now);
      flush();
    }
  }
  void flush() {
    while (conn.has_output()) {
      iovec iov[64];
      size_t count = conn.gather(iov, 64);
      ++writes;
      if (count > 0) {
        size_t total = 0;
        for (size_t i = 0; i < count; ++i) {
          sent.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
          total += iov[i].iov_len;
        }
        conn.on_sent(total, now);
      } else if (const Segment* f = conn.front_file()) {
        std::string buf(f->length, '\0');
        EXPECT_EQ(::pread(f->fd, buf.data(), buf.size(), static_cast<off_t>(f->offset)),
                  static_cast<ssize_t>(buf.size()));
        sent += buf;
        ++file_sends;
        conn.on_sent(buf.size(), now);
      }
    }
  }
  int responses(std::string_view status_line = "HTTP/1.1 ") const {
    int n = 0;
    for (size_t p = sent.find(status_line); p != std::string::npos;
         p = sent.find(status_line, p + 1)) {
      ++n;
    }
    return n;
  }

  ConnectionConfig config;
  DateCache dates;
  HandlerType handler;
  BufferPool input{32768, 4};
  BufferPool output{65536, 4};
  ObjectPool<Exchange> exchanges{4};
  BodyBuffers bodies{config.max_body_bytes, 2};
  ConnectionContext ctx{config, handler, dates, input, output, exchanges, bodies};
  Connection conn{ctx};
  time_t now = kNow;  // the clock requests are handled at
  std::string sent;
  int writes = 0;      // flushes of byte segments or of the front file
  int file_sends = 0;  // of which the front file
};

}  // namespace zhttp::conn
