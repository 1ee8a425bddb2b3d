#pragma once
// The answer to a directory request under --autoindex (the directory has no index file): its
// listing as HTML, or as JSON with the query parameter format=json. Not on the hot path: the
// listing allocates, bounded by kMaxListingEntries.
#include <cstddef>
#include <string_view>

#include "handlers/static_site/path_headers.hpp"
#include "zhttp/handler.hpp"

namespace zhttp::handlers::autoindex {

inline constexpr size_t kMaxListingEntries = 10000;

// Whether the query (still encoded, without '?') asks for JSON: a parameter "format=json"
// (the last "format=" one decides; other parameters are ignored).
bool wants_json_listing(std::string_view query);

// Answers 200 with the listing of `dir_fd` (taken over: closed here), the directory at
// `dir_path` (normalised, decoded, ending in '/') beneath the root `root_fd`, with the
// --cache-control and --add-header fields for that path. The body goes out as a file range
// (a memfd), so a listing of any length fits the response.
void send_directory_listing(const RequestView& request, Response& response, int dir_fd, int root_fd,
                            std::string_view dir_path, const static_site::PathHeaders& headers);

}  // namespace zhttp::handlers::autoindex
