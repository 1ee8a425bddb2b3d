#include "handlers/static_site/site_paths.hpp"

#include <array>

#include "zhttp/target.hpp"

namespace zhttp::handlers::static_site {

bool check_site_path(std::string_view path, std::string* error) {
  if (path.empty() || path.front() != '/') {
    *error = "value " + std::string(path) + " is not a path (it starts with /)";
    return false;
  }
  for (char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '?' || c == '#') {
      *error = "value " + std::string(path) + " is not a plain path";
      return false;
    }
  }
  if (path.back() == '/') {
    *error = "value " + std::string(path) + " names a directory, not a file";
    return false;
  }
  std::array<char, 8192> scratch;
  const PathResult normalized = normalize_path(path, scratch.data(), scratch.size());
  if (!normalized.ok()) {
    *error = "path " + std::string(path) + ": " + std::string(describe(normalized.error));
    return false;
  }
  return true;
}

bool parse_error_page(std::string_view text, ErrorPage* page, std::string* error) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos) {
    *error = "value " + std::string(text) + " is not CODE=/PATH";
    return false;
  }
  const std::string_view code = text.substr(0, eq);
  page->status = 0;
  for (uint16_t status : kErrorPageStatuses) {
    if (code == std::to_string(status)) page->status = status;
  }
  if (page->status == 0) {
    *error = "status " + std::string(code) + " is not one the file handler answers (400, 403, " +
             "404 or 405)";
    return false;
  }
  page->path = std::string(text.substr(eq + 1));
  return check_site_path(page->path, error);
}

std::string_view error_page_for(const std::vector<ErrorPage>& pages, uint16_t status) {
  for (const ErrorPage& page : pages) {
    if (page.status == status) return page.path;
  }
  return {};
}

bool is_fallback_route(std::string_view normalized_path) {
  std::string_view path = normalized_path;
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);  // "/settings/" is a route too
  const std::string_view last = path.substr(path.rfind('/') + 1);  // npos + 1 is 0
  return last.find('.') == std::string_view::npos;
}

}  // namespace zhttp::handlers::static_site
