// Metrics: the Prometheus endpoint and who may read it (shown with the logging options).
#include <arpa/inet.h>
#include <netinet/in.h>

#include <CLI/CLI.hpp>
#include <string>

#include "cli/option_checks.hpp"
#include "cli/options/groups.hpp"

namespace zhttp::cli::options {
namespace {

// A path for the metrics endpoint: absolute, nothing a request path could not be.
CLI::Validator metrics_path_value() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (value.empty() || value.front() != '/')
          return "value " + shown(value) + " is not a path";
        for (char ch : value) {
          if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f || ch == '?' || ch == '#') {
            return "value " + shown(value) + " is not a plain path";
          }
        }
        return {};
      },
      "");
}

// An IPv4 or IPv6 address, without a port.
CLI::Validator address_value() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        in_addr a4{};
        in6_addr a6{};
        if (::inet_pton(AF_INET, value.c_str(), &a4) == 1) return {};
        if (::inet_pton(AF_INET6, value.c_str(), &a6) == 1) return {};
        return "value " + shown(value) + " is not an IPv4 or IPv6 address";
      },
      "");
}

}  // namespace

Finish metrics(const Declaring& d) {
  CLI::App& app = d.app;
  Config& c = d.config;
  const std::string group = "Logging";
  app.add_option("--metrics-path", c.metrics_path,
                 "serve the Prometheus text of the statistics at this path (default: off)")
      ->type_name("PATH")
      ->check(metrics_path_value())
      ->group(group);
  app.add_option("--metrics-allow", c.metrics_allow,
                 "client address allowed to read --metrics-path (repeatable; default: all)")
      ->type_name("ADDRESS")
      ->check(address_value())
      ->group(group);
  return {};
}

}  // namespace zhttp::cli::options
