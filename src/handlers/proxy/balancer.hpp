#pragma once
// Which server of an upstream group gets an attempt, and what each attempt's end says of its
// server's health: the per-worker face of the upstream table in the shared segment
// (shm/upstream_table.hpp), where in-flight counts, passive health (max_fails within
// fail_timeout), active check results and every server's counters are shared by all workers.
// Nothing here allocates after construction. Times (`now_ms`) are CLOCK_MONOTONIC milliseconds
// (shm::monotonic_us() / 1000), the clock every process of the machine shares.
#include <cstdint>

#include "handlers/proxy/proxy_config.hpp"
#include "zhttp/handler.hpp"

namespace zhttp::shm {
class UpstreamTable;
}

namespace zhttp::handlers::proxy {

enum class Pick : uint8_t {
  kPicked,   // *server names the server; it counts this attempt in flight until finish()
  kNoneUp,   // every server not yet tried is down: 503
  kAllBusy,  // the servers that are up are all at max_conns: 503
};

// How one attempt on a server ended.
// A server's health as every worker sees it.
enum class ServerState : uint8_t {
  kUp,
  kDown,      // out after failures (for fail_timeout) or by its active checks
  kChecking,  // check= given, no verdict yet: used meanwhile
};

enum class Outcome : uint8_t {
  kResponse,      // a response head came (its status is given): the server works
  kConnectError,  // refused, unreachable, reset while connecting
  kError,         // reset or premature close after connecting, a malformed head
  kTimeout,       // connect, send or read timeout
  kAbandoned,     // the client went away, or the worker stops: says nothing of the server
};

class Balancer {
 public:
  // `table` null: the state lives in this process only (a worker without a segment, tests).
  // `stats_slot` is the worker's row for what must be undone when it dies (in-flight counts).
  Balancer(const ProxyConfig& config, shm::UpstreamTable* table, int stats_slot);
  ~Balancer();
  Balancer(const Balancer&) = delete;
  Balancer& operator=(const Balancer&) = delete;

  // A server of `group` for one attempt of `request`, skipping the servers whose bit is set in
  // `tried` (bit i: server i; servers past 63 are never skipped). Only balance=hash reads
  // `request` (its target, a field, or its peer(), which must then be set).
  Pick pick(uint32_t group, const RequestView& request, uint64_t tried, uint64_t now_ms,
            uint32_t* server);
  // The attempt picked above ended; `status` is the response's for kResponse.
  void finish(uint32_t group, uint32_t server, Outcome outcome, uint16_t status, uint64_t now_ms);
  // Counters without a health meaning.
  void count_retry(uint32_t group, uint32_t server);
  void count_connection(uint32_t group, uint32_t server, bool reused);

  // Active health checks (check=/PATH), run by one process: true when this one runs them now.
  // A worker asks before each round; it gets the turn when nobody has it or an older generation
  // does (a reload hands it over), keeps it until it dies. Always true without a table.
  bool claim_checks(uint32_t generation);
  // A probe of `server` passed (or failed) at now_ms: rise / fall of its group decide its state.
  void record_check(uint32_t group, uint32_t server, bool passed, uint64_t now_ms);

  ServerState state(uint32_t group, uint32_t server, uint64_t now_ms) const;
  uint32_t in_flight(uint32_t group, uint32_t server) const;  // across all workers
  bool shared() const;  // every server has its slot in the table (else some state is local)

 private:
  struct State;
  State* state_;
};

}  // namespace zhttp::handlers::proxy
