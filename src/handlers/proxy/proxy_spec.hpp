#pragma once
// The texts of the proxy's options, parsed into a ProxyConfig (proxy_config.hpp): --upstream,
// --upstream-options and --proxy. Host names are resolved here (getaddrinfo), when the options
// are read: at start, on reload and by -t, never in a worker. Errors say what is wrong with the
// text, without the option's name (the command line adds it).
#include <string>
#include <string_view>
#include <vector>

#include "handlers/proxy/proxy_config.hpp"

namespace zhttp::handlers::proxy {

// "127.0.0.1:9001", "[::1]:9001", "app.internal:80" or "unix:/run/app.sock" into `out`'s
// address and sockaddr: a name resolved to its first IPv4 or IPv6 address, brackets holding an
// IPv6 address only (never a name), an IPv6 address always in brackets. False with *error.
bool resolve_address(std::string_view address, UpstreamServer* out, std::string* error);

// "NAME ADDRESS [weight=N] [max_conns=N] [backup]": the group's name and the server.
bool parse_upstream(std::string_view text, std::string* group, UpstreamServer* out,
                    std::string* error);

// "NAME [balance=...] [hash_key=...] [keepalive=N] ...": sets the named settings of `out`
// (whose other fields keep their values) and its name.
bool parse_upstream_options(std::string_view text, UpstreamGroup* out, std::string* error);

// One --proxy text, before its target is looked up among the groups.
struct RouteSpec {
  ProxyRoute route;    // host, prefix, rewrite, replacement (group not yet known)
  std::string target;  // a group's name, or an address ("HOST:PORT", "[V6]:PORT", "unix:/path")
  bool target_is_address = false;
};
// "PREFIX=http://TARGET[/PATH]": PREFIX "/path" or "host.name/path"; the paths visible ASCII
// without '?' or '#' (they meet request targets).
bool parse_route(std::string_view text, RouteSpec* out, std::string* error);

// The whole configuration from the options' texts in the order given. False with *error, which
// names the option concerned.
bool build_proxy_config(const std::vector<std::string>& upstreams,
                        const std::vector<std::string>& upstream_options,
                        const std::vector<std::string>& routes, ProxyConfig* out,
                        std::string* error);

}  // namespace zhttp::handlers::proxy
