#pragma once
// The application's declared counters and gauges in the shared segment (shm/app_counters.hpp):
// the region they need, its layout (names, help, kinds) written by the master at start, the
// check of their names, and a worker's word for a name.
#include <atomic>
#include <string>
#include <vector>

#include "shm/app_counters.hpp"
#include "shm/segment.hpp"
#include "zhttp/app.hpp"

namespace zhttp::app {

// "" when every name is usable, else the reason: [a-z_][a-z0-9_]*, not too long, unique, not
// one of the server's own statistics, at most shm::kMaxAppValues.
std::string check_app_values(const std::vector<AppDeclarations::Value>& values);

// The region, when any value is declared.
std::vector<shm::RegionRequest> app_value_regions(
    const std::vector<AppDeclarations::Value>& values);
void lay_out_app_values(shm::Segment& segment, const std::vector<AppDeclarations::Value>& values);

// The word of `name` in the row of `stats_slot`; null when undeclared (or no slot).
std::atomic<uint64_t>* app_value_word(shm::Segment* segment, int stats_slot, std::string_view name);

}  // namespace zhttp::app
