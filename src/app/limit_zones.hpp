#pragma once
// The rate and connection limiters' zones in the shared segment, from the process side: the master
// lays them out once at start (the segment cannot grow), checks a reload against them, sweeps
// expired words now and then, and each worker builds its access stage over them.
#include <memory>
#include <string>
#include <vector>

#include "handlers/access/access_stage.hpp"
#include "log/error_log.hpp"
#include "shm/limits.hpp"
#include "shm/segment.hpp"

namespace zhttp::app {

// The regions the zones of `access` need: the limits region and one table per zone.
std::vector<shm::RegionRequest> limit_regions(const handlers::access::AccessOptions& access);
// After shm::Segment::create: writes each zone's description and lays out its table, keyed
// with a fresh random secret. Throws std::runtime_error when the kernel gives no randomness.
void lay_out_limit_zones(shm::Segment& segment, const handlers::access::AccessOptions& access);
// A reload may change the rules of the zones but not the zones themselves (their names and
// sizes: the segment was laid out for them). False with *error saying what changed.
bool same_limit_zones(shm::Segment& segment, const handlers::access::AccessOptions& fresh,
                      std::string* error);
// A reload's new rule texts, for zhttpstat.
void describe_limit_zones(shm::Segment& segment, const handlers::access::AccessOptions& access);
// Clears expired words of every zone's table (see shm::RateTable::sweep). Returns how many.
size_t sweep_limit_zones(shm::Segment& segment);

// The limits region (null when there are no zones) and the zones' tables, in zone order (the
// --limit-req zones are the first ones of the region, the --limit-conn ones follow).
shm::LimitsRegion* limits_region(shm::Segment& segment);
struct ZoneTables {
  std::vector<shm::RateTable> requests;
  std::vector<shm::ConnTable> connections;
};
ZoneTables zone_tables(shm::Segment& segment);
// The master, when a worker is gone: the connections it counted are released.
void release_worker_connections(shm::Segment& segment, uint32_t stats_slot);

// A worker's access stage, or null when the configuration asks for none. Counts into the row of
// `stats_slot` (or into counters of its own when it has no slot).
std::unique_ptr<handlers::access::AccessStage> make_access_stage(
    const handlers::access::AccessOptions& access, shm::Segment* segment, int stats_slot,
    log::ErrorLog* log);

}  // namespace zhttp::app
