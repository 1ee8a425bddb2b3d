#pragma once
// Percent-encoding of a decoded path for use in a URL: the Location of a directory redirect, the
// links of a directory listing. No allocation.
#include <cstddef>
#include <string_view>

namespace zhttp::handlers::static_site {

// Percent-encodes every byte of `path` that RFC 3986 does not allow unescaped in a path (pchar
// and '/'), so the URL names exactly these bytes. Writes into out[0..cap) and returns the length,
// or 0 when it does not fit.
size_t encode_path(std::string_view path, char* out, size_t cap);

}  // namespace zhttp::handlers::static_site
