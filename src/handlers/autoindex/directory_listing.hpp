#pragma once
// The entries of a directory as --autoindex lists them: what the static handler would serve
// there, read from an open directory and sorted. Not on the hot path: it allocates, within a
// bound (max_entries).
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zhttp::handlers::autoindex {

struct DirEntry {
  std::string name;  // as on disk, without a trailing '/'
  bool directory = false;
  time_t mtime = 0;   // of what the name leads to (a symlink's target)
  uint64_t size = 0;  // files only
};

struct DirListing {
  std::vector<DirEntry> entries;  // directories first, then files; each by name, bytewise
  bool truncated = false;         // the directory holds more than max_entries such entries
};

// Whether a name can be asked for at all: not hidden ('.' first, so "." and ".." too) and free of
// control bytes (which a request path cannot carry: 400).
bool listable_name(std::string_view name);

// The entries of the directory `dir_fd` (not taken over) whose path beneath the root `root_fd` is
// `dir_path` (normalised, decoded, ending in '/'): the listable names that are regular files or
// directories. A symlink is followed as the resolver would, beneath the root (RESOLVE_BENEATH):
// one leading out of the root, to something else, or nowhere, is left out. At most max_entries,
// the first ones read (the directory's own order, not the sorted one), then sorted. Nothing when
// the directory cannot be read (out of descriptors, an I/O error).
std::optional<DirListing> read_directory(int dir_fd, int root_fd, std::string_view dir_path,
                                         size_t max_entries);

}  // namespace zhttp::handlers::autoindex
