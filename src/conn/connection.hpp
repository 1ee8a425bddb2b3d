#pragma once
// One HTTP/1.1 connection as a state machine, with no I/O of its own: the io layer hands it the
// bytes it read and sends what it produces. Each request becomes an exchange (conn/exchange.hpp)
// that lives until its response is complete and its body is read; requests pipelined behind it
// wait, so responses leave strictly in request order, and the responses to all requests found in
// one read queue up together (one writev). A body is gathered, streamed or discarded as the
// handler chose, its framing checked in every case. Every protocol error becomes its status with
// "Connection: close", then the connection stops reading and closes once the response is out.
//
// Work that happens outside an io event (a deferred response completed from a timer, a resumed
// body) asks the io layer to call on_wake() soon, through ConnectionEvents::wake().
#include <sys/uio.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <span>

#include "conn/access_gate.hpp"
#include "conn/body_buffers.hpp"
#include "conn/buffer_pool.hpp"
#include "conn/exchange.hpp"
#include "conn/object_pool.hpp"
#include "conn/output_queue.hpp"
#include "zhttp/chunked.hpp"
#include "zhttp/handler.hpp"
#include "zhttp/parser.hpp"

namespace zhttp::conn {

struct ConnectionConfig {
  ParserLimits parser;
  ChunkedLimits chunked;
  uint64_t max_body_bytes = 1 << 20;     // a gathered body over this: 413
  uint64_t max_discard_bytes = 1 << 20;  // a refused body over this is not read: close instead
  // Stop parsing pipelined requests while this much output waits (or segments run short); also
  // what a streamed response may have waiting before write() takes less.
  size_t max_pending_output = 256 * 1024;
  size_t min_output_room = 2048;  // a response head must fit in what is left
};

// Told about every response a connection queues (access log, statistics).
struct ResponseRecord {
  const RequestView* request;  // null for a protocol error before a request was read
  uint16_t status;
  uint64_t body_bytes;
  const PeerAddress* peer;
  uint64_t started_ns;  // monotonic time of the event that completed the request's head
  bool reused;          // not the connection's first response (a keep-alive reuse)
  // The response's Content-Encoding value when ConnectionContext::keep_content_encoding (cut
  // at kContentEncodingBytes); else, or without one, empty.
  std::string_view content_encoding;
  // A proxied answer's upstream (Response::upstream_note()); empty address when none.
  std::string_view upstream_address;
  uint16_t upstream_status = 0;
  uint64_t upstream_us = 0;
};
class ResponseObserver {
 public:
  virtual ~ResponseObserver() = default;
  virtual void on_response(const ResponseRecord& record) = 0;
};

class Connection;
// What the io layer does for connections outside their own events.
class ConnectionEvents {
 public:
  virtual ~ConnectionEvents() = default;
  // `c` has work to do: call c.on_wake() soon from the loop (not from inside this call), then
  // send its output. Called at most once until on_wake() runs.
  virtual void wake(Connection& c) = 0;
  // Any thread: run fn(ExchangeRef(c, generation).response(), arg) on the loop thread.
  virtual bool post(Connection* c, uint32_t generation, void (*fn)(Response*, void*),
                    void* arg) = 0;
  // The access stage delays the exchange `generation` of `c`: call c.on_delay_over(generation)
  // after `us` microseconds. False when it cannot keep time: the request is served at once.
  virtual bool delay(Connection& c, uint32_t generation, uint64_t us) {
    (void)c, (void)generation, (void)us;
    return false;
  }
};

// What every connection of a worker shares (one thread per worker): configuration, the handler,
// the Date cache, the pools. Keeping these out of Connection is what makes an idle connection
// cost a few dozen bytes.
struct ConnectionContext {
  ConnectionContext(const ConnectionConfig& c, Handler& h, DateCache& d, BufferPool& in,
                    BufferPool& out, ObjectPool<Exchange>& ex, BodyBuffers& bodies)
      : config(c),
        handler(h),
        dates(d),
        input_pool(in),
        output_pool(out),
        exchanges(ex),
        body_buffers(bodies) {}

  const ConnectionConfig& config;
  Handler& handler;
  DateCache& dates;
  BufferPool& input_pool;   // blocks must hold a whole head plus the bodies gathered in place
  BufferPool& output_pool;  // blocks hold the segment ring plus formatted responses
  ObjectPool<Exchange>& exchanges;  // one per connection with a request in progress
  BodyBuffers& body_buffers;        // gathered bodies larger than an input block
  ResponseObserver* observer = nullptr;
  ConnectionEvents* events = nullptr;  // null: nobody to wake (on_wake() is called by hand)
  AccessGate* gate = nullptr;          // null: every request goes straight to the handler
  uint64_t event_ns = 0;  // monotonic time of the io event being handled (0: not measured)
  // Copy each response's Content-Encoding for the observer (an access log format prints it);
  // off, a finished head is not scanned for it.
  bool keep_content_encoding = false;
};

class Connection {
 public:
  enum class Phase : uint8_t {
    kIdle,     // between requests (keep-alive); holds no buffers when nothing is unread
    kHead,     // part of a request head has arrived
    kBody,     // reading a request body
    kHandler,  // waiting for the handler (a deferred or streamed response, a paused body)
    kDelayed,  // the access stage holds the request back for a while (no timeout applies)
    kTunnel,   // a two-way byte tunnel after a 101 (the tunnel's idle timeout applies)
    kClosing,  // answered an error or a final request: flush, then close
  };

  explicit Connection(ConnectionContext& context) : ctx_(context) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Where the next read may put bytes; empty when the connection must not read now (closing,
  // output backpressure, a paused body, a full input block) or no buffer is to be had.
  std::span<char> read_space();  // empty exactly when !wants_read() or no buffer is free
  // n bytes were read into read_space(); parses and answers what is complete.
  void on_read(size_t n, time_t now);
  // The peer will send nothing more: answer what is complete, then close. A response still
  // owed by the handler is abandoned (the handler is told the client went away).
  void on_eof(time_t now);

  // Whether the io layer should watch for input now.
  bool wants_read() const;
  bool has_output() const { return !out_.empty(); }
  size_t gather(iovec* iov, size_t max, bool* file_next = nullptr) const {
    return out_.gather(iov, max, file_next);
  }
  const Segment* front_file() const { return out_.front_file(); }
  // n bytes of output were sent; may resume requests held back by backpressure.
  void on_sent(size_t n, time_t now);
  // After ConnectionEvents::wake(): carry on with what the handler did meanwhile.
  void on_wake(time_t now);
  // After ConnectionEvents::delay(): the exchange `generation`, if still there, goes on.
  void on_delay_over(uint32_t generation, time_t now);
  // The response of the exchange in progress while its handler still owes it, if `generation`
  // is that exchange's; else null (what ExchangeRef and posted completions see).
  Response* response_for(uint32_t generation) {
    if (!active_ || generation != generation_ || !ex_->handler_live) return nullptr;
    return &ex_->response;
  }

  // Stop keeping the connection alive (worker drain): the next response says "Connection:
  // close" and the connection closes after it. An idle connection stays open meanwhile: closing
  // it could cross a request the client is sending (the reset nginx gives on reload).
  void drain();
  // The io layer's timer for the current phase fired: a head or body in progress gets 408, a
  // handler that stayed silent 504 (its exchange is aborted); an idle connection just closes.
  void timed_out(time_t now);
  // Back to a fresh connection (buffers returned), for reuse of the object by the next socket.
  // An exchange in progress is aborted for `why`.
  void reset(AbortReason why = AbortReason::kShutdown);

  // The peer's address, for the handler and the observer (set by the io layer on accept).
  void set_peer(const PeerAddress& peer) { peer_ = peer; }
  // The connection starts with a PROXY protocol header (v1 or v2) that names the client: read
  // it before the first request; a malformed or missing one closes the connection unanswered.
  void expect_proxy_header() { awaiting_proxy_ = true; }
  const PeerAddress& peer() const { return peer_; }
  // The io layer's own word for this connection (e.g. its slot), for wake().
  void set_owner(void* owner) { owner_ = owner; }
  void* owner() const { return owner_; }

  Phase phase() const { return phase_; }
  // The io layer should close now: closing (or idle after the peer's end) with all output sent.
  bool should_close() const;
  bool holds_buffers() const { return input_ != nullptr || out_.attached(); }

 private:
  friend class zhttp::Response;
  friend class zhttp::ExchangeRef;

  size_t unread() const { return end_ - start_; }
  size_t input_room() const;  // bytes read_space() could offer once compacted
  bool backpressured() const;
  bool take_input();
  void process();
  bool parse_head();         // false: wait for more bytes, or closing
  bool read_proxy_header();  // false: wait for more bytes, or closing
  void start_exchange(uint32_t head_len);
  // The access stage's verdict (it may replace the exchange's peer). False: refused (answered)
  // or delayed.
  bool admit();
  void begin_body(const AccessVerdict* refusal);  // the body mode, then the handler
  void refuse(const AccessVerdict& verdict);
  bool advance();    // the active exchange's next step; true: call again (or it finished)
  bool read_body();  // false: closing
  bool deliver(const char* data, uint32_t len);  // false: stop decoding
  bool gather_bytes(const char* data, uint32_t len);
  uint64_t gather_limit() const {
    return std::min<uint64_t>(ctx_.config.max_body_bytes, ctx_.body_buffers.block_bytes());
  }
  void compact();
  void call_handler();
  void send_continue();
  void finish_exchange();
  // Answers `status` in place of the handler (telling it `why` if it still owed the answer),
  // then closes; or just closes when a response has already begun.
  // `close` false: the connection may stay open (the body is still read or discarded).
  void answer_instead(uint16_t status, AbortReason why, bool close = true);
  void abort_handler(AbortReason why);
  void fail(uint16_t status);  // protocol error before an exchange: answer, then close
  void report(const RequestView* request, uint16_t status, uint64_t body_bytes,
              uint64_t started_ns);
  bool ensure_output();
  void release_idle_buffers();
  void request_wake();
  // Called by Response.
  bool decide_keep_alive(const Response& response);  // false: the response says close
  void on_response_complete(Response& response);
  void on_response_progress();
  void close_unanswered();  // Response::abort() before a head: no answer, then close
  void start_tunnel();      // Response::tunnel(): what the client sends next is tunnel bytes
  size_t stream_room();     // body bytes a streamed write() may queue now
  bool end_stream(Response& response);
  const char* head() const { return input_ + start_; }

  ConnectionContext& ctx_;
  char* input_ = nullptr;   // unread bytes are input_[start_, end_)
  Exchange* ex_ = nullptr;  // taken with input_, given back with it
  OutputQueue out_;
  time_t now_ = 0;
  void* owner_ = nullptr;
  uint32_t start_ = 0;
  uint32_t end_ = 0;
  uint32_t scanned_ = 0;  // parser hint: unread bytes already seen for the current head
  // While an exchange is active its head stays at start_; relative to start_, keep_ ends what
  // must stay (the head, and a body gathered in place), cur_ is the next byte to decode.
  uint32_t keep_ = 0;
  uint32_t cur_ = 0;
  uint32_t generation_ = 0;  // of the exchange in progress; ExchangeRefs carry it
  Phase phase_ = Phase::kIdle;
  bool active_ = false;  // ex_ holds an exchange in progress
  bool draining_ = false;
  bool peer_done_ = false;
  bool processing_ = false;      // inside process(): handler calls need no wake
  bool wake_pending_ = false;    // asked the io layer for on_wake()
  bool answered_one_ = false;    // a later response is a keep-alive reuse
  bool awaiting_proxy_ = false;  // a PROXY header comes first
  uint64_t gate_token_ = 0;      // the access stage counts this connection (connection limits)
  PeerAddress peer_;
};

}  // namespace zhttp::conn
