#include "io/worker.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "http/request_host.hpp"

namespace zhttp::io {
namespace {

enum Command : int { kNoCommand = 0, kDrain = 1, kStop = 2 };

constexpr int kAcceptsPerEvent = 64;  // then let the loop serve the connections it has
constexpr int kReadsPerEvent = 4;     // fairness between busy connections
constexpr double kShedAfter = 1.0;    // see shed_oldest_head()
constexpr size_t kMaxSendfileChunk = size_t{1} << 30;

Worker& worker_of(struct ev_loop* loop) {
  return *static_cast<Worker*>(ev_userdata(loop));
}

uint64_t monotonic_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000 + static_cast<uint64_t>(now.tv_nsec);
}

}  // namespace

struct ev_loop* Worker::new_loop() {
  return ev_loop_new(static_cast<unsigned>(EVBACKEND_EPOLL) | static_cast<unsigned>(EVFLAG_NOENV));
}

Worker::Worker(const WorkerConfig& config, Handler& handler, std::span<const int> listeners,
               struct ev_loop* loop)
    : config_(config),
      loop_(loop != nullptr ? loop : new_loop()),
      input_pool_(config.input_buffer_bytes, config.max_busy_connections),
      output_pool_(config.output_buffer_bytes, config.max_busy_connections),
      exchanges_(config.max_busy_connections),
      body_buffers_(config.connection.max_body_bytes, config.max_body_buffers),
      ctx_(config_.connection, handler, dates_, input_pool_, output_pool_, exchanges_,
           body_buffers_),
      posts_(config.post_ring_size) {
  ev_set_userdata(loop_, this);
  ctx_.events = this;
  free_.reserve(config.max_connections);
  woken_.reserve(config.max_connections);
  for (uint32_t i = 0; i < config.max_connections; ++i) {
    Slot& s = slots_.emplace_back(ctx_);
    s.conn.set_owner(&s);
    ev_init(&s.delay_timer, on_delay_over);
    s.delay_timer.data = &s;
    free_.push_back(&s);
  }
  std::reverse(free_.begin(), free_.end());
  lists_[kHeader].timeout = config.header_timeout;
  lists_[kBody].timeout = config.body_timeout;
  lists_[kHandler].timeout = config.handler_timeout;
  lists_[kIdle].timeout = config.keepalive_timeout;
  lists_[kWrite].timeout = config.write_timeout;
  lists_[kLinger].timeout = config.linger_timeout;
  lists_[kTunnel].timeout = config.tunnel_timeout;
  lists_[kStarved].timeout = config.header_timeout;

  listeners_.resize(listeners.size());
  for (size_t i = 0; i < listeners.size(); ++i) {
    ev_io_init(&listeners_[i], on_accept, listeners[i], EV_READ);
    ev_io_start(loop_, &listeners_[i]);
  }
  // All timeouts are checked by one timer once a second (libev's advice for many timers).
  ev_timer_init(&tick_, on_tick, 1.0, 1.0);
  ev_timer_start(loop_, &tick_);
  ev_async_init(&command_, on_command);
  ev_async_start(loop_, &command_);
  ev_async_init(&posted_, on_posted);
  ev_async_start(loop_, &posted_);
  ev_prepare_init(&prepare_, on_prepare);
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

Worker::~Worker() {
  for (Slot& s : slots_) {
    if (s.fd >= 0) close_now(s, AbortReason::kShutdown);
  }
  if (spare_fd_ >= 0) ::close(spare_fd_);
  ev_loop_destroy(loop_);
}

void Worker::run() {
  ctx_.handler.on_worker_start(WorkerContext{loop_, config_.worker_index});
  ev_run(loop_, 0);
}

void Worker::drain() {
  int expected = kNoCommand;
  pending_command_.compare_exchange_strong(expected, kDrain);
  ev_async_send(loop_, &command_);
}

void Worker::stop() {
  pending_command_.store(kStop);
  ev_async_send(loop_, &command_);
}

void Worker::on_command(struct ev_loop* loop, ev_async*, int) {
  Worker& self = worker_of(loop);
  int command = self.pending_command_.exchange(kNoCommand);
  if (command == kStop) {
    self.stop_now();
  } else if (command == kDrain) {
    self.start_drain();
  }
}

void Worker::stop_now() {
  for (Slot& s : slots_) {
    if (s.fd >= 0) close_now(s, AbortReason::kShutdown);
  }
  ev_break(loop_, EVBREAK_ALL);
}

void Worker::take_orders_from(int fd) {
  ev_io_init(&orders_, on_order, fd, EV_READ);
  ev_io_start(loop_, &orders_);
}

void Worker::on_order(struct ev_loop* loop, ev_io* w, int) {
  Worker& self = worker_of(loop);
  char orders[16];
  ssize_t n = ::read(w->fd, orders, sizeof orders);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {  // the master is gone: nobody will ever ask us to stop
    ev_io_stop(loop, w);
    self.stop_now();
    return;
  }
  for (ssize_t i = 0; i < n; ++i) {
    switch (orders[i]) {
      case kOrderDrain:
        self.start_drain();
        break;
      case kOrderStop:
        ev_io_stop(loop, w);
        self.stop_now();
        return;
      case kOrderReopenLogs:
        if (self.on_reopen_logs_) self.on_reopen_logs_(self.reopen_arg_);
        break;
      default:
        break;
    }
  }
}

// --- accepting ---------------------------------------------------------------------------------

void Worker::on_accept(struct ev_loop* loop, ev_io* w, int) {
  worker_of(loop).accept_from(w->fd);
}

void Worker::accept_from(int listener) {
  for (int i = 0; i < kAcceptsPerEvent && accepting_; ++i) {
    if (free_.empty()) {
      pause_accepting();  // other workers take the queue meanwhile; resumes when a slot frees
      return;
    }
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof peer;
    int fd = ::accept4(listener, reinterpret_cast<sockaddr*>(&peer), &peer_len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) shed_one(listener);
      return;  // EAGAIN, or an error the next readiness event retries
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    Slot& s = *free_.back();
    free_.pop_back();
    s.fd = fd;
    s.lingering = false;
    remember_peer(s, peer);
    if (!proxy_listeners_.empty() && std::find(proxy_listeners_.begin(), proxy_listeners_.end(),
                                               listener) != proxy_listeners_.end()) {
      s.conn.expect_proxy_header();
    }
    open_.fetch_add(1, std::memory_order_relaxed);
    if (stats_) stats_->add(shm::Counter::kConnectionsAccepted);
    update_gauges();
    ev_io_init(&s.watcher, on_io, fd, EV_READ);
    ev_io_start(loop_, &s.watcher);
    move_to(s, kHeader, true);  // the first request must arrive within the header timeout
  }
}

// Out of descriptors: the pending connection would make a level-triggered loop spin. Free the
// spare, accept and close that one connection, and take the spare back.
void Worker::shed_one(int listener) {
  if (spare_fd_ < 0) return;
  ::close(spare_fd_);
  int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd >= 0) ::close(fd);
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void Worker::pause_accepting() {
  if (!accepting_) return;
  accepting_ = false;
  for (ev_io& l : listeners_) ev_io_stop(loop_, &l);
}

void Worker::resume_accepting() {
  if (accepting_ || draining_) return;
  accepting_ = true;
  for (ev_io& l : listeners_) ev_io_start(loop_, &l);
}

// --- connections --------------------------------------------------------------------------------

void Worker::on_io(struct ev_loop* loop, ev_io* w, int revents) {
  worker_of(loop).handle(*reinterpret_cast<Slot*>(w), revents);
}

void Worker::remember_peer(Slot& s, const sockaddr_storage& peer) {
  PeerAddress a;
  a.family = static_cast<uint8_t>(peer.ss_family);
  if (peer.ss_family == AF_INET) {
    std::memcpy(a.bytes, &reinterpret_cast<const sockaddr_in&>(peer).sin_addr, 4);
  } else if (peer.ss_family == AF_INET6) {
    std::memcpy(a.bytes, &reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr, 16);
  }
  s.conn.set_peer(a);
}

void Worker::set_access_log(log::AccessLog* log) {
  access_log_ = log != nullptr && log->enabled() ? log : nullptr;
  ctx_.observer = access_log_ || stats_ ? this : nullptr;
  ctx_.keep_content_encoding =
      access_log_ != nullptr && access_log_->format() == log::AccessLogFormat::kExtended;
}

void Worker::expect_proxy_protocol_on(int listener) {
  proxy_listeners_.push_back(listener);
}

void Worker::set_stats(shm::WorkerStats* slot) {
  stats_ = slot;
  ctx_.observer = access_log_ || stats_ ? this : nullptr;
}

void Worker::count_response(const conn::ResponseRecord& r) {
  using shm::Counter;
  shm::WorkerStats& s = *stats_;
  if (r.request != nullptr) {
    s.add(Counter::kRequests);
    if (r.reused) s.add(Counter::kKeepaliveReuses);
    uint64_t now_ns = monotonic_ns();
    uint64_t latency = now_ns > r.started_ns ? (now_ns - r.started_ns) / 1000 : 0;
    size_t bucket = latency == 0 ? 0 : static_cast<size_t>(64 - __builtin_clzll(latency));
    bucket = std::min(bucket, shm::kLatencyBuckets - 1);  // bucket i: latency < 2^i us
    auto& b = s.latency[bucket];
    b.store(b.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    s.add(Counter::kLatencySumUs, latency);
  } else if (r.status != 408) {
    s.add(Counter::kParseErrors);  // refused before a handler saw it (408s count as timeouts)
  }
  static constexpr Counter kByClass[] = {Counter::kResponses1xx, Counter::kResponses2xx,
                                         Counter::kResponses3xx, Counter::kResponses4xx,
                                         Counter::kResponses5xx};
  if (r.status >= 100 && r.status < 600) s.add(kByClass[r.status / 100 - 1]);
  switch (r.status) {
    case 200:
      s.add(Counter::kResponses200);
      break;
    case 206:
      s.add(Counter::kResponses206);
      break;
    case 304:
      s.add(Counter::kResponses304);
      break;
    case 400:
      s.add(Counter::kResponses400);
      break;
    case 404:
      s.add(Counter::kResponses404);
      break;
    case 408:
      s.add(Counter::kResponses408);
      break;
    case 413:
      s.add(Counter::kResponses413);
      break;
    case 429:
      s.add(Counter::kResponses429);
      break;
    case 431:
      s.add(Counter::kResponses431);
      break;
    default:
      break;
  }
}

void Worker::update_gauges() {
  if (stats_ == nullptr) return;
  stats_->set(shm::Gauge::kConnectionsActive, open_.load(std::memory_order_relaxed));
  stats_->set(shm::Gauge::kConnectionsIdle, lists_[kIdle].size);
}

void Worker::on_response(const conn::ResponseRecord& r) {
  if (stats_) count_response(r);
  if (access_log_ == nullptr) return;
  log::AccessEntry e;
  e.addr = r.peer->bytes;
  e.family = r.peer->family;
  e.now = static_cast<time_t>(ev_now(loop_));
  e.status = r.status;
  e.body_bytes = r.body_bytes;
  if (r.request != nullptr) {
    e.has_request_line = true;
    e.method = r.request->method_name();
    e.target = r.request->target();
    e.version_minor = r.request->version_minor();
    e.referer = r.request->header(HeaderId::kReferer);
    e.user_agent = r.request->header(HeaderId::kUserAgent);
    if (access_log_->format() != log::AccessLogFormat::kCombined) {
      e.host = http::request_host(r.request->request().target_form, r.request->target(),
                                  r.request->header(HeaderId::kHost));
      e.content_encoding = r.content_encoding;
      e.upstream = r.upstream_address;
      e.upstream_status = r.upstream_status;
      e.upstream_us = r.upstream_us;
    }
  }
  access_log_->record(e);
}

// Latencies count from the io event that completed a request's head.
void Worker::begin_event() {
  if (stats_) ctx_.event_ns = monotonic_ns();
}

void Worker::handle(Slot& s, int revents) {
  begin_event();
  if (s.lingering) {
    linger_read(s);
    return;
  }
  if (revents & EV_READ) read_some(s);
  if (s.fd >= 0) write_some(s);
  if (s.fd >= 0) update(s);
  resume_starved();
}

void Worker::read_some(Slot& s) {
  const time_t now = static_cast<time_t>(ev_now(loop_));
  for (int i = 0; i < kReadsPerEvent; ++i) {
    std::span<char> space = s.conn.read_space();
    if (space.empty() && s.conn.wants_read()) {
      // Every input buffer is taken: free the one of the oldest unfinished head, or wait.
      if (shed_oldest_head(s, ev_now(loop_))) space = s.conn.read_space();
      if (space.empty()) {
        park(s);
        return;
      }
    }
    if (space.empty()) return;
    ssize_t n = ::read(s.fd, space.data(), space.size());
    if (n > 0) {
      if (stats_) stats_->add(shm::Counter::kBytesIn, static_cast<uint64_t>(n));
      if (s.list == kBody) move_to(s, kBody, true);  // body timeout counts between reads
      s.conn.on_read(static_cast<size_t>(n), now);
      if (static_cast<size_t>(n) < space.size()) return;  // the socket is very likely empty
      continue;
    }
    if (n == 0) {
      s.conn.on_eof(now);
      return;
    }
    if (errno != EAGAIN && errno != EINTR) close_now(s);  // reset by peer and the like
    return;
  }
}

// Under buffer pressure a head that has been arriving for over kShedAfter seconds (a slow or
// stalled client, slowloris) gives way to a connection with data ready: it gets its 408 now
// instead of at --header-timeout. False when there is no such head.
bool Worker::shed_oldest_head(const Slot& requester, ev_tstamp now) {
  Slot* oldest = lists_[kHeader].head;
  if (oldest == nullptr || oldest == &requester || now - oldest->stamp < kShedAfter) return false;
  time_out(*oldest, now);
  return true;
}

void Worker::park(Slot& s) {
  watch(s, s.conn.has_output() ? EV_WRITE : 0);
  move_to(s, kStarved, true);
}

// Lets as many parked connections read again as there are free input buffers.
void Worker::resume_starved() {
  for (size_t free = input_pool_.available(); free > 0 && lists_[kStarved].head; --free) {
    Slot& s = *lists_[kStarved].head;
    move_to(s, kIdle, true);
    watch(s, EV_READ | (s.conn.has_output() ? EV_WRITE : 0));
  }
}

void Worker::write_some(Slot& s) {
  while (s.conn.has_output()) {
    ssize_t n;
    if (const conn::Segment* f = s.conn.front_file()) {
      off_t offset = static_cast<off_t>(f->offset);
      n = ::sendfile(s.fd, f->fd, &offset, std::min<uint64_t>(f->length, kMaxSendfileChunk));
      if (n == 0) {  // the file shrank under us: the promised length cannot be sent
        close_now(s);
        return;
      }
    } else {
      iovec iov[64];
      bool file_next = false;
      size_t count = s.conn.gather(iov, 64, &file_next);
      if (file_next) {
        // A head followed by a sendfile body: MSG_MORE holds it back to share the body's
        // first packet instead of leaving alone (TCP_NODELAY is on).
        msghdr msg{};
        msg.msg_iov = iov;
        msg.msg_iovlen = count;
        n = ::sendmsg(s.fd, &msg, MSG_MORE | MSG_NOSIGNAL);
      } else {
        n = ::writev(s.fd, iov, static_cast<int>(count));
      }
    }
    if (n < 0) {
      if (errno != EAGAIN && errno != EINTR) close_now(s);  // EPIPE, ECONNRESET
      return;
    }
    if (stats_) stats_->add(shm::Counter::kBytesOut, static_cast<uint64_t>(n));
    if (s.list == kWrite) move_to(s, kWrite, true);  // progress restarts the stall clock
    s.conn.on_sent(static_cast<size_t>(n), static_cast<time_t>(ev_now(loop_)));
  }
}

// After any event: close, or set what to watch and which timeout applies.
void Worker::update(Slot& s) {
  if (s.conn.should_close()) {
    begin_close(s);
    return;
  }
  if (s.list == kStarved) {
    watch(s, s.conn.has_output() ? EV_WRITE : 0);  // reads wait for resume_starved()
    return;
  }
  int events = (s.conn.wants_read() ? EV_READ : 0) | (s.conn.has_output() ? EV_WRITE : 0);
  watch(s, events);
  if (s.conn.has_output()) {
    if (s.list != kWrite) move_to(s, kWrite, true);
    return;
  }
  switch (s.conn.phase()) {
    case conn::Connection::Phase::kHead:
      if (s.list != kHeader) move_to(s, kHeader, true);  // counts from the head's first byte
      break;
    case conn::Connection::Phase::kBody:
      if (s.list != kBody) move_to(s, kBody, true);
      break;
    case conn::Connection::Phase::kHandler:
      if (s.list != kHandler) move_to(s, kHandler, true);  // restarts with each write
      break;
    case conn::Connection::Phase::kDelayed:
      unlink(s);  // its timer is its timeout
      break;
    case conn::Connection::Phase::kTunnel:
      move_to(s, kTunnel, true);  // any traffic either way restarts its idle clock
      break;
    default:
      if (s.list != kIdle) move_to(s, kIdle, true);
      break;
  }
}

void Worker::watch(Slot& s, int events) {
  if ((s.watcher.events & (EV_READ | EV_WRITE)) == events && ev_is_active(&s.watcher)) return;
  ev_io_stop(loop_, &s.watcher);
  if (events == 0) return;
  ev_io_set(&s.watcher, s.fd, events);
  ev_io_start(loop_, &s.watcher);
}

// The final response is out. Stop sending and keep reading (dropping) for a moment, so bytes the
// client already sent do not make the kernel answer with a reset that could destroy the
// response on its way (a graceful close).
void Worker::begin_close(Slot& s) {
  ::shutdown(s.fd, SHUT_WR);
  s.conn.reset();  // its buffers go back to the pools: lingering reads into a stack sink
  s.lingering = true;
  watch(s, EV_READ);
  move_to(s, kLinger, true);
}

void Worker::linger_read(Slot& s) {
  char sink[4096];
  for (int i = 0; i < kReadsPerEvent; ++i) {
    ssize_t n = ::read(s.fd, sink, sizeof sink);
    if (n > 0) continue;
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    break;  // EOF or error: done
  }
  close_now(s);
}

void Worker::close_now(Slot& s, AbortReason why) {
  ev_io_stop(loop_, &s.watcher);
  ev_timer_stop(loop_, &s.delay_timer);
  unlink(s);
  ::close(s.fd);
  s.fd = -1;
  s.lingering = false;
  s.conn.reset(why);
  free_.push_back(&s);
  open_.fetch_sub(1, std::memory_order_relaxed);
  update_gauges();
  resume_accepting();
  finish_if_drained();
}

// --- timeouts -----------------------------------------------------------------------------------

void Worker::move_to(Slot& s, List list, bool restart_clock) {
  unlink(s);
  if (restart_clock) s.stamp = ev_now(loop_);
  TimeoutList& l = lists_[list];
  s.list = list;
  s.prev = l.tail;
  s.next = nullptr;
  (l.tail ? l.tail->next : l.head) = &s;
  l.tail = &s;
  ++l.size;
}

void Worker::unlink(Slot& s) {
  if (s.list == kNone) return;
  TimeoutList& l = lists_[s.list];
  (s.prev ? s.prev->next : l.head) = s.next;
  (s.next ? s.next->prev : l.tail) = s.prev;
  s.prev = s.next = nullptr;
  s.list = kNone;
  --l.size;
}

void Worker::on_tick(struct ev_loop* loop, ev_timer*, int) {
  Worker& self = worker_of(loop);
  self.expire(ev_now(loop));
  if (self.access_log_) self.access_log_->flush();
  self.update_gauges();
}

void Worker::expire(ev_tstamp now) {
  for (int list = 0; list < kListCount; ++list) {
    TimeoutList& l = lists_[list];
    // Members joined in stamp order and share the timeout: stop at the first one still in time.
    while (l.head && now - l.head->stamp >= l.timeout) {
      Slot& s = *l.head;
      if (stats_ && list != kLinger) stats_->add(shm::Counter::kTimeouts);
      if (list == kHeader || list == kBody || list == kHandler) {
        time_out(s, now);
      } else {
        close_now(s);  // idle, stalled writer, lingering or starved: nothing to say
      }
    }
  }
  resume_starved();
}

// A head or body that took too long: answer 408 and close.
void Worker::time_out(Slot& s, ev_tstamp now) {
  begin_event();
  s.conn.timed_out(static_cast<time_t>(now));  // queues a 408
  unlink(s);
  write_some(s);
  if (s.fd >= 0) update(s);
}

// --- work outside io events -------------------------------------------------------------------

// A connection whose handler answered, wrote or resumed from elsewhere (a timer, a post): carried
// on with before the loop next sleeps, never from inside the handler's call.
void Worker::wake(conn::Connection& c) {
  Slot& s = *static_cast<Slot*>(c.owner());
  if (s.woken) return;
  s.woken = true;
  woken_.push_back(&s);  // capacity is one per slot: never reallocates
  if (!ev_is_active(&prepare_)) ev_prepare_start(loop_, &prepare_);
}

void Worker::on_prepare(struct ev_loop* loop, ev_prepare* w, int) {
  Worker& self = worker_of(loop);
  self.run_woken();
  if (self.woken_.empty()) ev_prepare_stop(loop, w);
}

void Worker::run_woken() {
  // Carrying on may wake others (a response completing another's): those join the list.
  for (size_t i = 0; i < woken_.size(); ++i) {
    Slot& s = *woken_[i];
    s.woken = false;
    if (s.fd < 0 || s.lingering) continue;
    begin_event();
    s.conn.on_wake(static_cast<time_t>(ev_now(loop_)));
    write_some(s);
    if (s.fd >= 0) update(s);
  }
  woken_.clear();
  resume_starved();
}

bool Worker::post(conn::Connection* c, uint32_t generation, void (*fn)(Response*, void*),
                  void* arg) {
  if (!posts_.push(Post{c, generation, fn, arg})) return false;
  ev_async_send(loop_, &posted_);
  return true;
}

void Worker::on_posted(struct ev_loop* loop, ev_async*, int) {
  worker_of(loop).run_posted();
}

void Worker::run_posted() {
  Post batch[64];
  for (size_t n; (n = posts_.pop(batch, 64)) > 0;) {
    for (size_t i = 0; i < n; ++i)
      batch[i].fn(batch[i].connection->response_for(batch[i].generation), batch[i].arg);
  }
}

bool Worker::delay(conn::Connection& c, uint32_t generation, uint64_t us) {
  Slot& s = *static_cast<Slot*>(c.owner());
  s.delayed_generation = generation;
  ev_timer_set(&s.delay_timer, static_cast<double>(us) / 1e6, 0);
  ev_timer_start(loop_, &s.delay_timer);
  return true;
}

void Worker::on_delay_over(struct ev_loop* loop, ev_timer* w, int) {
  Worker& self = worker_of(loop);
  Slot& s = *static_cast<Slot*>(w->data);
  if (s.fd < 0 || s.lingering) return;
  self.begin_event();
  s.conn.on_delay_over(s.delayed_generation, static_cast<time_t>(ev_now(loop)));
  self.write_some(s);
  if (s.fd >= 0) self.update(s);
  self.resume_starved();
}

// --- drain --------------------------------------------------------------------------------------

void Worker::start_drain() {
  if (draining_) return;
  draining_ = true;
  pause_accepting();
  // Each open connection answers its next request with "Connection: close"; one that stays
  // idle is closed by its keep-alive timeout or at the end of the drain.
  for (Slot& s : slots_) {
    if (s.fd >= 0 && !s.lingering) s.conn.drain();
  }
  ev_timer_init(
      &drain_timer_,
      [](struct ev_loop* loop, ev_timer*, int) {
        Worker& self = worker_of(loop);
        for (Slot& s : self.slots_) {
          if (s.fd >= 0) self.close_now(s, AbortReason::kShutdown);
        }
        ev_break(loop, EVBREAK_ALL);
      },
      config_.drain_timeout, 0);
  ev_timer_start(loop_, &drain_timer_);
  finish_if_drained();
}

void Worker::finish_if_drained() {
  if (draining_ && open_.load(std::memory_order_relaxed) == 0) ev_break(loop_, EVBREAK_ALL);
}

}  // namespace zhttp::io
