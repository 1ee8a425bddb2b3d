// Response, RequestView and ExchangeRef of the embedding API (include/zhttp/handler.hpp): the
// head is formatted in place at the tail of the connection's output buffer and committed to the
// output queue only when it is complete, so a failed response leaves nothing behind.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "conn/connection.hpp"
#include "conn/output_queue.hpp"
#include "http/field_lines.hpp"
#include "zhttp/handler.hpp"
#include "zhttp/target.hpp"

namespace zhttp {

namespace {
const PeerAddress kUnknownPeer{};

// The Content-Encoding among a finished head's field lines, into the exchange.
void keep_content_encoding(std::string_view fields, conn::Exchange& x) {
  std::string_view value = http::first_field_value(fields, "content-encoding");
  x.content_encoding_len =
      static_cast<uint32_t>(std::min<size_t>(value.size(), conn::kContentEncodingBytes));
  if (x.content_encoding_len > 0) {
    std::memcpy(x.content_encoding, value.data(), x.content_encoding_len);
  }
}
}  // namespace

RequestView::RequestView(const Request& request, const char* base, std::string_view body,
                         const PeerAddress* peer)
    : request_(&request), base_(base), body_(body), peer_(peer ? peer : &kUnknownPeer) {
  std::string_view t = target();
  if (request.target_form == TargetForm::kAbsolute) {
    // "scheme://authority/path?query" (RFC 9112 3.2.2): the server uses its path and query,
    // and an empty path means "/".
    size_t authority = t.find("://");
    size_t path_at = t.find_first_of("/?#", authority == t.npos ? 0 : authority + 3);
    t = path_at == t.npos ? std::string_view{} : t.substr(path_at);
    if (t.empty() || t.front() != '/') {
      path_ = "/";
      if (!t.empty() && t.front() == '?') query_ = t.substr(1, t.find('#') - 1);
      return;
    }
  } else if (request.target_form != TargetForm::kOrigin) {
    return;
  }
  split_target(t, &path_, &query_);
}

std::string_view RequestView::header(HeaderId id) const {
  const Header* h = request_->find(id);
  return h ? h->value.in(base_) : std::string_view{};
}

std::string_view RequestView::header(std::string_view name) const {
  HeaderId id = lookup_header_id(name);
  if (id != HeaderId::kOther) return header(id);
  for (uint32_t i = 0; i < request_->header_count; ++i) {
    std::string_view n = header_name(i);
    if (n.size() != name.size()) continue;
    bool same = true;
    for (size_t j = 0; j < n.size() && same; ++j) {
      same = (n[j] | 0x20) == (name[j] | 0x20);  // field names are tokens: folding is exact
    }
    if (same) return header_value(i);
  }
  return {};
}

// --- Response -----------------------------------------------------------------------------------

void Response::begin(conn::Connection* connection, const RequestView& request,
                     uint32_t generation) {
  conn_ = connection;
  request_ = request;
  writer_ = ResponseWriter(nullptr, 0);
  user_ = nullptr;
  tap_ = nullptr;
  cache_for_s_ = -1;
  body_bytes_ = stream_left_ = 0;
  generation_ = generation;
  status_ = 0;
  state_ = State::kNone;
  framing_ = Framing::kLength;
  deferred_ = false;
  head_only_ = request.method() == Method::kHead;
}

// Calls are taken while the handler owes the answer: not after it is complete, the exchange was
// aborted, or the exchange is another one's.
bool Response::usable() const {
  return conn_ != nullptr && conn_->response_for(generation_) == this;
}

time_t Response::now() const {
  return conn_ ? conn_->now_ : 0;
}

void Response::upstream_note(std::string_view address, uint16_t status, uint64_t response_us) {
  if (!usable()) return;
  conn::Exchange& x = *conn_->ex_;
  x.upstream_address = address;
  x.upstream_status = status;
  x.upstream_us = response_us;
}

bool Response::connection_reused() const {
  return conn_ != nullptr && conn_->answered_one_;
}

Response& Response::status(uint16_t code) {
  if (!usable() || state_ == State::kStreaming) return *this;
  // Answered from outside the connection's own events (a timer, a post): its clock is as old
  // as its last event, so read the time now for the Date header.
  if (!conn_->processing_) conn_->now_ = ::time(nullptr);
  conn::OutputQueue& out = conn_->out_;
  writer_ =
      conn_->ensure_output() ? ResponseWriter(out.tail(), out.room()) : ResponseWriter(nullptr, 0);
  status_ = code;
  state_ = State::kHead;
  writer_.status_line(code).date(conn_->ctx_.dates, conn_->now_);
  fields_at_ = static_cast<uint16_t>(writer_.size());
  return *this;
}

// A head is written in place at the tail of the connection's output, all in one callback: once
// that callback returned, the output block may have gone back to the pool (and to another
// connection), so a head found elsewhere is refused (failed() says so), never written on.
bool Response::head_in_place() {
  if (state_ != State::kHead) return false;
  conn::OutputQueue& out = conn_->out_;
  if (out.attached() && writer_.data() == out.tail()) return true;
  writer_ = ResponseWriter(nullptr, 0);
  writer_.end_headers();  // fails: nothing fits in no room
  return false;
}

Response& Response::header(std::string_view name, std::string_view value) {
  if (head_in_place()) writer_.header(name, value);
  return *this;
}

Response& Response::header(std::string_view name, uint64_t value) {
  if (head_in_place()) writer_.header(name, value);
  return *this;
}

Response& Response::header(ConstField field) {
  if (head_in_place()) writer_.header(field);
  return *this;
}

Response& Response::header_lines(std::string_view lines) {
  if (head_in_place()) writer_.field_lines(lines);
  return *this;
}

bool Response::tapped_whole(std::string_view body) {
  if (tap_ == nullptr || !usable() || !head_in_place()) return false;
  ResponseTap* tap = tap_;
  tap_ = nullptr;
  std::string_view fields(writer_.data() + fields_at_, writer_.size() - fields_at_);
  return tap->on_whole(*this, fields, body);
}

void Response::tapped_other() {
  if (tap_ == nullptr || !usable() || !head_in_place()) return;
  ResponseTap* tap = tap_;
  tap_ = nullptr;
  tap->on_other(*this);
}

// Framing and connection headers and the blank line: the head is ready to be committed.
bool Response::finish_head(uint64_t content_length, bool has_length) {
  if (!usable() || !head_in_place()) return false;
  if (has_length) writer_.content_length(content_length);
  if (uint32_t n = conn_->ex_->extra_len) writer_.field_lines({conn_->ex_->extra_fields, n});
  body_bytes_ = head_only_ ? 0 : content_length;
  if (!conn_->decide_keep_alive(*this)) {
    writer_.connection_close();
  } else if (request_.version_minor() == 0) {
    writer_.connection_keep_alive();  // an HTTP/1.0 client asked for it
  }
  writer_.end_headers();
  if (writer_.ok() && conn_->ctx_.keep_content_encoding) {
    keep_content_encoding({writer_.data() + fields_at_, writer_.size() - fields_at_}, *conn_->ex_);
  }
  return writer_.ok();
}

void Response::complete() {
  state_ = State::kDone;
  conn_->on_response_complete(*this);
}

void Response::body(std::string_view bytes) {
  if (tapped_whole(bytes)) return;
  if (!finish_head(bytes.size(), true)) return;
  if (!head_only_) writer_.body(bytes);
  if (writer_.ok() && conn_->out_.commit(writer_.size())) complete();
}

void Response::body_static(std::string_view bytes) {
  if (tapped_whole(bytes)) return;
  if (!finish_head(bytes.size(), true)) return;
  conn::OutputQueue& out = conn_->out_;
  if (!out.commit(writer_.size())) return;
  if (head_only_ || out.push_external(bytes.data(), bytes.size())) complete();
}

void Response::file(int fd, uint64_t offset, uint64_t length) {
  send_file(fd, offset, length, true);
}

void Response::file_shared(int fd, uint64_t offset, uint64_t length) {
  send_file(fd, offset, length, false);
}

void Response::send_file(int fd, uint64_t offset, uint64_t length, bool owned) {
  auto release = [&] {
    if (owned) ::close(fd);
  };
  tapped_other();
  if (!finish_head(length, true)) {
    release();
    return;
  }
  conn::OutputQueue& out = conn_->out_;
  if (head_only_) {
    release();
    if (out.commit(writer_.size())) complete();
    return;
  }
  // A small file is read into the output buffer right after its head, so head and body leave
  // in one segment, and the responses to pipelined requests in one writev.
  if (length <= kInlineFileBytes && writer_.size() + length <= writer_.capacity()) {
    char* space = writer_.body_space(length);
    ssize_t n = ::pread(fd, space, length, static_cast<off_t>(offset));
    release();
    // A file that shrank since its size was taken cannot fill the promised length: no
    // response (the connection answers 500).
    if (n == static_cast<ssize_t>(length) && out.commit(writer_.size())) complete();
    return;
  }
  if (!owned) fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);  // the queue closes its copy once sent
  if (fd < 0) return;                                // out of descriptors: no response (500)
  if (!out.commit(writer_.size())) {
    ::close(fd);
    return;
  }
  if (out.push_file(fd, offset, length)) {
    complete();
  } else {
    ::close(fd);
  }
}

void Response::no_body() {
  // 1xx, 204 and 304 carry no Content-Length; anything else states its empty body.
  if (tapped_whole({})) return;
  bool bodiless = status_ < 200 || status_ == 204 || status_ == 304;
  if (finish_head(0, !bodiless) && conn_->out_.commit(writer_.size())) complete();
}

void Response::send(uint16_t code, std::string_view content_type, std::string_view bytes) {
  status(code);
  if (!content_type.empty()) header("Content-Type", content_type);
  body(bytes);
}

ExchangeRef Response::defer() {
  if (!usable()) return {};
  deferred_ = true;
  return ExchangeRef(conn_, generation_);
}

bool Response::stream() {
  // HTTP/1.0 has no chunked coding: the end of the body is the end of the connection.
  return start_stream(request_.version_minor() == 0 ? Framing::kClose : Framing::kChunked, 0);
}

bool Response::stream(uint64_t content_length) {
  return start_stream(Framing::kLength, content_length);
}

bool Response::tunnel() {
  if (state_ != State::kHead || status_ != 101 || !usable() || !head_in_place()) return false;
  tapped_other();
  framing_ = Framing::kTunnel;
  writer_.end_headers();  // no framing or connection fields: the handler gave Upgrade's
  if (!writer_.ok() || !conn_->out_.commit(writer_.size())) return false;
  body_bytes_ = 0;
  state_ = State::kStreaming;
  deferred_ = true;
  conn_->start_tunnel();
  conn_->on_response_progress();
  return true;
}

bool Response::start_stream(Framing framing, uint64_t length) {
  if (state_ != State::kHead) return false;
  tapped_other();
  framing_ = framing;
  if (framing == Framing::kChunked) writer_.header("Transfer-Encoding", "chunked");
  if (!finish_head(length, framing == Framing::kLength)) return false;
  if (!conn_->out_.commit(writer_.size())) return false;
  body_bytes_ = 0;
  stream_left_ = length;
  state_ = State::kStreaming;
  deferred_ = true;
  conn_->on_response_progress();
  return true;
}

size_t Response::write(std::string_view bytes) {
  if (state_ != State::kStreaming || !usable()) return 0;
  size_t n = bytes.size();
  if (framing_ == Framing::kLength) n = static_cast<size_t>(std::min<uint64_t>(n, stream_left_));
  if (head_only_) {
    if (framing_ == Framing::kLength) stream_left_ -= n;
    return n;
  }
  size_t take = std::min(n, conn_->stream_room());
  if (take < n) conn_->ex_->wants_writable = true;  // on_writable() when there is room
  if (take == 0) return 0;
  conn::OutputQueue& out = conn_->out_;
  char* p = out.tail();
  size_t len = 0;
  if (framing_ == Framing::kChunked) {
    static constexpr char kHex[] = "0123456789abcdef";
    char digits[16];
    size_t d = 0;
    for (size_t v = take; v > 0; v >>= 4) digits[d++] = kHex[v & 15];
    while (d > 0) p[len++] = digits[--d];
    p[len++] = '\r';
    p[len++] = '\n';
  }
  std::memcpy(p + len, bytes.data(), take);
  len += take;
  if (framing_ == Framing::kChunked) {
    p[len++] = '\r';
    p[len++] = '\n';
  }
  out.commit(len);
  body_bytes_ += take;
  if (framing_ == Framing::kLength) stream_left_ -= take;
  conn_->on_response_progress();
  return take;
}

void Response::end() {
  if (state_ != State::kStreaming || !usable()) return;
  // A declared length not written in full, or a last chunk that cannot be queued, leaves the
  // client waiting for bytes that never come: close after what was sent.
  // (A HEAD answer owes no body bytes.)
  if ((framing_ == Framing::kLength && stream_left_ > 0 && !head_only_) ||
      !conn_->end_stream(*this)) {
    conn_->ex_->close_after = true;
  }
  complete();
}

void Response::abort() {
  if (!usable()) return;
  conn_->ex_->close_after = true;
  if (state_ == State::kStreaming) {
    complete();  // reported with the status sent; no last chunk follows
    return;
  }
  conn_->close_unanswered();
}

void Response::pause_body() {
  if (usable() && conn_->ex_->mode == BodyMode::kStream) conn_->ex_->paused = true;
}

void Response::resume_body() {
  if (!usable() || !conn_->ex_->paused) return;
  conn_->ex_->paused = false;
  conn_->request_wake();
}

// --- ExchangeRef
// ----------------------------------------------------------------------------------

Response* ExchangeRef::response() const {
  return conn_ ? conn_->response_for(generation_) : nullptr;
}

bool ExchangeRef::post(void (*fn)(Response*, void*), void* arg) const {
  if (conn_ == nullptr || conn_->ctx_.events == nullptr) return false;
  return conn_->ctx_.events->post(conn_, generation_, fn, arg);
}

}  // namespace zhttp
