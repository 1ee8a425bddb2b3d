#pragma once
// Content-Type by file extension. Built once at start-up (may allocate); lookup() runs on the
// request path and does not allocate: an open-addressing hash table of fixed-size entries whose
// strings live in one arena, all sized at load.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace zhttp::handlers::static_site {

inline constexpr std::string_view kDefaultMimeType = "application/octet-stream";
inline constexpr std::string_view kDefaultMimeTypesPath = "/etc/mime.types";

// Extensions longer than this are skipped at load and never match (none in media-types is).
inline constexpr size_t kMaxExtensionLen = 32;

class MimeTypes {
 public:
  // Reads `path` in the mime.types format ("type/subtype ext1 ext2 ...", '#' comments, blank
  // lines), then adds the built-in table for every extension the file lacks; a missing or
  // unreadable file (or an empty path) leaves only the built-in table. Never throws for a bad
  // file: a malformed line is skipped. When an extension appears twice, the first line wins.
  //
  // Each type is stored with its charset already appended: "; charset=utf-8" for textual types
  // (text/*, application/{json,xml,javascript,ecmascript} and any +json or +xml suffix, which
  // covers image/svg+xml and application/manifest+json), so the handler copies one value.
  explicit MimeTypes(std::string_view path = kDefaultMimeTypesPath);

  // The Content-Type for a path or file name by its extension: what follows the last '.' of
  // the last segment, compared case-insensitively. A name without one, ending in '.', or whose
  // only '.' is its first byte (".bashrc") has no extension. kDefaultMimeType when unknown.
  // The view stays valid for the object's lifetime. No allocation.
  std::string_view lookup(std::string_view path_or_filename) const;

  // Whether `path` was read (for the start-up log line).
  bool loaded_file() const { return loaded_file_; }
  // Number of extensions known.
  size_t size() const { return count_; }

  // True for the types that get "; charset=utf-8" (see above). `type` has no parameters.
  static bool is_textual(std::string_view type);

 private:
  struct Slot {
    uint32_t ext_off = 0;  // into arena_
    uint32_t type_off = 0;
    uint16_t type_len = 0;
    uint8_t ext_len = 0;  // 0: empty slot
  };

  // Where `lower_ext` is, or the empty slot where it would go.
  size_t probe(std::string_view lower_ext) const;

  std::string arena_;        // lower-case extensions and full Content-Type values
  std::vector<Slot> slots_;  // power-of-two size, load factor <= 1/2
  size_t count_ = 0;
  bool loaded_file_ = false;
};

}  // namespace zhttp::handlers::static_site
