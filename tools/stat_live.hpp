#pragma once
// zhttpstat -w: a full-screen view (ncurses) redrawn in place every interval, with the change per
// second of each counter (the application's and the cache's too) between two redraws next to its
// value and its average since the start.
// Quits on 'q', or on SIGINT / SIGTERM / SIGHUP after restoring the terminal; follows a server
// restarted under the same segment name; exits 3 when the segment goes away.
#include <memory>

#include "stat_report.hpp"
#include "stat_segment.hpp"

namespace zhttp::stat {

struct LiveOptions {
  double interval = 1;  // seconds between redraws
  FieldFilter filter;
};

// Returns the exit code (kExitOk after 'q'). After a signal, restores the terminal and dies of
// that signal.
int run_live_view(std::unique_ptr<shm::SegmentView> segment, const LiveOptions& options);

}  // namespace zhttp::stat
