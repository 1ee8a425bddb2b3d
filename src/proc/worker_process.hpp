#pragma once
// The worker side of the process model: what a forked child does before it serves. It takes
// orders only from the master (a pipe), dies with it, drops privileges, and then runs what the
// program makes of it.
#include <sys/types.h>

#include <span>

#include "proc/program.hpp"

namespace zhttp::proc {

// Never returns: Program::run_worker() serves until ordered to stop or until the master is
// gone, then the process _exit()s with its code. `close_fds` are descriptors inherited from the
// master that the worker must not keep (the write ends of its siblings' order pipes).
[[noreturn]] void run_worker_process(Program& program, const WorkerSetup& setup,
                                     std::span<const int> close_fds, pid_t master_pid);

}  // namespace zhttp::proc
