#pragma once
// Active health checks (--upstream-options 'NAME check=/PATH ...'): every check_interval, each
// server of such a group is sent `GET /PATH` on a connection of its own; a 2xx or 3xx status
// line within the interval (or the connect timeout, if shorter) passes, anything else fails, and
// rise / fall consecutive results move the server up or down for every worker (the upstream table
// in the segment keeps the verdict). One process probes at a time: the worker that holds the
// table's claim (Balancer::claim_checks), which a reload hands to the new generation and a dead
// worker's successor takes over. Probes go through the worker's upstream pool like requests;
// nothing is allocated after construction.
#include <ev.h>

#include <cstdint>
#include <vector>

#include "conn/upstream_link.hpp"
#include "handlers/proxy/balancer.hpp"
#include "handlers/proxy/proxy_config.hpp"

namespace zhttp::log {
class ErrorLog;
}

namespace zhttp::handlers::proxy {

class HealthChecks {
 public:
  HealthChecks(const ProxyConfig& config, Balancer& balancer, conn::UpstreamLinks& links,
               struct ev_loop* loop, uint32_t generation, log::ErrorLog* error_log);
  ~HealthChecks();
  HealthChecks(const HealthChecks&) = delete;
  HealthChecks& operator=(const HealthChecks&) = delete;

  // Whether any group asks for checks (else the object does nothing).
  bool active() const { return !probes_.empty(); }

 private:
  struct Probe final : conn::UpstreamLinkUser {
    HealthChecks* owner = nullptr;
    conn::UpstreamLink* link = nullptr;
    uint32_t group = 0;
    uint32_t server = 0;
    double due = 0;  // ev_now() of the next probe
    uint32_t request_len = 0;
    uint32_t sent = 0;
    uint32_t got = 0;
    char request[512];
    char answer[64];  // the status line is all that is read

    void on_link_ready(conn::UpstreamLink& l) override;
    void on_link_io(conn::UpstreamLink& l, bool readable, bool writable) override;
    void on_link_failed(conn::UpstreamLink& l, conn::LinkFailure why) override;
    void send();
    void read();
  };

  static void on_tick(struct ev_loop* loop, ev_timer* w, int revents);
  void start(Probe& p);
  void finish(Probe& p, bool passed, const char* why);

  const ProxyConfig& config_;
  Balancer& balancer_;
  conn::UpstreamLinks& links_;
  struct ev_loop* loop_;
  uint32_t generation_;
  log::ErrorLog* error_log_;
  std::vector<Probe> probes_;
  ev_timer tick_{};
};

}  // namespace zhttp::handlers::proxy
