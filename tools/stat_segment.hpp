#pragma once
// zhttpstat's exit codes, and the segment opened read-only (shm::SegmentView) with its failures
// turned into them.
#include <memory>
#include <string>

#include "shm/segment_view.hpp"

namespace zhttp::stat {

// zhttpstat's exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;       // anything else (a system call failed...)
inline constexpr int kExitUsage = 2;       // bad command line
inline constexpr int kExitNoSegment = 3;   // no such segment (or it went away under -w)
inline constexpr int kExitPermission = 4;  // the segment is not readable by this user
inline constexpr int kExitLayout = 5;      // not a zhttpd segment, or another layout version
inline constexpr int kExitNotReady = 6;    // the server is still creating it

struct Failure {
  int exit_code = kExitOk;
  std::string message;  // one line, "zhttpstat: ..." without the newline
};

// shm::SegmentView::open, its failure as an exit code and a "zhttpstat: " message.
std::unique_ptr<shm::SegmentView> open_segment(const std::string& name, Failure* failure);

}  // namespace zhttp::stat
