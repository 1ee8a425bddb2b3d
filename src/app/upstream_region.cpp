#include "app/upstream_region.hpp"

#include <stdexcept>

namespace zhttp::app {
namespace {

size_t server_count(const handlers::proxy::ProxyConfig& proxy) {
  size_t n = 0;
  for (const handlers::proxy::UpstreamGroup& g : proxy.groups) n += g.servers.size();
  return n;
}

}  // namespace

std::vector<shm::UpstreamSpec> upstream_specs(const handlers::proxy::ProxyConfig& proxy) {
  std::vector<shm::UpstreamSpec> specs;
  for (const handlers::proxy::UpstreamGroup& g : proxy.groups) {
    for (const handlers::proxy::UpstreamServer& s : g.servers) {
      specs.push_back({g.name, s.address, s.weight, s.max_conns, s.backup, !g.check.empty()});
    }
  }
  return specs;
}

// Always laid out (its smallest capacity, 64 servers, when there is no group yet): a reload may
// add the first --upstream, and the segment cannot grow.
std::vector<shm::RegionRequest> upstream_regions(const handlers::proxy::ProxyConfig& proxy) {
  const uint32_t capacity = shm::UpstreamTable::capacity_for(server_count(proxy));
  return {{shm::RegionKind::kUpstreams, shm::kUpstreamTableVersion,
           shm::UpstreamTable::bytes_for(capacity), ""}};
}

void lay_out_upstreams(shm::Segment& segment, const handlers::proxy::ProxyConfig& proxy) {
  const shm::RegionEntry* e = shm::find_region(segment.header(), shm::RegionKind::kUpstreams);
  if (e == nullptr) return;
  const uint32_t capacity = shm::UpstreamTable::capacity_for(server_count(proxy));
  // The segment was just created, zero-filled: the rows of in-flight words need no writing.
  std::optional<shm::UpstreamTable> table =
      shm::UpstreamTable::create(segment.region(shm::RegionKind::kUpstreams), e->bytes, capacity,
                                 /*region_is_zero=*/true);
  std::string error;
  if (!table) {
    throw std::runtime_error("cannot lay out the upstream table in " + std::to_string(e->bytes) +
                             " bytes");
  }
  if (!table->map(upstream_specs(proxy), &error)) throw std::runtime_error(error);
}

bool upstreams_fit(shm::Segment& segment, const handlers::proxy::ProxyConfig& proxy,
                   std::string* error) {
  std::optional<shm::UpstreamTable> table = attach_upstreams(segment);
  if (!table) {
    if (proxy.groups.empty()) return true;
    *error =
        "--upstream: the running server was started without upstream groups, and its shared "
        "memory cannot grow; restart the server to add them";
    return false;
  }
  return table->fits(upstream_specs(proxy), error);
}

void map_upstreams(shm::Segment& segment, const handlers::proxy::ProxyConfig& proxy) {
  std::optional<shm::UpstreamTable> table = attach_upstreams(segment);
  std::string error;
  // upstreams_fit() said yes before: a refusal here would keep the previous map, which the new
  // workers' balancers then do not find in part (they fall back to slots of their own).
  if (table) table->map(upstream_specs(proxy), &error);
}

std::optional<shm::UpstreamTable> attach_upstreams(shm::Segment& segment) {
  const shm::RegionEntry* e = shm::find_region(segment.header(), shm::RegionKind::kUpstreams);
  if (e == nullptr) return std::nullopt;
  return shm::UpstreamTable::attach(segment.region(shm::RegionKind::kUpstreams), e->bytes);
}

}  // namespace zhttp::app
