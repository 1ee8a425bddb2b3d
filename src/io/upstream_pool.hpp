#pragma once
// The worker's connections to upstream servers (conn/upstream_link.hpp): non-blocking connects,
// reads and writes on the worker's loop, and the keep-alive pool. Links live in a fixed array made
// at start; idle ones wait per group, most recently used first (recent connections are the
// least likely to have been closed by the server), watched for readability (an end of stream or
// stray bytes close them) and for their idle timeout. A group keeps at most `keepalive` idle
// links; one more evicts its oldest idle link.
#include <ev.h>

#include <cstdint>
#include <vector>

#include "conn/upstream_link.hpp"

namespace zhttp::io {

struct UpstreamGroupLimits {
  uint32_t keepalive = 32;       // idle links kept (0: none)
  double idle_timeout = 4;       // seconds an idle link is kept
  uint32_t max_requests = 1000;  // requests over one link
  double max_age = 3600;         // seconds a link is reused at most
};

class UpstreamPool final : public conn::UpstreamLinks {
 public:
  // `max_links`: links open at once (busy and idle), the worker's share of descriptors for them.
  UpstreamPool(struct ev_loop* loop, std::vector<UpstreamGroupLimits> groups, uint32_t max_links);
  ~UpstreamPool() override;
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  conn::UpstreamLink* open(uint32_t group, uint32_t server, const sockaddr* address,
                           socklen_t address_len, double connect_timeout, bool fresh,
                           conn::UpstreamLinkUser& user, bool* refused) override;
  void release(conn::UpstreamLink* link, bool keep) override;
  // Closes every idle link (a worker that drains keeps none).
  void close_idle();

  uint32_t idle_links() const { return idle_count_; }
  uint32_t open_links() const { return open_count_; }

 private:
  struct Link;
  struct IdleList {
    Link* newest = nullptr;
    Link* oldest = nullptr;
    uint32_t size = 0;
  };

  static void on_io(struct ev_loop* loop, ev_io* w, int revents);
  static void on_timer(struct ev_loop* loop, ev_timer* w, int revents);
  Link* reuse(uint32_t group, uint32_t server);
  Link* connect(uint32_t group, uint32_t server, const sockaddr* address, socklen_t len);
  void hand_out(Link& link, conn::UpstreamLinkUser& user);
  void park(Link& link);
  void unpark(Link& link);
  void close(Link& link);

  struct ev_loop* loop_;
  std::vector<UpstreamGroupLimits> groups_;
  std::vector<Link> links_;
  std::vector<Link*> free_;
  std::vector<IdleList> idle_;
  uint32_t idle_count_ = 0;
  uint32_t open_count_ = 0;
};

}  // namespace zhttp::io
