// Logging: the access log, the error log and its level.
#include <CLI/CLI.hpp>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>

#include "cli/option_checks.hpp"
#include "cli/options/groups.hpp"

namespace zhttp::cli::options {
namespace {

constexpr std::string_view kLogLevels[] = {"debug", "info", "notice", "warn", "error", "crit"};
static_assert(static_cast<int>(LogLevel::kCrit) == 5, "kLogLevels follows LogLevel");
constexpr std::string_view kLogFormats[] = {"combined", "vhost_combined", "extended"};
static_assert(static_cast<int>(log::AccessLogFormat::kExtended) == 2,
              "kLogFormats follows AccessLogFormat");

// The options parsed as texts, built into the Config after parsing.
struct Texts {
  std::string log_level;
  std::string log_format;
};

}  // namespace

Finish logging(const Declaring& d) {
  CLI::App& app = d.app;
  Config& c = d.config;
  auto texts = std::make_shared<Texts>();
  texts->log_level = kLogLevels[static_cast<int>(c.log_level)];
  texts->log_format = kLogFormats[static_cast<int>(c.access_log_format)];
  const std::string group = "Logging";
  app.add_option("--access-log", c.access_log, "access log file, or off")
      ->type_name("FILE|off")
      ->transform(not_empty())
      ->capture_default_str()
      ->group(group);
  CLI::Option* access_log_format =
      app.add_option("--access-log-format", texts->log_format,
                     "access log line: combined, vhost_combined (the host first) or extended "
                     "(combined, then the host, Content-Encoding and a proxied answer's upstream); "
                     "default: "
                     "combined, "
                     "vhost_combined with --vhost")
          ->type_name("FORMAT")
          ->transform(one_of(kLogFormats))
          ->group(group);
  app.add_option("--error-log", c.error_log, "error log file, or stderr")
      ->type_name("FILE|stderr")
      ->transform(not_empty())
      ->capture_default_str()
      ->group(group);
  app.add_option("--log-level", texts->log_level,
                 "least severe error log level: debug, info, notice, warn, error, crit")
      ->type_name("LEVEL")
      ->transform(one_of(kLogLevels))
      ->capture_default_str()
      ->group(group);

  // Runs after the files group's Finish: with --vhost, the format's default is vhost_combined.
  return [texts, access_log_format](Config& config) {
    std::string_view log_format = texts->log_format;
    if (access_log_format->count() == 0 && !config.vhosts.empty()) log_format = "vhost_combined";
    for (size_t i = 0; i < std::size(kLogFormats); ++i) {
      if (log_format == kLogFormats[i]) {
        config.access_log_format = static_cast<log::AccessLogFormat>(i);
      }
    }
    for (size_t i = 0; i < std::size(kLogLevels); ++i) {
      if (texts->log_level == kLogLevels[i]) config.log_level = static_cast<LogLevel>(i);
    }
    return std::string();
  };
}

}  // namespace zhttp::cli::options
