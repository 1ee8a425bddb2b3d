#include "conn/connection.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "zhttp/status.hpp"

namespace zhttp::conn {
namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// Most segments one response can add (head, then external bytes or a file).
constexpr size_t kSegmentsPerResponse = 2;

}  // namespace

Connection::~Connection() {
  reset();
}

std::span<char> Connection::read_space() {
  if (!wants_read()) return {};
  if (!input_) {
    input_ = ctx_.input_pool.take();
    if (!input_) return {};
    start_ = end_ = scanned_ = 0;
  }
  if (start_ > 0) {
    // Unread bytes move to the front; positions of a request in progress are relative to
    // start_, so they stay valid.
    std::memmove(input_, input_ + start_, unread());
    end_ -= start_;
    start_ = 0;
  }
  return {input_ + end_, ctx_.input_pool.block_size() - end_};
}

void Connection::on_read(size_t n, time_t now) {
  now_ = now;
  end_ += static_cast<uint32_t>(n);
  process(now);
}

void Connection::on_eof(time_t now) {
  now_ = now;
  peer_done_ = true;
  process(now);
}

void Connection::on_sent(size_t n, time_t now) {
  now_ = now;
  out_.consume(n);
  if (phase_ != Phase::kClosing) process(now);
  release_idle_buffers();
}

void Connection::drain() {
  draining_ = true;
}

void Connection::timed_out(time_t now) {
  now_ = now;
  if (phase_ == Phase::kHead || phase_ == Phase::kBody) {
    fail(408);
  } else {
    phase_ = Phase::kClosing;
  }
}

void Connection::reset() {
  out_.clear();
  if (out_.attached()) ctx_.output_pool.give(out_.detach());
  if (input_) ctx_.input_pool.give(input_);
  input_ = nullptr;
  start_ = end_ = scanned_ = 0;
  phase_ = Phase::kIdle;
  draining_ = peer_done_ = false;
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

void Connection::process(time_t now) {
  now_ = now;
  while (phase_ != Phase::kClosing && !backpressured()) {
    if (phase_ == Phase::kBody) {
      if (!read_body()) break;
      continue;
    }
    if (unread() == 0) {
      phase_ = peer_done_ ? Phase::kClosing : Phase::kIdle;
      break;
    }
    if (!parse_head()) break;
  }
  release_idle_buffers();
}

bool Connection::parse_head() {
  phase_ = Phase::kHead;
  ParseResult r =
      parse_request({head(), unread()}, ctx_.config.parser, ctx_.request, ctx_.headers, scanned_);
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
  head_len_ = r.consumed;
  if (ctx_.request.has_body()) return start_body();
  dispatch({}, true);
  start_ += head_len_;
  return phase_ != Phase::kClosing;
}

bool Connection::start_body() {
  const Request& req = ctx_.request;
  const uint64_t room = ctx_.input_pool.block_size() - head_len_;
  const uint64_t limit = std::min<uint64_t>(ctx_.config.max_body_bytes, room);
  if (!req.chunked && static_cast<uint64_t>(req.content_length) > limit) {
    fail(413);
    return false;
  }
  if (!ctx_.handler.wants_body(RequestView(req, head(), {}, ctx_.peer))) {
    // Answer without reading the body; its bytes cannot be told from a next request, so close.
    dispatch({}, false);
    return false;
  }
  if (req.expect_continue && unread() == head_len_) {
    if (!ensure_output() || !out_.append(kContinue.data(), kContinue.size())) {
      phase_ = Phase::kClosing;
      return false;
    }
  }
  content_length_ = req.content_length;
  chunked_body_ = req.chunked;
  body_end_ = decode_pos_ = head_len_;
  chunked_ = ChunkedDecoder(ctx_.config.chunked);
  phase_ = Phase::kBody;
  return true;
}

bool Connection::read_body() {
  if (!chunked_body_) {
    const size_t need = head_len_ + static_cast<size_t>(content_length_);
    if (unread() < need) {
      if (peer_done_) phase_ = Phase::kClosing;
      return false;
    }
    dispatch({head() + head_len_, static_cast<size_t>(content_length_)}, true);
    start_ += static_cast<uint32_t>(need);
    if (phase_ != Phase::kClosing) phase_ = Phase::kHead;
    return phase_ != Phase::kClosing;
  }
  // Chunked: data is moved down over the framing already decoded, so the body ends up
  // contiguous right after the head.
  char* base = input_ + start_;
  while (decode_pos_ < unread()) {
    ChunkResult r = chunked_.decode(base + decode_pos_, unread() - decode_pos_);
    if (r.status == ChunkStatus::kData) {
      std::memmove(base + body_end_, base + decode_pos_ + r.data.off, r.data.len);
      body_end_ += r.data.len;
      if (body_end_ - head_len_ > ctx_.config.max_body_bytes) {
        fail(413);
        return false;
      }
    }
    decode_pos_ += r.consumed;
    if (r.status == ChunkStatus::kError) {
      fail(r.http_status);
      return false;
    }
    if (r.status == ChunkStatus::kDone) {
      dispatch({base + head_len_, body_end_ - head_len_}, true);
      start_ += decode_pos_;
      if (phase_ != Phase::kClosing) phase_ = Phase::kHead;
      return phase_ != Phase::kClosing;
    }
  }
  // Need more: drop the decoded framing so the next read has room.
  end_ -= decode_pos_ - body_end_;
  decode_pos_ = body_end_;
  if (peer_done_) {
    phase_ = Phase::kClosing;
  } else if (start_ == 0 && end_ == ctx_.input_pool.block_size()) {
    fail(413);  // the body does not fit in the buffer
  }
  return false;
}

bool Connection::ensure_output() {
  if (out_.attached()) return true;
  char* block = ctx_.output_pool.take();
  if (!block) return false;
  out_.attach(block, ctx_.output_pool.block_size());
  return true;
}

void Connection::dispatch(std::string_view body, bool may_keep_alive) {
  if (phase_ == Phase::kBody) {
    // Other connections parsed into the shared scratch since this head was read: again.
    parse_request({head(), head_len_}, ctx_.config.parser, ctx_.request, ctx_.headers);
  }
  const Request& req = ctx_.request;
  if (!ensure_output()) {
    phase_ = Phase::kClosing;
    return;
  }
  bool keep = may_keep_alive && req.keep_alive && !draining_;
  Response::Context rc{
      &out_, &ctx_.dates, now_, req.method == Method::kHead, keep, req.version_minor == 0 && keep};
  Response response(rc, out_.tail(), out_.room());
  RequestView view(req, head(), body, ctx_.peer);
  ctx_.handler.handle(view, response);
  if (response.finished()) {
    report(&view, response);
  } else {
    // An unfinished response queued nothing; answer 500 and close.
    rc.keep_alive = rc.http10_keepalive = false;
    Response error(rc, out_.tail(), out_.room());
    error.send(500, "text/plain; charset=utf-8", reason_phrase(500));
    report(&view, error);
    keep = false;
  }
  if (!keep) phase_ = Phase::kClosing;
}

void Connection::fail(uint16_t status) {
  phase_ = Phase::kClosing;
  if (!ensure_output()) return;
  Response::Context rc{&out_, &ctx_.dates, now_, false, false, false};
  Response response(rc, out_.tail(), out_.room());
  response.send(status, "text/plain; charset=utf-8", reason_phrase(status));
  report(nullptr, response);
}

void Connection::report(const RequestView* request, const Response& response) {
  if (ctx_.observer && response.finished()) {
    ctx_.observer->on_response({request, response.status_code(), response.body_bytes()});
  }
}

void Connection::release_idle_buffers() {
  if (out_.empty() && out_.attached()) ctx_.output_pool.give(out_.detach());
  if (input_ && unread() == 0 && phase_ != Phase::kBody) {
    ctx_.input_pool.give(input_);
    input_ = nullptr;
    start_ = end_ = scanned_ = 0;
  }
}

}  // namespace zhttp::conn
