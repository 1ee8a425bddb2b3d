#pragma once
// What the command line (--cache-...) says about the shared response cache (issue 11): its
// size in the segment, the largest entry it keeps, how long a request waits for another one's
// fill, who may purge, and the policy's opt-ins (cache_policy.hpp).
#include <cstdint>
#include <vector>

#include "handlers/common/client_address.hpp"

namespace zhttp::handlers::cache {

struct CacheOptions {
  uint64_t size_bytes = uint64_t{64} << 20;  // --cache-size; 0: no cache
  uint32_t max_entry = 16384;                // --cache-max-entry: key + stored head + body
  uint32_t lock_timeout_ms = 5000;           // --cache-lock-timeout
  uint32_t max_stale_s = 60;                 // --cache-max-stale: bound on stale-* windows
  bool allow_authorization = false;          // --cache-authorization: store for Authorization
  bool allow_cookie = false;                 // --cache-cookie: store for requests with Cookie
  std::vector<common::Cidr> purge_allow;     // --cache-purge-allow: PURGE from these only
  // How long an answer that could not be stored is remembered, so that requests for its URL go
  // to the handler at once instead of queueing behind one another (Varnish's hit-for-miss, 120 s
  // by default there too). Renewed while such answers keep coming; not a command-line option.
  uint32_t remember_uncacheable_s = 120;

  bool enabled() const { return size_bytes > 0; }
};

}  // namespace zhttp::handlers::cache
