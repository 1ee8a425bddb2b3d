#pragma once
// One proxied request, from the pick of a server to the last byte of the answer
// (docs/proxy.md): the request head written for the upstream, the body sent after it (gathered:
// from the request's own buffer; streamed: through a staging area, the client's body paused
// while it is full), the response head parsed strictly (http/response_parser.hpp) and forwarded
// without its hop-by-hop fields, the body re-framed for the client with backpressure both ways
// (the upstream is not read while the client does not take what was read). A small answer of
// known length is gathered whole and answered in one piece (which the shared cache in front can
// store); others stream. Failures before the answer began are retried where that is safe, or
// become 502 / 503 / 504; after it began, the client's connection is closed (a truncated answer).
// A call lives in a per-worker pool with its buffer block; nothing is allocated per request.
#include <array>
#include <cstdint>

#include "conn/buffer_pool.hpp"
#include "conn/upstream_link.hpp"
#include "handlers/proxy/balancer.hpp"
#include "handlers/proxy/proxy_config.hpp"
#include "handlers/proxy/request_head.hpp"
#include "http/response_parser.hpp"
#include "zhttp/chunked.hpp"
#include "zhttp/handler.hpp"

namespace zhttp::log {
class ErrorLog;
}

namespace zhttp::handlers::proxy {

class ProxyCall;

// What every call of a worker shares.
struct CallContext {
  const ProxyConfig& config;
  Balancer& balancer;
  conn::UpstreamLinks& links;
  conn::BufferPool& buffers;  // one block per call: request area, then response area
  uint32_t request_area;      // bytes of a block for the request head and staged body
  log::ErrorLog* error_log;   // null: failures are not logged
  // A call is over (its answer complete or abandoned): its owner takes it back. The call is
  // not touched again until started anew.
  void (*on_done)(ProxyCall& call, void* owner);
  void* owner;
};

class ProxyCall final : private conn::UpstreamLinkUser {
 public:
  // Most response heads of 1xx before the final one; more is a 502.
  static constexpr uint32_t kMaxInterim = 8;
  // The start of a block: the forwarded head (a 16 KiB client head and the fields added).
  static constexpr uint32_t kHeadArea = 20480;

  // Takes the request over: the response is deferred and answered from the upstream. False
  // when no buffer block is free (the caller answers 503 and gives the call back).
  bool start(CallContext& context, const ProxyRoute& route, Response& response, bool streamed_body);
  // The client's streamed body (BodyMode::kStream), its end, room again for a streamed answer,
  // and the end of the exchange before the answer completed.
  void on_body(std::string_view bytes);
  void on_body_end();
  void on_client_writable();
  void on_abort();

 private:
  enum class Stage : uint8_t { kIdle, kConnecting, kExchanging, kDone };

  void on_link_ready(conn::UpstreamLink& link) override;
  void on_link_io(conn::UpstreamLink& link, bool readable, bool writable) override;
  void on_link_failed(conn::UpstreamLink& link, conn::LinkFailure why) override;

  void attempt(bool fresh);
  void send_some();
  void read_some();
  void parse_head();
  static const char* describe_head_error(http::ResponseError e);
  bool write_head();
  void begin_answer();
  void begin_tunnel();
  void forward_body();
  // Writes to the client's answer; false when it took fewer (*taken) than `len`.
  bool write_to_client(const char* data, uint32_t len, uint32_t* taken);
  void on_upstream_end();
  void update_watch();
  // One error-log line for a failure; `retried_race` (the idle-close race, about to be retried
  // on a new connection: nothing wrong with the server) only at info level.
  void log(const char* reason, bool retried_race = false);
  void note();  // Response::upstream_note() as things stand
  // The attempt failed (`outcome`, logged with `reason`): retried elsewhere when allowed, else
  // answered with `status` (or the client's connection closed when the answer began).
  void fail(Outcome outcome, uint16_t status, const char* reason);
  void answer_error(uint16_t status);
  void finish_attempt(Outcome outcome);  // the balancer hears how the attempt ended
  void complete();
  void release();
  // The request can be sent again: its body (if any) is gathered, or none of it left yet.
  bool replayable() const { return !streamed_body_ || !body_written_; }
  char* request_area() const { return block_; }
  char* response_area() const { return block_ + ctx_->request_area; }
  uint32_t response_room() const {
    return static_cast<uint32_t>(ctx_->buffers.block_size()) - ctx_->request_area;
  }
  uint32_t stage_capacity() const { return ctx_->request_area - kHeadArea; }

  CallContext* ctx_ = nullptr;
  Response* response_ = nullptr;
  const ProxyRoute* route_ = nullptr;
  uint32_t group_ = 0;
  uint32_t server_ = 0;
  conn::UpstreamLink* link_ = nullptr;
  char* block_ = nullptr;
  uint64_t tried_ = 0;       // servers tried (bit per server index)
  uint32_t attempts_ = 0;    // servers picked (what fail() compares with the group's size)
  bool picked_ = false;      // the balancer counts an attempt on server_ in flight
  uint64_t started_us_ = 0;  // monotonic: when the request came to the proxy

  // The request.
  BodyPlan plan_;
  uint32_t head_len_ = 0;
  uint32_t head_sent_ = 0;
  uint64_t gathered_sent_ = 0;  // of RequestView::body()
  uint32_t stage_len_ = 0;      // staged streamed body (framed) after kHeadArea
  uint32_t stage_sent_ = 0;
  bool body_written_ = false;  // part of a streamed body reached a socket
  bool streamed_body_ = false;
  bool body_paused_ = false;
  bool client_body_done_ = true;  // the streamed body's end came (or there is none)
  bool request_sent_ = false;
  bool idempotent_ = false;
  bool fresh_retry_ = false;    // the one retry on a new connection after a reused one failed
  bool upgrade_asked_ = false;  // the client asked to upgrade: a 101 becomes a tunnel
  bool tunnel_ = false;         // it did: raw bytes both ways until either end closes

  // The response.
  http::ResponseHead head_;
  std::array<Header, 100> headers_;
  ChunkedDecoder chunked_;
  uint32_t in_len_ = 0;  // bytes in the response area
  uint32_t in_pos_ = 0;  // the next byte not yet handled
  uint32_t interim_ = 0;
  uint32_t head_at_ = 0;      // where the final head starts in the response area
  uint64_t body_left_ = 0;    // kContentLength: body bytes still to come
  uint32_t pending_pos_ = 0;  // decoded body bytes the client did not take yet
  uint32_t pending_len_ = 0;
  bool got_bytes_ = false;  // this attempt read something from the upstream
  bool head_done_ = false;
  bool answer_begun_ = false;  // the client has the head (streamed answer)
  bool whole_ = false;         // the answer is gathered whole, then sent in one piece
  bool upstream_ended_ = false;
  Stage stage_ = Stage::kIdle;
  bool done_ = false;
};

}  // namespace zhttp::handlers::proxy
