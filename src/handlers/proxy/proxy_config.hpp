#pragma once
// What the command line says about the reverse proxy (--upstream, --upstream-options, --proxy,
// --proxy-*-timeout, --proxy-cache): upstream groups of servers, the routes that send requests
// to them, and the timeouts. Built by src/cli/options/proxy.cpp, read by every process: the
// master lays out the upstream table in the segment from it, each worker builds its routes,
// balancer and connection pool from it. Host names are resolved when the options are parsed (at
// start, on reload and by -t), so a worker never blocks on DNS.
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

namespace zhttp::handlers::proxy {

enum class Balance : uint8_t { kRoundRobin, kLeastConn, kRandom, kHash };
enum class HashKey : uint8_t { kUri, kAddr, kHeader };

// One --upstream 'NAME ADDRESS [weight=N] [max_conns=N] [backup]'.
struct UpstreamServer {
  std::string address;          // as written: "127.0.0.1:9001", "[::1]:9001", "unix:/run/app.sock"
  sockaddr_storage sockaddr{};  // resolved (AF_INET, AF_INET6 or AF_UNIX)
  socklen_t sockaddr_len = 0;
  uint32_t weight = 1;     // 1..1000
  uint32_t max_conns = 0;  // requests in flight to it across all workers; 0: no cap
  bool backup = false;     // used only when every other server of the group is down
};

// A group: its servers (--upstream lines with its NAME, in order) and its --upstream-options.
struct UpstreamGroup {
  std::string name;
  std::vector<UpstreamServer> servers;
  Balance balance = Balance::kRoundRobin;
  HashKey hash_key = HashKey::kUri;    // balance=hash: hash_key=uri|addr|header:NAME
  std::string hash_header;             // HashKey::kHeader: the field's name
  uint32_t keepalive = 32;             // idle connections kept per worker (0: none kept)
  double keepalive_timeout = 4;        // seconds an idle pooled connection is kept
  uint32_t keepalive_requests = 1000;  // requests over one connection, then it is closed
  double keepalive_time = 3600;        // seconds a connection is reused at most
  uint32_t max_fails = 1;              // failures within fail_timeout that take a server out
  double fail_timeout = 10;            // ... for this long (seconds); 0: never out
  std::string check;                   // check=/PATH: active health checks; "" none
  double check_interval = 2;           // seconds between two probes of a server
  uint32_t rise = 2;                   // probes passed in a row to be up again
  uint32_t fall = 3;                   // probes failed in a row to be down
  // A group made for a --proxy target that names an address instead of a group (its name is
  // that address): one server, defaults for the rest.
  bool implicit = false;
};

// One --proxy 'PREFIX=http://TARGET[/PATH]'.
struct ProxyRoute {
  std::string host;         // "" for any host; else the host name PREFIX began with, lower case
  std::string prefix;       // the path prefix, beginning with '/'
  uint32_t group = 0;       // index into ProxyConfig::groups
  bool rewrite = false;     // a /PATH was given: the matched prefix is replaced by it
  std::string replacement;  // that /PATH
};

struct ProxyTimeouts {
  double connect = 5;   // --proxy-connect-timeout: to establish a connection
  double read = 60;     // --proxy-read-timeout: between two reads of the response
  double send = 60;     // --proxy-send-timeout: between two writes of the request
  double tunnel = 300;  // --proxy-tunnel-timeout: an upgraded connection idle in both ways
};

struct ProxyConfig {
  std::vector<UpstreamGroup> groups;
  std::vector<ProxyRoute> routes;
  ProxyTimeouts timeouts;
  bool cache = true;  // --proxy-cache on|off: the shared cache in front of proxied paths

  bool enabled() const { return !routes.empty(); }
};

}  // namespace zhttp::handlers::proxy
