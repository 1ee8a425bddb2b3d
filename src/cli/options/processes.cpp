// Processes: the workers, the master's pid file and shared memory, and the user they run as.
#include <CLI/CLI.hpp>
#include <string>

#include "cli/option_checks.hpp"
#include "cli/options/groups.hpp"

namespace zhttp::cli::options {
namespace {

// "auto" (0: one worker per online core) or 1..256.
CLI::Validator workers_value() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (value == "auto") {
          value = "0";
          return {};
        }
        uint64_t n = 0;
        Number parsed = parse_whole(value, &n);
        if (parsed == Number::kNotNumber) {
          return "value " + shown(value) + " is not a number or \"auto\"";
        }
        if (parsed == Number::kTooBig || n < 1 || n > 256) {
          return "value " + value + " is out of range 1-256 (or \"auto\")";
        }
        value = std::to_string(n);
        return {};
      },
      "");
}

// "" (derived), else a name with at most a leading '/'.
CLI::Validator shm_name() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (value.find('/', 1) != std::string::npos || value == "/") {
          return "value " + value + " is not a shared memory name (no '/' but a leading one)";
        }
        if (value.size() > 200) return "value is longer than 200 bytes";
        return {};
      },
      "");
}

}  // namespace

Finish processes(const Declaring& d) {
  CLI::App& app = d.app;
  Config& c = d.config;
  const std::string group = "Processes";
  app.add_option("--workers", c.workers, "worker processes: 1-256, or auto for one per core")
      ->type_name("N|auto")
      ->transform(workers_value())
      ->default_str("auto")
      ->group(group);
  app.add_flag("--daemon", c.daemon, "fork into the background (default: stay in the foreground)")
      ->group(group);
  app.add_option("--pid-file", c.pid_file, "write the master's pid to this file (default: none)")
      ->type_name("FILE")
      ->group(group);
  app.add_option("--shm-name", c.shm_name,
                 "shared memory segment name (default: derived from --pid-file or --listen)")
      ->type_name("NAME")
      ->transform(shm_name())
      ->group(group);
  app.add_option("--user", c.user, "drop privileges to this user after binding")
      ->type_name("USER")
      ->group(group);
  app.add_option("--group", c.group, "group to drop to (default: the user's primary group)")
      ->type_name("GROUP")
      ->group(group);
  return {};
}

}  // namespace zhttp::cli::options
