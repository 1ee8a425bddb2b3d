#include "handlers/proxy/proxy_call.hpp"

#include <algorithm>
#include <cstring>
#include <ctime>

#include "handlers/common/client_address.hpp"
#include "log/address_text.hpp"
#include "log/error_log.hpp"
#include "shm/rate_table.hpp"

namespace zhttp::handlers::proxy {
namespace {

// Monotonic milliseconds, the balancer's clock (its health windows).
uint64_t now_ms() {
  return shm::monotonic_us() / 1000;
}

constexpr std::string_view kErrorType = "text/plain; charset=utf-8";

const char* error_text(uint16_t status) {
  switch (status) {
    case 503:
      return "Service Unavailable\n";
    case 504:
      return "Gateway Timeout\n";
    case 500:
      return "Internal Server Error\n";
    default:
      return "Bad Gateway\n";
  }
}

}  // namespace

bool ProxyCall::start(CallContext& context, const ProxyRoute& route, Response& response,
                      bool streamed_body) {
  ctx_ = &context;
  block_ = context.buffers.take();
  if (block_ == nullptr) return false;
  response_ = &response;
  route_ = &route;
  group_ = route.group;
  tried_ = 0;
  attempts_ = 0;
  picked_ = false;
  link_ = nullptr;
  const RequestView& r = response.request();
  idempotent_ = idempotent(r.method());
  streamed_body_ = streamed_body && r.request().has_body();
  plan_ = {};
  if (r.request().chunked) {
    plan_ = {BodyPlan::Kind::kChunked, 0};
  } else if (r.request().content_length > 0) {
    plan_ = {BodyPlan::Kind::kLength, static_cast<uint64_t>(r.request().content_length)};
  }
  gathered_sent_ = 0;
  stage_len_ = stage_sent_ = 0;
  body_written_ = false;
  body_paused_ = false;
  client_body_done_ = !streamed_body_;
  fresh_retry_ = false;
  upgrade_asked_ = r.request().upgrade && r.method() == Method::kGet;
  tunnel_ = false;
  answer_begun_ = false;
  done_ = false;
  stage_ = Stage::kIdle;
  started_us_ = shm::monotonic_us();

  // The head is the same for every attempt: written once.
  char address[log::kMaxAddressChars];
  size_t address_len = common::format_address(r.peer(), address);
  ForwardFacts facts;
  // A connection without a socket address (a unix listener, a test) is named "unknown", as in
  // RFC 7239's obfuscated identifiers.
  facts.client_address = address_len > 0 ? std::string_view(address, address_len) : "unknown";
  facts.default_host = context.config.groups[group_].name;
  facts.upgrade = upgrade_asked_;
  head_len_ =
      static_cast<uint32_t>(write_request_head({block_, kHeadArea}, r, route, facts, plan_));
  response.defer();
  response.set_user(this);
  if (head_len_ == 0) {
    log("the request head does not fit the forwarding buffer");
    answer_error(500);
    return true;
  }
  attempt(false);
  return true;
}

void ProxyCall::attempt(bool fresh) {
  const UpstreamGroup& group = ctx_->config.groups[group_];
  if (!fresh) {
    uint32_t server = 0;
    Pick pick = ctx_->balancer.pick(group_, response_->request(), tried_, now_ms(), &server);
    if (pick != Pick::kPicked) {
      if (ctx_->error_log != nullptr) {
        ctx_->error_log->log(
            log::Level::kError, "upstream group \"%s\": %s", group.name.c_str(),
            pick == Pick::kAllBusy ? "every server is at max_conns" : "no server is up");
      }
      answer_error(503);
      return;
    }
    server_ = server;
    picked_ = true;
    if (server < 64) tried_ |= uint64_t{1} << server;
    ++attempts_;  // not for the retry on a new connection: the same server, not one more
  }
  head_sent_ = 0;
  gathered_sent_ = 0;
  stage_sent_ = 0;
  in_len_ = in_pos_ = 0;
  pending_pos_ = pending_len_ = 0;
  interim_ = 0;
  chunked_.reset();
  got_bytes_ = head_done_ = whole_ = upstream_ended_ = request_sent_ = false;
  stage_ = Stage::kConnecting;
  const UpstreamServer& s = group.servers[server_];
  bool refused = false;
  link_ = ctx_->links.open(group_, server_, reinterpret_cast<const sockaddr*>(&s.sockaddr),
                           s.sockaddr_len, ctx_->config.timeouts.connect, fresh, *this, &refused);
  if (link_ != nullptr) return;
  if (refused) return fail(Outcome::kConnectError, 502, "cannot connect");
  log("no connection can be opened now (descriptors or slots used up)");
  finish_attempt(Outcome::kAbandoned);
  answer_error(502);
}

void ProxyCall::on_link_ready(conn::UpstreamLink& link) {
  ctx_->balancer.count_connection(group_, server_, link.reused());
  stage_ = Stage::kExchanging;
  send_some();
  if (stage_ == Stage::kExchanging) update_watch();
}

void ProxyCall::on_link_io(conn::UpstreamLink&, bool readable, bool writable) {
  if (writable) send_some();
  if (readable && stage_ == Stage::kExchanging) read_some();
  if (stage_ == Stage::kExchanging) update_watch();
}

void ProxyCall::on_link_failed(conn::UpstreamLink&, conn::LinkFailure why) {
  if (why == conn::LinkFailure::kConnect) {
    fail(Outcome::kConnectError, 502, "cannot connect");
  } else if (stage_ == Stage::kConnecting) {
    fail(Outcome::kTimeout, 504, "timed out connecting");
  } else if (!request_sent_) {
    fail(Outcome::kTimeout, 504, "timed out sending the request");
  } else {
    fail(Outcome::kTimeout, 504, "timed out reading the response");
  }
}

// --- the request -----------------------------------------------------------------------------

void ProxyCall::send_some() {
  if (stage_ != Stage::kExchanging) return;
  std::string_view gathered = streamed_body_ ? std::string_view() : response_->request().body();
  iovec iov[3];
  int n = 0;
  if (head_sent_ < head_len_) iov[n++] = {block_ + head_sent_, head_len_ - head_sent_};
  if (gathered_sent_ < gathered.size()) {
    iov[n++] = {const_cast<char*>(gathered.data()) + gathered_sent_,
                gathered.size() - gathered_sent_};
  }
  if (stage_sent_ < stage_len_) {
    iov[n++] = {block_ + kHeadArea + stage_sent_, stage_len_ - stage_sent_};
  }
  if (n > 0) {
    ssize_t k = link_->write(iov, n);
    if (k < 0) {
      fail(Outcome::kError, 502, "connection lost while sending the request");
      return;
    }
    uint64_t left = static_cast<uint64_t>(k);
    uint64_t take = std::min<uint64_t>(left, head_len_ - head_sent_);
    head_sent_ += static_cast<uint32_t>(take);
    left -= take;
    take = std::min<uint64_t>(left, gathered.size() - gathered_sent_);
    gathered_sent_ += take;
    left -= take;
    take = std::min<uint64_t>(left, stage_len_ - stage_sent_);
    stage_sent_ += static_cast<uint32_t>(take);
    if (take > 0) body_written_ = true;
  }
  if (stage_sent_ == stage_len_) {
    stage_len_ = stage_sent_ = 0;
    if (body_paused_) {
      body_paused_ = false;
      response_->resume_body();
    }
  }
  request_sent_ = head_sent_ == head_len_ && gathered_sent_ == gathered.size() && stage_len_ == 0 &&
                  client_body_done_;
}

void ProxyCall::on_body(std::string_view bytes) {
  if (done_) return;
  char* stage = block_ + kHeadArea;
  if (stage_sent_ > 0) {  // what was sent makes room
    std::memmove(stage, stage + stage_sent_, stage_len_ - stage_sent_);
    stage_len_ -= stage_sent_;
    stage_sent_ = 0;
  }
  const bool chunked = plan_.kind == BodyPlan::Kind::kChunked;
  if (stage_len_ + bytes.size() + (chunked ? 24 : 0) > stage_capacity()) {
    // Not expected: the body is paused while anything is staged, and one piece fits.
    log("a streamed request body piece does not fit the staging area");
    fail(Outcome::kAbandoned, 502, "request body staging overflow");
    return;
  }
  char* p = stage + stage_len_;
  if (chunked) {
    static constexpr char kHex[] = "0123456789abcdef";
    char digits[16];
    size_t d = 0;
    for (size_t v = bytes.size(); v > 0; v >>= 4) digits[d++] = kHex[v & 15];
    while (d > 0) *p++ = digits[--d];
    *p++ = '\r';
    *p++ = '\n';
  }
  std::memcpy(p, bytes.data(), bytes.size());
  p += bytes.size();
  if (chunked) {
    *p++ = '\r';
    *p++ = '\n';
  }
  stage_len_ = static_cast<uint32_t>(p - stage);
  send_some();
  if (done_) return;
  if (stage_len_ > 0 && !body_paused_) {
    body_paused_ = true;
    response_->pause_body();
  }
  if (stage_ == Stage::kExchanging) update_watch();
}

void ProxyCall::on_body_end() {
  if (done_) return;
  client_body_done_ = true;
  if (plan_.kind == BodyPlan::Kind::kChunked) {
    static constexpr std::string_view kLast = "0\r\n\r\n";
    std::memcpy(block_ + kHeadArea + stage_len_, kLast.data(), kLast.size());
    stage_len_ += static_cast<uint32_t>(kLast.size());
  }
  send_some();
  if (stage_ == Stage::kExchanging) update_watch();
}

// --- the response ----------------------------------------------------------------------------

void ProxyCall::read_some() {
  char* area = response_area();
  if (head_done_ && !whole_ && in_pos_ == in_len_) in_pos_ = in_len_ = 0;  // all handled
  if (in_len_ == response_room() && in_pos_ > 0 && !whole_) {
    std::memmove(area, area + in_pos_, in_len_ - in_pos_);
    in_len_ -= in_pos_;
    in_pos_ = 0;
  }
  if (in_len_ == response_room()) return;  // (the parser refuses a head this large first)
  ssize_t n = link_->read(area + in_len_, response_room() - in_len_);
  if (n == -1) return;
  if (n == -2) {
    fail(Outcome::kError, 502,
         got_bytes_ ? "connection reset while reading the response"
                    : "connection reset before the response");
    return;
  }
  if (n == 0) {
    upstream_ended_ = true;
    on_upstream_end();
    return;
  }
  got_bytes_ = true;
  in_len_ += static_cast<uint32_t>(n);
  if (!head_done_) {
    parse_head();
    if (!head_done_ || done_) return;
  }
  forward_body();
}

void ProxyCall::parse_head() {
  const char* area = response_area();
  http::ResponseLimits limits;
  limits.max_head_bytes = std::min<uint32_t>(limits.max_head_bytes, response_room());
  limits.max_headers = static_cast<uint32_t>(headers_.size());
  for (;;) {
    std::string_view input(area + in_pos_, in_len_ - in_pos_);
    http::ResponseResult r =
        http::parse_response(input, response_->request().method(), limits, head_, headers_);
    if (r.status == ParseStatus::kPartial) return;
    if (r.status == ParseStatus::kError) {
      fail(Outcome::kError, 502, describe_head_error(r.error));
      return;
    }
    if (head_.interim) {  // 100, 102, 103: not forwarded (a final answer follows)
      if (++interim_ > kMaxInterim) {
        fail(Outcome::kError, 502, "too many interim (1xx) responses");
        return;
      }
      in_pos_ += r.consumed;
      continue;
    }
    if (head_.switched && !upgrade_asked_) {
      fail(Outcome::kError, 502, "switched protocols (101) although no upgrade was forwarded");
      return;
    }
    head_at_ = in_pos_;
    in_pos_ += r.consumed;
    head_done_ = true;
    break;
  }
  if (head_.switched) return begin_tunnel();
  begin_answer();
}

// A 101 to the client's upgrade: the 101 goes on with its Upgrade, and both connections become
// one byte tunnel (never pooled, never cached), idle for --proxy-tunnel-timeout at most.
void ProxyCall::begin_tunnel() {
  Response& r = *response_;
  if (!write_head()) return fail(Outcome::kResponse, 502, "response head too large");
  const char* base = response_area() + head_at_;
  if (const Header* upgrade = head_.find(HeaderId::kUpgrade)) {
    r.header("Upgrade", upgrade->value.in(base));
  }
  r.header("Connection", "upgrade");
  if (!r.tunnel()) {
    log("the client's output buffer has no room for the 101 head");
    note();
    r.abort();
    finish_attempt(Outcome::kAbandoned);
    return release();
  }
  tunnel_ = answer_begun_ = true;
  forward_body();  // bytes that came after the 101 head
}

const char* ProxyCall::describe_head_error(http::ResponseError e) {
  static char text[96];
  std::string_view d = http::describe(e);
  size_t n = std::min(d.size(), sizeof text - 32);
  std::memcpy(text, "invalid response head: ", 23);
  std::memcpy(text + 23, d.data(), n);
  text[23 + n] = '\0';
  return text;
}

// The upstream's status and fields, as the start of the client's answer. Dropped: the
// hop-by-hop fields, the framing (the client's answer is framed again) and Date (the worker
// writes its own).
//
// The parser has checked every field line already: runs of consecutive kept lines are copied as
// they came, one copy a run (a head usually makes one to three runs).
bool ProxyCall::write_head() {
  note();
  Response& r = *response_;
  const char* base = response_area() + head_at_;
  r.status(head_.status);
  uint32_t run_start = 0;
  uint32_t run_end = 0;  // run_start == run_end: no run open
  for (uint32_t i = 0; i < head_.header_count; ++i) {
    const Header& h = head_.headers[i];
    const bool dropped = h.id == HeaderId::kContentLength || h.id == HeaderId::kDate ||
                         http::is_hop_by_hop(h, head_, base);
    if (dropped) {
      if (run_end > run_start) r.header_lines({base + run_start, run_end - run_start});
      run_start = run_end = 0;
      continue;
    }
    // The line ends at the LF after the value (optional whitespace may come between).
    const uint32_t value_end = h.value.off + h.value.len;
    const void* lf = std::memchr(base + value_end, '\n', head_.head_bytes - value_end);
    const uint32_t line_end = static_cast<uint32_t>(static_cast<const char*>(lf) - base) + 1;
    if (run_end == run_start) run_start = h.name.off;
    run_end = line_end;
  }
  if (run_end > run_start) r.header_lines({base + run_start, run_end - run_start});
  if (r.failed()) {
    log("the response head does not fit the client's output buffer");
    return false;
  }
  return true;
}

void ProxyCall::begin_answer() {
  Response& r = *response_;
  const uint16_t status = head_.status;
  switch (head_.framing) {
    case http::BodyFraming::kNone:
      if (!write_head()) return fail(Outcome::kResponse, 502, "response head too large");
      if (status == 204 || status == 304 || status < 200) {
        r.no_body();
      } else if (head_.content_length >= 0) {  // HEAD: the length the GET would have
        r.stream(static_cast<uint64_t>(head_.content_length));
        note();
        r.end();
      } else {
        r.stream();
        note();
        r.end();
      }
      return complete();
    case http::BodyFraming::kContentLength:
      body_left_ = static_cast<uint64_t>(head_.content_length);
      // Small enough to hold whole: answered in one piece once it is in.
      if (in_pos_ + body_left_ <= response_room()) {
        whole_ = true;
        return;
      }
      if (!write_head()) return fail(Outcome::kResponse, 502, "response head too large");
      answer_begun_ = r.stream(body_left_);
      break;
    case http::BodyFraming::kChunked:
    case http::BodyFraming::kUntilClose:
      if (!write_head()) return fail(Outcome::kResponse, 502, "response head too large");
      answer_begun_ = r.stream();
      break;
  }
  if (!answer_begun_) {
    log("the client's output buffer has no room for the response head");
    note();
    r.abort();
    finish_attempt(Outcome::kAbandoned);
    release();
  }
}

bool ProxyCall::write_to_client(const char* data, uint32_t len, uint32_t* taken) {
  size_t n = response_->write({data, len});
  *taken = static_cast<uint32_t>(n);
  return n == len;
}

void ProxyCall::forward_body() {
  if (done_) return;
  char* area = response_area();
  Response& r = *response_;
  if (whole_) {
    const uint32_t have = in_len_ - in_pos_;
    if (have < body_left_) return;  // more to read (the block holds it all)
    if (!write_head()) return fail(Outcome::kResponse, 502, "response head too large");
    note();
    r.body({area + in_pos_, static_cast<size_t>(body_left_)});
    in_pos_ += static_cast<uint32_t>(body_left_);
    body_left_ = 0;
    return complete();
  }
  uint32_t taken = 0;
  switch (tunnel_ ? http::BodyFraming::kUntilClose : head_.framing) {
    case http::BodyFraming::kContentLength: {
      uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(body_left_, in_len_ - in_pos_));
      bool all = n == 0 || write_to_client(area + in_pos_, n, &taken);
      if (n == 0) taken = 0;
      in_pos_ += taken;
      body_left_ -= taken;
      if (!all) return;  // on_client_writable() goes on
      if (body_left_ == 0) {
        note();
        r.end();
        return complete();
      }
      return;
    }
    case http::BodyFraming::kUntilClose: {
      uint32_t n = in_len_ - in_pos_;
      if (n > 0 && !write_to_client(area + in_pos_, n, &taken)) {
        in_pos_ += taken;
        return;
      }
      in_pos_ += n;
      if (upstream_ended_) {
        note();
        r.end();
        return complete();
      }
      return;
    }
    case http::BodyFraming::kChunked:
      break;
    case http::BodyFraming::kNone:
      return;
  }
  // Chunked: decoded data the client did not take yet goes first.
  if (pending_len_ > 0) {
    if (!write_to_client(area + pending_pos_, pending_len_, &taken)) {
      pending_pos_ += taken;
      pending_len_ -= taken;
      return;
    }
    pending_len_ = 0;
  }
  while (in_pos_ < in_len_) {
    ChunkResult c = chunked_.decode(area + in_pos_, in_len_ - in_pos_);
    const uint32_t at = in_pos_;
    in_pos_ += c.consumed;
    if (c.status == ChunkStatus::kNeedMore) break;
    if (c.status == ChunkStatus::kError) {
      return fail(Outcome::kError, 502, "invalid chunked body from the upstream");
    }
    if (c.status == ChunkStatus::kDone) {
      note();
      r.end();
      return complete();
    }
    const uint32_t data_at = at + c.data.off;
    if (!write_to_client(area + data_at, c.data.len, &taken)) {
      pending_pos_ = data_at + taken;
      pending_len_ = c.data.len - taken;
      return;
    }
  }
  // A partial chunk line stays: moved to the start when the block fills (read_some()).
}

void ProxyCall::on_client_writable() {
  if (done_ || !answer_begun_) return;
  forward_body();
  if (!done_ && stage_ == Stage::kExchanging) update_watch();
}

void ProxyCall::on_upstream_end() {
  if (!head_done_) {
    return fail(Outcome::kError, 502,
                got_bytes_ ? "the upstream closed the connection in the middle of the head"
                           : "the upstream closed the connection before answering");
  }
  if ((tunnel_ || head_.framing == http::BodyFraming::kUntilClose) && !whole_)
    return forward_body();
  fail(Outcome::kError, 502, "the upstream closed the connection before the end of the body");
}

void ProxyCall::update_watch() {
  if (link_ == nullptr) return;
  std::string_view gathered = streamed_body_ ? std::string_view() : response_->request().body();
  const bool to_send =
      head_sent_ < head_len_ || gathered_sent_ < gathered.size() || stage_sent_ < stage_len_;
  // Not read while the client has not taken what was read (backpressure), nor after the end.
  const bool to_read =
      !upstream_ended_ && pending_len_ == 0 &&
      (!head_done_ || whole_ || in_pos_ == in_len_ || head_.framing == http::BodyFraming::kChunked);
  link_->watch(to_read, to_send);
  if (tunnel_) {
    link_->set_timeout(ctx_->config.timeouts.tunnel);  // idle both ways
  } else if (to_send) {
    link_->set_timeout(ctx_->config.timeouts.send);
  } else if (to_read && request_sent_) {
    link_->set_timeout(ctx_->config.timeouts.read);
  } else {
    link_->set_timeout(0);  // waiting for the client (its body, or its reading)
  }
}

// --- ends ------------------------------------------------------------------------------------

// What the access log says of the upstream: the server of the last attempt, its status (none
// before a head came) and the time since the request started here.
void ProxyCall::note() {
  if (!picked_ && attempts_ == 0) return;
  const UpstreamServer& s = ctx_->config.groups[group_].servers[server_];
  response_->upstream_note(s.address, head_done_ ? head_.status : 0,
                           shm::monotonic_us() - started_us_);
}

void ProxyCall::log(const char* reason, bool retried_race) {
  if (ctx_->error_log == nullptr) return;
  const UpstreamGroup& group = ctx_->config.groups[group_];
  const char* server = picked_ ? group.servers[server_].address.c_str() : "-";
  ctx_->error_log->log(
      retried_race ? log::Level::kInfo : log::Level::kError,
      "upstream %s (group \"%s\"): %s%s, request \"%.*s %.*s\"", server, group.name.c_str(), reason,
      retried_race ? " (a pooled connection closed by the server: retried on a new one)" : "",
      static_cast<int>(response_->request().method_name().size()),
      response_->request().method_name().data(),
      static_cast<int>(std::min<size_t>(response_->request().target().size(), 512)),
      response_->request().target().data());
}

void ProxyCall::fail(Outcome outcome, uint16_t status, const char* reason) {
  const bool reused_link = link_ != nullptr && link_->reused();
  const bool nothing_back = !got_bytes_;
  const bool race = outcome == Outcome::kError && reused_link && nothing_back && !answer_begun_;
  log(reason, race && !fresh_retry_ && idempotent_ && replayable());
  if (link_ != nullptr) {
    ctx_->links.release(link_, false);
    link_ = nullptr;
  }
  stage_ = Stage::kIdle;
  if (answer_begun_) {  // the client has part of the answer: all that is left is to cut it
    finish_attempt(outcome);
    note();
    response_->abort();
    return release();
  }
  // The idle-close race: a pooled connection the server closed just as it was reused. Not held
  // against the server; the request goes on when it can be repeated: to another server of the
  // group while one is left untried (this one may have just died: all its pooled connections
  // fail at once, and none of them should go back to it), else once more to this one on a new
  // connection, unless it was taken out meanwhile.
  if (outcome == Outcome::kError && reused_link && nothing_back) {
    if (!fresh_retry_ && idempotent_ && replayable()) {
      ctx_->balancer.count_retry(group_, server_);
      if (attempts_ < ctx_->config.groups[group_].servers.size()) {
        finish_attempt(Outcome::kAbandoned);
        return attempt(false);
      }
      if (ctx_->balancer.state(group_, server_, now_ms()) != ServerState::kDown) {
        fresh_retry_ = true;
        return attempt(true);
      }
      finish_attempt(Outcome::kAbandoned);
      return answer_error(502);
    }
    finish_attempt(Outcome::kAbandoned);
    if (response_->connection_reused()) {  // the client may retry on a new connection
      note();
      response_->abort();
      return release();
    }
    return answer_error(502);
  }
  finish_attempt(outcome);
  // Another server, as nginx's "proxy_next_upstream error timeout": a failed connect sent
  // nothing; otherwise only a request that may be repeated, with its body still in hand.
  const bool may_retry = outcome == Outcome::kConnectError
                             ? !body_written_
                             : (outcome == Outcome::kError || outcome == Outcome::kTimeout) &&
                                   idempotent_ && replayable() && !got_bytes_;
  const size_t servers = ctx_->config.groups[group_].servers.size();
  if (may_retry && attempts_ < servers) {
    ctx_->balancer.count_retry(group_, server_);
    return attempt(false);
  }
  answer_error(status);
}

void ProxyCall::answer_error(uint16_t status) {
  Response& r = *response_;
  note();
  r.status(status).header("Content-Type", kErrorType);
  if (status == 503) r.header("Retry-After", "1");
  r.body(error_text(status));
  release();
}

void ProxyCall::finish_attempt(Outcome outcome) {
  if (!picked_) return;
  picked_ = false;
  ctx_->balancer.finish(group_, server_, outcome, head_done_ ? head_.status : 0, now_ms());
}

void ProxyCall::complete() {
  // The connection carries the next request only after a clean end: the whole request sent,
  // nothing more read than this answer, and the upstream keeping it open.
  const bool keep = head_.keep_alive && request_sent_ && in_pos_ == in_len_ && !upstream_ended_;
  if (link_ != nullptr) {
    ctx_->links.release(link_, keep);
    link_ = nullptr;
  }
  finish_attempt(Outcome::kResponse);
  release();
}

void ProxyCall::on_abort() {
  if (done_) return;
  if (link_ != nullptr) {
    ctx_->links.release(link_, false);
    link_ = nullptr;
  }
  finish_attempt(Outcome::kAbandoned);
  release();
}

void ProxyCall::release() {
  stage_ = Stage::kDone;
  done_ = true;
  if (block_ != nullptr) {
    ctx_->buffers.give(block_);
    block_ = nullptr;
  }
  response_->set_user(nullptr);
  ctx_->on_done(*this, ctx_->owner);
}

}  // namespace zhttp::handlers::proxy
