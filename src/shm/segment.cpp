#include "shm/segment.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <boost/interprocess/shared_memory_object.hpp>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <stdexcept>

namespace zhttp::shm {

namespace bip = boost::interprocess;

namespace {
constexpr uint64_t kStatsOffset = 4096;  // the header's page
constexpr uint64_t kSegmentBytes = (kStatsOffset + sizeof(StatsRegion) + 4095) / 4096 * 4096;
static_assert(sizeof(SegmentHeader) <= kStatsOffset);
}  // namespace

std::unique_ptr<Segment> Segment::create(const std::string& name, uint64_t master_pid) {
  bip::shared_memory_object::remove(name.c_str());
  void* base = nullptr;
  try {
    bip::permissions mode(0600);
    bip::shared_memory_object object(bip::create_only, name.c_str(), bip::read_write, mode);
    object.truncate(static_cast<bip::offset_t>(kSegmentBytes));
    // mmap directly: the mapping must survive fork() and the object handle's destruction.
    base = ::mmap(nullptr, kSegmentBytes, PROT_READ | PROT_WRITE, MAP_SHARED,
                  object.get_mapping_handle().handle, 0);
  } catch (const bip::interprocess_exception& e) {
    throw std::runtime_error("cannot create shared segment " + name + ": " + e.what());
  }
  if (base == MAP_FAILED) throw std::runtime_error("cannot map shared segment " + name);
  std::unique_ptr<Segment> segment(new Segment(name, base, kSegmentBytes));
  SegmentHeader& h = segment->header();
  h.magic = kMagic;
  h.layout_version = kLayoutVersion;
  h.header_bytes = sizeof(SegmentHeader);
  h.total_bytes = kSegmentBytes;
  h.master_pid = static_cast<int64_t>(master_pid);
  h.start_time = static_cast<int64_t>(::time(nullptr));
  h.generation.store(0, std::memory_order_relaxed);
  h.worker_count.store(0, std::memory_order_relaxed);
  h.stats_offset = kStatsOffset;
  new (&segment->stats()) StatsRegion{};  // a fresh segment is zeroed; this makes it explicit
  h.ready.store(1, std::memory_order_release);
  return segment;
}

Segment::Segment(std::string name, void* base, uint64_t bytes)
    : name_(std::move(name)), base_(base), bytes_(bytes), header_(new (base) SegmentHeader{}) {}

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

}  // namespace zhttp::shm
