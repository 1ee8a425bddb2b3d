// Rate limits and client addresses: --limit-req and --limit-conn zones, and the proxies trusted
// to name the client.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/option_checks.hpp"
#include "cli/options/groups.hpp"
#include "handlers/access/access_stage.hpp"
#include "handlers/access/limit_req_spec.hpp"
#include "handlers/common/client_address.hpp"
#include "shm/limits.hpp"

namespace zhttp::cli::options {
namespace {

// A header field name (RFC 9110 token).
std::string check_field_name(const std::string& value) {
  constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  if (value.empty()) return "value must not be empty";
  for (char ch : value) {
    bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    if (!alnum && kExtra.find(ch) == std::string_view::npos) {
      return "value " + value + " is not a header field name";
    }
  }
  return {};
}

// The options parsed as texts, built into the Config after parsing.
struct Texts {
  std::vector<std::string> limit_req;
  std::vector<std::string> limit_conn;
  std::vector<std::string> limit_req_allow;
  std::vector<std::string> real_ip_from;
};

// The access stage's options, from their checked texts. False with *error.
bool build_access(const Texts& texts, handlers::access::AccessOptions* access, std::string* error) {
  std::vector<std::string> zones;
  auto defined_before = [&zones](const std::string& zone) {
    bool twice = std::find(zones.begin(), zones.end(), zone) != zones.end();
    zones.push_back(zone);
    return twice;
  };
  for (const std::string& text : texts.limit_req) {
    handlers::access::LimitReqSpec spec;
    if (!handlers::access::parse_limit_req(text, &spec, error)) {
      *error = "--limit-req: " + *error;
      return false;
    }
    if (defined_before(spec.zone)) {
      *error = "--limit-req: zone " + spec.zone + " is defined twice";
      return false;
    }
    access->limit_req.push_back(std::move(spec));
  }
  for (const std::string& text : texts.limit_conn) {
    handlers::access::LimitConnSpec spec;
    if (!handlers::access::parse_limit_conn(text, &spec, error)) {
      *error = "--limit-conn: " + *error;
      return false;
    }
    if (defined_before(spec.zone)) {
      *error = "--limit-conn: zone " + spec.zone + " is defined twice";
      return false;
    }
    access->limit_conn.push_back(std::move(spec));
  }
  if (access->limit_conn.size() > handlers::access::kMaxConnZones) {
    *error = "--limit-conn: at most " + std::to_string(handlers::access::kMaxConnZones) + " zones";
    return false;
  }
  if (zones.size() > shm::kMaxZones) {
    *error = "--limit-req: at most " + std::to_string(shm::kMaxZones) +
             " zones (--limit-conn ones included)";
    return false;
  }
  return parse_cidrs(texts.limit_req_allow, "--limit-req-allow", &access->limit_req_allow, error) &&
         parse_cidrs(texts.real_ip_from, "--real-ip-from", &access->real_ip_from, error);
}

}  // namespace

Finish access(const Declaring& d) {
  CLI::App& app = d.app;
  Config& c = d.config;
  auto texts = std::make_shared<Texts>();
  const std::string group = "Rate limits and client addresses";
  app.add_option("--limit-req", texts->limit_req,
                 "limit requests per client: 'zone=NAME rate=N{r/s|r/m|r/h} [burst=B] "
                 "[nodelay|delay=D] [key=addr|addr/PREFIX|header:NAME] [path=PREFIX] "
                 "[size=SLOTS]' (repeatable)")
      ->type_name("RULE")
      ->check(checked_by(handlers::access::parse_limit_req))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false)
      ->group(group);
  app.add_option("--limit-conn", texts->limit_conn,
                 "limit open connections per client: 'zone=NAME max=N [key=addr|addr/PREFIX] "
                 "[size=SLOTS]' (repeatable, at most 2); beyond: 503 and close")
      ->type_name("RULE")
      ->check(checked_by(handlers::access::parse_limit_conn))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false)
      ->group(group);
  app.add_option("--limit-req-status", c.access.limit_req_status,
                 "status of a request refused by --limit-req (400-599)")
      ->type_name("CODE")
      ->transform(whole_number(400, 599))
      ->capture_default_str()
      ->group(group);
  app.add_flag("--limit-req-dry-run", c.access.limit_req_dry_run,
               "count and log what --limit-req would refuse, refuse nothing")
      ->group(group);
  app.add_option("--limit-req-allow", texts->limit_req_allow,
                 "client addresses never limited (repeatable)")
      ->type_name("CIDR")
      ->check(checked_by(handlers::common::parse_cidr))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false)
      ->group(group);
  app.add_flag("--limit-req-headers", c.access.limit_req_headers,
               "send RateLimit-Policy and RateLimit fields (IETF draft) on limited responses")
      ->group(group);
  app.add_option("--real-ip-from", texts->real_ip_from,
                 "trusted proxy addresses whose --real-ip-header names the client (repeatable)")
      ->type_name("CIDR")
      ->check(checked_by(handlers::common::parse_cidr))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false)
      ->group(group);
  app.add_option("--real-ip-header", c.access.real_ip_header,
                 "the field trusted proxies name the client in, read right to left")
      ->type_name("NAME")
      ->check(check_field_name)
      ->capture_default_str()
      ->group(group);
  return [texts](Config& config) {
    std::string error;
    return build_access(*texts, &config.access, &error) ? std::string() : error;
  };
}

}  // namespace zhttp::cli::options
