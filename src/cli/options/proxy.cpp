// Reverse proxy: upstream groups, the routes to them, their timeouts, and the cache in front.
#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "cli/option_checks.hpp"
#include "cli/options/groups.hpp"
#include "handlers/proxy/proxy_spec.hpp"

namespace zhttp::cli::options {
namespace {

// The texts of the repeatable options, kept until everything is parsed: a route may name a
// group declared after it, and options may come from the config file too.
struct ProxyTexts {
  std::vector<std::string> upstreams;
  std::vector<std::string> upstream_options;
  std::vector<std::string> routes;
};

CLI::Option* repeatable(CLI::App& app, const char* name, std::vector<std::string>& into,
                        const char* help, const char* type, const std::string& group) {
  return app.add_option(name, into, help)
      ->type_name(type)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false)
      ->group(group);
}

}  // namespace

Finish proxy(const Declaring& d) {
  CLI::App& app = d.app;
  handlers::proxy::ProxyConfig& p = d.config.proxy;
  auto texts = std::make_shared<ProxyTexts>();
  const std::string group = "Reverse proxy";
  repeatable(app, "--upstream", texts->upstreams,
             "a server of upstream group NAME: 'NAME HOST:PORT|[IPv6]:PORT|unix:/path "
             "[weight=N] [max_conns=N] [backup]' (repeatable)",
             "SPEC", group);
  repeatable(app, "--upstream-options", texts->upstream_options,
             "a group's settings: 'NAME [balance=round_robin|least_conn|random|hash] "
             "[hash_key=uri|addr|header:NAME] [keepalive=N] [keepalive_timeout=S] "
             "[max_fails=N] [fail_timeout=S] [check=/PATH] [check_interval=S] [rise=N] [fall=N]'",
             "SPEC", group);
  repeatable(app, "--proxy", texts->routes,
             "send requests whose path starts with PREFIX (or HOST/PREFIX) to an upstream group "
             "or address: 'PREFIX=http://TARGET[/PATH]' (repeatable; the longest prefix wins)",
             "ROUTE", group);
  struct Timeout {
    const char* name;
    double* target;
    const char* help;
  };
  const Timeout timeouts[] = {
      {"--proxy-connect-timeout", &p.timeouts.connect,
       "seconds to connect to an upstream server (504)"},
      {"--proxy-read-timeout", &p.timeouts.read,
       "seconds between two reads of an upstream's response (504 before its head)"},
      {"--proxy-send-timeout", &p.timeouts.send,
       "seconds between two writes of a request to an upstream (504)"},
      {"--proxy-tunnel-timeout", &p.timeouts.tunnel,
       "seconds an upgraded connection (WebSocket) may stay idle both ways"},
  };
  for (const Timeout& t : timeouts) {
    app.add_option(t.name, *t.target, t.help)
        ->type_name("SECONDS")
        ->transform(positive_seconds())
        ->capture_default_str()
        ->group(group);
  }
  static constexpr std::string_view kOnOff[] = {"on", "off"};
  auto cache = std::make_shared<std::string>("on");
  app.add_option("--proxy-cache", *cache,
                 "the shared response cache in front of proxied paths (when --cache-size > 0)")
      ->type_name("on|off")
      ->check(one_of(kOnOff))
      ->capture_default_str()
      ->group(group);
  return [texts, cache](Config& config) {
    config.proxy.cache = *cache == "on";
    std::string error;
    if (!handlers::proxy::build_proxy_config(texts->upstreams, texts->upstream_options,
                                             texts->routes, &config.proxy, &error)) {
      return error;
    }
    return std::string();
  };
}

}  // namespace zhttp::cli::options
