#pragma once
// Drives one conn::Connection with byte strings and no sockets, sending its output as a socket
// would (file segments are read with pread), at a fixed clock. The harness is also the io layer's
// ConnectionEvents: wakes are recorded and carried out by run_wakes(), posts run at once or wait
// for run_posts(). A slow reader (read_per_step) takes at most that many bytes per flush().
// Delays asked by the access stage are recorded and carried out by run_delays() (or refused, as
// by an io layer that keeps no time, with no_delay_timer).
#include <gtest/gtest.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conn/connection.hpp"

namespace zhttp::conn {

constexpr time_t kNow = 1700000000;  // Tue, 14 Nov 2023 22:13:20 GMT in every Date header

template <class HandlerType>
struct ConnectionHarness : ConnectionEvents {
  template <class... HandlerArgs>
  explicit ConnectionHarness(ConnectionConfig c = {}, HandlerArgs&&... args)
      : config(c), handler(std::forward<HandlerArgs>(args)...) {
    ctx.events = this;
  }

  // Feeds bytes in pieces of `step`, sending output after each read (one flush() step).
  // Returns how many bytes the connection took: it stops reading when it closes, pauses a body
  // or waits for a handler with its input full; the rest can be fed again later.
  size_t feed(std::string_view bytes, size_t step = SIZE_MAX) {
    size_t taken = 0;
    while (taken < bytes.size()) {
      std::span<char> space = conn.read_space();
      if (space.empty()) {
        if (!conn.has_output()) break;  // not reading now (closing, paused, waiting)
        flush();
        continue;
      }
      size_t n = std::min({bytes.size() - taken, step, space.size()});
      std::copy_n(bytes.data() + taken, n, space.data());
      taken += n;
      conn.on_read(n, now);
      observe();
      flush();
    }
    return taken;
  }

  // Sends output as the reader takes it: everything, or at most read_per_step bytes.
  void flush() {
    size_t budget = read_per_step;
    while (conn.has_output() && budget > 0) {
      iovec iov[64];
      size_t count = conn.gather(iov, 64);
      ++writes;
      size_t total = 0;
      if (count > 0) {
        for (size_t i = 0; i < count && total < budget; ++i) {
          size_t n = std::min(iov[i].iov_len, budget - total);
          sent.append(static_cast<const char*>(iov[i].iov_base), n);
          total += n;
        }
      } else if (const Segment* f = conn.front_file()) {
        std::string buf(std::min<uint64_t>(f->length, budget), '\0');
        EXPECT_EQ(::pread(f->fd, buf.data(), buf.size(), static_cast<off_t>(f->offset)),
                  static_cast<ssize_t>(buf.size()));
        sent += buf;
        total = buf.size();
        ++file_sends;
      }
      if (total == 0) break;
      budget -= total;
      conn.on_sent(total, now);
      observe();
    }
  }
  // Sends everything, however slow the reader is, with what the handler adds meanwhile.
  void flush_all() {
    size_t saved = read_per_step;
    read_per_step = SIZE_MAX;
    flush();
    read_per_step = saved;
  }

  // What the io layer does before its loop sleeps: queued posts, then the woken connection's
  // on_wake() and a flush, until nothing is left (what they do may wake it again).
  void run_wakes() {
    for (int rounds = 0; rounds < 10000; ++rounds) {
      run_posts();
      if (!wake_pending) return;
      wake_pending = false;
      conn.on_wake(now);
      observe();
      flush();
    }
    ADD_FAILURE() << "the connection keeps waking itself";
  }
  void run_posts() {
    while (!posts.empty()) {
      std::vector<Post> batch;
      batch.swap(posts);
      for (const Post& p : batch) p.fn(p.c->response_for(p.generation), p.arg);
    }
  }

  // ConnectionEvents.
  void wake(Connection& c) override {
    EXPECT_EQ(&c, &conn);
    if (wake_pending) ++double_wakes;  // the contract: at most once until on_wake()
    wake_pending = true;
    ++wakes;
  }
  bool post(Connection* c, uint32_t generation, void (*fn)(Response*, void*), void* arg) override {
    if (refuse_posts) return false;
    if (sync_posts) {
      fn(c->response_for(generation), arg);
    } else {
      posts.push_back({c, generation, fn, arg});
    }
    return true;
  }

  struct Delay {
    uint32_t generation;
    uint64_t us;
  };
  bool delay(Connection& c, uint32_t generation, uint64_t us) override {
    EXPECT_EQ(&c, &conn);
    if (no_delay_timer) return ConnectionEvents::delay(c, generation, us);
    delays.push_back({generation, us});
    return true;
  }
  // What the io layer does when delay timers expire: on_delay_over() for each recorded delay
  // (in order), then a flush. Returns how many fired.
  size_t run_delays() {
    std::vector<Delay> batch;
    batch.swap(delays);
    for (const Delay& d : batch) fire_delay(d);
    return batch.size();
  }
  void fire_delay(const Delay& d) {
    conn.on_delay_over(d.generation, now);
    observe();
    flush();
  }

  // Bytes waiting to be sent (byte segments and the front file), and the most seen so far.
  uint64_t pending_output() const {
    iovec iov[64];
    size_t count = conn.gather(iov, 64);
    uint64_t total = 0;
    for (size_t i = 0; i < count; ++i) total += iov[i].iov_len;
    if (count == 0) {
      if (const Segment* f = conn.front_file()) total = f->length;
    }
    return total;
  }
  void observe() { peak_output = std::max(peak_output, pending_output()); }

  int responses(std::string_view status_line = "HTTP/1.1 ") const {
    int n = 0;
    for (size_t p = sent.find(status_line); p != std::string::npos;
         p = sent.find(status_line, p + 1)) {
      ++n;
    }
    return n;
  }

  struct Post {
    Connection* c;
    uint32_t generation;
    void (*fn)(Response*, void*);
    void* arg;
  };

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
  int writes = 0;                   // flushes of byte segments or of the front file
  int file_sends = 0;               // of which the front file
  size_t read_per_step = SIZE_MAX;  // a slow reader: bytes one flush() sends at most
  uint64_t peak_output = 0;         // the most output seen waiting
  bool wake_pending = false;
  int wakes = 0;
  int double_wakes = 0;
  bool sync_posts = false;    // posts run inside post() instead of in run_posts()
  bool refuse_posts = false;  // the ring is full
  std::vector<Post> posts;
  bool no_delay_timer = false;  // delay() refuses: the request is served at once
  std::vector<Delay> delays;    // asked for and not yet fired
};

}  // namespace zhttp::conn
