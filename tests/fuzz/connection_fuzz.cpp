// libFuzzer target for the connection layer (src/conn, no sockets, no libev). The input is a
// script and the bytes a client sends:
//   byte 0      configuration (limits, buffer sizes)
//   byte 1      L, the script's length; the next L bytes are the script
//   the rest    the wire bytes
// The script is read in order (zeros once it runs out) by both the driver, which picks its next
// step (read n bytes, let a slow reader take n bytes, run wakes and posts, complete or feed a
// deferred response, resume a paused body, time out, end the input, drain, drop the connection),
// and the handler, which picks body modes, answers at once (bytes, files, no body), defers,
// streams, pauses and resumes.
// Afterwards everything is completed, read and sent.
//
// Checked: no crash or sanitizer finding; the handler is called only as the API promises (one
// exchange at a time, none started while another is owed, on_body only in kStream and never
// while paused, on_abort once for an owed exchange; an ExchangeRef is alive exactly while its
// exchange is owed); nothing is read while a body is paused; and the output is a well-formed
// sequence of responses (status line, fields, then a body framed by Content-Length, chunks or the
// close), agreeing with what the observer was told, at most one per request plus one protocol
// error, only the last one cut short (a stream aborted) and nothing after "Connection: close";
// no descriptor left open.
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "conn/connection.hpp"

namespace zhttp::conn {
namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr time_t kNow = 1700000000;

struct Script {
  const uint8_t* p = nullptr;
  size_t n = 0;
  size_t i = 0;
  uint8_t next() { return i < n ? p[i++] : 0; }
  bool done() const { return i >= n; }
};

const std::string& big_static() {
  static const std::string s(100000, 'b');
  return s;
}

// A file for file responses: 40000 bytes, made once.
int shared_file() {
  static const int fd = [] {
    int f = ::memfd_create("connection_fuzz", MFD_CLOEXEC);
    check(f >= 0);
    std::string bytes(40000, 'f');
    check(::pwrite(f, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
    return f;
  }();
  return fd;
}

// --- the reference ------------------------------------------------------------------------------

// The requests of one connection as a client sent them: the same bytes parsed whole, on their
// own, with the parser and the body framing (what the connection must agree with).
class Reference {
 public:
  Reference(const ConnectionConfig& c, std::string_view wire) : config_(c), wire_(wire) {}

  struct Request {
    std::string method;
    std::string target;
    std::string body;
    bool body_complete = false;  // else: malformed, or cut short by the end of the wire
  };
  // A connection started at `offset`.
  void restart(size_t offset) {
    at_ = offset;
    stopped_ = false;
    requests_.clear();
  }
  // The k-th request (from 0) of the connection; null if the wire does not hold it.
  const Request* get(size_t k) {
    while (requests_.size() <= k && !stopped_) parse_next();
    return k < requests_.size() ? &requests_[k] : nullptr;
  }

 private:
  void parse_next() {
    std::string_view in = wire_.substr(at_);
    zhttp::Request req;
    std::array<Header, kMaxHeaders> headers;
    ParseResult r = parse_request(in, config_.parser, req, headers);
    if (r.status != ParseStatus::kComplete) {
      stopped_ = true;
      return;
    }
    Request out;
    out.method = std::string(req.method_name.in(in.data()));
    out.target = std::string(req.target.in(in.data()));
    at_ += r.consumed;
    if (req.has_body()) {
      BodyFraming framing;
      if (req.chunked) {
        framing.start_chunked(config_.chunked);
      } else {
        framing.start_length(static_cast<uint64_t>(req.content_length));
      }
      while (true) {
        BodyStep step = framing.step(wire_.data() + at_, wire_.size() - at_);
        if (step.kind == BodyStep::Kind::kData) {
          out.body.append(wire_.data() + at_ + step.data_offset, step.data_length);
        }
        at_ += step.consumed;
        if (step.kind == BodyStep::Kind::kDone) {
          out.body_complete = true;
          break;
        }
        if (step.kind != BodyStep::Kind::kData) {
          stopped_ = true;  // malformed or cut: the connection cannot go past it
          break;
        }
      }
    } else {
      out.body_complete = true;
    }
    requests_.push_back(std::move(out));
  }

  const ConnectionConfig& config_;
  std::string_view wire_;
  size_t at_ = 0;
  bool stopped_ = false;
  std::vector<Request> requests_;
};

// --- the handler --------------------------------------------------------------------------------

class FuzzHandler : public Handler {
 public:
  FuzzHandler(Script& s, const ConnectionConfig& c, Reference& ref)
      : s_(s), config_(c), ref_(ref) {}

  BodyMode body_mode(const RequestView& r) override {
    begin(r);
    uint8_t d = s_.next();
    mode = d % 3 == 0 ? BodyMode::kGather : d % 3 == 1 ? BodyMode::kStream : BodyMode::kRefuse;
    return mode;
  }

  void handle(const RequestView& r, Response& response) override {
    if (!r.request().has_body()) {
      begin(r);
      mode = BodyMode::kRefuse;
    }
    check(!handled);
    check(mode == BodyMode::kGather || r.body().empty());
    check(r.body().size() <= config_.max_body_bytes);
    if (mode == BodyMode::kGather) check(expected_->body_complete && r.body() == expected_->body);
    handled = owed = true;
    uint8_t d = s_.next();
    switch (d % 8) {
      case 0:
        answer(response, d / 8);
        break;
      case 1: {
        // A file range: small ones are read into the output, large ones sent as a file.
        uint64_t offset = (d / 8) * 1000u;
        uint64_t length = d & 0x80 ? 40000 - offset : (d / 8) * 211u;
        if (d & 0x40) {
          response.status(200).file(::dup(shared_file()), offset, length);
        } else {
          response.status(200).file_shared(shared_file(), offset, length);
        }
        break;
      }
      case 2:
      case 3:
        keep(response);
        break;
      case 4:
        keep(response);
        start_stream(response, d / 8);
        break;
      case 5:
        // Not copied: a segment of its own (short ones fill the segment ring first).
        response.status(200).body_static(
            std::string_view(big_static()).substr(0, d & 0x10 ? 100000 : d / 32));
        break;
      case 6:
        response.status(d & 8 ? 204 : 304).no_body();
        break;
      case 7:
        if (d & 8) response.status(200).header("Bad Name", "x").body("never");
        break;  // neither answers nor defers (or the head was refused): 500
    }
    if (mode == BodyMode::kStream && owed && (d & 0x40)) pause(response);
    settle(response);
    if (!response.finished() && !response.deferred()) owed = false;  // the connection's 500
  }

  void on_body(Response& r, std::string_view bytes) override {
    check(owed && handled && mode == BodyMode::kStream && !body_ended && !paused);
    check(!bytes.empty());
    body_bytes += bytes.size();
    streamed_ += bytes;
    check(expected_->body.compare(0, streamed_.size(), streamed_) == 0);
    uint8_t d = s_.next();
    switch (d % 8) {
      case 1:
        pause(r);
        break;
      case 2:
        if (r.streaming()) write(r, d);
        break;
      case 3:
        if (r.streaming()) {
          r.end();
        } else if (d & 8) {
          answer(r, d / 16);
        }
        break;
      default:
        break;
    }
    settle(r);
  }

  void on_body_end(Response& r) override {
    check(owed && mode == BodyMode::kStream && !body_ended);
    check(expected_->body_complete && streamed_ == expected_->body);
    body_ended = true;
    uint8_t d = s_.next();
    if (d % 4 == 0) {
      if (r.streaming()) {
        r.end();
      } else if (!r.finished()) {
        answer(r, d / 4);
      }
    }
    settle(r);
  }

  void on_writable(Response& r) override {
    check(owed && r.streaming());
    uint8_t d = s_.next();
    if (d % 4 == 3) {
      r.end();
    } else if (d % 4 != 0) {
      write(r, d);
    }
    if (d & 0x80) r.resume_body();
    if (d & 0x80) paused = false;
    settle(r);
  }

  void on_abort(Response&, AbortReason) override {
    check(owed && handled);
    owed = false;
    ++aborts;
  }

  // What the driver does with the exchange owed, through its reference.
  void act(uint8_t d) {
    Response* r = ref.response();
    check((r != nullptr) == (has_ref && owed));
    if (!r) return;
    switch (d % 4) {
      case 0:
        if (r->streaming()) {
          write(*r, d);
        } else {
          answer(*r, d / 4);
        }
        break;
      case 1:
        if (r->streaming()) {
          r->end();
        } else if (!r->finished()) {
          start_stream(*r, d / 4);
        }
        break;
      case 2:
        r->resume_body();
        paused = false;
        break;
      case 3:
        if (d & 4) {
          r->pause_body();
          if (mode == BodyMode::kStream && !body_ended) paused = true;
        }
        break;
    }
    settle(*r);
  }
  // Completes what is owed, whatever it is.
  void complete() {
    Response* r = ref.response();
    if (!r) return;
    r->resume_body();
    paused = false;
    if (r->streaming()) {
      r->end();
    } else {
      r->send(200, "text/plain", "done");
    }
    settle(*r);
  }
  static void posted(Response* r, void* arg) {
    auto* self = static_cast<FuzzHandler*>(arg);
    if (r) {
      check(self->has_ref && self->owed && r == self->ref.response());
      self->answer(*r, 1);
      self->settle(*r);
    }
  }

  // The connection ended: what it promised is over.
  void connection_gone() {
    check(!owed);
    check(!ref.alive());
    for (const ExchangeRef& old : old_refs) check(!old.alive());
    old_refs.clear();
    has_ref = false;
    ref = {};
    exchanges = 0;
  }

  bool reading_paused() const { return owed && paused && mode == BodyMode::kStream && !body_ended; }

  BodyMode mode = BodyMode::kRefuse;
  bool handled = false;
  bool owed = false;  // handle() ran and the response is neither complete nor aborted
  bool paused = false;
  bool body_ended = false;
  bool has_ref = false;
  bool head = false;  // the request being answered is a HEAD
  ExchangeRef ref;
  uint64_t exchanges = 0;  // started on this connection
  uint64_t aborts = 0;
  uint64_t body_bytes = 0;
  std::vector<ExchangeRef> old_refs;

 private:
  // A new exchange: the previous one is over for good.
  void begin(const RequestView& r) {
    check(!owed);
    check(!ref.alive());
    if (has_ref && old_refs.size() < 32) old_refs.push_back(ref);
    for (const ExchangeRef& old : old_refs) check(!old.alive());
    has_ref = handled = paused = body_ended = false;
    ref = {};
    head = r.method() == Method::kHead;
    expected_ = ref_.get(exchanges);
    check(expected_ != nullptr && expected_->method == r.method_name() &&
          expected_->target == r.target());
    streamed_.clear();
    ++exchanges;
  }
  void keep(Response& r) {
    ref = r.defer();
    has_ref = true;
    check(ref.alive());
  }
  void pause(Response& r) {
    r.pause_body();
    if (mode == BodyMode::kStream && !body_ended && owed) paused = true;
  }
  void answer(Response& r, uint8_t d) {
    size_t size = d % 16 == 15 ? 70000 : (d * 37u) % 3000;  // 70000 does not fit: not answered
    switch (d % 3) {
      case 0:
        r.send(200, "text/plain", std::string(size, 'a'));
        break;
      case 1:
        r.status(201).header("X-Fuzz", d).body(std::string(size, 'c'));
        break;
      case 2:
        r.status(404).no_body();
        break;
    }
  }
  void start_stream(Response& r, uint8_t d) {
    r.status(200).header("Content-Type", "application/octet-stream");
    bool ok = d & 1 ? r.stream((d * 13u) % 5000) : r.stream();
    if (!ok) return;
    if (!has_ref) keep(r);
    if (d & 2) write(r, d);
    if (d & 4) r.end();
  }
  void write(Response& r, uint8_t d) {
    size_t want = d % 8 == 7 ? 40000 : (d * 97u) % 4000;
    std::string bytes(want, static_cast<char>('0' + d % 10));
    size_t took = r.write(bytes);
    check(took <= want);
  }
  void settle(Response& r) {
    if (r.finished()) owed = false;
    check(!has_ref || ref.alive() == owed);
  }

  Script& s_;
  const ConnectionConfig& config_;
  Reference& ref_;
  const Reference::Request* expected_ = nullptr;
  std::string streamed_;
};

// --- the io layer -------------------------------------------------------------------------------

struct Record {
  uint16_t status;
  uint64_t body_bytes;
  bool head;
  bool has_request;
  uint64_t exchange;
};

struct Observer : ResponseObserver {
  explicit Observer(const FuzzHandler& h) : handler(h) {}
  void on_response(const ResponseRecord& r) override {
    records.push_back({r.status, r.body_bytes, r.request && r.request->method() == Method::kHead,
                       r.request != nullptr, handler.exchanges});
  }
  const FuzzHandler& handler;
  std::vector<Record> records;
};

struct Events : ConnectionEvents {
  void wake(Connection&) override {
    check(!woken);  // at most once until on_wake()
    woken = true;
  }
  bool post(Connection* c, uint32_t generation, void (*fn)(Response*, void*), void* arg) override {
    if (posts.size() >= 4) return false;  // a small ring
    posts.push_back({c, generation, fn, arg});
    return true;
  }
  struct Post {
    Connection* c;
    uint32_t generation;
    void (*fn)(Response*, void*);
    void* arg;
  };
  bool woken = false;
  std::vector<Post> posts;
};

// The responses in `out` (all a connection queued), checked against what the observer recorded;
// `last_head`: the last exchange was a HEAD (for a response the observer was not told about).
void check_output(std::string_view out, const std::vector<Record>& records, uint64_t exchanges,
                  bool last_head) {
  size_t finals = 0;
  bool interim = false;
  while (!out.empty()) {
    // Status line and fields: a head is queued whole, never cut.
    size_t end = out.find("\r\n\r\n");
    check(end != std::string_view::npos);
    std::string_view head = out.substr(0, end + 2);
    out.remove_prefix(end + 4);
    check(head.substr(0, 9) == "HTTP/1.1 " && head.size() >= 14 && head[12] == ' ');
    uint16_t status = 0;
    for (size_t i = 9; i < 12; ++i) {
      check(head[i] >= '0' && head[i] <= '9');
      status = static_cast<uint16_t>(status * 10 + (head[i] - '0'));
    }
    if (status == 100) {
      check(head == "HTTP/1.1 100 Continue\r\n");
      check(!interim);
      interim = true;
      continue;
    }
    check(status >= 200);
    interim = false;
    int64_t length = -1;
    bool chunked = false;
    bool close = false;
    size_t line_end = head.find("\r\n");
    for (size_t at = line_end + 2; at < head.size(); at = line_end + 2) {
      line_end = head.find("\r\n", at);
      std::string_view line = head.substr(at, line_end - at);
      size_t colon = line.find(": ");
      check(colon != std::string_view::npos && colon > 0);
      std::string_view name = line.substr(0, colon);
      std::string_view value = line.substr(colon + 2);
      if (name == "Content-Length") {
        check(length < 0 && !value.empty());
        length = 0;
        for (char c : value) {
          check(c >= '0' && c <= '9');
          length = length * 10 + (c - '0');
        }
      } else if (name == "Transfer-Encoding") {
        check(value == "chunked" && !chunked);
        chunked = true;
      } else if (name == "Connection") {
        check(value == "close" || value == "keep-alive");
        close = value == "close";
      }
    }
    check(!(chunked && length >= 0));
    const Record* rec = finals < records.size() ? &records[finals] : nullptr;
    ++finals;
    if (rec) check(rec->status == status);
    // Unrecorded: a streamed response the connection gave up on; it is the last.
    bool is_head = rec ? rec->head : last_head;
    bool bodiless = is_head || status == 204 || status == 304;
    if (status == 204 || status == 304) check(length < 0 && !chunked);
    uint64_t body = 0;
    bool cut = false;
    if (bodiless) {
      // nothing
    } else if (chunked) {
      // Chunks are queued whole: a body can stop short only between them.
      while (true) {
        if (out.empty()) {
          cut = true;
          break;
        }
        size_t eol = out.find("\r\n");
        check(eol != std::string_view::npos && eol > 0 && eol <= 16);
        uint64_t size = 0;
        for (char c : out.substr(0, eol)) {
          check((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
          size = size * 16 + static_cast<uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
        }
        check(out[0] != '0' || eol == 1);  // no leading zeros
        out.remove_prefix(eol + 2);
        if (size == 0) {
          check(out.substr(0, 2) == "\r\n");
          out.remove_prefix(2);
          break;
        }
        check(out.size() >= size + 2 && out.substr(size, 2) == "\r\n");
        out.remove_prefix(size + 2);
        body += size;
      }
    } else if (length >= 0) {
      body = std::min<uint64_t>(out.size(), static_cast<uint64_t>(length));
      cut = body < static_cast<uint64_t>(length);
      out.remove_prefix(static_cast<size_t>(body));
    } else {
      check(close);  // delimited by the close
      body = out.size();
      out = {};
    }
    // Cut short: a stream given up on (unrecorded) or ended short (recorded); the last either way.
    if (cut) check(out.empty() && (rec == nullptr || rec == &records.back()));
    if (rec && !bodiless) check(rec->body_bytes == body);
    if (rec && is_head) check(rec->body_bytes == 0);
    if (!rec) check(out.empty());
    if (close) check(out.empty());  // nothing after "Connection: close"
  }
  check(records.size() <= finals && finals <= records.size() + 1);
  // At most one response per request, in order, plus one protocol error at the end.
  uint64_t last = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].has_request) {
      check(records[i].exchange > last);
      last = records[i].exchange;
    } else {
      check(i + 1 == records.size());
    }
  }
  check(finals <= exchanges + 1);
}

struct Driver {
  Driver(const ConnectionConfig& c, size_t in_block, size_t out_block, Script s, std::string_view w)
      : config(c),
        script(s),
        wire(w),
        reference(config, w),
        handler(script, config, reference),
        input(in_block, 2),
        output(out_block, 2),
        exchanges(2),
        bodies(config.max_body_bytes, 2),
        observer(handler) {
    ctx.observer = &observer;
    ctx.events = &events;
  }

  void read(size_t n) {
    if (peer_done || wire.empty()) return;
    const bool wants = conn.wants_read();
    std::span<char> space = conn.read_space();
    check(space.empty() == !wants);  // buffers are never short here
    if (handler.reading_paused()) check(space.empty() && !conn.wants_read());
    if (space.empty()) return;
    n = std::min({n == 0 ? wire.size() : n, wire.size(), space.size()});
    std::memcpy(space.data(), wire.data(), n);
    wire.remove_prefix(n);
    read_total += n;
    conn.on_read(n, kNow);
  }
  void flush(size_t budget) {
    while (conn.has_output() && budget > 0) {
      iovec iov[64];
      size_t count = conn.gather(iov, 64);
      if (count == 0) {
        const Segment* f = conn.front_file();
        check(f != nullptr && f->length > 0);
        std::string bytes(std::min<uint64_t>(f->length, budget), '\0');
        check(::pread(f->fd, bytes.data(), bytes.size(), static_cast<off_t>(f->offset)) ==
              static_cast<ssize_t>(bytes.size()));
        sent += bytes;
        budget -= bytes.size();
        conn.on_sent(bytes.size(), kNow);
        continue;
      }
      size_t total = 0;
      for (size_t i = 0; i < count && total < budget; ++i) {
        size_t k = std::min(iov[i].iov_len, budget - total);
        check(k > 0);
        sent.append(static_cast<const char*>(iov[i].iov_base), k);
        total += k;
      }
      budget -= total;
      conn.on_sent(total, kNow);
    }
  }
  void run_wakes() {
    for (int rounds = 0;; ++rounds) {
      check(rounds < 1000);  // a connection that keeps waking itself
      while (!events.posts.empty()) {
        std::vector<Events::Post> batch;
        batch.swap(events.posts);
        for (const Events::Post& p : batch) p.fn(p.c->response_for(p.generation), p.arg);
      }
      if (!events.woken) return;
      events.woken = false;
      conn.on_wake(kNow);
      flush(SIZE_MAX);
    }
  }
  // The connection is gone (closed, or dropped): check what it sent, start a fresh one.
  void end_connection(AbortReason why) {
    flush(SIZE_MAX);  // what was queued, so that the output can be checked whole
    conn.reset(why);
    events.woken = false;  // the io layer forgets a closed connection's wake
    events.posts.clear();  // (a real one still runs them, with a null response)
    check_output(sent, observer.records, handler.exchanges, handler.head);
    handler.connection_gone();
    observer.records.clear();
    sent.clear();
    peer_done = false;
    reference.restart(read_total);  // a new connection: what the old one had read is gone
  }

  void step() {
    uint8_t op = script.next();
    switch (op % 12) {
      case 0:
      case 1:
      case 2:
      case 3:
        read(script.next());
        break;
      case 4:
        flush(1 + script.next() * 8u);
        break;
      case 5:
        flush(SIZE_MAX);
        break;
      case 6:
        run_wakes();
        break;
      case 7:
        handler.act(script.next());
        break;
      case 8:
        if (handler.ref.post(&FuzzHandler::posted, &handler)) ++posted;
        break;
      case 9:
        if (script.next() % 4 == 0) conn.timed_out(kNow);
        break;
      case 10: {
        uint8_t k = script.next() % 8;
        if (k == 0) {
          conn.on_eof(kNow);
          peer_done = true;
        } else if (k == 1) {
          conn.drain();
        }
        break;
      }
      case 11:
        if (script.next() % 4 == 0) end_connection(AbortReason::kClientGone);
        break;
    }
    if (conn.should_close()) end_connection(AbortReason::kShutdown);
  }

  void run() {
    for (int steps = 0; !script.done() && steps < 4096; ++steps) step();
    // Then everything: read, complete, send, until the input is used up and nothing is owed.
    for (int round = 0; round < 10000; ++round) {
      read(0);
      flush(SIZE_MAX);
      run_wakes();
      handler.complete();
      run_wakes();
      flush(SIZE_MAX);
      if (conn.should_close()) end_connection(AbortReason::kShutdown);
      if ((wire.empty() || peer_done || !conn.wants_read()) && !handler.owed &&
          !conn.has_output()) {
        if (wire.empty() || peer_done) break;
        if (!conn.wants_read()) {
          // Not reading with nothing owed and nothing to send: only a closing connection.
          check(conn.phase() == Connection::Phase::kClosing || handler.reading_paused());
          break;
        }
      }
    }
    conn.on_eof(kNow);
    peer_done = true;
    for (int round = 0; round < 100 && !conn.should_close(); ++round) {
      flush(SIZE_MAX);
      handler.complete();
      run_wakes();
      flush(SIZE_MAX);
    }
    check(conn.should_close());
    end_connection(AbortReason::kShutdown);
  }

  ConnectionConfig config;
  DateCache dates;
  Script script;
  std::string_view wire;  // what is still to be read
  Reference reference;
  FuzzHandler handler;
  BufferPool input;
  BufferPool output;
  ObjectPool<Exchange> exchanges;
  BodyBuffers bodies;
  Observer observer;
  Events events;
  ConnectionContext ctx{config, handler, dates, input, output, exchanges, bodies};
  Connection conn{ctx};
  size_t read_total = 0;  // wire bytes the connections took
  std::string sent;
  bool peer_done = false;
  uint64_t posted = 0;
};

}  // namespace
}  // namespace zhttp::conn

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zhttp::conn;
  if (size < 2) return 0;
  const uint8_t c = data[0];
  size_t script_len = std::min<size_t>(data[1], size - 2);
  Script script{data + 2, script_len};
  std::string_view wire(reinterpret_cast<const char*>(data) + 2 + script_len,
                        size - 2 - script_len);

  ConnectionConfig config;
  size_t in_block = 32768;
  size_t out_block = 65536;
  if (c & 1) {
    config.max_body_bytes = c & 2 ? 64 : 1000;
    config.max_discard_bytes = c & 4 ? 50 : 5000;
  }
  if (c & 8) config.max_pending_output = c & 16 ? 600 : 4096;
  if (c & 32) {
    config.chunked.max_chunk_line_bytes = 16;
    config.chunked.max_trailer_bytes = 32;
  }
  if (c & 64) {
    // Small blocks: heads up to 512 bytes, bodies past the input block sooner, output room short.
    config.parser.max_head_bytes = 512;
    config.parser.max_target_bytes = 256;
    in_block = 1024;
    out_block = 8192;
  }
  if (c & 128) config.parser.max_headers = 4;
  shared_file();
  const int lowest_free = ::dup(0);  // a descriptor left open by a run would take its number
  ::close(lowest_free);
  {
    Driver d(config, in_block, out_block, script, wire);
    d.run();
  }
  const int after = ::dup(0);
  ::close(after);
  check(after == lowest_free);
  return 0;
}
