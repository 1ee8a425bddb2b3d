#include "handlers/proxy/health_checks.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "log/error_log.hpp"
#include "shm/rate_table.hpp"

namespace zhttp::handlers::proxy {
namespace {

// How often the probes' due times are looked at.
constexpr double kTickSeconds = 0.1;

const char* state_name(ServerState s) {
  switch (s) {
    case ServerState::kUp:
      return "up";
    case ServerState::kDown:
      return "down";
    case ServerState::kChecking:
      return "checking";
  }
  return "?";
}

}  // namespace

HealthChecks::HealthChecks(const ProxyConfig& config, Balancer& balancer,
                           conn::UpstreamLinks& links, struct ev_loop* loop, uint32_t generation,
                           log::ErrorLog* error_log)
    : config_(config),
      balancer_(balancer),
      links_(links),
      loop_(loop),
      generation_(generation),
      error_log_(error_log) {
  for (uint32_t g = 0; g < config.groups.size(); ++g) {
    const UpstreamGroup& group = config.groups[g];
    if (group.check.empty()) continue;
    for (uint32_t s = 0; s < group.servers.size(); ++s) {
      Probe& p = probes_.emplace_back();
      p.group = g;
      p.server = s;
      int n = std::snprintf(p.request, sizeof p.request,
                            "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: zhttpd-health-check\r\n"
                            "Connection: close\r\n\r\n",
                            group.check.c_str(), group.servers[s].address.c_str());
      p.request_len =
          n > 0 && static_cast<size_t>(n) < sizeof p.request ? static_cast<uint32_t>(n) : 0;
    }
  }
  for (Probe& p : probes_) p.owner = this;  // the vector no longer moves
  if (probes_.empty()) return;
  ev_timer_init(&tick_, on_tick, 0, kTickSeconds);
  tick_.data = this;
  ev_timer_start(loop_, &tick_);
}

HealthChecks::~HealthChecks() {
  // The worker's loop may be gone already (it is destroyed with the worker): the links are the
  // pool's to close; only the probes' claim on them is dropped.
  for (Probe& p : probes_) p.link = nullptr;
}

void HealthChecks::on_tick(struct ev_loop* loop, ev_timer* w, int) {
  auto& self = *static_cast<HealthChecks*>(w->data);
  const double now = ev_now(loop);
  bool claimed = false;
  bool asked = false;
  for (Probe& p : self.probes_) {
    if (p.link != nullptr || now < p.due) continue;
    if (!asked) {
      claimed = self.balancer_.claim_checks(self.generation_);
      asked = true;
    }
    if (!claimed) return;  // another process probes
    self.start(p);
  }
}

void HealthChecks::start(Probe& p) {
  const UpstreamGroup& group = config_.groups[p.group];
  const UpstreamServer& s = group.servers[p.server];
  p.due = ev_now(loop_) + group.check_interval;
  p.sent = p.got = 0;
  if (p.request_len == 0) return finish(p, false, "the check request does not fit");
  bool refused = false;
  p.link =
      links_.open(p.group, p.server, reinterpret_cast<const sockaddr*>(&s.sockaddr), s.sockaddr_len,
                  std::min(group.check_interval, config_.timeouts.connect), true, p, &refused);
  if (refused) return finish(p, false, "cannot connect");
  // No slot now (p.link null): the next round tries again.
}

void HealthChecks::Probe::on_link_ready(conn::UpstreamLink& l) {
  const UpstreamGroup& group = owner->config_.groups[this->group];
  l.set_timeout(std::min(group.check_interval, owner->config_.timeouts.read));
  send();
}

void HealthChecks::Probe::send() {
  iovec iov{request + sent, request_len - sent};
  ssize_t n = link->write(&iov, 1);
  if (n < 0) return owner->finish(*this, false, "connection lost while sending the check");
  sent += static_cast<uint32_t>(n);
  link->watch(true, sent < request_len);
}

void HealthChecks::Probe::on_link_io(conn::UpstreamLink&, bool readable, bool writable) {
  if (writable && sent < request_len) send();
  if (link != nullptr && readable) read();
}

void HealthChecks::Probe::read() {
  ssize_t n = link->read(answer + got, sizeof answer - got);
  if (n == -1) return;
  if (n <= 0) {
    if (got < 12) return owner->finish(*this, false, "closed before a status line");
  } else {
    got += static_cast<uint32_t>(n);
    if (got < 12) return;  // "HTTP/1.1 200"
  }
  const bool http = std::memcmp(answer, "HTTP/1.", 7) == 0 && answer[8] == ' ';
  const bool passed = http && (answer[9] == '2' || answer[9] == '3');
  owner->finish(*this, passed, http ? "status" : "not an HTTP answer");
}

void HealthChecks::Probe::on_link_failed(conn::UpstreamLink&, conn::LinkFailure why) {
  owner->finish(*this, false, why == conn::LinkFailure::kConnect ? "cannot connect" : "timed out");
}

void HealthChecks::finish(Probe& p, bool passed, const char* why) {
  if (p.link != nullptr) {
    links_.release(p.link, false);
    p.link = nullptr;
  }
  const uint64_t now = shm::monotonic_us() / 1000;
  const ServerState before = balancer_.state(p.group, p.server, now);
  balancer_.record_check(p.group, p.server, passed, now);
  const ServerState after = balancer_.state(p.group, p.server, now);
  if (before == after || error_log_ == nullptr) return;
  const UpstreamGroup& group = config_.groups[p.group];
  const char* address = group.servers[p.server].address.c_str();
  const log::Level level = passed ? log::Level::kNotice : log::Level::kWarn;
  if (std::strcmp(why, "status") == 0) {
    error_log_->log(level, "upstream %s (group \"%s\") is %s: check %s answered %.3s", address,
                    group.name.c_str(), state_name(after), group.check.c_str(), p.answer + 9);
  } else {
    error_log_->log(level, "upstream %s (group \"%s\") is %s: check %s: %s", address,
                    group.name.c_str(), state_name(after), group.check.c_str(), why);
  }
}

}  // namespace zhttp::handlers::proxy
