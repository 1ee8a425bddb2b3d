#pragma once
// The static file handler: GET and HEAD of files beneath a document root, with an index file
// per directory, Content-Type by extension, ETag and Last-Modified, conditional requests
// (304/412) and single byte ranges (206/416). Precompressed variants (F.br, F.zst, F.gz) are sent
// to clients that accept them, each a representation with its own ETag, ranges and validators.
// Small file bodies are copied into the response, larger ones go out with sendfile. Open files,
// and their variants, are kept in an OpenFileCache.
//
// One instance per worker thread: handle() uses member scratch buffers, so it allocates nothing.
// With `autoindex`, a directory without its index file gets its listing instead of a 404: that
// answer allocates (handlers/autoindex/autoindex.hpp).
#include <array>
#include <string>

#include "handlers/static_site/content_coding.hpp"
#include "handlers/static_site/file_resolver.hpp"
#include "handlers/static_site/mime_types.hpp"
#include "handlers/static_site/open_file_cache.hpp"
#include "handlers/static_site/path_headers.hpp"
#include "handlers/static_site/site_paths.hpp"
#include "zhttp/handler.hpp"

namespace zhttp::handlers::static_site {

struct StaticFilesOptions {
  std::string root = ".";
  std::string index = "index.html";
  bool autoindex = false;  // list a directory without its index file (else 404)
  std::string mime_types = std::string(kDefaultMimeTypesPath);  // "" for the built-in table only
  OpenFileCacheOptions open_file_cache;
  // --cache-control, --add-header: on 200, 206 and 304 answers and on error pages, matched
  // against the path of the file sent (a directory's index, the fallback, the error page).
  PathHeaders headers;
  CodingList precompressed = default_precompressed();  // --precompressed; count 0: off
  std::vector<ErrorPage> error_pages;  // --error-page: sent with the status they stand for
  std::string fallback;                // --fallback: a route's file when its path names none
};

class StaticFiles : public Handler {
 public:
  // Throws std::runtime_error when the root cannot be opened.
  explicit StaticFiles(const StaticFilesOptions& options);

  void handle(const RequestView& request, Response& response) override;

 private:
  // A file and its variants, opened together (a variant's fd is -1 when there is none).
  struct OpenedFiles {
    CachedFile file;
    std::array<CachedFile, kContentCodings> variants;
  };
  // What a path names, the representation for the request picked when it is a file.
  struct Found {
    enum class Kind : uint8_t { kFile, kMissing, kOther };
    Kind kind = Kind::kFile;
    const CachedFile* file = nullptr;  // kFile: the representation to send
    bool owned = false;                // kFile: its descriptor is this request's, not the cache's
    bool vary = false;                 // kFile: the file has variants
    bool fallback_route = false;       // kMissing: is_fallback_route() of the path
    const ResolvedFile* resolved = nullptr;  // kOther: a directory, a redirect, 400 or 403
  };

  // Serves the file for the (encoded) `path`, or the fallback when it names none and
  // `may_fall_back`.
  void serve_path(const RequestView& request, Response& response, std::string_view path,
                  bool may_fall_back);
  // Looks `path` up in the open file cache, else resolves and opens it (with its variants, into
  // opened_, then into the cache). A path that names no file is remembered as missing.
  Found find(const RequestView& request, std::string_view path, time_t now);
  // The answer for what find() says is neither a file nor missing.
  void answer_other(const RequestView& request, Response& response, const ResolvedFile& resolved);
  // The facts of a resolved file, and its variants opened beside it.
  void open_files(const ResolvedFile& resolved, OpenedFiles* opened);
  // The answer for a path that names no file: the --fallback's file (`fall_back`), or 404.
  void not_found(const RequestView& request, Response& response, bool fall_back);
  // An error answer: its --error-page when there is one and it exists, else `text`.
  void send_error(const RequestView& request, Response& response, uint16_t status,
                  std::string_view text);
  // Sends the file at `page` (its representation for the request) as the body of the status
  // already set; false when it is not a file.
  bool send_page(const RequestView& request, Response& response, std::string_view page);
  // The coding of the variant of `file` (which has some) to send (see choose_representation),
  // or -1: the file.
  int representation(const RequestView& request, const CachedFile& file);
  // `owned`: the descriptor is this request's (closed once used), not the cache's.
  // `rules_path`: the decoded path of the file sent, which the PathHeaders rules match.
  // `vary`: the file has variants, so the answer depends on Accept-Encoding.
  void serve_file(const RequestView& request, Response& response, const CachedFile& file,
                  bool owned, std::string_view rules_path, bool vary);
  // The path of the file an encoded path names, for the PathHeaders rules: decoded, with the
  // index file's name after a directory's '/' ("" when there are no rules, or it does not
  // decode), in decoded_scratch_. Inline: most sites have no rules.
  std::string_view rules_path(std::string_view encoded_path) {
    return headers_.empty() ? std::string_view() : decode_rules_path(encoded_path);
  }
  std::string_view decode_rules_path(std::string_view encoded_path);
  void redirect_to_directory(const RequestView& request, Response& response,
                             std::string_view normalized_path);

  FileResolver resolver_;
  MimeTypes mime_;
  OpenFileCache cache_;
  std::string index_;
  PathHeaders headers_;
  CodingList precompressed_;
  AcceptEncodingMemo accept_encoding_;
  std::vector<ErrorPage> error_pages_;
  std::string fallback_;
  // What find() resolved and opened last (members: a warm request builds neither).
  ResolvedFile resolved_;
  OpenedFiles opened_;
  // Normalised path plus the index name; and the Location of a directory redirect.
  std::array<char, 8192> path_scratch_{};
  std::array<char, 3 * 8192 + 2> location_scratch_{};
  std::array<char, 8192> decoded_scratch_{};
};

}  // namespace zhttp::handlers::static_site
