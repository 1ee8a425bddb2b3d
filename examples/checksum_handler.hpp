#pragma once
// The handler of the checksum example: POST or PUT a body of any size (Content-Length or
// chunked) and get back "crc32=<8 hex digits> bytes=<count>\n", its zlib CRC-32 and length.
// The body is streamed (BodyMode::kStream): it is never held whole, so memory stays flat
// whatever the upload's size. Other methods: 405.
//
// Each request in flight holds a small state (running CRC and count) from a pool allocated once,
// attached to its exchange with Response::set_user() and given back when the body ends or the
// exchange is aborted: nothing is allocated per request.
#include <zlib.h>
#include <zhttp/handler.hpp>

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string_view>

namespace zhttp::examples {

class Checksum : public zhttp::Handler {
 public:
  // One state per request in flight: a worker has at most WorkerConfig::max_busy_connections
  // (4096 by default) of them. Past the pool's size, uploads get 503.
  static constexpr uint32_t kDefaultStates = 4096;

  explicit Checksum(uint32_t states = kDefaultStates) : states_(new State[states]) {
    for (uint32_t i = 0; i < states; ++i) give(&states_[i]);
  }

  zhttp::BodyMode body_mode(const zhttp::RequestView& request) override {
    return is_upload(request) ? zhttp::BodyMode::kStream : zhttp::BodyMode::kRefuse;
  }

  void handle(const zhttp::RequestView& request, zhttp::Response& response) override {
    if (!is_upload(request)) {
      response.status(405)
          .header("Allow", "POST, PUT")
          .header("Content-Type", "text/plain")
          .body("method not allowed\n");
      return;
    }
    if (!request.request().has_body()) {  // no body follows: no on_body_end() either
      answer(response, crc32_z(0, nullptr, 0), 0);
      return;
    }
    State* state = take();
    if (state == nullptr) {
      response.status(503)
          .header("Retry-After", "1")
          .header("Content-Type", "text/plain")
          .body("busy\n");
      return;
    }
    state->crc = crc32_z(0, nullptr, 0);
    state->bytes = 0;
    response.set_user(state);
    response.defer();  // answered from on_body_end()
  }

  void on_body(zhttp::Response& response, std::string_view bytes) override {
    State* state = static_cast<State*>(response.user());
    if (state == nullptr) return;
    state->crc = crc32_z(state->crc, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size());
    state->bytes += bytes.size();
  }

  void on_body_end(zhttp::Response& response) override {
    State* state = static_cast<State*>(response.user());
    if (state == nullptr) return;
    unsigned long crc = state->crc;
    uint64_t bytes = state->bytes;
    release(response);
    answer(response, crc, bytes);
  }

  // The client went away, the body was malformed or stalled, or the worker is stopping.
  void on_abort(zhttp::Response& response, zhttp::AbortReason) override { release(response); }

 private:
  struct State {
    unsigned long crc = 0;  // zlib's type for a CRC
    uint64_t bytes = 0;
    State* next_free = nullptr;
  };

  static bool is_upload(const zhttp::RequestView& request) {
    return request.method() == zhttp::Method::kPost || request.method() == zhttp::Method::kPut;
  }

  static void answer(zhttp::Response& response, unsigned long crc, uint64_t bytes) {
    char text[64];
    int n = std::snprintf(text, sizeof text, "crc32=%08lx bytes=%" PRIu64 "\n", crc, bytes);
    response.send(200, "text/plain", {text, static_cast<size_t>(n)});
  }

  State* take() {
    State* state = free_;
    if (state != nullptr) free_ = state->next_free;
    return state;
  }
  void give(State* state) {
    state->next_free = free_;
    free_ = state;
  }
  // Gives the request's state back (once: user() is cleared).
  void release(zhttp::Response& response) {
    State* state = static_cast<State*>(response.user());
    if (state == nullptr) return;
    response.set_user(nullptr);
    give(state);
  }

  std::unique_ptr<State[]> states_;
  State* free_ = nullptr;
};

}  // namespace zhttp::examples
