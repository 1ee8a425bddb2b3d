#include "conn/connection.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "zhttp/proxy_protocol.hpp"
#include "zhttp/status.hpp"

namespace zhttp::conn {
namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::string_view kErrorType = "text/plain; charset=utf-8";
// Most segments one response can add (head, then external bytes or a file).
constexpr size_t kSegmentsPerResponse = 2;
// A body gathered in the input block moves to a body block when less room than this is left.
constexpr size_t kMinReadRoom = 4096;
// Room a streamed write leaves for its framing: the chunk-size line, CRLF, and the last chunk.
constexpr size_t kChunkOverhead = 16 + 2 + 2 + 5;
constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace

Connection::~Connection() {
  reset();
}

// --- input ------------------------------------------------------------------------------------

bool Connection::take_input() {
  if (input_) return true;
  Exchange* ex = ctx_.exchanges.take();
  if (!ex) return false;
  char* block = ctx_.input_pool.take();
  if (!block) {
    ctx_.exchanges.give(ex);
    return false;
  }
  input_ = block;
  ex_ = ex;
  start_ = end_ = scanned_ = keep_ = cur_ = 0;
  return true;
}

size_t Connection::input_room() const {
  if (!input_) return ctx_.input_pool.block_size();
  size_t used = active_ ? start_ + keep_ + (unread() - cur_) : unread();
  return ctx_.input_pool.block_size() - used;
}

bool Connection::wants_read() const {
  if (phase_ == Phase::kClosing || peer_done_ || backpressured()) return false;
  if (!active_) return true;
  const Exchange& x = *ex_;
  if (x.paused || x.delayed || x.body == Exchange::Body::kSkipped) return false;
  // A body gathered in place can always move to a body block to make room.
  bool can_grow = x.mode == BodyMode::kGather && x.body == Exchange::Body::kReading && !x.gathered;
  return input_room() > 0 || can_grow;
}

std::span<char> Connection::read_space() {
  if (!wants_read() || !take_input()) return {};
  if (active_) {
    compact();
    const Exchange& x = *ex_;
    if (x.mode == BodyMode::kGather && x.body == Exchange::Body::kReading && !x.gathered &&
        input_room() < kMinReadRoom) {
      BodyBlock block = ctx_.body_buffers.take();
      if (!block) {
        answer_instead(503, AbortReason::kBadBody);
        return {};
      }
      uint32_t gathered = keep_ - x.head_len;
      std::memcpy(block.data, head() + x.head_len, gathered);
      ex_->gathered = block;
      keep_ = x.head_len;
      compact();
    }
  } else if (start_ > 0) {
    std::memmove(input_, input_ + start_, unread());
    end_ -= start_;
    start_ = 0;
  }
  return {input_ + end_, ctx_.input_pool.block_size() - end_};
}

// Drops the body framing and data already decoded: the undecoded rest moves down to keep_.
void Connection::compact() {
  if (cur_ <= keep_) return;
  std::memmove(input_ + start_ + keep_, input_ + start_ + cur_, unread() - cur_);
  end_ -= cur_ - keep_;
  cur_ = keep_;
}

void Connection::on_read(size_t n, time_t now) {
  now_ = now;
  end_ += static_cast<uint32_t>(n);
  process();
}

void Connection::on_eof(time_t now) {
  now_ = now;
  peer_done_ = true;
  process();
  if (active_ && phase_ != Phase::kClosing) {
    // Still owed or still reading: nobody will read the answer (nginx's 499).
    abort_handler(AbortReason::kClientGone);
    phase_ = Phase::kClosing;
  }
  release_idle_buffers();
}

void Connection::on_sent(size_t n, time_t now) {
  now_ = now;
  out_.consume(n);
  if (phase_ != Phase::kClosing) process();
  release_idle_buffers();
}

void Connection::on_wake(time_t now) {
  now_ = now;
  wake_pending_ = false;
  if (phase_ != Phase::kClosing) process();
  release_idle_buffers();
}

void Connection::drain() {
  draining_ = true;
}

void Connection::timed_out(time_t now) {
  now_ = now;
  switch (phase_) {
    case Phase::kHead:
      fail(408);
      break;
    case Phase::kBody:  // (only while an exchange is active)
      answer_instead(408, AbortReason::kTimeout);
      break;
    case Phase::kHandler:
      answer_instead(504, AbortReason::kTimeout);
      break;
    default:  // idle: nothing to say
      break;
  }
  phase_ = Phase::kClosing;
  release_idle_buffers();
}

void Connection::reset(AbortReason why) {
  if (active_) abort_handler(why);
  if (gate_token_ != 0) {
    ctx_.gate->release_connection(gate_token_);
    gate_token_ = 0;
  }
  if (ex_ && ex_->gathered) {
    ctx_.body_buffers.give(ex_->gathered, ex_->body_bytes);
    ex_->gathered = {};
  }
  active_ = false;
  ++generation_;
  out_.clear();
  if (out_.attached()) ctx_.output_pool.give(out_.detach());
  if (input_) ctx_.input_pool.give(input_);
  ctx_.exchanges.give(ex_);
  input_ = nullptr;
  ex_ = nullptr;
  start_ = end_ = scanned_ = keep_ = cur_ = 0;
  phase_ = Phase::kIdle;
  draining_ = peer_done_ = processing_ = wake_pending_ = answered_one_ = awaiting_proxy_ = false;
}

bool Connection::should_close() const {
  if (!out_.empty()) return false;
  if (phase_ == Phase::kClosing) return true;
  return phase_ == Phase::kIdle && unread() == 0 && peer_done_;
}

bool Connection::backpressured() const {
  if (!out_.attached()) return false;
  return out_.pending_bytes() > ctx_.config.max_pending_output ||
         out_.room() < ctx_.config.min_output_room ||
         out_.segment_count() + kSegmentsPerResponse + 1 > OutputQueue::kMaxSegments;
}

// --- requests ---------------------------------------------------------------------------------

void Connection::process() {
  if (processing_) return;  // a handler call made from inside: the loop below carries on
  processing_ = true;
  while (phase_ != Phase::kClosing) {
    if (active_) {
      if (!advance()) break;
      continue;
    }
    if (backpressured()) break;
    if (unread() == 0) {
      phase_ = peer_done_ ? Phase::kClosing : Phase::kIdle;
      break;
    }
    if (awaiting_proxy_ && !read_proxy_header()) break;
    if (!parse_head()) break;
  }
  processing_ = false;
  if (active_ && phase_ != Phase::kClosing) {
    const Exchange& x = *ex_;
    phase_ = x.delayed                                         ? Phase::kDelayed
             : x.tunnel                                        ? Phase::kTunnel
             : x.body == Exchange::Body::kReading && !x.paused ? Phase::kBody
                                                               : Phase::kHandler;
  }
  release_idle_buffers();
}

bool Connection::parse_head() {
  phase_ = Phase::kHead;
  Exchange& x = *ex_;
  ParseResult r =
      parse_request({head(), unread()}, ctx_.config.parser, x.request, x.headers, scanned_);
  if (r.status == ParseStatus::kPartial) {
    scanned_ = unread();
    if (peer_done_) phase_ = Phase::kClosing;  // the peer stopped mid-request: nothing to answer
    return false;
  }
  scanned_ = 0;
  if (r.status == ParseStatus::kError) {
    fail(r.http_status);
    return false;
  }
  start_exchange(r.consumed);
  return phase_ != Phase::kClosing;
}

bool Connection::read_proxy_header() {
  phase_ = Phase::kHead;  // the header timeout applies
  ProxyHeader h = parse_proxy_header(head(), unread());
  if (h.status == ProxyHeader::Status::kPartial) {
    if (peer_done_) phase_ = Phase::kClosing;
    return false;
  }
  if (h.status == ProxyHeader::Status::kError) {
    phase_ = Phase::kClosing;  // not a proxy speaking the protocol: nothing to answer it
    return false;
  }
  if (h.has_source) {
    peer_.family = h.family;
    std::memcpy(peer_.bytes, h.source, sizeof peer_.bytes);
  }
  start_ += h.consumed;
  awaiting_proxy_ = false;
  return true;
}

void Connection::start_exchange(uint32_t head_len) {
  Exchange& x = *ex_;
  const Request& req = x.request;
  if (req.has_body() && start_ > 0) {
    // A body wants the whole block behind its head: move the head to the front first (spans
    // are relative to it), before any view points into it.
    std::memmove(input_, input_ + start_, unread());
    end_ -= start_;
    start_ = 0;
  }
  active_ = true;
  ++generation_;
  x.head_len = head_len;
  keep_ = cur_ = head_len;
  x.gathered = {};
  x.body_bytes = 0;
  x.started_ns = ctx_.event_ns;
  x.handled = x.paused = x.wants_writable = x.close_after = x.delayed = x.tunnel = false;
  x.upstream_address = {};
  x.upstream_status = 0;
  x.upstream_us = 0;
  x.handler_live = true;
  x.mode = BodyMode::kRefuse;
  x.body = req.has_body() ? Exchange::Body::kReading : Exchange::Body::kNone;
  x.peer = peer_;
  x.extra_len = 0;
  x.content_encoding_len = 0;
  x.response.begin(this, RequestView(req, head(), {}, &x.peer), generation_);
  if (ctx_.gate == nullptr || admit()) begin_body(nullptr);
}

bool Connection::admit() {
  Exchange& x = *ex_;
  AccessVerdict v = ctx_.gate->admit(x.response.request(), &x.peer, x.extra_fields);
  x.extra_len = std::min<uint32_t>(v.extra_len, kExtraFieldBytes);
  if (v.outcome != AccessVerdict::kRefuse && gate_token_ == 0 &&
      !ctx_.gate->admit_connection(x.peer, &gate_token_)) {
    v.outcome = AccessVerdict::kRefuse;  // too many connections from this client
    v.status = 503;
    x.close_after = true;
  }
  switch (v.outcome) {
    case AccessVerdict::kPass:
      return true;
    case AccessVerdict::kDelay:
      // Nothing more happens (no reading, no handler) until the timer: on_delay_over().
      x.delayed = ctx_.events != nullptr && ctx_.events->delay(*this, generation_, v.delay_us);
      return !x.delayed;
    case AccessVerdict::kRefuse:
      begin_body(&v);
      return false;
  }
  return true;
}

// `refusal`: the access stage refused the request; its body is discarded like any refused one.
void Connection::begin_body(const AccessVerdict* refusal) {
  Exchange& x = *ex_;
  const Request& req = x.request;
  if (!req.has_body()) {
    if (refusal != nullptr) {
      refuse(*refusal);
    } else {
      call_handler();
    }
    return;
  }
  if (req.chunked) {
    x.framing.start_chunked(ctx_.config.chunked);
  } else {
    x.framing.start_length(static_cast<uint64_t>(req.content_length));
  }
  const bool body_arrived = unread() > x.head_len;
  const uint64_t length = req.chunked ? 0 : static_cast<uint64_t>(req.content_length);
  x.mode = refusal != nullptr ? BodyMode::kRefuse : ctx_.handler.body_mode(x.response.request());
  uint16_t too_large = 0;
  if (x.mode == BodyMode::kGather && length > gather_limit()) {
    too_large = 413;  // said before reading; the body is then refused like any other
    x.mode = BodyMode::kRefuse;
  }
  if (x.mode == BodyMode::kRefuse) {
    // A client waiting for "100 Continue" will not send the body; one too large to read
    // through is not read. Either way the connection closes after the answer.
    if ((req.expect_continue && !body_arrived) || length > ctx_.config.max_discard_bytes) {
      x.body = Exchange::Body::kSkipped;
      x.close_after = true;
    }
    // What has arrived of the body is checked before anyone answers: a framing error there is
    // a 400, whatever the handler would have said.
    if (x.body == Exchange::Body::kReading && !read_body()) return;
    if (refusal != nullptr) {
      refuse(*refusal);
    } else if (too_large != 0) {
      answer_instead(too_large, AbortReason::kBadBody, false);
    } else {
      call_handler();
    }
    return;
  }
  if (req.expect_continue && !body_arrived) send_continue();
  if (x.mode == BodyMode::kGather) {
    if (x.head_len + length > ctx_.input_pool.block_size()) {
      x.gathered = ctx_.body_buffers.take();
      if (!x.gathered) answer_instead(503, AbortReason::kBadBody);
    }
    return;  // handle() once the body is in (advance())
  }
  call_handler();  // kStream: on_body() follows from advance()
}

// The access stage's refusal, in place of the handler (which never hears of the request).
void Connection::refuse(const AccessVerdict& v) {
  Exchange& x = *ex_;
  Response& r = x.response;
  r.status(v.status)
      .header("Content-Type", kErrorType)
      .header("Retry-After", std::max<uint32_t>(v.retry_after_s, 1))
      .body(reason_phrase(v.status));
  x.handler_live = false;
  if (!r.finished()) phase_ = Phase::kClosing;  // not even that fitted
}

void Connection::on_delay_over(uint32_t generation, time_t now) {
  if (!active_ || generation != generation_ || !ex_->delayed) return;
  now_ = now;
  ex_->delayed = false;
  processing_ = true;  // what the handler does from inside needs no wake: process() follows
  begin_body(nullptr);
  processing_ = false;
  process();
}

void Connection::send_continue() {
  if (!ensure_output() || !out_.append(kContinue.data(), kContinue.size())) {
    phase_ = Phase::kClosing;
  }
}

bool Connection::advance() {
  Exchange& x = *ex_;
  if (x.delayed) return false;
  if (x.body == Exchange::Body::kReading && !x.paused && !read_body()) return false;
  if (phase_ == Phase::kClosing) return false;
  if (x.mode == BodyMode::kGather && x.body == Exchange::Body::kNone && !x.handled) {
    std::string_view body = x.gathered ? std::string_view(x.gathered.data, x.body_bytes)
                                       : std::string_view(head() + x.head_len, keep_ - x.head_len);
    x.response.request_ = RequestView(x.request, head(), body, &x.peer);
    call_handler();
    if (phase_ == Phase::kClosing) return false;
  }
  if (x.wants_writable && x.response.streaming() && stream_room() > 0) {
    x.wants_writable = false;
    ctx_.handler.on_writable(x.response);
    // What it did from inside (resumed the body, ended the response) asked for no wake: look
    // again from the top. It fires again only after write() took less, so this ends.
    return phase_ != Phase::kClosing;
  }
  if (x.response.finished() && x.body != Exchange::Body::kReading) {
    finish_exchange();
    return phase_ != Phase::kClosing;
  }
  return false;  // waiting for bytes or for the handler
}

bool Connection::read_body() {
  Exchange& x = *ex_;
  while (x.body == Exchange::Body::kReading && !x.paused) {
    BodyStep s = x.framing.step(head() + cur_, unread() - cur_);
    const char* data = head() + cur_ + s.data_offset;
    cur_ += s.consumed;
    if (s.kind == BodyStep::Kind::kNeedMore) break;
    if (s.kind == BodyStep::Kind::kError) {
      answer_instead(s.http_status, AbortReason::kBadBody);
      return false;
    }
    if (s.kind == BodyStep::Kind::kDone) {
      x.body = Exchange::Body::kNone;
      if (x.mode == BodyMode::kStream && x.handler_live) ctx_.handler.on_body_end(x.response);
      break;
    }
    if (!deliver(data, s.data_length)) break;
  }
  if (phase_ == Phase::kClosing) return false;
  if (x.body == Exchange::Body::kReading && !x.paused && cur_ == unread() && peer_done_) {
    abort_handler(AbortReason::kClientGone);  // the body can never be complete
    phase_ = Phase::kClosing;
    return false;
  }
  return true;
}

bool Connection::deliver(const char* data, uint32_t len) {
  Exchange& x = *ex_;
  x.body_bytes += len;
  switch (x.mode) {
    case BodyMode::kRefuse:
      if (x.body_bytes > ctx_.config.max_discard_bytes) {
        x.body = Exchange::Body::kSkipped;  // past the bound: answer, then close
        x.close_after = true;
        return false;
      }
      return true;
    case BodyMode::kGather:
      return gather_bytes(data, len);
    case BodyMode::kStream:
      if (x.handler_live) ctx_.handler.on_body(x.response, {data, len});
      return phase_ != Phase::kClosing;
  }
  return true;
}

bool Connection::gather_bytes(const char* data, uint32_t len) {
  Exchange& x = *ex_;
  if (x.body_bytes > gather_limit()) {
    answer_instead(413, AbortReason::kBadBody);  // a chunked body crossing the limit
    return false;
  }
  if (x.gathered) {
    std::memcpy(x.gathered.data + (x.body_bytes - len), data, len);
  } else {
    std::memmove(input_ + start_ + keep_, data, len);  // down over decoded framing
    keep_ += len;
  }
  return true;
}

void Connection::call_handler() {
  Exchange& x = *ex_;
  x.handled = true;
  Response& r = x.response;
  ctx_.handler.handle(r.request(), r);
  if (x.handler_live && !r.finished() && !r.deferred_) {
    // Neither answered nor deferred (or the answer did not fit): 500, then close.
    x.handler_live = false;
    answer_instead(500, AbortReason::kShutdown);
  }
}

void Connection::abort_handler(AbortReason why) {
  Exchange& x = *ex_;
  if (!x.handler_live) return;
  x.handler_live = false;
  x.wants_writable = x.paused = false;
  if (x.handled) ctx_.handler.on_abort(x.response, why);
}

void Connection::answer_instead(uint16_t status, AbortReason why, bool close) {
  Exchange& x = *ex_;
  abort_handler(why);
  if (x.body == Exchange::Body::kReading && close) x.body = Exchange::Body::kSkipped;
  Response& r = x.response;
  if (r.state_ == Response::State::kNone || r.state_ == Response::State::kHead) {
    if (close) x.close_after = true;
    x.handler_live = true;  // the connection answers through the handler's own Response
    r.state_ = Response::State::kNone;
    r.send(status, kErrorType, reason_phrase(status));
    x.handler_live = false;
    if (!r.finished()) phase_ = Phase::kClosing;  // not even that fitted
  } else {
    phase_ = Phase::kClosing;  // a response has begun: all that can be done is to end it here
  }
}

void Connection::finish_exchange() {
  Exchange& x = *ex_;
  if (x.gathered) {
    ctx_.body_buffers.give(x.gathered, x.body_bytes);
    x.gathered = {};
  }
  start_ += cur_;
  keep_ = cur_ = 0;
  active_ = false;
  phase_ = x.close_after ? Phase::kClosing : Phase::kIdle;
}

void Connection::fail(uint16_t status) {
  phase_ = Phase::kClosing;
  if (!ensure_output()) return;
  std::string_view text = reason_phrase(status);
  ResponseWriter w(out_.tail(), out_.room());
  w.status_line(status)
      .date(ctx_.dates, now_)
      .header("Content-Type", kErrorType)
      .content_length(text.size())
      .connection_close()
      .end_headers()
      .body(text);
  if (w.ok() && out_.commit(w.size())) report(nullptr, status, text.size(), ctx_.event_ns);
}

void Connection::report(const RequestView* request, uint16_t status, uint64_t body_bytes,
                        uint64_t started_ns) {
  if (ctx_.observer) {
    const PeerAddress* peer = request != nullptr ? &ex_->peer : &peer_;
    ResponseRecord record{request,       status, body_bytes, peer, started_ns,
                          answered_one_, {},     {},         0,    0};
    if (request != nullptr) {
      record.content_encoding = {ex_->content_encoding, ex_->content_encoding_len};
      record.upstream_address = ex_->upstream_address;
      record.upstream_status = ex_->upstream_status;
      record.upstream_us = ex_->upstream_us;
    }
    ctx_.observer->on_response(record);
  }
}

bool Connection::ensure_output() {
  if (out_.attached()) return true;
  char* block = ctx_.output_pool.take();
  if (!block) return false;
  out_.attach(block, ctx_.output_pool.block_size());
  return true;
}

void Connection::release_idle_buffers() {
  if (out_.empty() && out_.attached()) ctx_.output_pool.give(out_.detach());
  if (input_ && !active_ && unread() == 0) {
    ctx_.input_pool.give(input_);
    ctx_.exchanges.give(ex_);
    input_ = nullptr;
    ex_ = nullptr;
    start_ = end_ = scanned_ = 0;
  }
}

void Connection::request_wake() {
  if (processing_ || wake_pending_ || ctx_.events == nullptr) return;
  wake_pending_ = true;
  ctx_.events->wake(*this);
}

// --- what Response asks -------------------------------------------------------------------------

bool Connection::decide_keep_alive(const Response& r) {
  Exchange& x = *ex_;
  bool keep = x.request.keep_alive && !draining_ && !x.close_after &&
              r.framing_ != Response::Framing::kClose && phase_ != Phase::kClosing;
  if (!keep) x.close_after = true;
  return keep;
}

void Connection::on_response_complete(Response& r) {
  Exchange& x = *ex_;
  x.handler_live = false;
  x.wants_writable = false;
  if (x.tunnel) {
    x.body = Exchange::Body::kSkipped;  // the tunnel's end: nothing more is read
  } else if (x.body == Exchange::Body::kReading && x.mode == BodyMode::kStream) {
    // Answered before the end of a streamed body: the rest is discarded, with its framing checked.
    x.mode = BodyMode::kRefuse;
    x.body_bytes = 0;
    x.paused = false;
  }
  report(&r.request(), r.status_code(), r.body_bytes(), x.started_ns);
  answered_one_ = true;
  request_wake();
}

void Connection::close_unanswered() {
  Exchange& x = *ex_;
  x.handler_live = false;
  x.wants_writable = x.paused = false;
  if (x.body == Exchange::Body::kReading) x.body = Exchange::Body::kSkipped;
  phase_ = Phase::kClosing;
  request_wake();
}

void Connection::start_tunnel() {
  Exchange& x = *ex_;
  x.tunnel = true;
  x.close_after = true;
  x.mode = BodyMode::kStream;
  x.body = Exchange::Body::kReading;
  x.framing.start_length(UINT64_MAX);  // every byte is data, and there is no end
  x.paused = false;
}

void Connection::on_response_progress() {
  request_wake();
}

size_t Connection::stream_room() {
  if (!ensure_output() || out_.full()) return 0;
  size_t room = out_.room();
  uint64_t pending = out_.pending_bytes();
  if (room <= kChunkOverhead || pending >= ctx_.config.max_pending_output) return 0;
  return std::min<uint64_t>(room - kChunkOverhead, ctx_.config.max_pending_output - pending);
}

bool Connection::end_stream(Response& r) {
  if (r.framing_ == Response::Framing::kChunked && !r.head_only_) {
    if (!ensure_output() || !out_.append(kLastChunk.data(), kLastChunk.size())) return false;
  }
  return true;
}

}  // namespace zhttp::conn
