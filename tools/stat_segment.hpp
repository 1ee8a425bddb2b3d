#pragma once
// zhttpstat's view of a server's shared segment: opened O_RDONLY and mapped PROT_READ (a reader
// can never disturb the server), checked for magic, layout version, ready flag and size before
// anything else is read, and every region of its table must lie within the mapping. Each way to
// fail has its message and its exit code.
#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "shm/limits.hpp"
#include "shm/rate_table.hpp"
#include "shm/segment.hpp"
#include "shm/stats.hpp"

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

class MappedSegment {
 public:
  // Opens the POSIX shared memory object `name` ("zhttpd-...", with or without the leading '/')
  // read-only and checks it. nullptr and *failure filled when it cannot be used.
  static std::unique_ptr<MappedSegment> open(const std::string& name, Failure* failure);
  ~MappedSegment();
  MappedSegment(const MappedSegment&) = delete;
  MappedSegment& operator=(const MappedSegment&) = delete;

  const shm::SegmentHeader& header() const {
    return *static_cast<const shm::SegmentHeader*>(base_);
  }
  const shm::StatsRegion& stats() const {
    return *reinterpret_cast<const shm::StatsRegion*>(static_cast<const char*>(base_) +
                                                      header().stats_offset);
  }
  // The rate limiter's region, or null when the server has no limiter configured (or one of
  // another kLimitsVersion: its zones are then not shown).
  const shm::LimitsRegion* limits() const { return limits_; }
  // The table of a zone of limits() (its kRateTable region, named after the zone), or nullopt.
  std::optional<const shm::RateTable> table(uint32_t zone) const;
  std::optional<const shm::ConnTable> conn_table(uint32_t zone) const;  // a --limit-conn zone
  // A consistent snapshot of every zone (shm::read_limits with the tables above and
  // CLOCK_MONOTONIC); no zone without limits(), or when its zone count does not fit its region.
  // False only when the master kept folding worker rows.
  bool read_limits(shm::LimitsSnapshot* out) const;

  const std::string& name() const { return name_; }

  enum class Presence { kSame, kGone, kReplaced };
  // Whether the name still refers to this mapping: kGone once the server removed it (a clean
  // stop), kReplaced when a new server created a fresh one under the same name.
  Presence presence() const;

 private:
  MappedSegment(std::string name, const void* base, size_t bytes, dev_t dev, ino_t ino)
      : name_(std::move(name)), base_(base), bytes_(bytes), dev_(dev), ino_(ino) {}

  const void* at(const shm::RegionEntry& e) const {
    return static_cast<const char*>(base_) + e.offset;
  }

  std::string name_;
  const void* base_;
  size_t bytes_;
  const shm::LimitsRegion* limits_ = nullptr;
  uint64_t limits_bytes_ = 0;
  dev_t dev_;
  ino_t ino_;
};

// The name shm_open takes: a leading '/' added when missing (as Boost.Interprocess does).
std::string shm_path(const std::string& name);

}  // namespace zhttp::stat
