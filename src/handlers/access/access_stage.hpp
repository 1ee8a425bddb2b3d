#pragma once
// The access stage (docs/design.md section 3, step 3): for every request head, the real client
// address (a trusted X-Forwarded-For), then the rate limits: each --limit-req zone whose path
// prefix matches charges the client's key in the zone's GCRA table in the shared segment, all
// zones or none (shm::charge_all). A refusal is --limit-req-status with Retry-After; an excess
// within the burst is delayed on a timer (never blocking the loop) unless nodelay. Counters go
// to the worker's own row of the limits region; a refusal is logged at most once a second per
// zone. Nothing here allocates once built.
#include <cstdint>
#include <string>
#include <vector>

#include "conn/access_gate.hpp"
#include "handlers/access/limit_req_spec.hpp"
#include "handlers/common/client_address.hpp"
#include "log/error_log.hpp"
#include "shm/conn_table.hpp"
#include "shm/limits.hpp"
#include "shm/rate_table.hpp"

namespace zhttp::handlers::access {

inline constexpr size_t kMaxConnZones = 2;  // a connection's token holds two counts

struct AccessOptions {
  std::vector<LimitReqSpec> limit_req;
  std::vector<LimitConnSpec> limit_conn;
  uint16_t limit_req_status = 429;
  bool limit_req_dry_run = false;             // count and log what would be refused; refuse nothing
  bool limit_req_headers = false;             // RateLimit-Policy and RateLimit on limited responses
  std::vector<common::Cidr> limit_req_allow;  // never limited, never stored
  std::vector<common::Cidr> real_ip_from;     // peers whose --real-ip-header is believed
  std::string real_ip_header = "X-Forwarded-For";

  bool any() const { return !limit_req.empty() || !limit_conn.empty() || !real_ip_from.empty(); }
};

class AccessStage : public conn::AccessGate {
 public:
  // `tables[i]` is the table of options.limit_req[i]; `counters[i]` its counters (the worker's
  // row of the limits region, or private ones). `log` may be null.
  AccessStage(const AccessOptions& options, std::vector<shm::RateTable> tables,
              std::vector<shm::ZoneCounters*> counters, log::ErrorLog* log);

  // The --limit-conn zones: `tables[i]` and `counters[i]` for options.limit_conn[i]; `owner` is
  // the worker's stats slot (whose counts the master clears when the worker dies).
  void set_connection_limits(std::vector<shm::ConnTable> tables,
                             std::vector<shm::ZoneCounters*> counters, uint32_t owner);

  conn::AccessVerdict admit(const RequestView& request, PeerAddress* peer,
                            std::span<char> extra) override;
  bool admit_connection(const PeerAddress& peer, uint64_t* token) override;
  void release_connection(uint64_t token) override;

 private:
  struct Zone {
    const LimitReqSpec* spec;
    shm::RateTable table;
    shm::ZoneCounters* counters;
    uint64_t last_log_s = 0;
  };

  // The key `z` limits this request by (an address key in `buffer`, kMaxAddressKey bytes, or a
  // header's value); empty: the zone does not apply.
  std::string_view key_of(const Zone& z, const RequestView& request, const PeerAddress& peer,
                          char* buffer) const;
  void log_refusal(Zone& z, const PeerAddress& peer, uint32_t retry_after_s, uint64_t now_us);
  // The RateLimit fields for the n zones just charged into `extra`; their length (0: none fit).
  uint32_t write_fields(std::span<char> extra, size_t n, uint64_t now_us, bool refused) const;

  AccessOptions options_;
  common::CidrSet real_ip_from_;
  common::CidrSet allow_;
  struct ConnZone {
    const LimitConnSpec* spec;
    shm::ConnTable table;
    shm::ZoneCounters* counters;
    uint64_t last_log_s = 0;
  };
  void log_connection_refusal(ConnZone& z, const PeerAddress& peer);

  std::vector<Zone> zones_;
  std::vector<ConnZone> conn_zones_;
  uint32_t owner_ = 0;
  std::vector<shm::RateLimitRef> scratch_;  // one per zone: the zones a request is charged to
  std::vector<uint32_t> applied_;           // scratch_[k] is zones_[applied_[k]]
  log::ErrorLog* log_;
};

}  // namespace zhttp::handlers::access
