#pragma once
// The master process: owns the listening sockets and the shared segment for its whole life,
// pre-forks the workers, respawns those that die (with backoff when they keep dying), and turns
// signals into orders: HUP reload, QUIT graceful stop, TERM/INT fast stop, USR1 reopen logs.
// It never serves traffic. Its loop is libev's default loop (signals and children).
#include <ev.h>
#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "log/error_log.hpp"
#include "proc/program.hpp"
#include "shm/segment.hpp"

namespace zhttp::proc {

class Master {
 public:
  // `program` says what to run and reads its configuration again on reload.
  Master(Program& program, log::ErrorLog& error_log);
  Master(const Master&) = delete;
  Master& operator=(const Master&) = delete;
  ~Master();

  // Binds, creates the segment, writes the pid file, forks the workers and supervises them
  // until stopped. Returns the process exit code.
  int run();

 private:
  struct Child {
    pid_t pid = -1;
    int orders_fd = -1;  // write end of its order pipe
    uint32_t generation = 0;
    uint32_t index = 0;
    ev_tstamp started = 0;
    bool retiring = false;  // of an older generation, draining
    uint32_t stats_slot = 0;
  };
  struct Respawn {  // per worker index of the serving generation
    double backoff = 0;
    ev_tstamp at = 0;
    bool pending = false;
    uint32_t respawns = 0;
  };
  enum class State : uint8_t { kRunning, kQuitting, kStopping };

  static void on_signal(struct ev_loop* loop, ev_signal* w, int revents);
  static void on_child(struct ev_loop* loop, ev_child* w, int revents);
  static void on_respawn_timer(struct ev_loop* loop, ev_timer* w, int revents);
  static void on_stop_deadline(struct ev_loop* loop, ev_timer* w, int revents);
  static void on_maintain_timer(struct ev_loop* loop, ev_timer* w, int revents);

  bool bind_listeners(const ProcessSettings& config, std::vector<int>* fds, std::string* error);
  bool spawn(uint32_t index);
  void child_exited(pid_t pid, int status);
  void reload();
  void quit();
  void stop();
  void reopen_logs();
  void order(Child& child, char order);
  void order_all(char order);
  void finish_if_done();
  void close_unused_listeners();
  // The stats slot for a new worker (identity written, counters zero), or -1 if all are taken.
  int claim_stats_slot(uint32_t index, uint32_t respawns);

  Program& program_;
  log::ErrorLog& log_;
  struct ev_loop* loop_ = nullptr;
  std::map<std::string, int> listeners_;  // address -> socket, kept across reloads
  std::vector<int> serving_fds_;          // the current config's sockets, in its order
  std::vector<Child> children_;
  std::vector<Respawn> respawn_;
  std::unique_ptr<shm::Segment> segment_;
  uint32_t generation_ = 1;
  State state_ = State::kRunning;
  pid_t pid_ = 0;
  ev_signal signals_[5]{};
  ev_child child_watcher_{};
  ev_timer respawn_timer_{};
  ev_timer stop_deadline_{};
  ev_timer maintain_timer_{};
};

}  // namespace zhttp::proc
