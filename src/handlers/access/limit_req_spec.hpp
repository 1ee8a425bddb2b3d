#pragma once
// The rate limiter's rules. One --limit-req rule, parsed from its text (the same string on the
// command line and in the config file's `limit-req = [...]`):
//   zone=NAME rate=N{r/s|r/m|r/h} [burst=B] [nodelay | delay=D]
//   [key=addr | key=addr/PREFIX | key=header:NAME] [path=PREFIX] [size=SLOTS]
// nginx's meaning: B requests beyond the rate are accepted from idle; without nodelay they are
// delayed to the rate (after the first D, with delay=D), with nodelay served at once.
#include <cstdint>
#include <string>
#include <string_view>

#include "shm/rate_table.hpp"

namespace zhttp::handlers::access {

inline constexpr uint32_t kDefaultZoneSlots = 65536;  // 512 KiB of table
inline constexpr uint32_t kMinZoneSlots = 8;
inline constexpr uint32_t kMaxZoneSlots = 1u << 24;  // 128 MiB of table
inline constexpr size_t kZoneNameMax = 31;

struct LimitReqSpec {
  enum class Key : uint8_t { kAddress, kHeader };

  std::string text;    // as given
  std::string zone;    // 1-31 of [A-Za-z0-9_-]
  uint64_t count = 0;  // rate: `count` requests per `period_us`
  uint64_t period_us = 0;
  uint64_t burst = 0;
  bool nodelay = false;
  uint64_t delay = 0;  // delay=D (without nodelay)
  shm::RateRule rule;  // from the above
  Key key = Key::kAddress;
  uint8_t v4_prefix = 32;   // key=addr/PREFIX: IPv6 addresses masked to PREFIX bits, IPv4 ones to
  uint8_t v6_prefix = 128;  // PREFIX when it is 32 or less (else whole)
  std::string header;       // key=header:NAME
  std::string path = "/";   // requests whose path starts with this
  uint32_t slots = kDefaultZoneSlots;

  // Seconds of one window for the RateLimit fields: the time a full burst takes to refill.
  uint64_t window_s() const;
};

// False with a one-line reason in *error ("rate=0r/s: the rate must be 1-1000000000").
bool parse_limit_req(std::string_view text, LimitReqSpec* out, std::string* error);

// One --limit-conn rule: `zone=NAME max=N [key=addr | key=addr/PREFIX] [size=SLOTS]`, at most N
// open connections per client address (counted from the connection's first request, when its
// address is known, to its close).
struct LimitConnSpec {
  std::string text;
  std::string zone;
  uint32_t max = 0;
  uint8_t v4_prefix = 32;
  uint8_t v6_prefix = 128;
  uint32_t slots = kDefaultZoneSlots;  // (worker, client) pairs with open connections
};

bool parse_limit_conn(std::string_view text, LimitConnSpec* out, std::string* error);

}  // namespace zhttp::handlers::access
