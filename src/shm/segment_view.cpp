#include "shm/segment_view.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <utility>

namespace zhttp::shm {
namespace {

using Error = SegmentView::Error;
using Failure = SegmentView::Failure;

// The bytes that hold the magic and the layout version: every layout keeps them there.
constexpr size_t kIdentityBytes = offsetof(SegmentHeader, header_bytes);

std::string not_ready(const std::string& name) {
  return name + " is not ready yet (zhttpd is starting)";
}

}  // namespace

std::string shm_path(const std::string& name) {
  return !name.empty() && name[0] == '/' ? name : "/" + name;
}

std::unique_ptr<SegmentView> SegmentView::open(const std::string& name, Failure* failure) {
  int fd = ::shm_open(shm_path(name).c_str(), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) {
      *failure = {Error::kNoSegment, "no shared segment " + name + " (is zhttpd running?)"};
    } else if (err == EACCES || err == EPERM) {
      *failure = {Error::kPermission,
                  "permission denied on " + name + " (run as the server's user)"};
    } else if (err == EINVAL || err == ENAMETOOLONG) {
      *failure = {Error::kBadName, name + " is not a shared memory name"};
    } else {
      *failure = {Error::kSystem, "cannot open " + name + ": " + std::strerror(err)};
    }
    return nullptr;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    *failure = {Error::kSystem, "cannot stat " + name + ": " + std::strerror(errno)};
    ::close(fd);
    return nullptr;
  }
  auto bytes = static_cast<size_t>(st.st_size);
  // The server creates the object empty, then sizes it: empty means "being created".
  if (bytes < kIdentityBytes) {
    ::close(fd);
    *failure = {Error::kNotReady, not_ready(name)};
    return nullptr;
  }
  void* base = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0);
  int map_errno = errno;
  ::close(fd);  // the mapping stays
  if (base == MAP_FAILED) {
    *failure = {Error::kSystem, "cannot map " + name + ": " + std::strerror(map_errno)};
    return nullptr;
  }
  std::unique_ptr<SegmentView> view(new SegmentView(name, base, bytes, st.st_dev, st.st_ino));
  if (std::optional<Failure> why = view->check_layout()) {
    *failure = std::move(*why);
    return nullptr;
  }
  return view;
}

std::optional<Failure> SegmentView::check_layout() {
  // The magic and the version come first: a later layout may move everything after them.
  const auto* raw = static_cast<const unsigned char*>(base_);
  uint64_t magic = 0;
  uint32_t version = 0;
  std::memcpy(&magic, raw + offsetof(SegmentHeader, magic), sizeof magic);
  std::memcpy(&version, raw + offsetof(SegmentHeader, layout_version), sizeof version);
  if (magic == 0 && version == 0) return Failure{Error::kNotReady, not_ready(name_)};  // sized only
  if (magic != kMagic) return Failure{Error::kLayout, name_ + " is not a zhttpd segment"};
  if (version == 0) return Failure{Error::kNotReady, not_ready(name_)};
  if (version != kLayoutVersion) {
    return Failure{Error::kLayout, name_ + " has layout version " + std::to_string(version) +
                                       ", this zhttpstat reads version " +
                                       std::to_string(kLayoutVersion)};
  }
  if (bytes_ < sizeof(SegmentHeader) || header().ready.load(std::memory_order_acquire) != 1) {
    return Failure{Error::kNotReady, not_ready(name_)};
  }
  const SegmentHeader& h = header();
  const std::string not_zhttpd = name_ + " is not a zhttpd segment (";
  const std::string in_bytes = " bytes)";
  if (h.total_bytes > bytes_ || h.stats_offset < sizeof(SegmentHeader) ||
      h.stats_offset % alignof(StatsRegion) != 0 || h.stats_offset > bytes_ ||
      bytes_ - h.stats_offset < sizeof(StatsRegion)) {
    return Failure{Error::kLayout,
                   not_zhttpd + "its stats do not fit in its " + std::to_string(bytes_) + in_bytes};
  }
  if (h.region_count > kMaxRegions) {
    return Failure{Error::kLayout, not_zhttpd + std::to_string(h.region_count) + " regions)"};
  }
  for (uint32_t i = 0; i < h.region_count; ++i) {
    const RegionEntry& e = h.regions[i];
    if (e.offset > bytes_ || e.bytes > bytes_ - e.offset) {
      return Failure{Error::kLayout, not_zhttpd + "its region " + std::to_string(i) +
                                         " does not fit in its " + std::to_string(bytes_) +
                                         in_bytes};
    }
  }
  const RegionEntry* limits = find_region(h, RegionKind::kLimits);
  if (limits != nullptr && limits->version == kLimitsVersion) {
    if (limits->offset % alignof(LimitsRegion) != 0 || limits->bytes < LimitsRegion::bytes_for(0)) {
      return Failure{Error::kLayout, not_zhttpd + "its rate limits region of " +
                                         std::to_string(limits->bytes) + " bytes is too small)"};
    }
    limits_ = static_cast<const LimitsRegion*>(at(*limits));
    limits_bytes_ = limits->bytes;
  }
  const RegionEntry* app = find_region(h, RegionKind::kAppCounters);
  if (app != nullptr && app->version == kAppCountersVersion) {
    if (app->offset % 64 != 0 || app->bytes < AppCountersRegion::bytes_for(0)) {
      return Failure{Error::kLayout, not_zhttpd + "its app counters region of " +
                                         std::to_string(app->bytes) + " bytes is too small)"};
    }
    app_ = static_cast<const AppCountersRegion*>(at(*app));
    app_bytes_ = app->bytes;
  }
  const RegionEntry* cache = find_region(h, RegionKind::kCacheCounters);
  if (cache != nullptr && cache->version == kCacheCountersVersion) {
    if (cache->offset % alignof(CacheCountersRegion) != 0 ||
        cache->bytes < sizeof(CacheCountersRegion)) {
      return Failure{Error::kLayout, not_zhttpd + "its cache counters region of " +
                                         std::to_string(cache->bytes) + " bytes is too small)"};
    }
    cache_ = static_cast<const CacheCountersRegion*>(at(*cache));
  }
  return std::nullopt;
}

std::optional<const RateTable> SegmentView::table(uint32_t zone) const {
  if (limits_ == nullptr || zone >= std::min<uint32_t>(limits_->zone_count, kMaxZones)) {
    return std::nullopt;
  }
  const RegionEntry* e = find_region(header(), RegionKind::kRateTable, limits_->zone_name(zone));
  if (e == nullptr) return std::nullopt;
  return RateTable::attach_read_only(at(*e), e->bytes);
}

std::optional<const ConnTable> SegmentView::conn_table(uint32_t zone) const {
  if (limits_ == nullptr || zone >= std::min<uint32_t>(limits_->zone_count, kMaxZones)) {
    return std::nullopt;
  }
  const RegionEntry* e = find_region(header(), RegionKind::kConnTable, limits_->zone_name(zone));
  if (e == nullptr) return std::nullopt;
  return ConnTable::attach_read_only(at(*e), e->bytes);
}

bool SegmentView::read_limits(LimitsSnapshot* out) const {
  out->zone_count = 0;
  if (limits_ == nullptr) return true;
  uint32_t zones = limits_->zone_count;
  if (zones > kMaxZones || LimitsRegion::bytes_for(zones) > limits_bytes_) return true;
  std::optional<const RateTable> tables[kMaxZones];
  const RateTable* pointers[kMaxZones] = {};
  std::optional<const ConnTable> conn_tables[kMaxZones];
  const ConnTable* conn_pointers[kMaxZones] = {};
  for (uint32_t z = 0; z < zones; ++z) {
    if (std::optional<const RateTable> t = table(z)) pointers[z] = &tables[z].emplace(*t);
    if (std::optional<const ConnTable> t = conn_table(z)) {
      conn_pointers[z] = &conn_tables[z].emplace(*t);
    }
  }
  return shm::read_limits(*limits_, stats(), pointers, conn_pointers, monotonic_us(), out);
}

bool SegmentView::read_app_values(AppValuesSnapshot* out) const {
  out->count = 0;
  if (app_ == nullptr) return true;
  uint32_t values = app_->value_count;
  if (values > kMaxAppValues || AppCountersRegion::bytes_for(values) > app_bytes_) return true;
  return shm::read_app_values(*app_, stats(), out);
}

bool SegmentView::read_cache(CacheSnapshot* out) const {
  *out = CacheSnapshot{};
  if (cache_ == nullptr) return true;
  if (!read_cache_counters(*cache_, stats(), out)) return false;
  const RegionEntry* e = find_region(header(), RegionKind::kCache);
  if (e == nullptr) return true;
  if (std::optional<const CacheStore> store = CacheStore::attach_read_only(at(*e), e->bytes)) {
    read_cache_store(*store, monotonic_us(), out);
  }
  return true;
}

std::optional<const UpstreamTable> SegmentView::upstreams() const {
  const RegionEntry* e = find_region(header(), RegionKind::kUpstreams);
  if (e == nullptr || e->version != kUpstreamTableVersion) return std::nullopt;
  return UpstreamTable::attach_read_only(at(*e), e->bytes);
}

std::vector<UpstreamRow> SegmentView::read_upstreams() const {
  std::optional<const UpstreamTable> table = upstreams();
  if (!table) return {};
  std::vector<UpstreamRow> rows(table->capacity());
  rows.resize(shm::read_upstreams(*table, monotonic_us() / 1000, rows.data(), rows.size()));
  return rows;
}

SegmentView::~SegmentView() {
  ::munmap(const_cast<void*>(base_), bytes_);
}

SegmentView::Presence SegmentView::presence() const {
  int fd = ::shm_open(shm_path(name_).c_str(), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return errno == ENOENT ? Presence::kGone : Presence::kSame;
  struct stat st {};
  bool same = ::fstat(fd, &st) != 0 || (st.st_dev == dev_ && st.st_ino == ino_);
  ::close(fd);
  return same ? Presence::kSame : Presence::kReplaced;
}

}  // namespace zhttp::shm
