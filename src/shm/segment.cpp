#include "shm/segment.hpp"

#include <sys/mman.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <boost/interprocess/shared_memory_object.hpp>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace zhttp::shm {

namespace bip = boost::interprocess;

namespace {
constexpr uint64_t kPage = 4096;
constexpr uint64_t kStatsOffset = kPage;  // the header's page
static_assert(sizeof(SegmentHeader) <= kStatsOffset);

constexpr uint64_t page_up(uint64_t n) {
  return (n + kPage - 1) / kPage * kPage;
}

// Where shm_open (Boost's shared_memory_object on Linux) puts its objects.
constexpr const char* kShmDir = "/dev/shm";

// `bytes` in MiB with one decimal, rounded up or down.
std::string mib_text(uint64_t bytes, bool up) {
  constexpr uint64_t kMiB = uint64_t{1} << 20;
  uint64_t tenths = bytes / kMiB * 10 + bytes % kMiB * 10 / kMiB;
  if (up && bytes % kMiB * 10 % kMiB != 0) ++tenths;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " MiB";
}

// The segment is sparse: tmpfs gives it a page when it is first touched, and a page it cannot
// give is a SIGBUS in whoever touched it (the cache's slots fill long after the start). So the
// whole segment must fit in what /dev/shm has free, checked here (after the stale segment of this
// name went, its space with it). A statvfs check rather than posix_fallocate: fallocate would
// also hold the pages against later users of /dev/shm, but commits the whole segment at start
// (an empty 64 MiB cache resident, which the cache's lay-out takes care to avoid); the check
// catches the common case, a /dev/shm smaller than the configuration (Docker's 64 MiB).
void check_room(uint64_t total_bytes) {
  struct statvfs fs {};
  // Not there (shm_open's objects live elsewhere), or a tmpfs without a size limit (it reports 0
  // blocks): nothing to check against.
  if (::statvfs(kShmDir, &fs) != 0 || fs.f_blocks == 0) return;
  const std::string error =
      segment_room_error(total_bytes, static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize);
  if (!error.empty()) throw std::runtime_error(error);
}

void set_entry(RegionEntry* e, RegionKind kind, uint32_t version, uint64_t offset, uint64_t bytes,
               std::string_view name) {
  e->kind = static_cast<uint32_t>(kind);
  e->version = version;
  e->offset = offset;
  e->bytes = bytes;
  std::memset(e->name, 0, sizeof e->name);
  std::memcpy(e->name, name.data(), std::min(name.size(), sizeof e->name - 1));
}

}  // namespace

std::unique_ptr<Segment> Segment::create(const std::string& name, uint64_t master_pid,
                                         const std::vector<RegionRequest>& regions) {
  if (regions.size() + 1 > kMaxRegions) {
    throw std::runtime_error("too many shared segment regions (" +
                             std::to_string(regions.size() + 1) + ", at most " +
                             std::to_string(kMaxRegions) + ")");
  }
  uint64_t total_bytes = page_up(kStatsOffset + sizeof(StatsRegion));
  for (const RegionRequest& r : regions) total_bytes += page_up(r.bytes);
  bip::shared_memory_object::remove(name.c_str());
  check_room(total_bytes);
  void* base = nullptr;
  try {
    bip::permissions mode(0600);
    bip::shared_memory_object object(bip::create_only, name.c_str(), bip::read_write, mode);
    object.truncate(static_cast<bip::offset_t>(total_bytes));
    // mmap directly: the mapping must survive fork() and the object handle's destruction.
    base = ::mmap(nullptr, total_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
                  object.get_mapping_handle().handle, 0);
  } catch (const bip::interprocess_exception& e) {
    throw std::runtime_error("cannot create shared segment " + name + ": " + e.what());
  }
  if (base == MAP_FAILED) throw std::runtime_error("cannot map shared segment " + name);
  std::unique_ptr<Segment> segment(new Segment(name, base, total_bytes));
  SegmentHeader& h = segment->header();
  h.magic = kMagic;
  h.layout_version = kLayoutVersion;
  h.header_bytes = sizeof(SegmentHeader);
  h.total_bytes = total_bytes;
  h.master_pid = static_cast<int64_t>(master_pid);
  h.start_time = static_cast<int64_t>(::time(nullptr));
  h.generation.store(0, std::memory_order_relaxed);
  h.worker_count.store(0, std::memory_order_relaxed);
  h.stats_offset = kStatsOffset;
  new (&segment->stats()) StatsRegion{};  // a fresh segment is zeroed; this makes it explicit
  set_entry(&h.regions[0], RegionKind::kStats, 1, kStatsOffset, sizeof(StatsRegion), "");
  uint64_t offset = page_up(kStatsOffset + sizeof(StatsRegion));
  for (size_t i = 0; i < regions.size(); ++i) {
    set_entry(&h.regions[i + 1], regions[i].kind, regions[i].version, offset, regions[i].bytes,
              regions[i].name);
    offset += page_up(regions[i].bytes);
  }
  h.region_count = static_cast<uint32_t>(regions.size() + 1);
  h.ready.store(1, std::memory_order_release);
  return segment;
}

Segment::Segment(std::string name, void* base, uint64_t bytes)
    : name_(std::move(name)), base_(base), bytes_(bytes), header_(new (base) SegmentHeader{}) {}

void* Segment::region(RegionKind kind, std::string_view name) {
  const RegionEntry* e = find_region(*header_, kind, name);
  return e == nullptr ? nullptr : static_cast<char*>(base_) + e->offset;
}

const RegionEntry* find_region(const SegmentHeader& header, RegionKind kind,
                               std::string_view name) {
  uint32_t count = std::min<uint32_t>(header.region_count, kMaxRegions);
  for (uint32_t i = 0; i < count; ++i) {
    const RegionEntry& e = header.regions[i];
    if (e.kind != static_cast<uint32_t>(kind)) continue;
    if (std::string_view(e.name, strnlen(e.name, sizeof e.name)) != name) continue;
    if (e.offset > header.total_bytes || e.bytes > header.total_bytes - e.offset) return nullptr;
    return &e;
  }
  return nullptr;
}

Segment::~Segment() {
  ::munmap(base_, bytes_);
  if (owner_) bip::shared_memory_object::remove(name_.c_str());
}

std::string default_segment_name(const std::string& pid_file, const std::string& first_listen) {
  std::string key = first_listen;
  if (!pid_file.empty()) {
    char resolved[PATH_MAX];
    // The pid file may not exist yet: its directory's real path plus its name.
    std::string dir = pid_file.substr(0, pid_file.find_last_of('/') + 1);
    std::string base = pid_file.substr(dir.size());
    if (dir.empty()) dir = ".";
    key = (::realpath(dir.c_str(), resolved) ? std::string(resolved) : dir) + "/" + base;
  }
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  char name[32];
  std::snprintf(name, sizeof name, "zhttpd-%016llx", static_cast<unsigned long long>(h));
  return name;
}

std::string segment_room_error(uint64_t need, uint64_t free_bytes) {
  if (need <= free_bytes) return {};
  return "cannot create the shared segment: it needs " + mib_text(need, true) + " and " + kShmDir +
         " has " + mib_text(free_bytes, false) + " free; lower --cache-size (or enlarge " +
         kShmDir + ")";
}

}  // namespace zhttp::shm
