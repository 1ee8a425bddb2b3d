#include "app/limit_zones.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "app/fresh_secret.hpp"

namespace zhttp::app {
namespace {

template <class Table>
std::optional<Table> attach(shm::Segment& segment, shm::RegionKind kind, std::string_view zone) {
  const shm::RegionEntry* e = shm::find_region(segment.header(), kind, zone);
  if (e == nullptr) return std::nullopt;
  return Table::attach(segment.region(kind, zone), e->bytes);
}

void copy_text(char* out, size_t room, const std::string& text) {
  std::memset(out, 0, room);
  std::memcpy(out, text.data(), std::min(text.size(), room - 1));
}

constexpr std::string_view kSecretFor = "the rate limiter";

// Zones in the order the limits region holds them: the --limit-req ones, then --limit-conn.
struct ZoneLayout {
  std::string name;
  uint32_t slots;
  uint32_t kind;
};

std::vector<ZoneLayout> layout_of(const handlers::access::AccessOptions& access) {
  std::vector<ZoneLayout> zones;
  for (const auto& s : access.limit_req) zones.push_back({s.zone, s.slots, shm::kRequestZone});
  for (const auto& s : access.limit_conn) zones.push_back({s.zone, s.slots, shm::kConnectionZone});
  return zones;
}

// The counters a worker without a stats slot counts into (nobody reads them).
struct PrivateCounters {
  shm::ZoneCounters zones[shm::kMaxZones];
};

}  // namespace

std::vector<shm::RegionRequest> limit_regions(const handlers::access::AccessOptions& access) {
  std::vector<shm::RegionRequest> regions;
  const std::vector<ZoneLayout> zones = layout_of(access);
  if (zones.empty()) return regions;
  regions.push_back({shm::RegionKind::kLimits, shm::kLimitsVersion,
                     shm::LimitsRegion::bytes_for(static_cast<uint32_t>(zones.size())), ""});
  for (const ZoneLayout& z : zones) {
    if (z.kind == shm::kRequestZone) {
      regions.push_back({shm::RegionKind::kRateTable, shm::kRateTableVersion,
                         shm::RateTable::bytes_for(z.slots), z.name});
    } else {
      regions.push_back({shm::RegionKind::kConnTable, shm::kConnTableVersion,
                         shm::ConnTable::bytes_for(z.slots), z.name});
    }
  }
  return regions;
}

void lay_out_limit_zones(shm::Segment& segment, const handlers::access::AccessOptions& access) {
  shm::LimitsRegion* limits = limits_region(segment);
  if (limits == nullptr) return;
  const std::vector<ZoneLayout> zones = layout_of(access);
  limits->zone_count = static_cast<uint32_t>(zones.size());
  const uint64_t epoch = shm::monotonic_us();
  for (size_t z = 0; z < zones.size(); ++z) {
    const ZoneLayout& zone = zones[z];
    copy_text(limits->zones[z].name, sizeof limits->zones[z].name, zone.name);
    limits->zones[z].slots = zone.slots;
    limits->zones[z].kind = zone.kind;
    const shm::RegionKind kind =
        zone.kind == shm::kRequestZone ? shm::RegionKind::kRateTable : shm::RegionKind::kConnTable;
    const shm::RegionEntry* e = shm::find_region(segment.header(), kind, zone.name);
    void* region = segment.region(kind, zone.name);
    const bool made =
        e != nullptr &&
        (zone.kind == shm::kRequestZone
             ? shm::RateTable::create(region, e->bytes, zone.slots, fresh_secret(kSecretFor), epoch)
                   .has_value()
             : shm::ConnTable::create(region, e->bytes, zone.slots, fresh_secret(kSecretFor))
                   .has_value());
    if (!made) throw std::runtime_error("cannot lay out the table of zone " + zone.name);
  }
  describe_limit_zones(segment, access);
}

bool same_limit_zones(shm::Segment& segment, const handlers::access::AccessOptions& fresh,
                      std::string* error) {
  shm::LimitsRegion* limits = limits_region(segment);
  const std::vector<ZoneLayout> zones = layout_of(fresh);
  const uint32_t running = limits == nullptr ? 0 : limits->zone_count;
  bool same = running == zones.size();
  for (uint32_t z = 0; same && z < running; ++z) {
    same = limits->zone_name(z) == zones[z].name && limits->zones[z].slots == zones[z].slots &&
           limits->zones[z].kind == zones[z].kind;
  }
  if (!same) {
    *error =
        "the --limit-req and --limit-conn zones (their names, order and size=) cannot change on "
        "reload; restart the server to change them";
  }
  return same;
}

void describe_limit_zones(shm::Segment& segment, const handlers::access::AccessOptions& access) {
  shm::LimitsRegion* limits = limits_region(segment);
  if (limits == nullptr) return;
  std::vector<std::string> texts;
  for (const auto& s : access.limit_req) texts.push_back(s.text);
  for (const auto& s : access.limit_conn) texts.push_back(s.text);
  for (size_t z = 0; z < std::min<size_t>(texts.size(), limits->zone_count); ++z) {
    copy_text(limits->zones[z].rule, sizeof limits->zones[z].rule, texts[z]);
    limits->zones[z].dry_run =
        access.limit_req_dry_run && limits->zones[z].kind == shm::kRequestZone ? 1 : 0;
  }
}

shm::LimitsRegion* limits_region(shm::Segment& segment) {
  return static_cast<shm::LimitsRegion*>(segment.region(shm::RegionKind::kLimits));
}

ZoneTables zone_tables(shm::Segment& segment) {
  ZoneTables tables;
  shm::LimitsRegion* limits = limits_region(segment);
  for (uint32_t z = 0; limits != nullptr && z < limits->zone_count; ++z) {
    if (limits->zones[z].kind == shm::kRequestZone) {
      if (auto t =
              attach<shm::RateTable>(segment, shm::RegionKind::kRateTable, limits->zone_name(z))) {
        tables.requests.push_back(*t);
      }
    } else if (auto t = attach<shm::ConnTable>(segment, shm::RegionKind::kConnTable,
                                               limits->zone_name(z))) {
      tables.connections.push_back(*t);
    }
  }
  return tables;
}

size_t sweep_limit_zones(shm::Segment& segment) {
  size_t cleared = 0;
  for (shm::RateTable& table : zone_tables(segment).requests) {
    cleared += table.sweep(shm::monotonic_us());
  }
  return cleared;
}

void release_worker_connections(shm::Segment& segment, uint32_t stats_slot) {
  for (shm::ConnTable& table : zone_tables(segment).connections) table.clear_owner(stats_slot);
}

std::unique_ptr<handlers::access::AccessStage> make_access_stage(
    const handlers::access::AccessOptions& access, shm::Segment* segment, int stats_slot,
    log::ErrorLog* log) {
  if (!access.any()) return nullptr;
  shm::LimitsRegion* limits = segment != nullptr ? limits_region(*segment) : nullptr;
  ZoneTables tables;
  if (segment != nullptr) tables = zone_tables(*segment);
  const size_t zones = access.limit_req.size() + access.limit_conn.size();
  if (zones > 0 && (limits == nullptr || limits->zone_count != zones ||
                    tables.requests.size() != access.limit_req.size() ||
                    tables.connections.size() != access.limit_conn.size())) {
    throw std::runtime_error("the shared segment does not hold the configured limit zones");
  }
  static PrivateCounters private_counters;  // one worker per process
  auto counters = [&](size_t z) {
    return stats_slot >= 0 ? &limits->counters(stats_slot, static_cast<uint32_t>(z))
                           : &private_counters.zones[z];
  };
  std::vector<shm::ZoneCounters*> req_counters;
  std::vector<shm::ZoneCounters*> conn_counters;
  for (size_t z = 0; z < access.limit_req.size(); ++z) req_counters.push_back(counters(z));
  for (size_t z = 0; z < access.limit_conn.size(); ++z) {
    conn_counters.push_back(counters(access.limit_req.size() + z));
  }
  auto stage = std::make_unique<handlers::access::AccessStage>(access, std::move(tables.requests),
                                                               std::move(req_counters), log);
  stage->set_connection_limits(
      std::move(tables.connections), std::move(conn_counters),
      stats_slot >= 0 ? static_cast<uint32_t>(stats_slot) : shm::kConnMaxOwner);
  return stage;
}

}  // namespace zhttp::app
