#include "handlers/access/limit_req_spec.hpp"

#include <charconv>
#include <system_error>

namespace zhttp::handlers::access {
namespace {

constexpr uint64_t kMaxBurst = 1'000'000;
constexpr uint64_t kMaxRateCount = 1'000'000'000;
constexpr uint64_t kMaxConnections = 1'000'000;

bool whole(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool zone_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

bool token_char(char c) {  // RFC 9110 tchar: what a header name may be made of
  return zone_char(c) || std::string_view("!#$%&'*+.^`|~").find(c) != std::string_view::npos;
}

bool fail(std::string* error, std::string message) {
  *error = std::move(message);
  return false;
}

bool parse_zone(std::string_view value, std::string* zone, std::string* error) {
  if (value.empty() || value.size() > kZoneNameMax) {
    return fail(error, "zone=" + std::string(value) + ": a name of 1-31 characters");
  }
  for (char c : value) {
    if (!zone_char(c)) {
      return fail(error, "zone=" + std::string(value) + ": only letters, digits, _ and -");
    }
  }
  *zone = value;
  return true;
}

bool parse_size(std::string_view value, uint32_t* slots, std::string* error) {
  uint64_t n = 0;
  if (!whole(value, &n) || n < kMinZoneSlots || n > kMaxZoneSlots) {
    return fail(error, "size=" + std::string(value) + ": expected " +
                           std::to_string(kMinZoneSlots) + "-" + std::to_string(kMaxZoneSlots) +
                           " entries");
  }
  *slots = static_cast<uint32_t>(n);
  return true;
}

// Splits `text` at blanks and calls take(name, value) for each "name=value" word (value empty
// and has_value false for a bare word). Stops at the first false.
template <class Take>
bool for_each_word(std::string_view text, Take take) {
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ' || text[i] == '\t') {
      ++i;
      continue;
    }
    size_t end = text.find_first_of(" \t", i);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(i, end - i);
    i = end;
    size_t eq = word.find('=');
    if (!take(word.substr(0, eq),
              eq == std::string_view::npos ? std::string_view() : word.substr(eq + 1),
              eq != std::string_view::npos)) {
      return false;
    }
  }
  return true;
}

bool parse_rate(std::string_view v, LimitReqSpec* out, std::string* error) {
  size_t r = v.find("r/");
  uint64_t count = 0;
  if (r == std::string_view::npos || !whole(v.substr(0, r), &count)) {
    return fail(error, "rate=" + std::string(v) + ": expected N r/s, r/m or r/h (e.g. rate=50r/s)");
  }
  std::string_view unit = v.substr(r + 2);
  uint64_t period = unit == "s"   ? 1'000'000
                    : unit == "m" ? 60'000'000
                    : unit == "h" ? 3'600'000'000
                                  : 0;
  if (period == 0)
    return fail(error, "rate=" + std::string(v) + ": the unit must be r/s, r/m or r/h");
  if (count == 0 || count > kMaxRateCount) {
    return fail(error,
                "rate=" + std::string(v) + ": the rate must be 1-" + std::to_string(kMaxRateCount));
  }
  out->count = count;
  out->period_us = period;
  return true;
}

// key=addr or key=addr/PREFIX: false (without an error) for anything else.
bool parse_address_key(std::string_view v, uint8_t* v4_prefix, uint8_t* v6_prefix, bool* known,
                       std::string* error) {
  *known = v == "addr" || v.starts_with("addr/");
  if (v == "addr" || !*known) return *known;
  uint64_t prefix = 0;
  if (!whole(v.substr(5), &prefix) || prefix < 1 || prefix > 128) {
    return fail(error, "key=" + std::string(v) + ": the prefix must be 1-128");
  }
  *v6_prefix = static_cast<uint8_t>(prefix);
  *v4_prefix = static_cast<uint8_t>(prefix <= 32 ? prefix : 32);
  return true;
}

bool parse_key(std::string_view v, LimitReqSpec* out, std::string* error) {
  bool known = false;
  if (parse_address_key(v, &out->v4_prefix, &out->v6_prefix, &known, error)) return true;
  if (known) return false;
  if (v.starts_with("header:")) {
    std::string_view name = v.substr(7);
    if (name.empty()) return fail(error, "key=header: needs a header name");
    for (char c : name) {
      if (!token_char(c)) return fail(error, "key=" + std::string(v) + ": not a header name");
    }
    out->key = LimitReqSpec::Key::kHeader;
    out->header = name;
    return true;
  }
  return fail(error, "key=" + std::string(v) + ": expected addr, addr/PREFIX or header:NAME");
}

}  // namespace

uint64_t LimitReqSpec::window_s() const {
  uint64_t us = (burst + 1) * rule.interval_us;
  return us <= 1'000'000 ? 1 : (us + 999'999) / 1'000'000;
}

bool parse_limit_req(std::string_view text, LimitReqSpec* out, std::string* error) {
  LimitReqSpec spec;
  spec.text = text;
  bool have_delay = false;
  bool have_rate = false;
  bool ok = for_each_word(text, [&](std::string_view name, std::string_view value, bool has_value) {
    uint64_t n = 0;
    if (!has_value) {
      if (name == "nodelay") {
        spec.nodelay = true;
        return true;
      }
      return fail(error,
                  "unknown parameter " + std::string(name) +
                      " (expected zone=, rate=, burst=, nodelay, delay=, key=, path=, size=)");
    }
    if (name == "zone") return parse_zone(value, &spec.zone, error);
    if (name == "rate") return have_rate = parse_rate(value, &spec, error);
    if (name == "burst" || name == "delay") {
      if (!whole(value, &n) || n > kMaxBurst) {
        return fail(error, std::string(name) + "=" + std::string(value) + ": expected 0-" +
                               std::to_string(kMaxBurst));
      }
      (name == "burst" ? spec.burst : spec.delay) = n;
      have_delay = have_delay || name == "delay";
      return true;
    }
    if (name == "key") return parse_key(value, &spec, error);
    if (name == "path") {
      if (value.empty() || value.front() != '/') {
        return fail(error, "path=" + std::string(value) + ": a path prefix starting with /");
      }
      spec.path = value;
      return true;
    }
    if (name == "size") return parse_size(value, &spec.slots, error);
    return fail(error, "unknown parameter " + std::string(name) + "=");
  });
  if (!ok) return false;
  if (spec.zone.empty()) return fail(error, "zone=NAME is missing");
  if (!have_rate) return fail(error, "rate=N{r/s|r/m|r/h} is missing");
  if (spec.nodelay && have_delay) return fail(error, "nodelay and delay= exclude each other");
  if (have_delay && spec.delay > spec.burst) {
    return fail(error, "delay=" + std::to_string(spec.delay) +
                           " is above burst=" + std::to_string(spec.burst));
  }
  spec.rule = shm::RateRule::per(spec.count, spec.period_us, spec.burst,
                                 spec.nodelay ? spec.burst : spec.delay);
  if (!spec.rule.valid()) {
    return fail(error, "burst=" + std::to_string(spec.burst) + " at this rate spans more than " +
                           "50 days");
  }
  *out = std::move(spec);
  return true;
}

bool parse_limit_conn(std::string_view text, LimitConnSpec* out, std::string* error) {
  LimitConnSpec spec;
  spec.text = text;
  bool have_max = false;
  bool ok = for_each_word(text, [&](std::string_view name, std::string_view value, bool has_value) {
    uint64_t n = 0;
    if (!has_value) {
      return fail(
          error, "unknown parameter " + std::string(name) + " (expected zone=, max=, key=, size=)");
    }
    if (name == "zone") return parse_zone(value, &spec.zone, error);
    if (name == "max") {
      if (!whole(value, &n) || n < 1 || n > kMaxConnections) {
        return fail(
            error, "max=" + std::string(value) + ": expected 1-" + std::to_string(kMaxConnections));
      }
      spec.max = static_cast<uint32_t>(n);
      return have_max = true;
    }
    if (name == "key") {
      bool known = false;
      if (parse_address_key(value, &spec.v4_prefix, &spec.v6_prefix, &known, error)) return true;
      return known ? false
                   : fail(error, "key=" + std::string(value) + ": expected addr or addr/PREFIX");
    }
    if (name == "size") return parse_size(value, &spec.slots, error);
    return fail(error, "unknown parameter " + std::string(name) + "=");
  });
  if (!ok) return false;
  if (spec.zone.empty()) return fail(error, "zone=NAME is missing");
  if (!have_max) return fail(error, "max=N is missing");
  *out = std::move(spec);
  return true;
}

}  // namespace zhttp::handlers::access
