#pragma once
// One HTTP/1.1 connection as a state machine, with no I/O of its own: the io layer hands it the
// bytes it read and sends what it produces. Requests are answered strictly in order, pipelined
// ones included; the responses to all requests found in one read queue up together, so they leave
// in one writev. Bodies (Content-Length or chunked) are gathered in the input buffer and given
// to the handler whole. Every protocol error becomes its status with "Connection: close", then
// the connection stops reading and closes once the response is out.
#include <sys/uio.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <span>

#include "conn/buffer_pool.hpp"
#include "conn/output_queue.hpp"
#include "zhttp/chunked.hpp"
#include "zhttp/handler.hpp"
#include "zhttp/parser.hpp"

namespace zhttp::conn {

struct ConnectionConfig {
  ParserLimits parser;
  ChunkedLimits chunked;
  uint64_t max_body_bytes = 1 << 20;  // over this: 413 (also bounded by the input block)
  // Stop parsing pipelined requests while this much output waits (or segments run short).
  size_t max_pending_output = 256 * 1024;
  size_t min_output_room = 2048;  // a response head must fit in what is left
};

// Told about every response a connection queues (access log, statistics).
struct ResponseRecord {
  const RequestView* request;  // null for a protocol error before a request was read
  uint16_t status;
  uint64_t body_bytes;
};
class ResponseObserver {
 public:
  virtual ~ResponseObserver() = default;
  virtual void on_response(const ResponseRecord& record) = 0;
};

// What every connection of a worker shares (one thread per worker): configuration, the handler,
// the Date cache, the buffer pools, and the scratch a request head is parsed into. Keeping these
// out of Connection is what makes an idle connection cost a few dozen bytes.
struct ConnectionContext {
  ConnectionContext(const ConnectionConfig& c, Handler& h, DateCache& d, BufferPool& in,
                    BufferPool& out)
      : config(c), handler(h), dates(d), input_pool(in), output_pool(out) {}

  const ConnectionConfig& config;
  Handler& handler;
  DateCache& dates;
  BufferPool& input_pool;   // blocks must hold a whole head plus the bodies accepted
  BufferPool& output_pool;  // blocks hold the segment ring plus formatted responses
  Request request;
  std::array<Header, 100> headers;
  ResponseObserver* observer = nullptr;
  const PeerAddress* peer = nullptr;  // of the connection being handled (set by the io layer)
};

class Connection {
 public:
  enum class Phase : uint8_t {
    kIdle,     // between requests (keep-alive); holds no buffers when nothing is unread
    kHead,     // part of a request head has arrived
    kBody,     // reading a request body
    kClosing,  // answered an error or a final request: flush, then close
  };

  explicit Connection(ConnectionContext& context) : ctx_(context) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Where the next read may put bytes; empty when the connection must not read now (closing,
  // output backpressure, or no buffer to be had).
  std::span<char> read_space();  // empty exactly when !wants_read() or no buffer is free
  // n bytes were read into read_space(); parses and answers what is complete.
  void on_read(size_t n, time_t now);
  // The peer will send nothing more: answer what is complete, then close.
  void on_eof(time_t now);

  // Whether the io layer should watch for input now (not closing, not held back by output).
  bool wants_read() const { return phase_ != Phase::kClosing && !peer_done_ && !backpressured(); }
  bool has_output() const { return !out_.empty(); }
  size_t gather(iovec* iov, size_t max, bool* file_next = nullptr) const {
    return out_.gather(iov, max, file_next);
  }
  const Segment* front_file() const { return out_.front_file(); }
  // n bytes of output were sent; may resume parsing requests held back by backpressure.
  void on_sent(size_t n, time_t now);

  // Stop keeping the connection alive (worker drain): the next response says "Connection:
  // close" and the connection closes after it. An idle connection stays open meanwhile: closing
  // it could cross a request the client is sending (the reset nginx gives on reload).
  void drain();
  // The io layer's timer fired for this connection: a request in progress gets 408 and the
  // connection closes; an idle one just closes.
  void timed_out(time_t now);
  // Back to a fresh connection (buffers returned), for reuse of the object by the next socket.
  void reset();

  Phase phase() const { return phase_; }
  // The io layer should close now: closing (or idle after the peer's end) with all output sent.
  bool should_close() const;
  bool holds_buffers() const { return input_ != nullptr || out_.attached(); }

 private:
  size_t unread() const { return end_ - start_; }
  bool backpressured() const;
  void process(time_t now);
  bool parse_head();  // false: wait for more bytes, or closing
  bool start_body();  // after a head with a body; false: closing
  bool read_body();   // false: wait for more bytes, or closing
  void dispatch(std::string_view body, bool may_keep_alive);
  void fail(uint16_t status);  // error response, then close
  void report(const RequestView* request, const Response& response);
  bool ensure_output();
  void release_idle_buffers();
  const char* head() const { return input_ + start_; }

  ConnectionContext& ctx_;
  char* input_ = nullptr;  // unread bytes are input_[start_, end_)
  uint32_t start_ = 0;
  uint32_t end_ = 0;
  uint32_t scanned_ = 0;  // parser hint: unread bytes already seen for the current head
  Phase phase_ = Phase::kIdle;
  bool draining_ = false;
  bool peer_done_ = false;
  OutputQueue out_;
  time_t now_ = 0;

  // While a body is read, the head stays at start_ and is parsed again (into the shared
  // scratch) when the body is complete; positions are relative to start_, so unread bytes can
  // move to the front of the buffer meanwhile.
  uint32_t head_len_ = 0;
  uint32_t body_end_ = 0;    // body bytes gathered so far end here
  uint32_t decode_pos_ = 0;  // chunked: next framing byte to decode
  int64_t content_length_ = 0;
  bool chunked_body_ = false;
  ChunkedDecoder chunked_;
};

}  // namespace zhttp::conn
