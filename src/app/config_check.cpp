#include "app/config_check.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>

#include "handlers/static_site/file_resolver.hpp"
#include "handlers/static_site/virtual_hosts.hpp"

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
    handlers::static_site::VirtualHosts files(config.files, config.vhosts);
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

std::vector<std::string> site_file_warnings(const cli::Config& config) {
  const handlers::static_site::StaticFilesOptions& files = config.files;
  std::vector<std::string> roots = {files.root};
  for (const handlers::static_site::VirtualHost& host : config.vhosts) roots.push_back(host.root);
  std::vector<std::string> warnings;
  std::vector<char> scratch(8192);
  for (const std::string& root : roots) {
    try {
      const handlers::static_site::FileResolver resolver(root, files.index);
      auto missing = [&](const std::string& path) {
        const handlers::static_site::ResolvedFile r =
            resolver.resolve(path, scratch.data(), scratch.size());
        if (r.fd >= 0) ::close(r.fd);
        return r.outcome != handlers::static_site::ResolvedFile::Outcome::kFile;
      };
      for (const handlers::static_site::ErrorPage& page : files.error_pages) {
        if (!missing(page.path)) continue;
        warnings.push_back("--error-page " + std::to_string(page.status) + "=" + page.path +
                           ": no such file beneath " + root + ": a " + std::to_string(page.status) +
                           " from it gets the built-in text");
      }
      if (!files.fallback.empty() && missing(files.fallback)) {
        warnings.push_back("--fallback " + files.fallback + ": no such file beneath " + root +
                           ": its routes get 404");
      }
    } catch (const std::exception&) {
      // a root that does not open is validate_config()'s error
    }
  }
  return warnings;
}

uint32_t worker_count(const cli::Config& config) {
  if (config.workers > 0) return config.workers;
  long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  return cores > 0 ? static_cast<uint32_t>(cores) : 1;
}

}  // namespace zhttp::app
