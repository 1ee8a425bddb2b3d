#include "proc/master.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>

#include "io/listener.hpp"
#include "io/worker.hpp"
#include "proc/pid_file.hpp"
#include "proc/worker_process.hpp"
#include "shm/worker_exit.hpp"

namespace zhttp::proc {
namespace {

constexpr double kStopDeadline = 3.0;  // after a fast stop order, kill what is left
constexpr double kQuickDeath = 1.0;    // a worker dying younger than this backs off
constexpr double kMaxBackoff = 10.0;
constexpr double kMaintainEvery = 3600.0;  // seconds between Program::maintain() calls
constexpr int kSignals[] = {SIGHUP, SIGQUIT, SIGTERM, SIGINT, SIGUSR1};

Master& master_of(struct ev_loop* loop) {
  return *static_cast<Master*>(ev_userdata(loop));
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    return "killed by signal " + std::to_string(sig) + " (" + ::strsignal(sig) + ")";
  }
  return "ended with status " + std::to_string(status);
}

}  // namespace

Master::Master(Program& program, log::ErrorLog& error_log) : program_(program), log_(error_log) {}

Master::~Master() {
  for (Child& c : children_) ::close(c.orders_fd);
  for (auto& [address, fd] : listeners_) ::close(fd);
}

int Master::run() {
  pid_ = ::getpid();
  std::string error;
  if (!bind_listeners(program_.settings(), &serving_fds_, &error)) {
    log_.log(log::Level::kCrit, "%s", error.c_str());
    return 1;
  }
  const ProcessSettings& settings = program_.settings();
  try {
    segment_ =
        shm::Segment::create(settings.shm_name, static_cast<uint64_t>(pid_), program_.regions());
    program_.lay_out(*segment_);
  } catch (const std::exception& e) {
    log_.log(log::Level::kCrit, "%s", e.what());
    return 1;
  }
  if (!settings.pid_file.empty() && !write_pid_file(settings.pid_file, pid_, &error)) {
    log_.log(log::Level::kCrit, "cannot write the pid file %s", error.c_str());
    return 1;
  }

  loop_ = ev_default_loop(EVFLAG_NOENV);
  ev_set_userdata(loop_, this);
  for (size_t i = 0; i < std::size(kSignals); ++i) {
    ev_signal_init(&signals_[i], on_signal, kSignals[i]);
    ev_signal_start(loop_, &signals_[i]);
  }
  ::signal(SIGPIPE, SIG_IGN);
  ev_child_init(&child_watcher_, on_child, 0, 0);
  ev_child_start(loop_, &child_watcher_);
  ev_timer_init(&respawn_timer_, on_respawn_timer, 0.1, 0.1);
  ev_timer_init(&stop_deadline_, on_stop_deadline, kStopDeadline, 0);
  ev_timer_init(&maintain_timer_, on_maintain_timer, kMaintainEvery, kMaintainEvery);
  ev_timer_start(loop_, &maintain_timer_);

  respawn_.assign(settings.workers, {});
  for (uint32_t i = 0; i < respawn_.size(); ++i) spawn(i);
  segment_->header().generation.store(generation_, std::memory_order_relaxed);
  segment_->header().worker_count.store(static_cast<uint32_t>(respawn_.size()),
                                        std::memory_order_relaxed);
  log_.log(log::Level::kNotice, "started: %zu workers, pid %d", respawn_.size(), pid_);
  for (const std::string& address : settings.listen) {  // on stdout too: scripts wait for it
    std::printf("zhttpd: serving %s on http://%s/\n", settings.root.c_str(), address.c_str());
  }
  std::fflush(stdout);
  ev_run(loop_, 0);

  log_.log(log::Level::kNotice, "stopped");
  if (!program_.settings().pid_file.empty()) remove_pid_file(program_.settings().pid_file, pid_);
  segment_.reset();  // removes the name
  return 0;
}

// Keeps the sockets of addresses already bound (a reload must not close them: queued
// connections would be reset); binds the new ones.
bool Master::bind_listeners(const ProcessSettings& config, std::vector<int>* fds,
                            std::string* error) {
  std::vector<std::pair<std::string, int>> opened;
  fds->clear();
  for (const std::string& text : config.listen) {
    io::ListenSpec spec;
    std::string why;
    if (!io::parse_listen_spec(text, &spec, &why)) {
      for (auto& [a, f] : opened) ::close(f);
      *error = "--listen " + text + ": " + why;
      return false;
    }
    const std::string& address = spec.address;
    auto found = listeners_.find(address);
    if (found != listeners_.end()) {
      fds->push_back(found->second);
      continue;
    }
    int fd = io::open_listener(address, &why);
    if (fd < 0) {
      for (auto& [a, f] : opened) ::close(f);
      *error = "cannot listen on " + address + ": " + why;
      return false;
    }
    opened.emplace_back(address, fd);
    fds->push_back(fd);
  }
  for (auto& [address, fd] : opened) listeners_[address] = fd;
  return true;
}

void Master::close_unused_listeners() {
  std::vector<std::string> in_use;
  for (const std::string& text : program_.settings().listen) {
    io::ListenSpec spec;
    std::string why;
    if (io::parse_listen_spec(text, &spec, &why)) in_use.push_back(spec.address);
  }
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if (std::find(in_use.begin(), in_use.end(), it->first) == in_use.end()) {
      ::close(it->second);
      it = listeners_.erase(it);
    } else {
      ++it;
    }
  }
}

bool Master::spawn(uint32_t index) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    log_.log(log::Level::kError, "cannot create a pipe for worker %u: %s", index,
             std::strerror(errno));
    return false;
  }
  uint32_t respawns = index < respawn_.size() ? respawn_[index].respawns : 0;
  int slot = claim_stats_slot(index, respawns);
  if (slot < 0)
    log_.log(log::Level::kWarn, "worker %u runs without statistics: no free slot", index);
  pid_t pid = ::fork();
  if (pid < 0) {
    log_.log(log::Level::kError, "cannot fork worker %u: %s", index, std::strerror(errno));
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    if (slot >= 0) shm::on_worker_exit(*segment_, static_cast<uint32_t>(slot));
    return false;
  }
  if (pid == 0) {
    std::vector<int> inherited{pipe_fds[1]};
    for (const Child& c : children_) inherited.push_back(c.orders_fd);
    WorkerSetup setup;
    setup.listeners = serving_fds_;
    setup.orders_fd = pipe_fds[0];
    setup.index = index;
    setup.generation = generation_;
    setup.segment = segment_.get();
    setup.stats_slot = slot;
    setup.error_log = &log_;
    run_worker_process(program_, setup, inherited, pid_);
  }
  ::close(pipe_fds[0]);
  if (slot >= 0) segment_->stats().slots[slot].pid.store(pid, std::memory_order_relaxed);
  children_.push_back(Child{pid, pipe_fds[1], generation_, index, ev_now(loop_), false,
                            static_cast<uint32_t>(slot)});
  log_.log(log::Level::kInfo, "worker %u started: pid %d, generation %u", index, pid, generation_);
  return true;
}

int Master::claim_stats_slot(uint32_t index, uint32_t respawns) {
  shm::StatsRegion& stats = segment_->stats();
  for (uint32_t i = 0; i < shm::kStatsSlots; ++i) {
    shm::WorkerStats& s = stats.slots[i];
    if (s.in_use.load(std::memory_order_relaxed) != 0) continue;
    s.worker_index.store(index, std::memory_order_relaxed);
    s.generation.store(generation_, std::memory_order_relaxed);
    s.respawns.store(respawns, std::memory_order_relaxed);
    s.pid.store(0, std::memory_order_relaxed);
    s.start_time.store(static_cast<int64_t>(::time(nullptr)), std::memory_order_relaxed);
    s.in_use.store(1, std::memory_order_release);
    return static_cast<int>(i);
  }
  return -1;
}

void Master::on_child(struct ev_loop* loop, ev_child* w, int) {
  master_of(loop).child_exited(w->rpid, w->rstatus);
}

void Master::child_exited(pid_t pid, int status) {
  auto it = std::find_if(children_.begin(), children_.end(),
                         [pid](const Child& c) { return c.pid == pid; });
  if (it == children_.end()) return;
  Child child = *it;
  children_.erase(it);
  ::close(child.orders_fd);
  shm::on_worker_exit(*segment_, child.stats_slot);  // fold its counters, free what it held
  bool expected = child.retiring || state_ != State::kRunning;
  log_.log(expected ? log::Level::kInfo : log::Level::kError, "worker %u (pid %d) %s", child.index,
           pid, describe_exit(status).c_str());
  if (!expected && child.generation == generation_ && child.index < respawn_.size()) {
    // Respawn, with a growing delay while workers keep dying young.
    Respawn& r = respawn_[child.index];
    ++r.respawns;
    ev_tstamp now = ev_now(loop_);
    r.backoff = now - child.started < kQuickDeath ? std::clamp(r.backoff * 2, 0.1, kMaxBackoff) : 0;
    if (r.backoff == 0) {
      spawn(child.index);
    } else {
      log_.log(log::Level::kWarn, "worker %u keeps dying: next try in %.1f s", child.index,
               r.backoff);
      r.pending = true;
      r.at = now + r.backoff;
      ev_timer_again(loop_, &respawn_timer_);
    }
  }
  finish_if_done();
}

void Master::on_respawn_timer(struct ev_loop* loop, ev_timer* w, int) {
  Master& self = master_of(loop);
  bool waiting = false;
  for (uint32_t i = 0; i < self.respawn_.size(); ++i) {
    Respawn& r = self.respawn_[i];
    if (!r.pending) continue;
    if (ev_now(loop) >= r.at && self.state_ == State::kRunning) {
      r.pending = false;
      self.spawn(i);
    } else {
      waiting = true;
    }
  }
  if (!waiting) ev_timer_stop(loop, w);
}

void Master::on_signal(struct ev_loop* loop, ev_signal* w, int) {
  Master& self = master_of(loop);
  switch (w->signum) {
    case SIGHUP:
      self.reload();
      break;
    case SIGQUIT:
      self.quit();
      break;
    case SIGUSR1:
      self.reopen_logs();
      break;
    default:
      self.stop();
      break;
  }
}

void Master::reload() {
  if (state_ != State::kRunning) return;
  log_.log(log::Level::kNotice, "reloading");
  ProcessSettings next;
  std::vector<int> fds;
  std::string error;
  if (!program_.prepare_reload(*segment_, &next, &error) || !bind_listeners(next, &fds, &error)) {
    program_.commit_reload(*segment_, false);
    log_.log(log::Level::kError, "reload refused: %s; still serving the previous configuration",
             error.c_str());
    return;
  }
  // The old generation stops accepting and finishes; the new one starts on the same sockets.
  for (Child& c : children_) {
    if (!c.retiring) {
      c.retiring = true;
      order(c, io::Worker::kOrderDrain);
    }
  }
  program_.commit_reload(*segment_, true);
  serving_fds_ = std::move(fds);
  ++generation_;
  respawn_.assign(program_.settings().workers, {});
  for (uint32_t i = 0; i < respawn_.size(); ++i) spawn(i);
  close_unused_listeners();
  segment_->header().generation.store(generation_, std::memory_order_relaxed);
  segment_->header().worker_count.store(static_cast<uint32_t>(respawn_.size()),
                                        std::memory_order_relaxed);
  log_.log(log::Level::kNotice, "reloaded: generation %u, %zu workers", generation_,
           respawn_.size());
}

void Master::quit() {
  if (state_ != State::kRunning) {
    stop();  // a second QUIT: no more patience
    return;
  }
  log_.log(log::Level::kNotice, "graceful stop: finishing requests in flight");
  state_ = State::kQuitting;
  ev_timer_stop(loop_, &respawn_timer_);
  order_all(io::Worker::kOrderDrain);
  finish_if_done();
}

void Master::stop() {
  if (state_ == State::kStopping) return;
  log_.log(log::Level::kNotice, "fast stop");
  state_ = State::kStopping;
  ev_timer_stop(loop_, &respawn_timer_);
  order_all(io::Worker::kOrderStop);
  ev_timer_start(loop_, &stop_deadline_);
  finish_if_done();
}

void Master::on_maintain_timer(struct ev_loop* loop, ev_timer*, int) {
  Master& self = master_of(loop);
  self.program_.maintain(*self.segment_);
}

void Master::on_stop_deadline(struct ev_loop* loop, ev_timer*, int) {
  Master& self = master_of(loop);
  for (Child& c : self.children_) {
    self.log_.log(log::Level::kWarn, "worker %u (pid %d) did not stop: killing it", c.index, c.pid);
    ::kill(c.pid, SIGKILL);
  }
}

void Master::reopen_logs() {
  std::string error;
  if (!log_.reopen(&error)) {
    log_.log(log::Level::kError, "cannot reopen the error log: %s", error.c_str());
  }
  order_all(io::Worker::kOrderReopenLogs);
  log_.log(log::Level::kNotice, "logs reopened");
}

void Master::order(Child& child, char order) {
  ssize_t n;
  do {
    n = ::write(child.orders_fd, &order, 1);
  } while (n < 0 && errno == EINTR);
}

void Master::order_all(char order) {
  for (Child& c : children_) this->order(c, order);
}

void Master::finish_if_done() {
  if (state_ != State::kRunning && children_.empty()) ev_break(loop_, EVBREAK_ALL);
}

}  // namespace zhttp::proc
