#include "handlers/access/access_stage.hpp"

#include <algorithm>
#include <cstring>

#include "zhttp/response_writer.hpp"

namespace zhttp::handlers::access {
namespace {

constexpr uint64_t kUsPerSecond = 1'000'000;
// A connection's token: one 32-bit half per connection zone, (zone + 1) << 25 | handle.
constexpr int kHandleBits = 25;
static_assert(shm::ConnTable::kMaxHandle < (uint64_t{1} << kHandleBits));

// Appends to a fixed span; stops taking anything once something did not fit.
struct FieldBuffer {
  std::span<char> out;
  size_t len = 0;
  bool ok = true;

  void put(std::string_view s) {
    if (!ok || s.size() > out.size() - len) {
      ok = false;
      return;
    }
    std::memcpy(out.data() + len, s.data(), s.size());
    len += s.size();
  }
  void put(uint64_t n) {
    char digits[kMaxUintDigits];
    put({digits, format_uint(n, digits)});
  }
};

}  // namespace

AccessStage::AccessStage(const AccessOptions& options, std::vector<shm::RateTable> tables,
                         std::vector<shm::ZoneCounters*> counters, log::ErrorLog* log)
    : options_(options), log_(log) {
  for (const common::Cidr& c : options_.real_ip_from) real_ip_from_.add(c);
  for (const common::Cidr& c : options_.limit_req_allow) allow_.add(c);
  const size_t n = std::min({options_.limit_req.size(), tables.size(), counters.size()});
  for (size_t i = 0; i < n; ++i)
    zones_.push_back(Zone{&options_.limit_req[i], tables[i], counters[i]});
  scratch_.resize(zones_.size());
  applied_.resize(zones_.size());
}

void AccessStage::set_connection_limits(std::vector<shm::ConnTable> tables,
                                        std::vector<shm::ZoneCounters*> counters, uint32_t owner) {
  owner_ = owner;
  conn_zones_.clear();
  const size_t n =
      std::min({options_.limit_conn.size(), tables.size(), counters.size(), kMaxConnZones});
  for (size_t i = 0; i < n; ++i) {
    conn_zones_.push_back(ConnZone{&options_.limit_conn[i], tables[i], counters[i]});
  }
}

bool AccessStage::admit_connection(const PeerAddress& peer, uint64_t* token) {
  uint64_t taken = 0;
  for (uint32_t i = 0; i < conn_zones_.size(); ++i) {
    ConnZone& z = conn_zones_[i];
    char key[common::kMaxAddressKey];
    size_t len = common::address_key(peer, z.spec->v4_prefix, z.spec->v6_prefix, key);
    if (len == 0) continue;  // no address to count by
    shm::ConnHandle handle = 0;
    auto outcome = z.table.acquire(z.table.hash({key, len}), owner_, z.spec->max, &handle);
    if (outcome != shm::ConnTable::Outcome::kAdmitted) {
      ++z.counters->table.refused;
      log_connection_refusal(z, peer);
      release_connection(taken);
      return false;
    }
    ++z.counters->table.passed;
    taken |= (uint64_t{i + 1} << kHandleBits | handle) << (32 * i);
  }
  *token = taken;
  return true;
}

void AccessStage::release_connection(uint64_t token) {
  for (int half = 0; half < 2; ++half, token >>= 32) {
    const uint32_t part = static_cast<uint32_t>(token);
    const uint32_t zone = part >> kHandleBits;
    if (zone == 0 || zone > conn_zones_.size()) continue;
    conn_zones_[zone - 1].table.release(part & ((uint32_t{1} << kHandleBits) - 1));
  }
}

void AccessStage::log_connection_refusal(ConnZone& z, const PeerAddress& peer) {
  const uint64_t second = shm::monotonic_us() / kUsPerSecond;
  if (log_ == nullptr || z.last_log_s == second + 1) return;
  z.last_log_s = second + 1;  // + 1: 0 means never
  char address[common::kMaxAddressText + 1];
  address[common::format_address(peer, address)] = '\0';
  log_->log(log::Level::kWarn, "limiting connections by zone \"%s\", client: %s, max %u",
            z.spec->zone.c_str(), address, z.spec->max);
}

std::string_view AccessStage::key_of(const Zone& z, const RequestView& request,
                                     const PeerAddress& peer, char* buffer) const {
  if (z.spec->key == LimitReqSpec::Key::kHeader) return request.header(z.spec->header);
  return {buffer, common::address_key(peer, z.spec->v4_prefix, z.spec->v6_prefix, buffer)};
}

conn::AccessVerdict AccessStage::admit(const RequestView& request, PeerAddress* peer,
                                       std::span<char> extra) {
  if (!real_ip_from_.empty()) {
    *peer = common::forwarded_client(*peer, request, options_.real_ip_header, real_ip_from_);
  }
  conn::AccessVerdict verdict;
  if (zones_.empty() || (!allow_.empty() && allow_.contains(*peer))) return verdict;

  const std::string_view path = request.path();
  size_t n = 0;
  for (uint32_t i = 0; i < zones_.size(); ++i) {
    Zone& z = zones_[i];
    if (!path.starts_with(z.spec->path)) continue;
    char buffer[common::kMaxAddressKey];
    std::string_view key = key_of(z, request, *peer, buffer);
    if (key.empty()) continue;  // no address, or no such header: the zone does not apply
    scratch_[n] = shm::RateLimitRef(&z.table, z.table.hash(key), &z.spec->rule, &z.counters->table);
    applied_[n++] = i;
  }
  if (n == 0) return verdict;

  const uint64_t now = shm::monotonic_us();
  const shm::RateDecision d = shm::charge_all({scratch_.data(), n}, now, nullptr);
  const bool dry_run = options_.limit_req_dry_run;
  for (size_t k = 0; k < n; ++k) {
    const shm::RateLimitRef& l = scratch_[k];
    if (!l.decided) continue;
    Zone& z = zones_[applied_[k]];
    switch (l.decision.outcome) {
      case shm::RateDecision::kPass:
        ++z.counters->table.passed;
        break;
      case shm::RateDecision::kDelay:
        ++z.counters->table.delayed;
        break;
      case shm::RateDecision::kRefuse:
        ++(dry_run ? z.counters->dry_run_rejected : z.counters->table.refused);
        log_refusal(z, *peer, l.decision.retry_after_s, now);
        break;
    }
  }
  if (!dry_run) {
    if (d.outcome == shm::RateDecision::kRefuse) {
      verdict.outcome = conn::AccessVerdict::kRefuse;
      verdict.status = options_.limit_req_status;
      verdict.retry_after_s = std::max<uint32_t>(d.retry_after_s, 1);
    } else if (d.outcome == shm::RateDecision::kDelay) {
      verdict.outcome = conn::AccessVerdict::kDelay;
      verdict.delay_us = d.delay_us;
    }
  }
  if (options_.limit_req_headers) {
    verdict.extra_len = write_fields(extra, n, now, d.outcome == shm::RateDecision::kRefuse);
  }
  return verdict;
}

// The IETF draft's fields (draft-ietf-httpapi-ratelimit-headers), one item per zone applied:
//   RateLimit-Policy: "one";q=11;w=1      q: the burst plus one, w: seconds it takes to refill
//   RateLimit: "one";r=10;t=1             r: requests that would pass now, t: seconds to full
uint32_t AccessStage::write_fields(std::span<char> extra, size_t n, uint64_t now,
                                   bool refused) const {
  FieldBuffer policy{extra};
  for (int field = 0; field < 2; ++field) {
    policy.put(field == 0 ? "RateLimit-Policy: " : "RateLimit: ");
    for (size_t k = 0; k < n; ++k) {
      const shm::RateLimitRef& l = scratch_[k];
      const LimitReqSpec& spec = *zones_[applied_[k]].spec;
      if (k > 0) policy.put(", ");
      policy.put("\"");
      policy.put(spec.zone);
      if (field == 0) {
        policy.put("\";q=");
        policy.put(spec.burst + 1);
        policy.put(";w=");
        policy.put(spec.window_s());
        continue;
      }
      uint64_t remaining = 0;
      uint64_t reset_s = 0;
      if (refused || !l.decided) {
        reset_s = l.decided ? l.decision.retry_after_s : 1;
      } else {
        const uint64_t ahead =
            l.charge.written != 0 ? l.table->decode(l.charge.written, now).ahead_us : 0;
        const uint64_t tau = l.rule->tau();
        remaining = ahead <= tau ? (tau - ahead) / l.rule->interval_us + 1 : 0;
        remaining = std::min(remaining, spec.burst);
        reset_s = (ahead + kUsPerSecond - 1) / kUsPerSecond;
      }
      policy.put("\";r=");
      policy.put(remaining);
      policy.put(";t=");
      policy.put(reset_s);
    }
    policy.put("\r\n");
  }
  return policy.ok ? static_cast<uint32_t>(policy.len) : 0;
}

void AccessStage::log_refusal(Zone& z, const PeerAddress& peer, uint32_t retry_after_s,
                              uint64_t now_us) {
  const uint64_t second = now_us / kUsPerSecond;
  if (log_ == nullptr || z.last_log_s == second + 1) return;
  z.last_log_s = second + 1;  // + 1: 0 means never
  char address[common::kMaxAddressText + 1];
  address[common::format_address(peer, address)] = '\0';
  log_->log(log::Level::kWarn, "limiting requests by zone \"%s\", client: %s, retry after %u s%s",
            z.spec->zone.c_str(), address, retry_after_s,
            options_.limit_req_dry_run ? ", dry run" : "");
}

}  // namespace zhttp::handlers::access
