#pragma once
// The checks more than one option group (src/cli/options/) uses, and the texts of their messages.
//
// Numbers are checked here rather than by CLI11's conversions, which take "010" as octal, "0x10"
// as hex and wrap "-1" around for unsigned targets; each check rewrites the value in plain decimal
// before CLI11 converts it.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "handlers/common/client_address.hpp"

namespace zhttp::cli {

// A value as it appears in a message.
std::string shown(std::string_view value);

enum class Number : uint8_t { kOk, kNotNumber, kTooBig };

// Plain decimal digits only: no sign, no base prefix, no spaces.
Number parse_whole(std::string_view s, uint64_t* out);

// Bytes as the largest unit that divides them exactly: 1048576 -> "1m", 1000 -> "1000".
std::string bytes_text(uint64_t n);

// A whole number in [min, max].
CLI::Validator whole_number(uint64_t min, uint64_t max);

// A finite number of seconds above 0 (fractions allowed).
CLI::Validator positive_seconds();

// A number of bytes in [min, max]: plain decimal digits, optionally followed by k, m or g (KiB,
// MiB, GiB; either case).
CLI::Validator byte_size(uint64_t min, uint64_t max);

// Milliseconds in [min, max]: plain, or with an "ms" or "s" suffix.
CLI::Validator milliseconds(uint64_t min, uint64_t max);

CLI::Validator not_empty();

// One of `choices` (which outlive the validator).
template <size_t N>
CLI::Validator one_of(const std::string_view (&choices)[N]) {
  return CLI::Validator(
      [&choices](std::string& value) -> std::string {
        std::string list;
        for (std::string_view choice : choices) {
          if (value == choice) return {};
          if (!list.empty()) list += ", ";
          list += choice;
        }
        return "value " + shown(value) + " is not one of " + list;
      },
      "");
}

// A check by one of the handlers' parsers, which say why a text is refused.
template <typename T>
std::function<std::string(const std::string&)> checked_by(bool (*parse)(std::string_view, T*,
                                                                        std::string*)) {
  return [parse](const std::string& value) {
    T parsed;
    std::string error;
    return parse(value, &parsed, &error) ? std::string() : error;
  };
}

// The texts of a repeatable option, which checked_by(parse) has accepted, parsed in order.
template <typename T>
std::vector<T> parse_checked(const std::vector<std::string>& texts,
                             bool (*parse)(std::string_view, T*, std::string*)) {
  std::vector<T> out(texts.size());
  std::string unused;
  for (size_t i = 0; i < texts.size(); ++i) parse(texts[i], &out[i], &unused);
  return out;
}

// Each text as a CIDR (already checked by checked_by(handlers::common::parse_cidr)), after
// `out`'s. False with *error naming `option`.
bool parse_cidrs(const std::vector<std::string>& texts, std::string_view option,
                 std::vector<handlers::common::Cidr>* out, std::string* error);

}  // namespace zhttp::cli
