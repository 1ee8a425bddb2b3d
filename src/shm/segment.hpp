#pragma once
// The shared segment (Boost.Interprocess, POSIX shared memory, mode 0600): created by the master
// before it forks, inherited by the workers as a mapping, removed at a clean stop. The header
// comes first, with a table of regions {kind, version, offset, bytes, name}; the stats region
// (stats.hpp) is always the first, then whatever the configuration asks for (the rate limiter's
// counters and one table per zone, later the cache), each 4 KiB aligned. The layout uses no
// pointers, only offsets, so any process mapping it anywhere can read it.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "shm/stats.hpp"

namespace zhttp::shm {

inline constexpr uint64_t kMagic = 0x5a48'5454'5044'5348;  // "ZHTTPDSH"
inline constexpr uint32_t kLayoutVersion = 2;

enum class RegionKind : uint32_t {
  kNone = 0,
  kStats = 1,          // StatsRegion (stats.hpp)
  kLimits = 2,         // LimitsRegion: the rate limiter's zones and counters (limits.hpp)
  kRateTable = 3,      // one zone's RateTable (rate_table.hpp), named after its zone
  kConnTable = 4,      // one --limit-conn zone's ConnTable (conn_table.hpp), named after its zone
  kAppCounters = 5,    // the embedding application's counters and gauges (app_counters.hpp)
  kCache = 6,          // the shared response cache (cache_store.hpp)
  kCacheCounters = 7,  // its counters, a row per worker (cache_counters.hpp)
  kUpstreams = 8,      // the reverse proxy's upstream servers (upstream_table.hpp)
};

inline constexpr size_t kMaxRegions = 40;
inline constexpr size_t kRegionNameBytes = 32;

struct RegionEntry {
  uint32_t kind;  // RegionKind
  uint32_t version;
  uint64_t offset;  // from the segment's start, 4 KiB aligned
  uint64_t bytes;
  char name[kRegionNameBytes];  // NUL-terminated; "" for the unnamed ones
};

// What the master asks for besides the stats.
struct RegionRequest {
  RegionKind kind;
  uint32_t version;
  uint64_t bytes;
  std::string name;
};

struct SegmentHeader {
  uint64_t magic;
  uint32_t layout_version;
  uint32_t header_bytes;
  uint64_t total_bytes;
  int64_t master_pid;
  int64_t start_time;                  // seconds since the epoch
  std::atomic<uint32_t> generation;    // of the workers serving now (reloads count it up)
  std::atomic<uint32_t> worker_count;  // of that generation
  std::atomic<uint32_t> ready;         // 1 once everything above is written (release)
  uint64_t stats_offset;               // where the StatsRegion starts (stats.hpp)
  uint32_t region_count;
  uint32_t reserved;
  RegionEntry regions[kMaxRegions];  // regions[0] is the stats region
};

class Segment {
 public:
  // Removes a stale segment of this name (a crashed master's), then creates and initialises a
  // fresh one. Throws std::runtime_error with the reason (segment_room_error() among them).
  // `regions` are laid out after the stats region, in order, zeroed.
  static std::unique_ptr<Segment> create(const std::string& name, uint64_t master_pid,
                                         const std::vector<RegionRequest>& regions = {});
  ~Segment();  // unmaps; the creator also removes the name
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  SegmentHeader& header() { return *header_; }
  StatsRegion& stats() {
    return *reinterpret_cast<StatsRegion*>(static_cast<char*>(base_) + header_->stats_offset);
  }
  // The region of this kind (and name), or null.
  void* region(RegionKind kind, std::string_view name = {});
  const std::string& name() const { return name_; }
  // A child process keeps the mapping but must not remove the name when it exits.
  void disown() { owner_ = false; }

 private:
  Segment(std::string name, void* base, uint64_t bytes);

  std::string name_;
  void* base_;
  uint64_t bytes_;
  SegmentHeader* header_;
  bool owner_ = true;
};

// The segment name for a server: "zhttpd-" and a hash of the pid file's absolute path (or of the
// first listen address without one), so two instances never collide.
// The entry of the region of this kind (and name) in a header, or null: for any reader (zhttpstat
// maps the segment read-only). Checks that the entry lies within `total_bytes`.
const RegionEntry* find_region(const SegmentHeader& header, RegionKind kind,
                               std::string_view name = {});

std::string default_segment_name(const std::string& pid_file, const std::string& first_listen);

// Why a segment of `need` bytes must not be created where `free_bytes` are free (/dev/shm's
// statvfs), in one line naming both and the option to lower; empty when it fits.
std::string segment_room_error(uint64_t need, uint64_t free_bytes);

}  // namespace zhttp::shm
