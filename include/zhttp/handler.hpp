#pragma once
// The embedding API: a program supplies a Handler; the server calls it with a view of each
// request and a Response bound to that request's exchange (the per-request object the connection
// owns). A handler may answer at once, later (defer() and an ExchangeRef), or in pieces
// (stream()), and chooses how a request body is taken (body_mode()). Nothing here allocates.
//
// Threading: everything runs on the worker's loop thread, except ExchangeRef::post(), which any
// thread may call to have a function run there.
#include <cstdint>
#include <string_view>

#include "zhttp/date_cache.hpp"
#include "zhttp/request.hpp"
#include "zhttp/response_writer.hpp"

struct ev_loop;

namespace zhttp {

namespace conn {
class Connection;
struct Exchange;
}  // namespace conn

// The client's address: 4 bytes (AF_INET) or 16 (AF_INET6) in network order; family 0 when
// unknown (e.g. a connection driven without a socket).
struct PeerAddress {
  uint8_t family = 0;
  uint8_t bytes[16] = {};
};

// How a request body is taken, chosen by Handler::body_mode() when the head arrives.
enum class BodyMode : uint8_t {
  // handle() is called at once; the connection reads the body and throws it away with its
  // framing checked (bounded by max_discard_bytes, then the connection closes after the answer).
  kRefuse,
  // handle() is called once the whole body is in, as RequestView::body() (up to max_body_bytes:
  // 413 before reading when Content-Length says more, 413 and close when a chunked body does).
  kGather,
  // handle() is called at once; then on_body() with decoded body bytes as they arrive, and
  // on_body_end(). Response::pause_body() stops reading until resume_body(). Any size.
  kStream,
};

// Why an exchange ended before its response was complete (Handler::on_abort).
enum class AbortReason : uint8_t {
  kClientGone,  // the client closed or reset the connection, or stopped reading
  kTimeout,     // handler timeout (a 504 was sent if nothing had been), or the body stalled
  kBadBody,     // the request body was malformed or too large: a 4xx was sent instead
  kShutdown,    // the worker is stopping
};

class RequestView {
 public:
  RequestView() = default;
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

  // The whole body in BodyMode::kGather; empty otherwise.
  std::string_view body() const { return body_; }
  const PeerAddress& peer() const { return *peer_; }
  const Request& request() const { return *request_; }

 private:
  const Request* request_ = nullptr;
  const char* base_ = nullptr;
  std::string_view body_;
  const PeerAddress* peer_ = nullptr;
  std::string_view path_;
  std::string_view query_;
};

class Response;

// What a stage wrapping a handler (the shared response cache) attaches to a Response to see
// how it ends. It is detached before either call, and both come while the head is still open:
// the tap may add fields with Response::header(), or (on_whole) answer in the handler's place.
class ResponseTap {
 public:
  // A whole response in hand (send(), body(), body_static(), no_body()): `fields` are the
  // handler's own field lines as formatted ("Name: value\r\n"...: no Date, framing or
  // connection fields), `body` all of its body. True when the tap answered instead (through
  // status()... on the same response), false to let the handler's answer go on.
  virtual bool on_whole(Response& response, std::string_view fields, std::string_view body) = 0;
  // Any other answer: a file or a stream.
  virtual void on_other(Response& response) = 0;

 protected:
  ~ResponseTap() = default;
};

// A handle on one exchange that is safe to keep after handle() returned, and to copy. It names
// the connection and the exchange's generation: once the response is complete, the client went
// away, the handler timed out or the connection was reused, the reference is dead and refuses
// every use. It must not outlive the server it came from.
class ExchangeRef {
 public:
  ExchangeRef() = default;
  // Loop thread only: the exchange's response, or null when the reference is dead.
  Response* response() const;
  bool alive() const { return response() != nullptr; }
  // Any thread: runs fn(response, arg) on the worker's loop thread soon after, with a null
  // response when the reference is dead by then (so `arg` can always be released there). No
  // allocation: posts go through a fixed ring; false (and nothing runs) when it is full.
  bool post(void (*fn)(Response* response, void* arg), void* arg) const;

 private:
  friend class Response;
  ExchangeRef(conn::Connection* c, uint32_t generation) : conn_(c), generation_(generation) {}
  conn::Connection* conn_ = nullptr;
  uint32_t generation_ = 0;
};

// How a handler answers one request. Whole: one call to send(), or status() + header()... and
// then exactly one of body(), body_static(), file(), no_body(); all of them in one callback (a
// head left unfinished when the callback returns is dropped: failed() says so).
// Later: defer() in handle(), and any of those through the ExchangeRef afterwards. In pieces:
// status() + header()... + stream(), then write()... and end(), in any later callbacks.
// The connection adds Date, Content-Length (or the chunked coding) and Connection itself, and
// drops the body of a response to HEAD. A handler whose handle() neither answers nor defers gets
// a 500; one that defers and then stays silent for the handler timeout gets a 504.
class Response {
 public:
  void send(uint16_t status, std::string_view content_type, std::string_view body);

  Response& status(uint16_t code);
  Response& header(std::string_view name, std::string_view value);
  Response& header(std::string_view name, uint64_t value);
  Response& header(ConstField field);        // checked when compiled: {"Vary", "Accept-Encoding"}
  void body(std::string_view bytes);         // copied into the output buffer
  void body_static(std::string_view bytes);  // not copied: must outlive the connection's send
  // A file range: read into the output buffer when at most kInlineFileBytes (and it fits),
  // else sent with sendfile. file() takes the descriptor over (it is closed once used);
  // file_shared() leaves it to the caller (it is read at once, or a duplicate is sent).
  void file(int fd, uint64_t offset, uint64_t length);
  void file_shared(int fd, uint64_t offset, uint64_t length);
  void no_body();  // e.g. 304, 204; other statuses get "Content-Length: 0"
  // Whole field lines as header() formats them ("Name: value\r\n"...), e.g. a stored head
  // replayed by the cache; checked like header()'s.
  Response& header_lines(std::string_view lines);

  // The handler's own freshness for a shared cache in front of it: this answer may be reused
  // for `seconds` (Cache-Control max-age and s-maxage take precedence).
  void cache_for(uint32_t seconds) { cache_for_s_ = static_cast<int64_t>(seconds); }
  int64_t cache_for() const { return cache_for_s_; }  // -1: not said

  // A wrapping stage's tap (see ResponseTap); null to detach. Cleared for every new exchange.
  void tap(ResponseTap* tap) { tap_ = tap; }
  ResponseTap* tap() const { return tap_; }

  // Answer after handle() returns, through the reference (from a timer, a socket, or another
  // thread with post()). Also what a handler keeps to feed a streamed response.
  ExchangeRef defer();

  // A body written in pieces, after status() and header()s: chunked for HTTP/1.1 clients,
  // delimited by closing the connection for HTTP/1.0 ones; or with a declared length.
  bool stream();
  bool stream(uint64_t content_length);
  // After status(101) and header()s (the handler's Upgrade and Connection among them): the
  // connection becomes a two-way byte tunnel (a proxied WebSocket). Bytes from the client come
  // to on_body() as they arrive (pause_body() applies), write() sends bytes as they are, end()
  // closes. It never carries another request; the client's end of stream aborts the exchange.
  bool tunnel();
  // Copies bytes into the output: returns how many were taken, fewer (maybe 0) when the
  // client is not reading fast enough; on_writable() follows when there is room again. Bytes
  // beyond a declared length are refused.
  size_t write(std::string_view bytes);
  void end();  // the last piece (a declared length must have been written in full)
  // The response cannot be completed (a proxied answer whose upstream failed mid-body): the
  // connection closes after what was sent, so the client sees a truncated answer (no last
  // chunk, or fewer bytes than declared), never a complete one. Before any head was sent the
  // connection closes unanswered (what RFC 9112 9.3.1 lets a client retry).
  void abort();

  // BodyMode::kStream: stop delivering on_body() and reading the socket / start again.
  void pause_body();
  void resume_body();

  // The request being answered (valid as long as the exchange lives).
  const RequestView& request() const { return request_; }
  // Which upstream server answered (a proxy), its status (0: none came) and how long it took
  // from the first connect to the end of its answer: the access log's extended format prints
  // them. `address` must outlive the exchange (a configured server's text).
  void upstream_note(std::string_view address, uint16_t status, uint64_t response_us);

  // A word of the handler's own, carried with the exchange (e.g. its per-request state).
  void set_user(void* user) { user_ = user; }
  void* user() const { return user_; }

  time_t now() const;  // the current time, as in the Date header
  // The client's connection answered an earlier request (a client may retry a request that a
  // reused connection closed unanswered; RFC 9112 9.3.1).
  bool connection_reused() const;
  static constexpr size_t kInlineFileBytes = 16384;

  bool finished() const { return state_ == State::kDone; }
  bool deferred() const { return deferred_; }
  bool streaming() const { return state_ == State::kStreaming; }
  uint16_t status_code() const { return status_; }
  uint64_t body_bytes() const { return body_bytes_; }  // as sent: 0 for a HEAD request
  bool failed() const { return !writer_.ok(); }        // a header did not fit or was invalid

 private:
  friend class conn::Connection;
  friend struct conn::Exchange;
  friend class ExchangeRef;
  enum class State : uint8_t { kNone, kHead, kStreaming, kDone };
  enum class Framing : uint8_t { kLength, kChunked, kClose, kTunnel };

  Response() = default;
  bool usable() const;
  bool head_in_place();
  void begin(conn::Connection* connection, const RequestView& request, uint32_t generation);
  bool finish_head(uint64_t content_length, bool has_length);
  void send_file(int fd, uint64_t offset, uint64_t length, bool owned);
  bool start_stream(Framing framing, uint64_t length);
  void complete();
  // The tap's turn before a whole answer is committed: true when it answered instead.
  bool tapped_whole(std::string_view body);
  void tapped_other();

  conn::Connection* conn_ = nullptr;
  RequestView request_;
  ResponseWriter writer_{nullptr, 0};
  void* user_ = nullptr;
  ResponseTap* tap_ = nullptr;
  int64_t cache_for_s_ = -1;
  uint64_t body_bytes_ = 0;
  uint64_t stream_left_ = 0;  // Framing::kLength: bytes still to write
  uint32_t generation_ = 0;
  uint16_t status_ = 0;
  uint16_t fields_at_ = 0;  // where the handler's fields begin in the head (after Date)
  State state_ = State::kNone;
  Framing framing_ = Framing::kLength;
  bool deferred_ = false;
  bool head_only_ = false;  // HEAD: the body is not sent
};

// What a worker gives its handler once, before serving: its event loop (for the handler's own
// timers and sockets) and its index among the workers.
struct WorkerContext {
  struct ev_loop* loop = nullptr;
  uint32_t worker_index = 0;
};

class Handler {
 public:
  virtual ~Handler() = default;
  // How to take the body of a request that has one; asked when its head arrives, before any
  // "100 Continue" (sent only for kGather and kStream).
  virtual BodyMode body_mode(const RequestView&) { return BodyMode::kRefuse; }
  virtual void handle(const RequestView& request, Response& response) = 0;
  // BodyMode::kStream: decoded body bytes (valid during the call), then the end of the body.
  virtual void on_body(Response&, std::string_view) {}
  virtual void on_body_end(Response&) {}
  // A streamed response whose write() took less than offered may write again.
  virtual void on_writable(Response&) {}
  // The exchange ended before the response was complete; every ExchangeRef to it is dead from
  // now on and the handler must let go of it (stop its timers, release what user() holds).
  virtual void on_abort(Response&, AbortReason) {}
  // Once per worker, before it serves (after fork, in the worker's thread).
  virtual void on_worker_start(const WorkerContext&) {}
};

}  // namespace zhttp
