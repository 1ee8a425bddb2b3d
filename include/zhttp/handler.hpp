#pragma once
// The embedding API: a program supplies a Handler; the server calls it once per request with a
// view of the request and a Response that formats straight into the connection's output buffer.
// Nothing here allocates. Views are valid only during handle().
#include <cstdint>
#include <string_view>

#include "zhttp/date_cache.hpp"
#include "zhttp/request.hpp"
#include "zhttp/response_writer.hpp"

namespace zhttp {

namespace conn {
class OutputQueue;
}

// The client's address: 4 bytes (AF_INET) or 16 (AF_INET6) in network order; family 0 when
// unknown (e.g. a connection driven without a socket).
struct PeerAddress {
  uint8_t family = 0;
  uint8_t bytes[16] = {};
};

class RequestView {
 public:
  RequestView(const Request& request, const char* base, std::string_view body,
              const PeerAddress* peer = nullptr);

  Method method() const { return request_->method; }
  std::string_view method_name() const { return request_->method_name.in(base_); }
  std::string_view target() const { return request_->target.in(base_); }
  std::string_view path() const { return path_; }    // still percent-encoded, no query
  std::string_view query() const { return query_; }  // after '?', empty if none
  uint8_t version_minor() const { return request_->version_minor; }
  bool keep_alive() const { return request_->keep_alive; }

  // First field with this id / name (case-insensitive); empty view with null data() if absent.
  std::string_view header(HeaderId id) const;
  std::string_view header(std::string_view name) const;
  uint32_t header_count() const { return request_->header_count; }
  std::string_view header_name(uint32_t i) const { return request_->headers[i].name.in(base_); }
  std::string_view header_value(uint32_t i) const { return request_->headers[i].value.in(base_); }

  std::string_view body() const { return body_; }
  const PeerAddress& peer() const { return *peer_; }
  const Request& request() const { return *request_; }

 private:
  const Request* request_;
  const char* base_;
  std::string_view body_;
  const PeerAddress* peer_;
  std::string_view path_;
  std::string_view query_;
};

// How a handler answers. Either one call to send(), or status() + header()... and then exactly
// one of body(), body_static(), file(), no_body(). The connection adds Date, Content-Length and
// Connection itself, and drops the body of a response to HEAD. A handler that returns without
// answering gets a 500.
class Response {
 public:
  void send(uint16_t status, std::string_view content_type, std::string_view body);

  Response& status(uint16_t code);
  Response& header(std::string_view name, std::string_view value);
  Response& header(std::string_view name, uint64_t value);
  void body(std::string_view bytes);         // copied into the output buffer
  void body_static(std::string_view bytes);  // not copied: must outlive the connection's send
  // A file range: read into the output buffer when at most kInlineFileBytes (and it fits),
  // else sent with sendfile. file() takes the descriptor over (it is closed once used);
  // file_shared() leaves it to the caller (it is read at once, or a duplicate is sent).
  void file(int fd, uint64_t offset, uint64_t length);
  void file_shared(int fd, uint64_t offset, uint64_t length);
  void no_body();  // e.g. 304, 204; other statuses get "Content-Length: 0"

  time_t now() const { return ctx_.now; }  // the request's time, as in the Date header
  static constexpr uint64_t kInlineFileBytes = 16384;

  bool finished() const { return finished_; }
  uint16_t status_code() const { return status_; }
  uint64_t body_bytes() const { return body_bytes_; }  // as sent: 0 for a HEAD request
  bool failed() const { return !writer_.ok(); }        // a header did not fit or was invalid

  // Used by the connection to set up and inspect a response.
  struct Context {
    conn::OutputQueue* out;
    DateCache* dates;
    time_t now;
    bool head_request;
    bool keep_alive;        // add "Connection: close" when false
    bool http10_keepalive;  // HTTP/1.0 client asked for keep-alive: say so
  };
  Response(const Context& context, char* head_buf, size_t head_cap);
  size_t head_size() const { return writer_.size(); }

 private:
  bool finish_head(uint64_t content_length, bool has_length);
  void send_file(int fd, uint64_t offset, uint64_t length, bool owned);

  Context ctx_;
  ResponseWriter writer_;
  uint16_t status_ = 0;
  bool finished_ = false;
  uint64_t body_bytes_ = 0;
};

class Handler {
 public:
  virtual ~Handler() = default;
  // Asked before a request body is read. Returning false answers without reading it (no
  // "100 Continue" is sent, and the connection closes after the response).
  virtual bool wants_body(const RequestView&) { return false; }
  virtual void handle(const RequestView& request, Response& response) = 0;
};

}  // namespace zhttp
