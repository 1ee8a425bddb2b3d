#pragma once
// Which --proxy route a request takes: the longest prefix of its path among the routes for its
// host, or among the routes for any host when none of its host's match (a route naming a host
// is more specific than one that does not, as nginx's server blocks are). Routes are sorted once,
// longest prefix first; a lookup allocates nothing.
#include <string_view>
#include <vector>

#include "handlers/proxy/proxy_config.hpp"

namespace zhttp::handlers::proxy {

class RouteTable {
 public:
  explicit RouteTable(const std::vector<ProxyRoute>& routes);

  // The route for a request to `host` (as the request named it: any case, no port) with `path`
  // (percent-encoded, no query); null when none matches.
  const ProxyRoute* match(std::string_view host, std::string_view path) const;
  bool empty() const { return routes_.empty(); }

 private:
  std::vector<ProxyRoute> routes_;  // host-specific first, then longest prefix first
};

}  // namespace zhttp::handlers::proxy
