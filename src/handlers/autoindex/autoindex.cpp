#include "handlers/autoindex/autoindex.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "handlers/autoindex/directory_listing.hpp"
#include "handlers/autoindex/listing_format.hpp"

namespace zhttp::handlers::autoindex {
namespace {

// The body in a memory file, for Response::file(): larger than the output buffer body() copies
// into, and owned by the response until sent. -1 when it cannot be made.
int memory_file(std::string_view bytes) {
  const int fd = ::memfd_create("zhttpd-listing", MFD_CLOEXEC);
  if (fd < 0) return -1;
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n <= 0) {
      ::close(fd);
      return -1;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return fd;
}

}  // namespace

bool wants_json_listing(std::string_view query) {
  constexpr std::string_view kKey = "format=";
  bool json = false;
  while (!query.empty()) {
    const size_t end = query.find('&');
    const std::string_view param = query.substr(0, end);
    if (param.starts_with(kKey)) json = param.substr(kKey.size()) == "json";
    query.remove_prefix(end == std::string_view::npos ? query.size() : end + 1);
  }
  return json;
}

void send_directory_listing(const RequestView& request, Response& response, int dir_fd, int root_fd,
                            std::string_view dir_path, const static_site::PathHeaders& headers) {
  const std::optional<DirListing> listing =
      read_directory(dir_fd, root_fd, dir_path, kMaxListingEntries);
  ::close(dir_fd);
  const bool json = wants_json_listing(request.query());
  std::string body;
  if (listing) body = json ? format_json(*listing) : format_html(dir_path, *listing);
  const int fd = listing ? memory_file(body) : -1;
  if (fd < 0) {
    response.send(500, "text/plain; charset=utf-8", "cannot list the directory\n");
    return;
  }
  response.status(200);
  response.header("Content-Type", json ? "application/json" : "text/html; charset=utf-8");
  if (listing->truncated) response.header("X-Autoindex-Truncated", listing->entries.size());
  headers.apply(dir_path, response);
  response.file(fd, 0, body.size());
}

}  // namespace zhttp::handlers::autoindex
