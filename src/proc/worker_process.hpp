#pragma once
// The worker side of the process model: what a forked child does. It takes orders only from
// the master (a pipe), dies with it, and serves the listening sockets it inherited.
#include <span>

#include "cli/config.hpp"
#include "log/error_log.hpp"
#include "shm/segment.hpp"

namespace zhttp::proc {

// Never returns: serves until ordered to stop or until the master is gone, then _exit()s.
// `close_fds` are descriptors inherited from the master that the worker must not keep (the
// write ends of its siblings' order pipes). `stats_slot` is the worker's slot in the segment's
// statistics (-1: none).
[[noreturn]] void run_worker_process(const cli::Config& config, std::span<const int> listeners,
                                     int orders_fd, std::span<const int> close_fds, int index,
                                     pid_t master_pid, shm::Segment* segment, int stats_slot,
                                     log::ErrorLog& error_log);

}  // namespace zhttp::proc
