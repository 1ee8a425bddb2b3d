#include "stat_segment.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <utility>

namespace zhttp::stat {
namespace {

// The bytes that hold the magic and the layout version: every layout keeps them there.
constexpr size_t kIdentityBytes = offsetof(shm::SegmentHeader, header_bytes);

Failure fail(int code, std::string message) {
  return Failure{code, "zhttpstat: " + message};
}

}  // namespace

std::string shm_path(const std::string& name) {
  return !name.empty() && name[0] == '/' ? name : "/" + name;
}

std::unique_ptr<MappedSegment> MappedSegment::open(const std::string& name, Failure* failure) {
  int fd = ::shm_open(shm_path(name).c_str(), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) {
      *failure = fail(kExitNoSegment, "no shared segment " + name + " (is zhttpd running?)");
    } else if (err == EACCES || err == EPERM) {
      *failure =
          fail(kExitPermission, "permission denied on " + name + " (run as the server's user)");
    } else if (err == EINVAL || err == ENAMETOOLONG) {
      *failure = fail(kExitUsage, name + " is not a shared memory name");
    } else {
      *failure = fail(kExitError, "cannot open " + name + ": " + std::strerror(err));
    }
    return nullptr;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    *failure = fail(kExitError, "cannot stat " + name + ": " + std::strerror(errno));
    ::close(fd);
    return nullptr;
  }
  auto bytes = static_cast<size_t>(st.st_size);
  // The server creates the object empty, then sizes it: empty means "being created".
  if (bytes < kIdentityBytes) {
    ::close(fd);
    *failure = fail(kExitNotReady, name + " is not ready yet (zhttpd is starting)");
    return nullptr;
  }
  void* base = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0);
  int map_errno = errno;
  ::close(fd);  // the mapping stays
  if (base == MAP_FAILED) {
    *failure = fail(kExitError, "cannot map " + name + ": " + std::strerror(map_errno));
    return nullptr;
  }
  std::unique_ptr<MappedSegment> segment(
      new MappedSegment(name, base, bytes, st.st_dev, st.st_ino));

  // The magic and the version come first: a later layout may move everything after them.
  const auto* raw = static_cast<const unsigned char*>(base);
  uint64_t magic = 0;
  uint32_t version = 0;
  std::memcpy(&magic, raw + offsetof(shm::SegmentHeader, magic), sizeof magic);
  std::memcpy(&version, raw + offsetof(shm::SegmentHeader, layout_version), sizeof version);
  if (magic == 0 && version == 0) {  // sized, not written yet
    *failure = fail(kExitNotReady, name + " is not ready yet (zhttpd is starting)");
    return nullptr;
  }
  if (magic != shm::kMagic) {
    *failure = fail(kExitLayout, name + " is not a zhttpd segment");
    return nullptr;
  }
  if (version != shm::kLayoutVersion) {
    if (version == 0) {
      *failure = fail(kExitNotReady, name + " is not ready yet (zhttpd is starting)");
    } else {
      *failure = fail(kExitLayout, name + " has layout version " + std::to_string(version) +
                                       ", this zhttpstat reads version " +
                                       std::to_string(shm::kLayoutVersion));
    }
    return nullptr;
  }
  if (bytes < sizeof(shm::SegmentHeader) ||
      segment->header().ready.load(std::memory_order_acquire) != 1) {
    *failure = fail(kExitNotReady, name + " is not ready yet (zhttpd is starting)");
    return nullptr;
  }
  const shm::SegmentHeader& h = segment->header();
  if (h.total_bytes > bytes || h.stats_offset < sizeof(shm::SegmentHeader) ||
      h.stats_offset % alignof(shm::StatsRegion) != 0 || h.stats_offset > bytes ||
      bytes - h.stats_offset < sizeof(shm::StatsRegion)) {
    *failure = fail(kExitLayout, name + " is not a zhttpd segment (its stats do not fit in its " +
                                     std::to_string(bytes) + " bytes)");
    return nullptr;
  }
  if (h.region_count > shm::kMaxRegions) {
    *failure = fail(kExitLayout, name + " is not a zhttpd segment (" +
                                     std::to_string(h.region_count) + " regions)");
    return nullptr;
  }
  for (uint32_t i = 0; i < h.region_count; ++i) {
    const shm::RegionEntry& e = h.regions[i];
    if (e.offset > bytes || e.bytes > bytes - e.offset) {
      *failure =
          fail(kExitLayout, name + " is not a zhttpd segment (its region " + std::to_string(i) +
                                " does not fit in its " + std::to_string(bytes) + " bytes)");
      return nullptr;
    }
  }
  const shm::RegionEntry* limits = shm::find_region(h, shm::RegionKind::kLimits);
  if (limits != nullptr && limits->version == shm::kLimitsVersion) {
    if (limits->offset % alignof(shm::LimitsRegion) != 0 ||
        limits->bytes < shm::LimitsRegion::bytes_for(0)) {
      *failure = fail(kExitLayout, name + " is not a zhttpd segment (its rate limits region of " +
                                       std::to_string(limits->bytes) + " bytes is too small)");
      return nullptr;
    }
    segment->limits_ = static_cast<const shm::LimitsRegion*>(segment->at(*limits));
    segment->limits_bytes_ = limits->bytes;
  }
  return segment;
}

std::optional<const shm::RateTable> MappedSegment::table(uint32_t zone) const {
  if (limits_ == nullptr || zone >= std::min<uint32_t>(limits_->zone_count, shm::kMaxZones)) {
    return std::nullopt;
  }
  const shm::RegionEntry* e =
      shm::find_region(header(), shm::RegionKind::kRateTable, limits_->zone_name(zone));
  if (e == nullptr) return std::nullopt;
  return shm::RateTable::attach_read_only(at(*e), e->bytes);
}

std::optional<const shm::ConnTable> MappedSegment::conn_table(uint32_t zone) const {
  if (limits_ == nullptr || zone >= std::min<uint32_t>(limits_->zone_count, shm::kMaxZones)) {
    return std::nullopt;
  }
  const shm::RegionEntry* e =
      shm::find_region(header(), shm::RegionKind::kConnTable, limits_->zone_name(zone));
  if (e == nullptr) return std::nullopt;
  return shm::ConnTable::attach_read_only(at(*e), e->bytes);
}

bool MappedSegment::read_limits(shm::LimitsSnapshot* out) const {
  out->zone_count = 0;
  if (limits_ == nullptr) return true;
  uint32_t zones = limits_->zone_count;
  if (zones > shm::kMaxZones || shm::LimitsRegion::bytes_for(zones) > limits_bytes_) return true;
  std::optional<const shm::RateTable> tables[shm::kMaxZones];
  const shm::RateTable* pointers[shm::kMaxZones] = {};
  std::optional<const shm::ConnTable> conn_tables[shm::kMaxZones];
  const shm::ConnTable* conn_pointers[shm::kMaxZones] = {};
  for (uint32_t z = 0; z < zones; ++z) {
    if (std::optional<const shm::RateTable> t = table(z)) pointers[z] = &tables[z].emplace(*t);
    if (std::optional<const shm::ConnTable> t = conn_table(z)) {
      conn_pointers[z] = &conn_tables[z].emplace(*t);
    }
  }
  return shm::read_limits(*limits_, stats(), pointers, conn_pointers, shm::monotonic_us(), out);
}

MappedSegment::~MappedSegment() {
  ::munmap(const_cast<void*>(base_), bytes_);
}

MappedSegment::Presence MappedSegment::presence() const {
  int fd = ::shm_open(shm_path(name_).c_str(), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return errno == ENOENT ? Presence::kGone : Presence::kSame;
  struct stat st {};
  bool same = ::fstat(fd, &st) != 0 || (st.st_dev == dev_ && st.st_ino == ino_);
  ::close(fd);
  return same ? Presence::kSame : Presence::kReplaced;
}

}  // namespace zhttp::stat
