// Files (the static site, src/handlers/static_site and autoindex): the roots, their directories,
// and what is sent for their files.
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cli/option_checks.hpp"
#include "cli/options/groups.hpp"
#include "handlers/static_site/content_coding.hpp"
#include "handlers/static_site/path_headers.hpp"
#include "handlers/static_site/site_paths.hpp"
#include "handlers/static_site/virtual_hosts.hpp"

namespace zhttp::cli::options {
namespace {

// Why `path` is no directory to serve, or "" when it is one.
std::string directory_problem(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    int error = errno;
    if (error == ENOENT || error == ENOTDIR) return "directory does not exist: " + shown(path);
    return "cannot access directory " + path + ": " + std::strerror(error);
  }
  if (!S_ISDIR(st.st_mode)) return "not a directory: " + path;
  return {};
}

CLI::Validator existing_directory() {
  return CLI::Validator([](std::string& value) { return directory_problem(value); }, "");
}

// --vhost 'NAME=DIR': a host name and an existing directory.
std::string check_vhost(const std::string& value) {
  handlers::static_site::VirtualHost host;
  std::string error;
  if (!handlers::static_site::parse_virtual_host(value, &host, &error)) return error;
  return directory_problem(host.root);
}

// The --vhost texts (checked by check_vhost), in order. False with *error when a name is given
// twice.
bool parse_vhosts(const std::vector<std::string>& texts,
                  std::vector<handlers::static_site::VirtualHost>* out, std::string* error) {
  for (const handlers::static_site::VirtualHost& host :
       parse_checked(texts, handlers::static_site::parse_virtual_host)) {
    for (const handlers::static_site::VirtualHost& earlier : *out) {
      if (earlier.name == host.name) {
        *error = "--vhost: " + host.name + " is given twice";
        return false;
      }
    }
    out->push_back(host);
  }
  return true;
}

// The options parsed as texts, built into the Config after parsing.
struct Texts {
  std::vector<std::string> vhosts;
  std::string precompressed{handlers::static_site::kDefaultPrecompressed};
  std::vector<std::string> error_pages;
  std::vector<std::string> cache_control;
  std::vector<std::string> add_header;
};

}  // namespace

Finish static_site(const Declaring& d) {
  CLI::App& app = d.app;
  Config& c = d.config;
  auto texts = std::make_shared<Texts>();
  const std::string group = "Files";
  app.add_option("--root", c.files.root, "directory to serve")
      ->type_name("DIR")
      ->transform(existing_directory())
      ->capture_default_str()
      ->group(group);
  app.add_option("--vhost", texts->vhosts,
                 "serve DIR to requests for host NAME ('*.example.com': any name below it); "
                 "other hosts get --root (repeatable)")
      ->type_name("NAME=DIR")
      ->check(check_vhost)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false)
      ->group(group);
  app.add_option("--index", c.files.index, "file served for a directory")
      ->type_name("NAME")
      ->transform(not_empty())
      ->capture_default_str()
      ->group(group);
  app.add_flag("--autoindex", c.files.autoindex,
               "list a directory that has no index file (HTML; JSON with ?format=json)")
      ->group(group);
  app.add_option("--mime-types", c.files.mime_types,
                 "mime.types file (extensions it lacks use a built-in table; \"\" for that only)")
      ->type_name("FILE")
      ->capture_default_str()
      ->group(group);
  app.add_option("--open-file-cache", c.files.open_file_cache.entries,
                 "open files kept per worker (0: open every file per request)")
      ->type_name("N")
      ->transform(whole_number(0, 1u << 20))
      ->capture_default_str()
      ->group(group);
  app.add_option("--open-file-cache-valid", c.files.open_file_cache.valid_seconds,
                 "seconds a kept file is served before its path is checked again")
      ->type_name("SECONDS")
      ->transform(whole_number(1, 86400))
      ->capture_default_str()
      ->group(group);

  app.add_option("--precompressed", texts->precompressed,
                 "send F.br, F.zst or F.gz for F to clients that accept the coding (the smallest "
                 "acceptable): a list of br, zstd and gzip, or off")
      ->type_name("LIST")
      ->check([](const std::string& value) {
        handlers::static_site::CodingList list;
        return handlers::static_site::parse_coding_list(value, &list)
                   ? std::string()
                   : "value " + value + " is not off or a comma-separated list of br, zstd, gzip";
      })
      ->capture_default_str()
      ->group(group);

  app.add_option("--error-page", texts->error_pages,
                 "the file sent, with the status, for an error the file handler answers "
                 "(400, 403, 404, 405): 'CODE=/PATH' (repeatable)")
      ->type_name("CODE=/PATH")
      ->check(checked_by(handlers::static_site::parse_error_page))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false)
      ->group(group);
  app.add_option("--fallback", c.files.fallback,
                 "the file a GET or HEAD gets (200) when its path names no file and its last "
                 "segment has no extension: a single-page app's routes")
      ->type_name("/PATH")
      ->check([](const std::string& value) {
        std::string error;
        return handlers::static_site::check_site_path(value, &error) ? std::string() : error;
      })
      ->group(group);

  app.add_option("--cache-control", texts->cache_control,
                 "Cache-Control of the files whose path matches GLOB ('*' any bytes, '/' too): "
                 "'GLOB=VALUE' (repeatable, the first match wins)")
      ->type_name("GLOB=VALUE")
      ->check(checked_by(handlers::static_site::parse_cache_control_rule))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false)
      ->group(group);
  app.add_option("--add-header", texts->add_header,
                 "a field for the files whose path matches GLOB: 'GLOB=Name: value' "
                 "(repeatable, every match adds its field)")
      ->type_name("GLOB=FIELD")
      ->check(checked_by(handlers::static_site::parse_add_header_rule))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false)
      ->group(group);
  return [texts](Config& config) {
    handlers::static_site::parse_coding_list(texts->precompressed, &config.files.precompressed);
    config.files.error_pages =
        parse_checked(texts->error_pages, handlers::static_site::parse_error_page);
    config.files.headers.cache_control =
        parse_checked(texts->cache_control, handlers::static_site::parse_cache_control_rule);
    config.files.headers.add_header =
        parse_checked(texts->add_header, handlers::static_site::parse_add_header_rule);
    std::string error;
    return parse_vhosts(texts->vhosts, &config.vhosts, &error) ? std::string() : error;
  };
}

}  // namespace zhttp::cli::options
