#pragma once
// Maps a request path to an open file beneath the document root, safely: the path is decoded and
// normalised first (zhttp/target.hpp), hidden names are refused, and the kernel opens it with
// openat2(RESOLVE_BENEATH), so neither ".." tricks nor symlinks can reach outside the root.
// Needs Linux 5.6 or later. No allocation per request.
#include <sys/stat.h>

#include <string>
#include <string_view>

namespace zhttp::handlers::static_site {

struct ResolvedFile {
  enum class Outcome : uint8_t {
    kFile,       // fd is open (read-only), st describes it
    kBadPath,    // the path cannot be normalised (escapes, %2F, NUL...): 400
    kNotFound,   // missing, hidden, outside the root, or not a regular file: 404
    kForbidden,  // permission denied: 403
    kAddSlash,   // a directory asked for without its trailing slash: 301 to path + "/"
    kDirectory,  // list_directories only: a directory with its slash and no index file; fd is
                 // the directory (read-only), st describes it
  };
  Outcome outcome = Outcome::kNotFound;
  int fd = -1;
  struct stat st {};
  std::string_view path;  // the normalised path (in the caller's scratch)
  // kFile: the name opened relative to the root (the index file's for a directory), NUL-ended in
  // the scratch with room for a FileResolver::kMaxSuffix more bytes, for open_variant().
  char* opened = nullptr;
  size_t opened_len = 0;
};

class FileResolver {
 public:
  // Opens the root directory once; throws std::runtime_error when it cannot.
  FileResolver(const std::string& root, std::string index_name = "index.html",
               bool list_directories = false);
  FileResolver(const FileResolver&) = delete;
  FileResolver& operator=(const FileResolver&) = delete;
  ~FileResolver();

  // `encoded_path` is the path part of an origin-form target, still percent-encoded.
  // `scratch` receives the normalised path plus the index name (a few KiB is plenty).
  ResolvedFile resolve(std::string_view encoded_path, char* scratch, size_t cap) const;

  // Opens the regular file named like `file`'s plus `suffix` (".br"), beneath the root the same
  // way, and fstats it into *st; -1 when there is none (or it is not a regular file).
  static constexpr size_t kMaxSuffix = 8;
  int open_variant(const ResolvedFile& file, std::string_view suffix, struct stat* st) const;
  // The root (O_PATH), for what must be resolved beneath it as resolve() does: a listing's links.
  int root_fd() const { return root_fd_; }

 private:
  int open_beneath(const char* relative) const;
  // kDirectory for the directory at `relative` (a path with its slash), or kNotFound.
  void open_directory(const char* relative, ResolvedFile* r) const;

  int root_fd_ = -1;
  std::string index_name_;
  bool list_directories_ = false;
};

}  // namespace zhttp::handlers::static_site
