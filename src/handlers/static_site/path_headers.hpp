#pragma once
// Response fields chosen by path (--cache-control, --add-header), for the static files'
// successful answers and error pages: the path is the file's that is sent, not the request's.
// Parsed and checked at start; apply() allocates nothing.
#include <string>
#include <string_view>
#include <vector>

#include "zhttp/handler.hpp"

namespace zhttp::handlers::static_site {

struct PathHeaderRule {
  std::string glob;  // see handlers/common/path_glob.hpp
  std::string name;
  std::string value;
};

struct PathHeaders {
  std::vector<PathHeaderRule> cache_control;  // the first match gives Cache-Control
  std::vector<PathHeaderRule> add_header;     // every match adds its field, in order

  bool empty() const { return cache_control.empty() && add_header.empty(); }
  // Adds the fields for `path` (decoded, no query) to the head being written.
  void apply(std::string_view path, Response& response) const;
};

// "GLOB=VALUE" (--cache-control). False with *error saying why.
bool parse_cache_control_rule(std::string_view text, PathHeaderRule* rule, std::string* error);
// "GLOB=Name: value" (--add-header). Fields the connection writes itself (framing, Date) are
// refused: a second copy would break the response.
bool parse_add_header_rule(std::string_view text, PathHeaderRule* rule, std::string* error);

}  // namespace zhttp::handlers::static_site
