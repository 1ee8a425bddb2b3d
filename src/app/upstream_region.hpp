#pragma once
// The reverse proxy's upstream table in the segment, from the process side: the region the
// configuration's groups ask for (its capacity fixed at start: the segment cannot grow), the
// master's lay-out and its map of the servers onto slots at start and on every reload (a server
// that stays keeps its slot, counters and health), and what a worker attaches to.
#include <optional>
#include <string>
#include <vector>

#include "handlers/proxy/proxy_config.hpp"
#include "shm/segment.hpp"
#include "shm/upstream_table.hpp"

namespace zhttp::app {

// The kUpstreams region for `proxy`'s servers (room for twice as many, at least 64): always,
// so that a reload can bring the first upstream group.
std::vector<shm::RegionRequest> upstream_regions(const handlers::proxy::ProxyConfig& proxy);
// The master, once, on a fresh segment: the table laid out and the servers mapped. Throws
// std::runtime_error when they do not fit (cannot happen: the region was sized for them).
void lay_out_upstreams(shm::Segment& segment, const handlers::proxy::ProxyConfig& proxy);
// Reload, before anything changes: false with a one-line reason when the new servers do not fit
// in the running table (or there is none and the new configuration has groups).
bool upstreams_fit(shm::Segment& segment, const handlers::proxy::ProxyConfig& proxy,
                   std::string* error);
// Reload, once taken: the new configuration's servers mapped (before its workers start). Does
// nothing without a table.
void map_upstreams(shm::Segment& segment, const handlers::proxy::ProxyConfig& proxy);
// A worker: the table for its Balancer, or nullopt when there is none.
std::optional<shm::UpstreamTable> attach_upstreams(shm::Segment& segment);

// Every server of `proxy` as the table keys it, in group and server order.
std::vector<shm::UpstreamSpec> upstream_specs(const handlers::proxy::ProxyConfig& proxy);

}  // namespace zhttp::app
