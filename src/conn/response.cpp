// Response and RequestView of the embedding API (include/zhttp/handler.hpp): the head is
// formatted in place at the tail of the connection's output buffer and committed to the output
// queue only when the response is complete, so a failed response leaves nothing behind.
#include <fcntl.h>
#include <unistd.h>

#include "conn/output_queue.hpp"
#include "zhttp/handler.hpp"
#include "zhttp/target.hpp"

namespace zhttp {

namespace {
const PeerAddress kUnknownPeer{};
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

Response::Response(const Context& context, char* head_buf, size_t head_cap)
    : ctx_(context), writer_(head_buf, head_cap) {}

Response& Response::status(uint16_t code) {
  status_ = code;
  writer_.status_line(code).date(*ctx_.dates, ctx_.now);
  return *this;
}

Response& Response::header(std::string_view name, std::string_view value) {
  writer_.header(name, value);
  return *this;
}

Response& Response::header(std::string_view name, uint64_t value) {
  writer_.header(name, value);
  return *this;
}

// Framing and connection headers, the blank line, then hands the head to the output queue.
bool Response::finish_head(uint64_t content_length, bool has_length) {
  if (finished_ || status_ == 0) return false;
  if (has_length) writer_.content_length(content_length);
  body_bytes_ = ctx_.head_request ? 0 : content_length;
  if (!ctx_.keep_alive) {
    writer_.connection_close();
  } else if (ctx_.http10_keepalive) {
    writer_.connection_keep_alive();
  }
  writer_.end_headers();
  return writer_.ok();
}

void Response::body(std::string_view bytes) {
  if (!finish_head(bytes.size(), true)) return;
  if (!ctx_.head_request) writer_.body(bytes);
  if (writer_.ok() && ctx_.out->commit(writer_.size())) finished_ = true;
}

void Response::body_static(std::string_view bytes) {
  if (!finish_head(bytes.size(), true)) return;
  if (!ctx_.out->commit(writer_.size())) return;
  finished_ = ctx_.head_request || ctx_.out->push_external(bytes.data(), bytes.size());
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
  if (!finish_head(length, true)) {
    release();
    return;
  }
  if (ctx_.head_request) {
    release();
    finished_ = ctx_.out->commit(writer_.size());
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
    if (n == static_cast<ssize_t>(length) && ctx_.out->commit(writer_.size())) finished_ = true;
    return;
  }
  if (!owned) fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);  // the queue closes its copy once sent
  if (fd < 0) return;                                // out of descriptors: no response (500)
  if (!ctx_.out->commit(writer_.size())) {
    ::close(fd);
    return;
  }
  finished_ = ctx_.out->push_file(fd, offset, length);
  if (!finished_) ::close(fd);
}

void Response::no_body() {
  // 1xx, 204 and 304 carry no Content-Length; anything else states its empty body.
  bool bodiless = status_ < 200 || status_ == 204 || status_ == 304;
  if (finish_head(0, !bodiless) && ctx_.out->commit(writer_.size())) finished_ = true;
}

void Response::send(uint16_t code, std::string_view content_type, std::string_view bytes) {
  status(code);
  if (!content_type.empty()) header("Content-Type", content_type);
  body(bytes);
}

}  // namespace zhttp
