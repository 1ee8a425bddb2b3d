#pragma once
// A server's shared segment seen from another process (zhttpstat): opened O_RDONLY and mapped
// PROT_READ (a reader can never disturb the server), checked for magic, layout version, ready
// flag and size before anything else is read, and every region of its table must lie within the
// mapping. Each way to fail has its message and its error (zhttpstat's exit code).
#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "shm/app_counters.hpp"
#include "shm/cache_counters.hpp"
#include "shm/conn_table.hpp"
#include "shm/limits.hpp"
#include "shm/rate_table.hpp"
#include "shm/segment.hpp"
#include "shm/stats.hpp"
#include "shm/upstream_table.hpp"

namespace zhttp::shm {

class SegmentView {
 public:
  // Why a segment cannot be used; the values are zhttpstat's exit codes.
  enum class Error : int {
    kNone = 0,
    kSystem = 1,      // a system call failed
    kBadName = 2,     // not a shared memory name
    kNoSegment = 3,   // no such segment
    kPermission = 4,  // not readable by this user
    kLayout = 5,      // not a zhttpd segment, or another layout version
    kNotReady = 6,    // the server is still creating it
  };
  struct Failure {
    Error error = Error::kNone;
    std::string message;  // one line, without a program name or a newline
  };

  // Opens the POSIX shared memory object `name` ("zhttpd-...", with or without the leading '/')
  // read-only and checks it. nullptr and *failure filled when it cannot be used.
  static std::unique_ptr<SegmentView> open(const std::string& name, Failure* failure);
  ~SegmentView();
  SegmentView(const SegmentView&) = delete;
  SegmentView& operator=(const SegmentView&) = delete;

  const SegmentHeader& header() const { return *static_cast<const SegmentHeader*>(base_); }
  const StatsRegion& stats() const {
    return *reinterpret_cast<const StatsRegion*>(static_cast<const char*>(base_) +
                                                 header().stats_offset);
  }
  // The rate limiter's region, or null when the server has no limiter configured (or one of
  // another kLimitsVersion: its zones are then not shown).
  const LimitsRegion* limits() const { return limits_; }
  // The table of a zone of limits() (its region named after the zone), or nullopt.
  std::optional<const RateTable> table(uint32_t zone) const;       // a --limit-req zone
  std::optional<const ConnTable> conn_table(uint32_t zone) const;  // a --limit-conn zone
  // A consistent snapshot of every zone (read_limits with the tables above and
  // CLOCK_MONOTONIC); no zone without limits(), or when its zone count does not fit its region.
  // False only when the master kept folding worker rows.
  bool read_limits(LimitsSnapshot* out) const;

  // The application's counters and gauges, or null when the server has none (or of another
  // kAppCountersVersion).
  const AppCountersRegion* app_counters() const { return app_; }
  // read_app_values over app_counters(); no value without it, or when its value count does not
  // fit its region. False only when the master kept folding worker rows.
  bool read_app_values(AppValuesSnapshot* out) const;

  // The shared cache's counters, or null when the server has no cache (or of another
  // kCacheCountersVersion).
  const CacheCountersRegion* cache_counters() const { return cache_; }
  // read_cache_counters over cache_counters(), and the figures of the store when its region
  // holds one (else 0 entries, slots and bytes). False only when the master kept folding.
  bool read_cache(CacheSnapshot* out) const;

  // The reverse proxy's upstream table, or nullopt when the server has none (or of another
  // kUpstreamTableVersion).
  std::optional<const UpstreamTable> upstreams() const;
  // read_upstreams over upstreams() at CLOCK_MONOTONIC now: one row per live server, in slot
  // order; none without a table.
  std::vector<UpstreamRow> read_upstreams() const;

  const std::string& name() const { return name_; }

  enum class Presence { kSame, kGone, kReplaced };
  // Whether the name still refers to this mapping: kGone once the server removed it (a clean
  // stop), kReplaced when a new server created a fresh one under the same name.
  Presence presence() const;

 private:
  SegmentView(std::string name, const void* base, size_t bytes, dev_t dev, ino_t ino)
      : name_(std::move(name)), base_(base), bytes_(bytes), dev_(dev), ino_(ino) {}

  const void* at(const RegionEntry& e) const { return static_cast<const char*>(base_) + e.offset; }
  std::optional<Failure> check_layout();

  std::string name_;
  const void* base_;
  size_t bytes_;
  const LimitsRegion* limits_ = nullptr;
  uint64_t limits_bytes_ = 0;
  const AppCountersRegion* app_ = nullptr;
  uint64_t app_bytes_ = 0;
  const CacheCountersRegion* cache_ = nullptr;
  dev_t dev_;
  ino_t ino_;
};

// The name shm_open takes: a leading '/' added when missing (as Boost.Interprocess does).
std::string shm_path(const std::string& name);

}  // namespace zhttp::shm
