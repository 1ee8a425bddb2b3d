#include "zhttp/header_id.hpp"

#include "http/header_lookup.hpp"

namespace zhttp {

HeaderId lookup_header_id(const char* s, size_t len) {
  return http::lookup_folded(s, len, false);
}

std::string_view header_name(HeaderId id) {
  auto i = static_cast<size_t>(id);
  return i < std::size(http::kNames) ? http::kNames[i] : std::string_view{};
}

}  // namespace zhttp
