#pragma once
// Serving in this process with one worker, for zhttp::serve() and the zhttpd binary until the
// master process lands: listens, runs the worker on a thread of its own and turns signals into
// stop (SIGINT, SIGTERM) or drain (SIGQUIT).
#include <string>
#include <vector>

#include "io/worker.hpp"

namespace zhttp::io {

// Returns 0 after a signal, or 1 after printing why on stderr when an address cannot be
// listened on. `on_ready` runs once every address listens (e.g. to print a banner).
int serve_in_process(Handler& handler, const std::vector<std::string>& listen,
                     const WorkerConfig& config, void (*on_ready)() = nullptr);

}  // namespace zhttp::io
