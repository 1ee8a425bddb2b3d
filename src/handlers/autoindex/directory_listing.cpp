#include "handlers/autoindex/directory_listing.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace zhttp::handlers::autoindex {
namespace {

// What a symlink at `relative` (to the root) leads to, with the resolver's rules; false when the
// resolver would refuse it. O_PATH: nothing is opened for reading (no FIFO, no device).
bool stat_beneath(int root_fd, const std::string& relative, struct stat* st) {
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  const int fd =
      static_cast<int>(::syscall(SYS_openat2, root_fd, relative.c_str(), &how, sizeof how));
  if (fd < 0) return false;
  const bool ok = ::fstat(fd, st) == 0;
  ::close(fd);
  return ok;
}

bool before(const DirEntry& a, const DirEntry& b) {
  if (a.directory != b.directory) return a.directory;
  return a.name < b.name;  // std::string compares as unsigned bytes
}

}  // namespace

bool listable_name(std::string_view name) {
  if (name.empty() || name[0] == '.') return false;
  return std::none_of(name.begin(), name.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

std::optional<DirListing> read_directory(int dir_fd, int root_fd, std::string_view dir_path,
                                         size_t max_entries) {
  // fdopendir takes its descriptor over and reads from its offset: a duplicate, rewound.
  const int fd = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    ::close(fd);
    return std::nullopt;
  }
  ::rewinddir(dir);
  DirListing listing;
  const std::string prefix(dir_path.substr(std::min<size_t>(1, dir_path.size())));
  int error = 0;
  for (;;) {
    errno = 0;  // readdir says an error from the end only by errno
    const dirent* d = ::readdir(dir);
    if (d == nullptr) {
      error = errno;
      break;
    }
    const std::string_view name = d->d_name;
    if (!listable_name(name)) continue;
    struct stat st {};
    if (::fstatat(dir_fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISLNK(st.st_mode) && !stat_beneath(root_fd, prefix + d->d_name, &st)) continue;
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) continue;
    if (listing.entries.size() == max_entries) {
      listing.truncated = true;
      break;
    }
    DirEntry& e = listing.entries.emplace_back();
    e.name = name;
    e.directory = S_ISDIR(st.st_mode);
    e.mtime = st.st_mtim.tv_sec;
    e.size = e.directory ? 0 : static_cast<uint64_t>(st.st_size);
  }
  ::closedir(dir);
  if (error != 0) return std::nullopt;
  std::sort(listing.entries.begin(), listing.entries.end(), before);
  return listing;
}

}  // namespace zhttp::handlers::autoindex
