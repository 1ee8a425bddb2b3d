#include "handlers/static_site/file_resolver.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "zhttp/target.hpp"

namespace zhttp::handlers::static_site {
namespace {

using Outcome = ResolvedFile::Outcome;

// A segment starting with '.' names a hidden file (.git, .env, .htpasswd): never served.
bool has_hidden_segment(std::string_view path) {
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    if (path[i] == '/' && path[i + 1] == '.') return true;
  }
  return false;
}

Outcome outcome_of_errno(int e) {
  return e == EACCES || e == EPERM ? Outcome::kForbidden : Outcome::kNotFound;
}

}  // namespace

FileResolver::FileResolver(const std::string& root, std::string index_name, bool list_directories)
    : index_name_(std::move(index_name)), list_directories_(list_directories) {
  root_fd_ = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd_ < 0) {
    throw std::runtime_error("cannot open root " + root + ": " + std::strerror(errno));
  }
}

FileResolver::~FileResolver() {
  if (root_fd_ >= 0) ::close(root_fd_);
}

int FileResolver::open_beneath(const char* relative) const {
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;  // O_NONBLOCK: a FIFO must not hang us
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, root_fd_, relative, &how, sizeof how));
}

void FileResolver::open_directory(const char* relative, ResolvedFile* r) const {
  const int fd = open_beneath(relative);
  if (fd < 0) return;
  // Checked again: it may have been replaced since it was first opened.
  if (::fstat(fd, &r->st) != 0 || !S_ISDIR(r->st.st_mode)) {
    ::close(fd);
    return;
  }
  r->outcome = Outcome::kDirectory;
  r->fd = fd;
}

ResolvedFile FileResolver::resolve(std::string_view encoded_path, char* scratch, size_t cap) const {
  ResolvedFile r;
  // Room for "." + the index name + a variant's suffix + NUL beyond the path itself.
  const size_t reserve = index_name_.size() + 2 + kMaxSuffix;
  if (cap <= reserve) return r;
  PathResult normalized = normalize_path(encoded_path, scratch, cap - reserve);
  if (!normalized.ok()) {
    r.outcome = normalized.error == PathError::kTooLong ? Outcome::kNotFound : Outcome::kBadPath;
    return r;
  }
  size_t len = normalized.length;
  r.path = {scratch, len};
  if (has_hidden_segment(r.path)) return r;

  // Relative to the root: "/" is ".", "/a/b" is "a/b".
  const bool wants_directory = scratch[len - 1] == '/';
  char* relative = scratch + 1;
  size_t rel_len = len - 1;
  if (rel_len == 0) {
    relative = scratch + len;  // room reserved above
    relative[0] = '.';
    rel_len = 1;
  }
  relative[rel_len] = '\0';
  int fd = open_beneath(relative);
  if (fd < 0) {
    r.outcome = outcome_of_errno(errno);
    return r;
  }
  if (::fstat(fd, &r.st) != 0) {
    ::close(fd);
    return r;
  }
  if (S_ISDIR(r.st.st_mode)) {
    ::close(fd);
    if (!wants_directory) {
      r.outcome = Outcome::kAddSlash;
      return r;
    }
    // The index file of the directory, opened beneath the root like any other path.
    size_t at = rel_len;
    if (relative[at - 1] != '/') relative[at++] = '/';
    std::memcpy(relative + at, index_name_.data(), index_name_.size());
    relative[at + index_name_.size()] = '\0';
    rel_len = at + index_name_.size();
    fd = open_beneath(relative);
    if (fd < 0 && errno == ENOENT && list_directories_) {
      relative[at] = '\0';  // the directory again, for its listing
      open_directory(relative, &r);
      return r;
    }
    if (fd < 0) {
      r.outcome = outcome_of_errno(errno);
      return r;
    }
    if (::fstat(fd, &r.st) != 0) {
      ::close(fd);
      return r;
    }
  }
  if (!S_ISREG(r.st.st_mode)) {
    ::close(fd);
    return r;  // devices, FIFOs, sockets, an index that is a directory: 404
  }
  r.outcome = Outcome::kFile;
  r.fd = fd;
  r.opened = relative;
  r.opened_len = rel_len;
  return r;
}

int FileResolver::open_variant(const ResolvedFile& file, std::string_view suffix,
                               struct stat* st) const {
  if (file.opened == nullptr || suffix.size() > kMaxSuffix) return -1;
  std::memcpy(file.opened + file.opened_len, suffix.data(), suffix.size());
  file.opened[file.opened_len + suffix.size()] = '\0';
  int fd = open_beneath(file.opened);
  file.opened[file.opened_len] = '\0';
  if (fd < 0) return -1;
  if (::fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace zhttp::handlers::static_site
