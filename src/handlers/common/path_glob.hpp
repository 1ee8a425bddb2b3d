#pragma once
// Shell-like patterns for request paths (--cache-control, --add-header): `*` matches any run of
// bytes, '/' included (so "*.html" matches "/docs/index.html" and "/assets/*" everything below
// /assets/), `?` matches exactly one byte, every other byte only itself (case-sensitive, as
// paths are). A pattern matches the whole path. No character classes: '[' is an ordinary byte.
#include <string>
#include <string_view>

namespace zhttp::handlers::common {

// True when `pattern` matches all of `path` (a decoded request path). No allocation; at worst
// O(pattern x path) steps, with backtracking to the last star only.
bool path_glob_matches(std::string_view pattern, std::string_view path);

// A pattern a path could match: not empty, starting with '/' or '*', no control bytes.
// False with *error saying why.
bool check_path_glob(std::string_view pattern, std::string* error);

}  // namespace zhttp::handlers::common
