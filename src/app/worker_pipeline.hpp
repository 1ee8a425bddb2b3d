#pragma once
// One worker's pipeline, assembled in one place (docs/design.md section 2): the access stage (real
// client address, rate and connection limits), then the content handlers (the metrics endpoint,
// the application's handler, the static files), then the observers (statistics, access log),
// around an io::Worker on the inherited sockets. Runs in the forked worker process.
#include "cli/config.hpp"
#include "proc/program.hpp"
#include "zhttp/app.hpp"

namespace zhttp::app {

// Serves until the master orders a stop (or is gone); returns the exit code. `app` null: the
// static files alone.
int serve_worker(const cli::Config& config, App* app, const proc::WorkerSetup& setup);

}  // namespace zhttp::app
