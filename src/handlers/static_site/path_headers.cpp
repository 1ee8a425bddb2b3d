#include "handlers/static_site/path_headers.hpp"

#include <strings.h>

#include "handlers/common/path_glob.hpp"

namespace zhttp::handlers::static_site {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// The GLOB before the first '=' and what follows it.
bool split_glob(std::string_view text, PathHeaderRule* rule, std::string_view* rest,
                std::string* error) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos) {
    *error = "value " + std::string(text) + " is not GLOB=...";
    return false;
  }
  if (!common::check_path_glob(text.substr(0, eq), error)) return false;
  rule->glob = std::string(text.substr(0, eq));
  *rest = text.substr(eq + 1);
  return true;
}

bool set_value(std::string_view value, PathHeaderRule* rule, std::string* error) {
  value = trim(value);
  if (value.empty()) {
    *error = "the field value is empty";
    return false;
  }
  if (!is_field_value(value)) {
    *error = "field value " + std::string(value) + " has a control byte";
    return false;
  }
  rule->value = std::string(value);
  return true;
}

}  // namespace

void PathHeaders::apply(std::string_view path, Response& response) const {
  for (const PathHeaderRule& rule : cache_control) {
    if (common::path_glob_matches(rule.glob, path)) {
      response.header(rule.name, rule.value);
      break;
    }
  }
  for (const PathHeaderRule& rule : add_header) {
    if (common::path_glob_matches(rule.glob, path)) response.header(rule.name, rule.value);
  }
}

bool parse_cache_control_rule(std::string_view text, PathHeaderRule* rule, std::string* error) {
  std::string_view value;
  if (!split_glob(text, rule, &value, error)) return false;
  rule->name = "Cache-Control";
  return set_value(value, rule, error);
}

bool parse_add_header_rule(std::string_view text, PathHeaderRule* rule, std::string* error) {
  constexpr std::string_view kConnectionFields[] = {
      "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive",
      "Upgrade",        "Trailer",           "Date"};
  std::string_view field;
  if (!split_glob(text, rule, &field, error)) return false;
  const size_t colon = field.find(':');
  if (colon == std::string_view::npos) {
    *error = "value " + std::string(text) + " is not GLOB=Name: value";
    return false;
  }
  const std::string_view name = field.substr(0, colon);
  if (!is_field_name(name)) {
    *error = "\"" + std::string(name) + "\" is not a header field name";
    return false;
  }
  for (std::string_view own : kConnectionFields) {
    if (equals_ignoring_case(name, own)) {
      *error = "field " + std::string(name) + " is the server's own";
      return false;
    }
  }
  rule->name = std::string(name);
  return set_value(field.substr(colon + 1), rule, error);
}

}  // namespace zhttp::handlers::static_site
