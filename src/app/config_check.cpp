#include "app/config_check.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>

#include "handlers/virtual_hosts.hpp"

namespace zhttp::app {
namespace {

bool can_append(const std::string& path, std::string* error) {
  if (path == "off" || path == "stderr" || path.empty()) return true;
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  ::close(fd);
  return true;
}

}  // namespace

bool validate_config(const cli::Config& config, std::string* error) {
  try {
    // Opens --root and every --vhost root, reads the MIME table.
    handlers::VirtualHosts files(config.files, config.vhosts);
  } catch (const std::exception& e) {
    *error = e.what();
    return false;
  }
  if (!config.user.empty()) {
    passwd* pw = ::getpwnam(config.user.c_str());
    if (pw == nullptr) {
      *error = "--user: no such user: " + config.user;
      return false;
    }
    // Only root can switch users: otherwise every worker would fail to start, again and again.
    if (::geteuid() != 0 && pw->pw_uid != ::geteuid()) {
      *error = "--user: switching to " + config.user + " needs the master to run as root";
      return false;
    }
  }
  if (!config.group.empty() && ::getgrnam(config.group.c_str()) == nullptr) {
    *error = "--group: no such group: " + config.group;
    return false;
  }
  return can_append(config.access_log, error) && can_append(config.error_log, error);
}

uint32_t worker_count(const cli::Config& config) {
  if (config.workers > 0) return config.workers;
  long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  return cores > 0 ? static_cast<uint32_t>(cores) : 1;
}

}  // namespace zhttp::app
