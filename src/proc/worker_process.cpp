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
#include <string>

namespace zhttp::proc {
namespace {

// Signals are the master's business: a Ctrl-C or a signal to the process group reaches the
// workers too, and they must wait for the master's order instead.
void ignore_master_signals() {
  for (int s : {SIGHUP, SIGQUIT, SIGTERM, SIGINT, SIGUSR1, SIGPIPE}) ::signal(s, SIG_IGN);
  ::signal(SIGCHLD, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);  // libev in the master may have blocked some
}

bool drop_privileges(const ProcessSettings& config, std::string* error) {
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

}  // namespace

void run_worker_process(Program& program, const WorkerSetup& setup, std::span<const int> close_fds,
                        pid_t master_pid) {
  // Die with the master, even by kill -9; and it may have died before prctl took effect.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != master_pid) ::_exit(0);
  ignore_master_signals();
  for (int fd : close_fds) ::close(fd);
  ::fcntl(setup.orders_fd, F_SETFL, O_NONBLOCK);
  log::ErrorLog& error_log = *setup.error_log;
  error_log.set_worker_index(static_cast<int>(setup.index) + 1);
  int code = 0;
  try {
    std::string error;
    if (!drop_privileges(program.settings(), &error)) {
      error_log.log(log::Level::kCrit, "worker: %s", error.c_str());
      ::_exit(2);
    }
    code = program.run_worker(setup);
  } catch (const std::exception& e) {
    error_log.log(log::Level::kCrit, "worker: %s", e.what());
    code = 2;
  }
  ::_exit(code);
}

}  // namespace zhttp::proc
