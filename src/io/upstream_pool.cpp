#include "io/upstream_pool.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace zhttp::io {

struct UpstreamPool::Link final : conn::UpstreamLink {
  ev_io io{};  // data: this link, as for the timer
  // The timer is lazy (libev's advice for timeouts restarted on every I/O): `deadline` moves
  // with each set_timeout(), the timer is re-armed only for an earlier deadline, and when it
  // fires before the deadline it is armed again for what is left. 0: no deadline.
  ev_timer timer{};
  ev_tstamp deadline = 0;
  ev_tstamp fires_at = 0;  // while the timer is active
  UpstreamPool* pool = nullptr;
  conn::UpstreamLinkUser* user = nullptr;
  Link* newer = nullptr;  // in its group's idle list
  Link* older = nullptr;
  ev_tstamp born = 0;
  int fd = -1;
  uint32_t group = 0;
  uint32_t server = 0;
  uint32_t requests = 0;  // handed out this many times
  int connect_error = 0;  // a connect() refused at once: open() says so and closes the link
  bool connecting = false;
  bool idle = false;

  ssize_t write(const iovec* iov, int count) override {
    ssize_t n = ::writev(fd, iov, count);
    if (n >= 0) return n;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
  }
  ssize_t read(char* into, size_t room) override {
    ssize_t n = ::recv(fd, into, room, 0);
    if (n >= 0) return n;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -1 : -2;
  }
  void watch(bool read, bool write) override {
    int events = (read ? EV_READ : 0) | (write ? EV_WRITE : 0);
    if (connecting) events |= EV_WRITE;  // the connect's outcome comes as writability
    if (ev_is_active(&io) && (io.events & (EV_READ | EV_WRITE)) == events) return;
    ev_io_stop(pool->loop_, &io);
    if (events == 0) return;
    // The same descriptor: ev_io_modify, as ev_io_set would make libev take it for a new one
    // (an EPOLL_CTL_ADD that fails with EEXIST, one wasted syscall per change).
    ev_io_modify(&io, events);
    ev_io_start(pool->loop_, &io);
  }
  void set_timeout(double seconds) override {
    if (seconds <= 0) {
      deadline = 0;  // a running timer fires into nothing and stops
      return;
    }
    deadline = ev_now(pool->loop_) + seconds;
    if (ev_is_active(&timer) && fires_at <= deadline) return;  // it looks again when it fires
    arm(seconds);
  }
  void arm(double seconds) {
    timer.repeat = seconds;
    ev_timer_again(pool->loop_, &timer);
    fires_at = ev_now(pool->loop_) + seconds;
  }
  bool reused() const override { return requests > 1; }
  uint16_t local_port() const override {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return 0;
    if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&a)->sin_port);
    if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&a)->sin6_port);
    return 0;
  }
};

UpstreamPool::UpstreamPool(struct ev_loop* loop, std::vector<UpstreamGroupLimits> groups,
                           uint32_t max_links)
    : loop_(loop), groups_(std::move(groups)), links_(max_links), idle_(groups_.size()) {
  free_.reserve(max_links);
  for (size_t i = links_.size(); i-- > 0;) {
    Link& l = links_[i];
    l.pool = this;
    ev_init(&l.io, on_io);
    l.io.data = &l;
    ev_init(&l.timer, on_timer);
    l.timer.data = &l;
    free_.push_back(&l);
  }
}

// The worker that owns the loop is destroyed first (its loop with it): only the descriptors are
// closed here, the watchers are not touched.
UpstreamPool::~UpstreamPool() {
  for (Link& l : links_) {
    if (l.fd >= 0) ::close(l.fd);
  }
}

conn::UpstreamLink* UpstreamPool::open(uint32_t group, uint32_t server, const sockaddr* address,
                                       socklen_t address_len, double connect_timeout, bool fresh,
                                       conn::UpstreamLinkUser& user, bool* refused) {
  *refused = false;
  if (group >= groups_.size()) return nullptr;
  Link* l = fresh ? nullptr : reuse(group, server);
  if (l != nullptr) {
    hand_out(*l, user);
    // Ready at once, but told from the loop: the fed event runs in the loop's current round.
    ev_feed_event(loop_, &l->io, EV_CUSTOM);
    return l;
  }
  l = connect(group, server, address, address_len);
  if (l == nullptr) return nullptr;
  if (l->connect_error != 0) {
    close(*l);
    *refused = true;
    return nullptr;
  }
  hand_out(*l, user);
  l->set_timeout(connect_timeout);
  l->watch(false, true);
  return l;
}

UpstreamPool::Link* UpstreamPool::reuse(uint32_t group, uint32_t server) {
  for (Link* l = idle_[group].newest; l != nullptr; l = l->older) {
    if (l->server != server) continue;
    unpark(*l);
    // Too old to reuse: closed here rather than risked.
    if (ev_now(loop_) - l->born >= groups_[group].max_age) {
      close(*l);
      return nullptr;
    }
    return l;
  }
  return nullptr;
}

UpstreamPool::Link* UpstreamPool::connect(uint32_t group, uint32_t server, const sockaddr* address,
                                          socklen_t len) {
  if (free_.empty()) {
    // Every slot in use: an idle link of any group makes room (the oldest of the largest list).
    IdleList* victim = nullptr;
    for (IdleList& list : idle_) {
      if (list.size > 0 && (victim == nullptr || list.size > victim->size)) victim = &list;
    }
    if (victim == nullptr) return nullptr;
    Link* old = victim->oldest;
    unpark(*old);
    close(*old);
  }
  int fd = ::socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return nullptr;
  if (address->sa_family != AF_UNIX) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  Link* l = free_.back();
  free_.pop_back();
  ++open_count_;
  l->fd = fd;
  l->group = group;
  l->server = server;
  l->requests = 0;
  l->born = ev_now(loop_);
  l->connecting = true;
  l->connect_error = 0;
  ev_io_set(&l->io, fd, EV_WRITE);
  if (::connect(fd, address, len) != 0) {
    l->connect_error = errno;
    if (errno == EINPROGRESS) {
      // On this machine (a backend on loopback) a refusal is known at once: asking now lets
      // open() say so before other requests pick the same dead server.
      int error = 0;
      socklen_t error_len = sizeof error;
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &error_len) != 0) error = 0;
      l->connect_error = error;
    }
  }
  return l;
}

void UpstreamPool::hand_out(Link& l, conn::UpstreamLinkUser& user) {
  l.user = &user;
  ++l.requests;
}

void UpstreamPool::release(conn::UpstreamLink* link, bool keep) {
  Link& l = *static_cast<Link*>(link);
  l.user = nullptr;
  l.deadline = 0;
  const UpstreamGroupLimits& limits = groups_[l.group];
  keep = keep && !l.connecting && limits.keepalive > 0 && l.requests < limits.max_requests &&
         ev_now(loop_) - l.born < limits.max_age;
  if (!keep) {
    close(l);
    return;
  }
  IdleList& list = idle_[l.group];
  if (list.size >= limits.keepalive) {
    Link* old = list.oldest;
    unpark(*old);
    close(*old);
  }
  park(l);
}

void UpstreamPool::park(Link& l) {
  IdleList& list = idle_[l.group];
  l.idle = true;
  l.older = list.newest;
  l.newer = nullptr;
  if (list.newest) list.newest->newer = &l;
  list.newest = &l;
  if (list.oldest == nullptr) list.oldest = &l;
  ++list.size;
  ++idle_count_;
  // Any readability while idle is the server closing, or bytes nobody asked for: close.
  ev_io_stop(loop_, &l.io);
  ev_io_modify(&l.io, EV_READ);
  ev_io_start(loop_, &l.io);
  l.set_timeout(groups_[l.group].idle_timeout);
}

void UpstreamPool::unpark(Link& l) {
  IdleList& list = idle_[l.group];
  if (l.newer)
    l.newer->older = l.older;
  else
    list.newest = l.older;
  if (l.older)
    l.older->newer = l.newer;
  else
    list.oldest = l.newer;
  l.newer = l.older = nullptr;
  l.idle = false;
  --list.size;
  --idle_count_;
  ev_io_stop(loop_, &l.io);
  l.deadline = 0;  // the idle timeout no longer applies (the timer stays lazily armed)
}

void UpstreamPool::close(Link& l) {
  ev_io_stop(loop_, &l.io);
  ev_timer_stop(loop_, &l.timer);
  ev_clear_pending(loop_, &l.io);
  ev_clear_pending(loop_, &l.timer);
  ::close(l.fd);
  l.fd = -1;
  l.user = nullptr;
  l.connecting = false;
  --open_count_;
  free_.push_back(&l);
}

void UpstreamPool::close_idle() {
  for (IdleList& list : idle_) {
    while (list.oldest) {
      Link* l = list.oldest;
      unpark(*l);
      close(*l);
    }
  }
}

void UpstreamPool::on_io(struct ev_loop*, ev_io* w, int revents) {
  Link& l = *static_cast<Link*>(w->data);
  UpstreamPool& pool = *l.pool;
  if (l.idle) {
    pool.unpark(l);
    pool.close(l);
    return;
  }
  if (l.user == nullptr) return;
  if (revents & EV_CUSTOM) {
    l.user->on_link_ready(l);
    return;
  }
  if (l.connecting) {
    int error = 0;
    socklen_t len = sizeof error;
    if (::getsockopt(l.fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) error = errno;
    if (error == EINPROGRESS || error == EALREADY) return;
    l.connecting = false;
    l.set_timeout(0);
    ev_io_stop(pool.loop_, &l.io);
    if (error != 0) {
      l.user->on_link_failed(l, conn::LinkFailure::kConnect);
      return;
    }
    l.user->on_link_ready(l);
    return;
  }
  l.user->on_link_io(l, (revents & EV_READ) != 0, (revents & EV_WRITE) != 0);
}

void UpstreamPool::on_timer(struct ev_loop* loop, ev_timer* w, int) {
  Link& l = *static_cast<Link*>(w->data);
  UpstreamPool& pool = *l.pool;
  ev_timer_stop(loop, &l.timer);
  const ev_tstamp now = ev_now(loop);
  if (l.deadline == 0) return;  // nothing is timed now
  if (now < l.deadline) {
    l.arm(l.deadline - now);  // the deadline moved since the timer was armed
    return;
  }
  l.deadline = 0;
  if (l.idle) {
    pool.unpark(l);
    pool.close(l);
    return;
  }
  if (l.user == nullptr) return;
  l.user->on_link_failed(l, conn::LinkFailure::kTimeout);
}

}  // namespace zhttp::io
