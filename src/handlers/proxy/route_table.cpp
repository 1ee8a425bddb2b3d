#include "handlers/proxy/route_table.hpp"

#include <algorithm>

#include "handlers/common/ascii_case.hpp"

namespace zhttp::handlers::proxy {

RouteTable::RouteTable(const std::vector<ProxyRoute>& routes) : routes_(routes) {
  std::stable_sort(routes_.begin(), routes_.end(), [](const ProxyRoute& a, const ProxyRoute& b) {
    if (a.host.empty() != b.host.empty()) return !a.host.empty();
    return a.prefix.size() > b.prefix.size();
  });
}

const ProxyRoute* RouteTable::match(std::string_view host, std::string_view path) const {
  for (const ProxyRoute& r : routes_) {
    if (!r.host.empty() && !common::equal_nocase(host, r.host)) continue;
    if (path.starts_with(r.prefix)) return &r;
  }
  return nullptr;
}

}  // namespace zhttp::handlers::proxy
