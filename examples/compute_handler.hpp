#pragma once
// The handler of the compute example: a slow, cacheable answer for putting a response cache in
// front of an application (issue 11), next to the static files of --root to compare with.
//   GET /compute?key=K&ms=N&ttl=T&len=L
// answers N ms later (0, the default: at once; at most 30000, well under the 60 s handler
// timeout) with 200, "Content-Type: text/plain", "Cache-Control: public, max-age=T" (T from 0 to
// 86400, default 2), "ETag: "<crc>"" and a body of exactly L bytes (64 to 1048576, default 1000):
//   key=K n=<computations this worker has started, this one included>\n
//   filler: lines of "abc...\n", each byte a function of its position alone
//   crc=<crc: 8 lowercase hex digits, zlib's CRC-32 of every byte before "crc=">\n
// K is 1 to 32 of A-Z a-z 0-9 . _ ~ - (sent as is). HEAD gets the same head. A missing key, a
// bad number, or an L too small for the key= and crc= lines: 400. Other methods on /compute:
// 405. Other paths: the static files (404 without them). Every computation adds one to the
// app counter given (the example's `computations`).
//
// Nothing is allocated per request once warm. The body is made piece by piece in one buffer
// allocated at start: its bytes follow from key, n and position, so a body larger than a piece
// is streamed, each piece made again when the connection has room. Each request holds a record
// (its ev_timer, its parameters, how much of its body went) from a free list that grows to the
// most requests ever in flight, then is reused; on_abort() stops the timer and gives it back.
#include <ev.h>
#include <zlib.h>
#include <zhttp/app.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "query_param.hpp"

namespace zhttp::examples {

class Compute : public zhttp::Handler {
 public:
  static constexpr uint64_t kMaxMs = 30000;
  static constexpr uint64_t kDefaultTtl = 2;
  static constexpr uint64_t kMaxTtl = 86400;
  static constexpr uint64_t kDefaultLen = 1000;
  static constexpr uint64_t kMinLen = 64;
  static constexpr uint64_t kMaxLen = 1 << 20;
  static constexpr size_t kMaxKey = 32;
  // Bytes made at a time: a body up to this size goes out whole with body().
  static constexpr size_t kPiece = 16384;

  // `files` (may be null) answers the other paths.
  explicit Compute(zhttp::AppCounter computations = {}, zhttp::Handler* files = nullptr)
      : computations_(computations), files_(files), piece_(new char[kPiece]) {}

  void on_worker_start(const zhttp::WorkerContext& context) override { loop_ = context.loop; }

  void handle(const zhttp::RequestView& request, zhttp::Response& response) override {
    if (request.path() != "/compute") {
      if (files_ != nullptr) {
        files_->handle(request, response);  // answers at once: it needs none of the callbacks
      } else {
        response.send(404, "text/plain", "not found\n");
      }
      return;
    }
    if (request.method() != zhttp::Method::kGet && request.method() != zhttp::Method::kHead) {
      response.status(405)
          .header("Allow", "GET, HEAD")
          .header("Content-Type", "text/plain")
          .body("method not allowed\n");
      return;
    }
    Body body;
    uint64_t ms = 0;
    if (!parse(request.query(), runs_ + 1, &body, &ms)) {
      response.send(400, "text/plain",
                    "usage: /compute?key=K&ms=N&ttl=T&len=L (K: 1-32 of A-Z a-z 0-9 . _ ~ -, "
                    "N 0..30000, T 0..86400, L 64..1048576 with room for the key)\n");
      return;
    }
    ++runs_;
    computations_.add();
    Record* r = take();
    r->body = body;
    r->sent = 0;
    response.set_user(r);
    if (ms == 0) {
      answer(*r, response);
      return;
    }
    r->ref = response.defer();
    // ev_now() is when the loop woke, maybe a while ago: the wait counts from this request.
    ev_now_update(loop_);
    ev_timer_set(&r->timer, static_cast<double>(ms) / 1000, 0.);
    ev_timer_start(loop_, &r->timer);
  }

  // A streamed body whose last piece did not fit: the rest, from where it stopped.
  void on_writable(zhttp::Response& response) override {
    if (auto* r = static_cast<Record*>(response.user())) send_rest(*r, response);
  }

  // The client went away, the handler timed out or the worker is stopping.
  void on_abort(zhttp::Response& response, zhttp::AbortReason) override { release(response); }

 private:
  static constexpr size_t kCrcLine = 13;  // "crc=" 8 hex digits "\n"

  // What a body is made from: its length, its first line, and its last once computed.
  struct Body {
    uint64_t ttl = 0;
    size_t len = 0;
    char head[64] = {};  // "key=K n=N\n": at most 4 + 32 + 3 + 20 + 1 bytes
    size_t head_len = 0;
    char tail[kCrcLine + 1] = {};  // "crc=XXXXXXXX\n" and snprintf's NUL
  };

  struct Record {
    ev_timer timer{};
    Compute* owner = nullptr;
    zhttp::ExchangeRef ref;
    Body body;
    size_t sent = 0;  // a streamed body: bytes written so far
    Record* next_free = nullptr;
  };

  // The query's parameters: *b for computation `n` (its ttl, len and head line), and *ms.
  static bool parse(std::string_view query, uint64_t n, Body* b, uint64_t* ms) {
    std::string_view key;
    uint64_t len = kDefaultLen;
    b->ttl = kDefaultTtl;
    if (!query_param(query, "key", &key) || key.empty() || key.size() > kMaxKey ||
        !std::all_of(key.begin(), key.end(), key_char) || !number(query, "ms", kMaxMs, ms) ||
        !number(query, "ttl", kMaxTtl, &b->ttl) || !number(query, "len", kMaxLen, &len) ||
        len < kMinLen) {
      return false;
    }
    int w =
        std::snprintf(b->head, sizeof b->head, "key=%.*s n=%llu\n", static_cast<int>(key.size()),
                      key.data(), static_cast<unsigned long long>(n));
    b->head_len = static_cast<size_t>(w);
    b->len = static_cast<size_t>(len);
    return b->head_len + kCrcLine <= b->len;
  }

  static bool key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '~' || c == '-';
  }

  // An optional number: absent leaves *out as it is.
  static bool number(std::string_view query, std::string_view name, uint64_t max, uint64_t* out) {
    std::string_view digits;
    return !query_param(query, name, &digits) || parse_decimal(digits, max, out);
  }

  // Bytes [from, from + n) of the body into `out`: the head line, the filler, the crc line.
  static void fill(const Body& b, size_t from, size_t n, char* out) {
    static constexpr char kLine[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.\n";
    constexpr size_t kLineLen = sizeof kLine - 1;
    const size_t crc_at = b.len - kCrcLine;
    for (size_t at = from, end = from + n; at < end;) {
      size_t run;
      if (at < b.head_len) {
        run = std::min(end, b.head_len) - at;
        std::memcpy(out, b.head + at, run);
      } else if (at < crc_at) {
        run = std::min({end, crc_at, (at / kLineLen + 1) * kLineLen}) - at;
        std::memcpy(out, kLine + at % kLineLen, run);
      } else {
        run = end - at;
        std::memcpy(out, b.tail + (at - crc_at), run);
      }
      out += run;
      at += run;
    }
  }

  // The crc line: the CRC-32 of everything before it, made a piece at a time.
  void seal(Body& b) {
    const size_t crc_at = b.len - kCrcLine;
    uLong crc = crc32_z(0, nullptr, 0);
    for (size_t at = 0; at < crc_at; at += kPiece) {
      size_t n = std::min(kPiece, crc_at - at);
      fill(b, at, n, piece_.get());
      crc = crc32_z(crc, reinterpret_cast<const Bytef*>(piece_.get()), n);
    }
    std::snprintf(b.tail, sizeof b.tail, "crc=%08lx\n", crc);
  }

  void answer(Record& r, zhttp::Response& response) {
    Body& b = r.body;
    seal(b);
    char cache_control[40];
    std::snprintf(cache_control, sizeof cache_control, "public, max-age=%llu",
                  static_cast<unsigned long long>(b.ttl));
    char etag[11];
    std::snprintf(etag, sizeof etag, "\"%.8s\"", b.tail + 4);
    response.status(200)
        .header("Content-Type", "text/plain")
        .header("Cache-Control", cache_control)
        .header("ETag", etag);
    if (b.len <= kPiece) {
      const size_t len = b.len;
      fill(b, 0, len, piece_.get());
      release(response);
      response.body({piece_.get(), len});
      return;
    }
    if (!response.stream(b.len)) {  // the head did not fit: the connection answers 500
      release(response);
      return;
    }
    send_rest(r, response);
  }

  void send_rest(Record& r, zhttp::Response& response) {
    while (r.sent < r.body.len) {
      size_t n = std::min(kPiece, r.body.len - r.sent);
      fill(r.body, r.sent, n, piece_.get());
      size_t took = response.write({piece_.get(), n});
      r.sent += took;
      if (took < n) return;  // on_writable() goes on
    }
    release(response);
    response.end();
  }

  static void on_timer(struct ev_loop*, ev_timer* w, int) {
    Record& r = *static_cast<Record*>(w->data);
    zhttp::Response* response = r.ref.response();
    if (response == nullptr) {  // not expected: on_abort() stops the timer of a dead exchange
      r.owner->give(&r);
      return;
    }
    r.owner->answer(r, *response);
  }

  Record* take() {
    if (free_ == nullptr) {  // warm-up: one more request in flight than ever before
      records_.push_back(std::make_unique<Record>());
      Record* r = records_.back().get();
      ev_init(&r->timer, on_timer);
      r->timer.data = r;
      r->owner = this;
      return r;
    }
    Record* r = free_;
    free_ = r->next_free;
    return r;
  }
  void give(Record* r) {
    r->ref = {};
    r->next_free = free_;
    free_ = r;
  }
  // Stops the request's timer and gives its record back (once: user() is cleared).
  void release(zhttp::Response& response) {
    auto* r = static_cast<Record*>(response.user());
    if (r == nullptr) return;
    response.set_user(nullptr);
    ev_timer_stop(loop_, &r->timer);
    give(r);
  }

  struct ev_loop* loop_ = nullptr;
  zhttp::AppCounter computations_;
  zhttp::Handler* files_;
  std::unique_ptr<char[]> piece_;
  std::vector<std::unique_ptr<Record>> records_;
  Record* free_ = nullptr;
  uint64_t runs_ = 0;
};

}  // namespace zhttp::examples
