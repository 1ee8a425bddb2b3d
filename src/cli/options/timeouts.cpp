// Timeouts: how long a connection may wait for each thing.
#include <CLI/CLI.hpp>
#include <string>

#include "cli/option_checks.hpp"
#include "cli/options/groups.hpp"

namespace zhttp::cli::options {

Finish timeouts(const Declaring& d) {
  CLI::App& app = d.app;
  io::WorkerConfig& w = d.config.worker;
  const std::string group = "Timeouts";
  struct Timeout {
    const char* name;
    double* target;
    const char* help;
  };
  const Timeout timeout_options[] = {
      {"--header-timeout", &w.header_timeout, "seconds to receive a request head (408)"},
      {"--body-timeout", &w.body_timeout, "seconds between two reads of a body (408)"},
      {"--keepalive-timeout", &w.keepalive_timeout,
       "seconds an idle keep-alive connection stays open"},
      {"--write-timeout", &w.write_timeout, "seconds without sending progress: close"},
      {"--handler-timeout", &w.handler_timeout,
       "seconds a handler may stay silent before the request gets 504"},
      {"--drain-timeout", &w.drain_timeout,
       "seconds a graceful stop (SIGQUIT) waits for requests in flight"},
  };
  for (const Timeout& t : timeout_options) {
    app.add_option(t.name, *t.target, t.help)
        ->type_name("SECONDS")
        ->transform(positive_seconds())
        ->capture_default_str()
        ->group(group);
  }
  return {};
}

}  // namespace zhttp::cli::options
