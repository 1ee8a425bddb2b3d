#pragma once
// A connection to an upstream server as the reverse proxy sees it (handlers/proxy), whatever does
// its socket I/O (io/upstream_pool.hpp is the one that does): the proxy writes its request and
// reads the response through an UpstreamLink and is told of readiness, failure and time-outs as
// an UpstreamLinkUser. Links come from UpstreamLinks, which keeps idle ones per server between
// requests (keep-alive) and watches them while idle. Nothing here allocates once a worker is warm.
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

namespace zhttp::conn {

class UpstreamLink;

enum class LinkFailure : uint8_t {
  kConnect,  // refused, unreachable, or reset while connecting
  kTimeout,  // the link's timer ran out (connect, send or read: the user knows which)
};

class UpstreamLinkUser {
 public:
  // Connected (a new link), or handed out from the pool (a reused one): the request may be sent.
  virtual void on_link_ready(UpstreamLink& link) = 0;
  // The socket is readable / writable, for the directions asked with watch().
  virtual void on_link_io(UpstreamLink& link, bool readable, bool writable) = 0;
  virtual void on_link_failed(UpstreamLink& link, LinkFailure why) = 0;

 protected:
  ~UpstreamLinkUser() = default;
};

class UpstreamLink {
 public:
  // Bytes written (maybe fewer than offered), 0 when the socket takes nothing now, -1 on an
  // error (reset): the link is dead.
  virtual ssize_t write(const iovec* iov, int count) = 0;
  // Bytes read, 0 at the upstream's end of stream, -1 when nothing is there now, -2 on an error.
  virtual ssize_t read(char* into, size_t room) = 0;
  // Which readiness to report through on_link_io().
  virtual void watch(bool read, bool write) = 0;
  // (Re)starts the link's timer: on_link_failed(kTimeout) after `seconds` unless called again;
  // 0 stops it.
  virtual void set_timeout(double seconds) = 0;
  // Whether the link carried a request before this one (the keep-alive idle-close race is only
  // possible on those).
  virtual bool reused() const = 0;
  // The local port, for logs and tests.
  virtual uint16_t local_port() const = 0;

 protected:
  ~UpstreamLink() = default;
};

class UpstreamLinks {
 public:
  virtual ~UpstreamLinks() = default;
  // A link to server `server` of group `group` at `address`: an idle one of that server when
  // there is one (most recently used first) and `fresh` is false, else a new connection, its
  // connect bounded by `connect_timeout`. user.on_link_ready() follows (from the loop, never
  // from inside this call). Null when no link can be had now: *refused true when the connect
  // was refused at once (nobody listens: the caller learns it now, before other requests pick
  // the same server), false when descriptors or slots ran out.
  virtual UpstreamLink* open(uint32_t group, uint32_t server, const sockaddr* address,
                             socklen_t address_len, double connect_timeout, bool fresh,
                             UpstreamLinkUser& user, bool* refused) = 0;
  // The user is done with `link`: kept idle for the next request of its server when `keep` (the
  // response ended cleanly, the request was sent whole, the upstream keeps it open), else
  // closed. Either way the user hears nothing more of it.
  virtual void release(UpstreamLink* link, bool keep) = 0;
};

}  // namespace zhttp::conn
