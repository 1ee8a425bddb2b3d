#include "cli/option_checks.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>
#include <utility>

namespace zhttp::cli {
namespace {

std::string range_text(uint64_t min, uint64_t max) {
  return std::to_string(min) + "-" + std::to_string(max);
}

// Bytes: plain decimal digits, optionally followed by k, m or g (KiB, MiB, GiB; either case).
Number parse_bytes(std::string_view s, uint64_t* out) {
  unsigned shift = 0;
  if (!s.empty()) {
    const char unit = static_cast<char>(s.back() | 0x20);
    shift = unit == 'k' ? 10 : unit == 'm' ? 20 : unit == 'g' ? 30 : 0;
    if (shift != 0) s.remove_suffix(1);
  }
  const Number parsed = parse_whole(s, out);
  if (parsed != Number::kOk) return parsed;
  if (*out > std::numeric_limits<uint64_t>::max() >> shift) return Number::kTooBig;
  *out <<= shift;
  return Number::kOk;
}

}  // namespace

std::string shown(std::string_view value) {
  return value.empty() ? std::string("\"\"") : std::string(value);
}

Number parse_whole(std::string_view s, uint64_t* out) {
  if (s.empty()) return Number::kNotNumber;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return Number::kNotNumber;
  }
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  if (ec == std::errc::result_out_of_range) return Number::kTooBig;
  if (ec != std::errc() || end != s.data() + s.size()) return Number::kNotNumber;
  return Number::kOk;
}

std::string bytes_text(uint64_t n) {
  for (const auto& [shift, unit] : {std::pair{30, "g"}, std::pair{20, "m"}, std::pair{10, "k"}}) {
    if (n != 0 && n % (uint64_t{1} << shift) == 0) return std::to_string(n >> shift) + unit;
  }
  return std::to_string(n);
}

CLI::Validator whole_number(uint64_t min, uint64_t max) {
  return CLI::Validator(
      [min, max](std::string& value) -> std::string {
        uint64_t n = 0;
        Number parsed = parse_whole(value, &n);
        if (parsed == Number::kNotNumber) return "value " + shown(value) + " is not a whole number";
        if (parsed == Number::kTooBig || n < min || n > max) {
          return "value " + value + " is out of range " + range_text(min, max);
        }
        value = std::to_string(n);
        return {};
      },
      "");
}

CLI::Validator positive_seconds() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        double d = 0;
        const char* end = value.data() + value.size();
        auto [stop, ec] = std::from_chars(value.data(), end, d);
        if (value.empty() || ec != std::errc() || stop != end || !std::isfinite(d)) {
          return "value " + shown(value) + " is not a number of seconds";
        }
        if (d <= 0) return "value " + value + " is not above 0 seconds";
        return {};
      },
      "");
}

CLI::Validator byte_size(uint64_t min, uint64_t max) {
  return CLI::Validator(
      [min, max](std::string& value) -> std::string {
        uint64_t n = 0;
        Number parsed = parse_bytes(value, &n);
        if (parsed == Number::kNotNumber) {
          return "value " + shown(value) + " is not a size (bytes, or with a k, m or g suffix)";
        }
        if (parsed == Number::kTooBig || n < min || n > max) {
          return "value " + value + " is out of range " + bytes_text(min) + "-" + bytes_text(max);
        }
        value = std::to_string(n);
        return {};
      },
      "");
}

CLI::Validator milliseconds(uint64_t min, uint64_t max) {
  return CLI::Validator(
      [min, max](std::string& value) -> std::string {
        std::string_view digits = value;
        uint64_t scale = 1;
        if (digits.ends_with("ms")) {
          digits.remove_suffix(2);
        } else if (digits.ends_with('s')) {
          digits.remove_suffix(1);
          scale = 1000;
        }
        uint64_t n = 0;
        Number parsed = parse_whole(digits, &n);
        if (parsed == Number::kNotNumber) {
          return "value " + shown(value) + " is not a number of milliseconds (or seconds, \"5s\")";
        }
        if (parsed == Number::kTooBig || n > max / scale || n * scale < min || n * scale > max) {
          return "value " + value + " is out of range " + range_text(min, max) + " ms";
        }
        value = std::to_string(n * scale);
        return {};
      },
      "");
}

CLI::Validator not_empty() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        return value.empty() ? "value must not be empty" : std::string();
      },
      "");
}

bool parse_cidrs(const std::vector<std::string>& texts, std::string_view option,
                 std::vector<handlers::common::Cidr>* out, std::string* error) {
  for (const std::string& text : texts) {
    handlers::common::Cidr cidr;
    if (!handlers::common::parse_cidr(text, &cidr, error)) {
      *error = std::string(option) + ": " + *error;
      return false;
    }
    out->push_back(cidr);
  }
  return true;
}

}  // namespace zhttp::cli
