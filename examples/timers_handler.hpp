#pragma once
// The handler of the timers example: responses that come later, from the worker's own libev
// loop (Handler::on_worker_start() gives it).
//   GET /delay?ms=N         "ok\n" N ms later (a deferred response; 0 <= N <= 30000)
//   GET /ticks?n=K&ms=M     a chunked body of K lines "tick 1\n" ... "tick K\n": the first at
//                           once, then one every M ms (0 <= K <= 1000, 0 <= M <= 30000)
// A bad, missing or too large number is a 400; other paths 404, other methods 405. The limits
// keep every wait under the worker's handler timeout (60 s: a silent handler gets a 504).
//
// Each request holds one ev_timer from a pool allocated once (none is allocated per request),
// attached with Response::set_user(). It goes back to the pool when the response is complete,
// or in on_abort() (the client went away, the handler timed out, the worker is stopping), where
// its timer is stopped first: a timer never fires for an exchange that is gone.
#include <ev.h>
#include <zhttp/handler.hpp>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string_view>

#include "query_param.hpp"

namespace zhttp::examples {

class Timers : public zhttp::Handler {
 public:
  // One timer per request in flight: a worker has at most WorkerConfig::max_busy_connections
  // (4096 by default) of them. Past the pool's size, requests get 503.
  static constexpr uint32_t kDefaultTimers = 4096;
  static constexpr uint64_t kMaxMs = 30000;
  static constexpr uint64_t kMaxTicks = 1000;

  explicit Timers(uint32_t timers = kDefaultTimers) : timers_(new Timer[timers]) {
    for (uint32_t i = 0; i < timers; ++i) {
      Timer& t = timers_[i];
      ev_init(&t.watcher, on_timer);
      t.watcher.data = &t;
      t.owner = this;
      give(&t);
    }
  }

  void on_worker_start(const zhttp::WorkerContext& context) override { loop_ = context.loop; }

  void handle(const zhttp::RequestView& request, zhttp::Response& response) override {
    std::string_view path = request.path();
    bool delay = path == "/delay";
    if (!delay && path != "/ticks") {
      response.send(404, "text/plain", "not found\n");
      return;
    }
    if (request.method() != zhttp::Method::kGet) {
      response.status(405)
          .header("Allow", "GET")
          .header("Content-Type", "text/plain")
          .body("method not allowed\n");
      return;
    }
    uint64_t ms = 0;
    uint64_t ticks = 0;
    if (!number(request.query(), "ms", kMaxMs, &ms) ||
        (!delay && !number(request.query(), "n", kMaxTicks, &ticks))) {
      response.send(400, "text/plain",
                    delay ? "usage: /delay?ms=N (0..30000)\n"
                          : "usage: /ticks?n=K&ms=M (K 0..1000, M 0..30000)\n");
      return;
    }
    Timer* t = take();
    if (t == nullptr) {
      response.status(503)
          .header("Retry-After", "1")
          .header("Content-Type", "text/plain")
          .body("busy\n");
      return;
    }
    t->ref = response.defer();
    t->seconds = static_cast<double>(ms) / 1000;
    t->ticks = !delay;
    t->left = static_cast<uint32_t>(ticks);
    t->number = 1;
    t->line_len = t->line_off = 0;
    response.set_user(t);
    // ev_now() is when the loop woke, maybe a while ago: the wait counts from this request.
    ev_now_update(loop_);
    if (delay) {
      arm(*t);
      return;
    }
    response.status(200).header("Content-Type", "text/plain").header("Cache-Control", "no-store");
    if (!response.stream()) {  // the head did not fit: the connection answers 500
      release(response);
      return;
    }
    next_tick(*t, response);  // the first line at once
  }

  // A streamed write() took less than a whole line: the rest goes now, then the next tick.
  void on_writable(zhttp::Response& response) override {
    Timer* t = static_cast<Timer*>(response.user());
    if (t != nullptr && t->line_off < t->line_len) write_line(*t, response);
  }

  // The exchange is gone: stop its timer before giving it back.
  void on_abort(zhttp::Response& response, zhttp::AbortReason) override { release(response); }

 private:
  struct Timer {
    ev_timer watcher{};
    Timers* owner = nullptr;
    zhttp::ExchangeRef ref;
    double seconds = 0;  // the delay, or the time between ticks
    uint32_t left = 0;   // /ticks: lines still to send (the current one included)
    uint32_t number = 1;
    char line[24] = {};  // the tick line being written
    uint8_t line_len = 0;
    uint8_t line_off = 0;  // what write() took of it so far
    bool ticks = false;
    Timer* next_free = nullptr;
  };

  // The value of `key` in the query: a decimal number, at most `max`.
  static bool number(std::string_view query, std::string_view key, uint64_t max, uint64_t* out) {
    std::string_view digits;
    return query_param(query, key, &digits) && parse_decimal(digits, max, out);
  }

  void arm(Timer& t) {
    ev_timer_set(&t.watcher, t.seconds, 0.);
    ev_timer_start(loop_, &t.watcher);
  }

  static void on_timer(struct ev_loop*, ev_timer* w, int) {
    Timer& t = *static_cast<Timer*>(w->data);
    zhttp::Response* response = t.ref.response();
    if (response == nullptr) {  // not expected: on_abort() stops the timer of a dead exchange
      t.owner->give(&t);
      return;
    }
    if (t.ticks) {
      t.owner->next_tick(t, *response);
      return;
    }
    t.owner->release(*response);
    response->send(200, "text/plain", "ok\n");
  }

  // /ticks: the next line, or the end of the body after the last.
  void next_tick(Timer& t, zhttp::Response& response) {
    if (t.left == 0) {
      release(response);
      response.end();
      return;
    }
    int n = std::snprintf(t.line, sizeof t.line, "tick %u\n", t.number);
    t.line_len = static_cast<uint8_t>(n);
    t.line_off = 0;
    write_line(t, response);
  }

  void write_line(Timer& t, zhttp::Response& response) {
    std::string_view rest(t.line + t.line_off, t.line_len - t.line_off);
    t.line_off = static_cast<uint8_t>(t.line_off + response.write(rest));
    if (t.line_off < t.line_len) return;  // on_writable() sends the rest
    ++t.number;
    if (--t.left == 0) {
      next_tick(t, response);  // ends the body now, not a tick later
    } else {
      arm(t);
    }
  }

  Timer* take() {
    Timer* t = free_;
    if (t != nullptr) free_ = t->next_free;
    return t;
  }
  void give(Timer* t) {
    t->ref = {};
    t->next_free = free_;
    free_ = t;
  }
  // Stops the request's timer and gives it back (once: user() is cleared).
  void release(zhttp::Response& response) {
    Timer* t = static_cast<Timer*>(response.user());
    if (t == nullptr) return;
    response.set_user(nullptr);
    ev_timer_stop(loop_, &t->watcher);
    give(t);
  }

  std::unique_ptr<Timer[]> timers_;
  Timer* free_ = nullptr;
  struct ev_loop* loop_ = nullptr;
};

}  // namespace zhttp::examples
