#include "app/app_values.hpp"

#include <algorithm>
#include <cstring>

#include "shm/stats.hpp"

namespace zhttp::app {
namespace {

shm::AppCountersRegion* region_of(shm::Segment& segment) {
  return static_cast<shm::AppCountersRegion*>(segment.region(shm::RegionKind::kAppCounters));
}

bool usable_name(const std::string& name) {
  if (name.empty() || name.size() >= shm::kAppNameBytes) return false;
  if (name[0] >= '0' && name[0] <= '9') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

std::string check_app_values(const std::vector<AppDeclarations::Value>& values) {
  if (values.size() > shm::kMaxAppValues) {
    return "at most " + std::to_string(shm::kMaxAppValues) + " counters and gauges";
  }
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string& name = values[i].name;
    if (!usable_name(name)) {
      return "counter or gauge name \"" + name + "\" is not [a-z_][a-z0-9_]* of at most " +
             std::to_string(shm::kAppNameBytes - 1) + " bytes";
    }
    for (std::string_view builtin : shm::kCounterNames) {
      if (name == builtin) return "counter or gauge name \"" + name + "\" is a built-in one";
    }
    for (std::string_view builtin : shm::kGaugeNames) {
      if (name == builtin) return "counter or gauge name \"" + name + "\" is a built-in one";
    }
    for (size_t j = 0; j < i; ++j) {
      if (values[j].name == name) return "counter or gauge \"" + name + "\" is declared twice";
    }
  }
  return {};
}

std::vector<shm::RegionRequest> app_value_regions(
    const std::vector<AppDeclarations::Value>& values) {
  if (values.empty()) return {};
  return {{shm::RegionKind::kAppCounters, shm::kAppCountersVersion,
           shm::AppCountersRegion::bytes_for(static_cast<uint32_t>(values.size())), ""}};
}

void lay_out_app_values(shm::Segment& segment, const std::vector<AppDeclarations::Value>& values) {
  shm::AppCountersRegion* region = region_of(segment);
  if (region == nullptr) return;
  std::vector<shm::AppValueDecl> decls;
  for (const AppDeclarations::Value& v : values) {
    decls.push_back({v.name, v.help, v.is_gauge ? shm::kAppGauge : shm::kAppCounter});
  }
  shm::lay_out_app_values(*region, decls);
}

std::atomic<uint64_t>* app_value_word(shm::Segment* segment, int stats_slot,
                                      std::string_view name) {
  shm::AppCountersRegion* region = segment != nullptr ? region_of(*segment) : nullptr;
  if (region == nullptr) return nullptr;
  for (uint32_t i = 0; i < region->value_count; ++i) {
    if (region->name(i) == name) return shm::worker_word(*region, stats_slot, i);
  }
  return nullptr;  // undeclared, or a worker without a stats slot: counts nothing
}

}  // namespace zhttp::app
