#include "proc/pid_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace zhttp::proc {

bool write_pid_file(const std::string& path, pid_t pid, std::string* error) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = tmp + ": " + std::strerror(errno);
    return false;
  }
  std::string text = std::to_string(pid) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = path + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

pid_t read_pid_file(const std::string& path, std::string* error) {
  std::FILE* f = std::fopen(path.c_str(), "re");
  if (f == nullptr) {
    *error = path + ": " + std::strerror(errno);
    return -1;
  }
  long pid = -1;
  bool ok = std::fscanf(f, "%ld", &pid) == 1 && pid > 0;
  std::fclose(f);
  if (!ok) {
    *error = path + ": no process id in it";
    return -1;
  }
  return static_cast<pid_t>(pid);
}

void remove_pid_file(const std::string& path, pid_t pid) {
  std::string ignored;
  if (read_pid_file(path, &ignored) == pid) ::unlink(path.c_str());
}

}  // namespace zhttp::proc
