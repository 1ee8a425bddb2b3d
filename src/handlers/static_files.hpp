#pragma once
// The static file handler: GET and HEAD of files beneath a document root, with an index file
// per directory, Content-Type by extension, ETag and Last-Modified, conditional requests
// (304/412) and single byte ranges (206/416). Small file bodies are copied into the response,
// larger ones go out with sendfile. Open files are kept in an OpenFileCache.
//
// One instance per worker thread: handle() uses member scratch buffers, so it allocates nothing.
// With `autoindex`, a directory without its index file gets its listing instead of a 404: that
// answer allocates (handlers/autoindex.hpp).
#include <array>
#include <string>

#include "handlers/file_resolver.hpp"
#include "handlers/mime_types.hpp"
#include "handlers/open_file_cache.hpp"
#include "handlers/path_headers.hpp"
#include "zhttp/handler.hpp"

namespace zhttp::handlers {

struct StaticFilesOptions {
  std::string root = ".";
  std::string index = "index.html";
  bool autoindex = false;  // list a directory without its index file (else 404)
  std::string mime_types = std::string(kDefaultMimeTypesPath);  // "" for the built-in table only
  OpenFileCacheOptions open_file_cache;
  PathHeaders headers;  // --cache-control, --add-header: on 200, 206 and 304 answers
};

class StaticFiles : public Handler {
 public:
  // Throws std::runtime_error when the root cannot be opened.
  explicit StaticFiles(const StaticFilesOptions& options);

  void handle(const RequestView& request, Response& response) override;

 private:
  // Opens the file for the request path, or answers (400, 403, 404, 301) and returns false.
  bool open_file(const RequestView& request, Response& response, CachedFile* file);
  // `owned`: the descriptor is this request's (closed once used), not the cache's.
  // `rules_path`: the decoded path the PathHeaders rules are matched against.
  void serve_file(const RequestView& request, Response& response, const CachedFile& file,
                  bool owned, std::string_view rules_path);
  // The decoded form of an encoded request path for the PathHeaders rules ("" when there are
  // none, or it does not decode), in decoded_scratch_.
  std::string_view rules_path(std::string_view encoded_path);
  void redirect_to_directory(const RequestView& request, Response& response,
                             std::string_view normalized_path);

  FileResolver resolver_;
  MimeTypes mime_;
  OpenFileCache cache_;
  std::string index_;
  PathHeaders headers_;
  // Normalised path plus the index name; and the Location of a directory redirect.
  std::array<char, 8192> path_scratch_{};
  std::array<char, 3 * 8192 + 2> location_scratch_{};
  std::array<char, 8192> decoded_scratch_{};
};

}  // namespace zhttp::handlers
