#include "proc/worker_process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>

#include "handlers/client_address.hpp"
#include "handlers/metrics.hpp"
#include "handlers/static_files.hpp"
#include "io/listener.hpp"
#include "io/worker.hpp"
#include "proc/limit_zones.hpp"

namespace zhttp::proc {
namespace {

log::ErrorLog* g_error_log = nullptr;  // for the reopen callback

// Signals are the master's business: a Ctrl-C or a signal to the process group reaches the
// workers too, and they must wait for the master's order instead.
void ignore_master_signals() {
  for (int s : {SIGHUP, SIGQUIT, SIGTERM, SIGINT, SIGUSR1, SIGPIPE}) ::signal(s, SIG_IGN);
  ::signal(SIGCHLD, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);  // libev in the master may have blocked some
}

bool drop_privileges(const cli::Config& config, std::string* error) {
  if (config.user.empty()) return true;
  passwd* pw = ::getpwnam(config.user.c_str());
  if (pw == nullptr) {
    *error = "no such user: " + config.user;
    return false;
  }
  gid_t gid = pw->pw_gid;
  if (!config.group.empty()) {
    group* gr = ::getgrnam(config.group.c_str());
    if (gr == nullptr) {
      *error = "no such group: " + config.group;
      return false;
    }
    gid = gr->gr_gid;
  }
  if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(pw->pw_uid) != 0) {
    *error = std::string("cannot switch to user ") + config.user + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

// The worker's copy of the error log and its access log, both renamed by logrotate.
void reopen_logs(void* arg) {
  auto* access_log = static_cast<log::AccessLog*>(arg);
  std::string error;
  if (!g_error_log->reopen(&error)) {
    g_error_log->log(log::Level::kError, "cannot reopen the error log: %s", error.c_str());
  }
  if (!access_log->reopen(&error)) {
    g_error_log->log(log::Level::kError, "cannot reopen the access log: %s", error.c_str());
  }
}

}  // namespace

void run_worker_process(const cli::Config& config, std::span<const int> listeners, int orders_fd,
                        std::span<const int> close_fds, int index, pid_t master_pid,
                        shm::Segment* segment, int stats_slot, log::ErrorLog& error_log) {
  // Die with the master, even by kill -9; and it may have died before prctl took effect.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != master_pid) ::_exit(0);
  ignore_master_signals();
  for (int fd : close_fds) ::close(fd);
  ::fcntl(orders_fd, F_SETFL, O_NONBLOCK);
  error_log.set_worker_index(index);

  int code = 0;
  try {
    std::string error;
    if (!drop_privileges(config, &error)) {
      error_log.log(log::Level::kCrit, "worker: %s", error.c_str());
      ::_exit(2);
    }
    handlers::StaticFiles files(config.files);
    log::AccessLog access_log(config.access_log);
    if (!access_log.open(&error)) {
      error_log.log(log::Level::kError, "cannot open the access log: %s", error.c_str());
    }
    // The metrics endpoint, when asked for, answers its path in front of the files.
    std::unique_ptr<handlers::MetricsHandler> metrics;
    Handler* handler = &files;
    if (!config.metrics_path.empty() && segment != nullptr) {
      std::vector<PeerAddress> allow;
      for (const std::string& a : config.metrics_allow) {
        handlers::parse_peer_address(a, &allow.emplace_back());
      }
      metrics = std::make_unique<handlers::MetricsHandler>(
          files, config.metrics_path, std::move(allow), segment->header(), segment->stats());
      if (shm::LimitsRegion* limits = limits_region(*segment)) {
        ZoneTables tables = zone_tables(*segment);
        metrics->show_limits(limits, std::move(tables.requests), std::move(tables.connections));
      }
      handler = metrics.get();
    }
    std::unique_ptr<handlers::AccessStage> access =
        make_access_stage(config.access, segment, stats_slot, &error_log);
    io::Worker worker(config.worker, *handler, listeners);
    worker.set_access_gate(access.get());
    for (size_t i = 0; i < config.listen.size() && i < listeners.size(); ++i) {
      io::ListenSpec spec;
      if (io::parse_listen_spec(config.listen[i], &spec, &error) && spec.proxy_protocol) {
        worker.expect_proxy_protocol_on(listeners[i]);
      }
    }
    worker.set_access_log(&access_log);
    if (segment != nullptr && stats_slot >= 0)
      worker.set_stats(&segment->stats().slots[stats_slot]);
    worker.take_orders_from(orders_fd);
    g_error_log = &error_log;
    worker.on_reopen_logs(reopen_logs, &access_log);
    worker.run();
  } catch (const std::exception& e) {
    error_log.log(log::Level::kCrit, "worker: %s", e.what());
    code = 2;
  }
  ::_exit(code);
}

}  // namespace zhttp::proc
