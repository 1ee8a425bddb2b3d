#include "handlers/limit_req_spec.hpp"

#include <charconv>
#include <system_error>

namespace zhttp::handlers {
namespace {

constexpr uint64_t kMaxBurst = 1'000'000;
constexpr uint64_t kMaxRateCount = 1'000'000'000;

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

bool parse_key(std::string_view v, LimitReqSpec* out, std::string* error) {
  if (v == "addr") return true;
  if (v.starts_with("addr/")) {
    uint64_t prefix = 0;
    if (!whole(v.substr(5), &prefix) || prefix < 1 || prefix > 128) {
      return fail(error, "key=" + std::string(v) + ": the prefix must be 1-128");
    }
    out->v6_prefix = static_cast<uint8_t>(prefix);
    out->v4_prefix = static_cast<uint8_t>(prefix <= 32 ? prefix : 32);
    return true;
  }
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
    if (word == "nodelay") {
      spec.nodelay = true;
      continue;
    }
    size_t eq = word.find('=');
    if (eq == std::string_view::npos) {
      return fail(error,
                  "unknown parameter " + std::string(word) +
                      " (expected zone=, rate=, burst=, nodelay, delay=, key=, path=, size=)");
    }
    std::string_view name = word.substr(0, eq);
    std::string_view value = word.substr(eq + 1);
    uint64_t n = 0;
    if (name == "zone") {
      if (value.empty() || value.size() >= kZoneNameMax + 1) {
        return fail(error, "zone=" + std::string(value) + ": a name of 1-31 characters");
      }
      for (char c : value) {
        if (!zone_char(c)) {
          return fail(error, "zone=" + std::string(value) + ": only letters, digits, _ and -");
        }
      }
      spec.zone = value;
    } else if (name == "rate") {
      if (!parse_rate(value, &spec, error)) return false;
      have_rate = true;
    } else if (name == "burst") {
      if (!whole(value, &n) || n > kMaxBurst) {
        return fail(error,
                    "burst=" + std::string(value) + ": expected 0-" + std::to_string(kMaxBurst));
      }
      spec.burst = n;
    } else if (name == "delay") {
      if (!whole(value, &n) || n > kMaxBurst) {
        return fail(error,
                    "delay=" + std::string(value) + ": expected 0-" + std::to_string(kMaxBurst));
      }
      spec.delay = n;
      have_delay = true;
    } else if (name == "key") {
      if (!parse_key(value, &spec, error)) return false;
    } else if (name == "path") {
      if (value.empty() || value.front() != '/') {
        return fail(error, "path=" + std::string(value) + ": a path prefix starting with /");
      }
      spec.path = value;
    } else if (name == "size") {
      if (!whole(value, &n) || n < kMinZoneSlots || n > kMaxZoneSlots) {
        return fail(error, "size=" + std::string(value) + ": expected " +
                               std::to_string(kMinZoneSlots) + "-" + std::to_string(kMaxZoneSlots) +
                               " entries");
      }
      spec.slots = static_cast<uint32_t>(n);
    } else {
      return fail(error, "unknown parameter " + std::string(name) + "=");
    }
  }
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

}  // namespace zhttp::handlers
