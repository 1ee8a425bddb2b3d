#pragma once
// The paths of a site's own answers: --error-page CODE=/PATH and --fallback /PATH. Checked at
// start; the static file handler opens them beneath the root like any request path.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace zhttp::handlers::static_site {

struct ErrorPage {
  uint16_t status = 0;
  std::string path;
};

// The statuses the static file handler answers that an error page can stand in for.
inline constexpr uint16_t kErrorPageStatuses[] = {400, 403, 404, 405};

// A path as a request would name it: starts with '/', normalises without error, no '?' or '#',
// no control bytes or spaces, not a directory (no trailing '/'). False with *error saying why.
bool check_site_path(std::string_view path, std::string* error);

// "CODE=/PATH". False with *error saying why.
bool parse_error_page(std::string_view text, ErrorPage* page, std::string* error);

// The page for `status` ("" when none): the first one given for it.
std::string_view error_page_for(const std::vector<ErrorPage>& pages, uint16_t status);

// Whether a request path that names no file may get the --fallback: its last segment (a
// directory's, before its '/') has no extension, so "/settings/profile" and "/settings/" may,
// "/app.js" and "/v1.2/" may not.
bool is_fallback_route(std::string_view normalized_path);

}  // namespace zhttp::handlers::static_site
