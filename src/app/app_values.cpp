#include "app/app_values.hpp"

#include <algorithm>
#include <cstring>

#include "shm/stats.hpp"

namespace zhttp::app {
namespace {

shm::AppCountersRegion* region_of(shm::Segment& segment) {
  return static_cast<shm::AppCountersRegion*>(segment.region(shm::RegionKind::kAppCounters));
}

void copy_text(char* out, size_t room, const std::string& text) {
  std::memset(out, 0, room);
  std::memcpy(out, text.data(), std::min(text.size(), room - 1));
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
  region->value_count = static_cast<uint32_t>(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    copy_text(region->values[i].name, sizeof region->values[i].name, values[i].name);
    copy_text(region->values[i].help, sizeof region->values[i].help, values[i].help);
    region->values[i].kind = values[i].is_gauge ? shm::kAppGauge : shm::kAppCounter;
  }
}

std::atomic<uint64_t>* app_value_word(shm::Segment* segment, int stats_slot,
                                      std::string_view name) {
  if (segment == nullptr || stats_slot < 0) return nullptr;
  shm::AppCountersRegion* region = region_of(*segment);
  if (region == nullptr) return nullptr;
  for (uint32_t i = 0; i < region->value_count; ++i) {
    const char* n = region->values[i].name;
    if (std::string_view(n, strnlen(n, shm::kAppNameBytes)) == name) {
      return &region->word(stats_slot, i);
    }
  }
  return nullptr;
}

}  // namespace zhttp::app
