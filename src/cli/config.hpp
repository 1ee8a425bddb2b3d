#pragma once
// Everything the command line (and its config file) decides, as one value.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "zhttp/app.hpp"

#include "handlers/access/access_stage.hpp"
#include "handlers/cache/cache_options.hpp"
#include "handlers/proxy/proxy_config.hpp"
#include "handlers/static_site/static_files.hpp"
#include "handlers/static_site/virtual_hosts.hpp"
#include "io/worker.hpp"
#include "log/access_log.hpp"

namespace zhttp::cli {

enum class LogLevel : uint8_t { kDebug, kInfo, kNotice, kWarn, kError, kCrit };

struct Config {
  std::vector<std::string> listen = {"127.0.0.1:8080"};  // "HOST:PORT [proxy_protocol]"
  uint32_t workers = 0;                                  // 0: one per online core ("auto")
  handlers::static_site::StaticFilesOptions files;
  std::vector<handlers::static_site::VirtualHost>
      vhosts;  // --vhost: each its root; files.root for the rest
  io::WorkerConfig worker;
  handlers::access::AccessOptions access;  // --limit-req..., --real-ip-...
  handlers::cache::CacheOptions cache;     // --cache-...
  handlers::proxy::ProxyConfig proxy;      // --upstream..., --proxy...

  std::string pid_file;  // "" = none
  std::string shm_name;  // "" = derived from the pid file path (or the first listen address)
  std::string user;      // "" = keep; else drop to this user after binding
  std::string group;     // "" = the user's primary group
  bool daemon = false;   // fork into the background (default: stay in the foreground)

  std::string access_log = "off";  // path or "off"
  log::AccessLogFormat access_log_format = log::AccessLogFormat::kCombined;
  std::string error_log = "stderr";  // path or "stderr"
  LogLevel log_level = LogLevel::kNotice;

  std::string metrics_path;                // "" = no metrics endpoint
  std::vector<std::string> metrics_allow;  // client addresses allowed to scrape; empty: all

  std::string config_file;  // what --config named, to read again on reload

  // The embedding application's options (zhttp::AppDeclarations), by name: as given, or their
  // defaults; flags are "true" or "false".
  std::map<std::string, std::string, std::less<>> app_options;
};

// What the command line asks for besides serving.
struct Command {
  enum class Kind : uint8_t { kServe, kTestConfig, kSignal, kExit };
  Kind kind = Kind::kServe;
  std::string signal;  // kSignal: "reload", "quit", "stop" or "reopen"
  int exit_code = 0;   // kExit: --help / --version (0) or a bad option (2), already printed
  std::string error;   // kExit with 2: that one-line message
};

// Parses argv (and the --config file), with the options `app` declares (null: none) in a group
// of their own. Bad values print one line naming the option on stderr and give
// Command{kExit, exit_code 2}; never throws.
Command parse_command_line(int argc, char** argv, Config* config,
                           const AppDeclarations* app = nullptr);

}  // namespace zhttp::cli
