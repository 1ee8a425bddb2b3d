#include "proc/limit_zones.hpp"

#include <sys/random.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "shm/limits.hpp"
#include "shm/rate_table.hpp"

namespace zhttp::proc {
namespace {

shm::LimitsRegion* limits_of(shm::Segment& segment) {
  return static_cast<shm::LimitsRegion*>(segment.region(shm::RegionKind::kLimits));
}

std::optional<shm::RateTable> table_of(shm::Segment& segment, const std::string& zone) {
  const shm::RegionEntry* e = shm::find_region(segment.header(), shm::RegionKind::kRateTable, zone);
  if (e == nullptr) return std::nullopt;
  return shm::RateTable::attach(segment.region(shm::RegionKind::kRateTable, zone), e->bytes);
}

void copy_text(char* out, size_t room, const std::string& text) {
  std::memset(out, 0, room);
  std::memcpy(out, text.data(), std::min(text.size(), room - 1));
}

// The counters a worker without a stats slot counts into (nobody reads them).
struct PrivateCounters {
  shm::ZoneCounters zones[shm::kMaxZones];
};

}  // namespace

std::vector<shm::RegionRequest> limit_regions(const handlers::AccessOptions& access) {
  std::vector<shm::RegionRequest> regions;
  if (access.limit_req.empty()) return regions;
  const auto zones = static_cast<uint32_t>(access.limit_req.size());
  regions.push_back(
      {shm::RegionKind::kLimits, shm::kLimitsVersion, shm::LimitsRegion::bytes_for(zones), ""});
  for (const handlers::LimitReqSpec& spec : access.limit_req) {
    regions.push_back({shm::RegionKind::kRateTable, shm::kRateTableVersion,
                       shm::RateTable::bytes_for(spec.slots), spec.zone});
  }
  return regions;
}

void lay_out_limit_zones(shm::Segment& segment, const handlers::AccessOptions& access) {
  shm::LimitsRegion* limits = limits_of(segment);
  if (limits == nullptr) return;
  limits->zone_count = static_cast<uint32_t>(access.limit_req.size());
  const uint64_t epoch = shm::monotonic_us();
  for (size_t z = 0; z < access.limit_req.size(); ++z) {
    const handlers::LimitReqSpec& spec = access.limit_req[z];
    copy_text(limits->zones[z].name, sizeof limits->zones[z].name, spec.zone);
    limits->zones[z].slots = spec.slots;
    shm::SipKey secret{};
    if (::getrandom(&secret, sizeof secret, 0) != static_cast<ssize_t>(sizeof secret)) {
      throw std::runtime_error("cannot draw a secret for the rate limiter: " +
                               std::string(std::strerror(errno)));
    }
    const shm::RegionEntry* e =
        shm::find_region(segment.header(), shm::RegionKind::kRateTable, spec.zone);
    if (e == nullptr ||
        !shm::RateTable::create(segment.region(shm::RegionKind::kRateTable, spec.zone), e->bytes,
                                spec.slots, secret, epoch)) {
      throw std::runtime_error("cannot lay out the table of zone " + spec.zone);
    }
  }
  describe_limit_zones(segment, access);
}

bool same_limit_zones(shm::Segment& segment, const handlers::AccessOptions& fresh,
                      std::string* error) {
  shm::LimitsRegion* limits = limits_of(segment);
  const uint32_t running = limits == nullptr ? 0 : limits->zone_count;
  bool same = running == fresh.limit_req.size();
  for (uint32_t z = 0; same && z < running; ++z) {
    const handlers::LimitReqSpec& spec = fresh.limit_req[z];
    same = limits->zone_name(z) == spec.zone && limits->zones[z].slots == spec.slots;
  }
  if (!same) {
    *error =
        "the --limit-req zones (their names, order and size=) cannot change on reload; "
        "restart the server to change them";
  }
  return same;
}

void describe_limit_zones(shm::Segment& segment, const handlers::AccessOptions& access) {
  shm::LimitsRegion* limits = limits_of(segment);
  if (limits == nullptr) return;
  for (size_t z = 0; z < std::min<size_t>(access.limit_req.size(), limits->zone_count); ++z) {
    copy_text(limits->zones[z].rule, sizeof limits->zones[z].rule, access.limit_req[z].text);
    limits->zones[z].dry_run = access.limit_req_dry_run ? 1 : 0;
  }
}

shm::LimitsRegion* limits_region(shm::Segment& segment) {
  return limits_of(segment);
}

std::vector<shm::RateTable> zone_tables(shm::Segment& segment) {
  std::vector<shm::RateTable> tables;
  shm::LimitsRegion* limits = limits_of(segment);
  for (uint32_t z = 0; limits != nullptr && z < limits->zone_count; ++z) {
    if (auto table = table_of(segment, std::string(limits->zone_name(z)))) tables.push_back(*table);
  }
  return tables;
}

size_t sweep_limit_zones(shm::Segment& segment) {
  size_t cleared = 0;
  for (shm::RateTable& table : zone_tables(segment)) cleared += table.sweep(shm::monotonic_us());
  return cleared;
}

std::unique_ptr<handlers::AccessStage> make_access_stage(const handlers::AccessOptions& access,
                                                         shm::Segment* segment, int stats_slot,
                                                         log::ErrorLog* log) {
  if (!access.any()) return nullptr;
  std::vector<shm::RateTable> tables;
  std::vector<shm::ZoneCounters*> counters;
  shm::LimitsRegion* limits = segment != nullptr ? limits_of(*segment) : nullptr;
  static PrivateCounters private_counters;  // one worker per process
  for (size_t z = 0; z < access.limit_req.size(); ++z) {
    std::optional<shm::RateTable> table;
    if (segment != nullptr) table = table_of(*segment, access.limit_req[z].zone);
    if (!table || limits == nullptr || z >= limits->zone_count) {
      throw std::runtime_error("the shared segment has no table for zone " +
                               access.limit_req[z].zone);
    }
    tables.push_back(*table);
    counters.push_back(stats_slot >= 0 ? &limits->counters(stats_slot, static_cast<uint32_t>(z))
                                       : &private_counters.zones[z]);
  }
  return std::make_unique<handlers::AccessStage>(access, std::move(tables), std::move(counters),
                                                 log);
}

}  // namespace zhttp::proc
