// The zhttpd command line and its config file (CLI11), into one Config value.
//
// Every call builds its own CLI::App over a fresh Config and touches no global state, so the master
// can parse the same argv again on reload (which reads the config file again). Numbers are checked
// here rather than by CLI11's conversions, which take "010" as octal, "0x10" as hex and wrap "-1"
// around for unsigned targets; each check rewrites the value in plain decimal before CLI11 converts
// it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "cli/config.hpp"
#include "cli/version.hpp"
#include "handlers/access/limit_req_spec.hpp"
#include "handlers/common/client_address.hpp"
#include "handlers/static_site/path_headers.hpp"
#include "handlers/static_site/virtual_hosts.hpp"
#include "io/listener.hpp"
#include "shm/cache_store.hpp"
#include "shm/limits.hpp"
#include "zhttp/app.hpp"

namespace zhttp::cli {
namespace {

constexpr const char* kDescription = "zhttpd: a fast HTTP/1.1 server for static files";
constexpr const char* kFooter =
    "--config FILE reads the same long options, without dashes, from an INI/TOML file, e.g.\n"
    "  root = \"/srv/www\"\n"
    "  listen = [\"127.0.0.1:8080\", \"[::1]:8080\"]\n"
    "  workers = 2\n"
    "Options given on the command line win over the file.";

constexpr std::string_view kSignals[] = {"reload", "quit", "stop", "reopen"};
constexpr std::string_view kLogLevels[] = {"debug", "info", "notice", "warn", "error", "crit"};
static_assert(static_cast<int>(LogLevel::kCrit) == 5, "kLogLevels follows LogLevel");
constexpr std::string_view kLogFormats[] = {"combined", "vhost_combined", "extended"};
static_assert(static_cast<int>(log::AccessLogFormat::kExtended) == 2,
              "kLogFormats follows AccessLogFormat");

// A value as it appears in a message.
std::string shown(std::string_view value) {
  return value.empty() ? std::string("\"\"") : std::string(value);
}

enum class Number : uint8_t { kOk, kNotNumber, kTooBig };

// Plain decimal digits only: no sign, no base prefix, no spaces.
Number parse_whole(std::string_view s, uint64_t* out) {
  if (s.empty()) return Number::kNotNumber;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return Number::kNotNumber;
  }
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  if (ec == std::errc::result_out_of_range) return Number::kTooBig;
  if (ec != std::errc() || end != s.data() + s.size()) return Number::kNotNumber;
  return Number::kOk;
}

std::string range_text(uint64_t min, uint64_t max) {
  return std::to_string(min) + "-" + std::to_string(max);
}

// Bytes: plain decimal digits, optionally followed by k, m or g (KiB, MiB, GiB; either case).
Number parse_bytes(std::string_view s, uint64_t* out) {
  unsigned shift = 0;
  if (!s.empty()) {
    const char unit = static_cast<char>(s.back() | 0x20);
    shift = unit == 'k' ? 10 : unit == 'm' ? 20 : unit == 'g' ? 30 : 0;
    if (shift != 0) s.remove_suffix(1);
  }
  const Number parsed = parse_whole(s, out);
  if (parsed != Number::kOk) return parsed;
  if (*out > std::numeric_limits<uint64_t>::max() >> shift) return Number::kTooBig;
  *out <<= shift;
  return Number::kOk;
}

// Bytes as the largest unit that divides them exactly: 1048576 -> "1m", 1000 -> "1000".
std::string bytes_text(uint64_t n) {
  for (const auto& [shift, unit] : {std::pair{30, "g"}, std::pair{20, "m"}, std::pair{10, "k"}}) {
    if (n != 0 && n % (uint64_t{1} << shift) == 0) return std::to_string(n >> shift) + unit;
  }
  return std::to_string(n);
}

// A whole number in [min, max].
CLI::Validator whole_number(uint64_t min, uint64_t max) {
  return CLI::Validator(
      [min, max](std::string& value) -> std::string {
        uint64_t n = 0;
        Number parsed = parse_whole(value, &n);
        if (parsed == Number::kNotNumber) return "value " + shown(value) + " is not a whole number";
        if (parsed == Number::kTooBig || n < min || n > max) {
          return "value " + value + " is out of range " + range_text(min, max);
        }
        value = std::to_string(n);
        return {};
      },
      "");
}

// A finite number of seconds above 0 (fractions allowed).
CLI::Validator positive_seconds() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        double d = 0;
        const char* end = value.data() + value.size();
        auto [stop, ec] = std::from_chars(value.data(), end, d);
        if (value.empty() || ec != std::errc() || stop != end || !std::isfinite(d)) {
          return "value " + shown(value) + " is not a number of seconds";
        }
        if (d <= 0) return "value " + value + " is not above 0 seconds";
        return {};
      },
      "");
}

// A number of bytes in [min, max] (parse_bytes).
CLI::Validator byte_size(uint64_t min, uint64_t max) {
  return CLI::Validator(
      [min, max](std::string& value) -> std::string {
        uint64_t n = 0;
        Number parsed = parse_bytes(value, &n);
        if (parsed == Number::kNotNumber) {
          return "value " + shown(value) + " is not a size (bytes, or with a k, m or g suffix)";
        }
        if (parsed == Number::kTooBig || n < min || n > max) {
          return "value " + value + " is out of range " + bytes_text(min) + "-" + bytes_text(max);
        }
        value = std::to_string(n);
        return {};
      },
      "");
}

// Milliseconds in [min, max]: plain, or with an "ms" or "s" suffix.
CLI::Validator milliseconds(uint64_t min, uint64_t max) {
  return CLI::Validator(
      [min, max](std::string& value) -> std::string {
        std::string_view digits = value;
        uint64_t scale = 1;
        if (digits.ends_with("ms")) {
          digits.remove_suffix(2);
        } else if (digits.ends_with('s')) {
          digits.remove_suffix(1);
          scale = 1000;
        }
        uint64_t n = 0;
        Number parsed = parse_whole(digits, &n);
        if (parsed == Number::kNotNumber) {
          return "value " + shown(value) + " is not a number of milliseconds (or seconds, \"5s\")";
        }
        if (parsed == Number::kTooBig || n > max / scale || n * scale < min || n * scale > max) {
          return "value " + value + " is out of range " + range_text(min, max) + " ms";
        }
        value = std::to_string(n * scale);
        return {};
      },
      "");
}

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

// HOST:PORT with an IPv4 address, or [IPv6]:PORT; the syntax only (binding comes later).
std::string check_address(const std::string& value) {
  size_t colon = value.rfind(':');
  if (colon == std::string::npos) {
    return "value " + shown(value) + " is not HOST:PORT or [IPv6]:PORT";
  }
  std::string host = value.substr(0, colon);
  std::string_view port_text = std::string_view(value).substr(colon + 1);
  uint64_t port = 0;
  Number parsed = parse_whole(port_text, &port);
  if (parsed == Number::kNotNumber) {
    return "value " + value + " has no port number (HOST:PORT or [IPv6]:PORT)";
  }
  if (parsed == Number::kTooBig || port < 1 || port > 65535) {
    return "port " + std::string(port_text) + " is out of range 1-65535 in " + value;
  }
  if (host.empty()) return "value " + value + " has no host (e.g. 0.0.0.0" + value + ")";
  if (host.front() == '[') {
    in6_addr a6{};
    if (host.size() < 3 || host.back() != ']' ||
        inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a6) != 1) {
      return "not an IPv6 address: " + host + " in " + value;
    }
    return {};
  }
  if (host.find(':') != std::string::npos) {
    return "an IPv6 address needs brackets, e.g. [::1]:8080, in " + value;
  }
  in_addr a4{};
  if (inet_pton(AF_INET, host.c_str(), &a4) != 1) {
    return "not an IPv4 address: " + host + " in " + value;
  }
  return {};
}

// An address and its flags ("127.0.0.1:8081 proxy_protocol").
std::string check_listen(const std::string& value) {
  io::ListenSpec spec;
  std::string error;
  if (!io::parse_listen_spec(value, &spec, &error)) return error + " in " + value;
  return check_address(spec.address);
}

std::string check_limit_req(const std::string& value) {
  handlers::access::LimitReqSpec spec;
  std::string error;
  if (!handlers::access::parse_limit_req(value, &spec, &error)) return error;
  return {};
}

std::string check_limit_conn(const std::string& value) {
  handlers::access::LimitConnSpec spec;
  std::string error;
  if (!handlers::access::parse_limit_conn(value, &spec, &error)) return error;
  return {};
}

std::string check_cidr(const std::string& value) {
  handlers::common::Cidr cidr;
  std::string error;
  if (!handlers::common::parse_cidr(value, &cidr, &error)) return error;
  return {};
}

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

// A check by one of the handlers' parsers, which say why a text is refused.
template <typename T>
std::function<std::string(const std::string&)> checked_by(bool (*parse)(std::string_view, T*,
                                                                        std::string*)) {
  return [parse](const std::string& value) {
    T parsed;
    std::string error;
    return parse(value, &parsed, &error) ? std::string() : error;
  };
}

// The texts of a repeatable option, which checked_by(parse) has accepted, parsed in order.
template <typename T>
std::vector<T> parse_checked(const std::vector<std::string>& texts,
                             bool (*parse)(std::string_view, T*, std::string*)) {
  std::vector<T> out(texts.size());
  std::string unused;
  for (size_t i = 0; i < texts.size(); ++i) parse(texts[i], &out[i], &unused);
  return out;
}

// Each text as a CIDR (already checked by check_cidr), after `out`'s. False with *error naming
// `option`.
bool parse_cidrs(const std::vector<std::string>& texts, std::string_view option,
                 std::vector<handlers::common::Cidr>* out, std::string* error) {
  for (const std::string& text : texts) {
    handlers::common::Cidr cidr;
    if (!handlers::common::parse_cidr(text, &cidr, error)) {
      *error = std::string(option) + ": " + *error;
      return false;
    }
    out->push_back(cidr);
  }
  return true;
}

// The access stage's options, from their checked texts. False with *error.
bool build_access(const std::vector<std::string>& limit_req,
                  const std::vector<std::string>& limit_conn, const std::vector<std::string>& allow,
                  const std::vector<std::string>& real_ip_from,
                  handlers::access::AccessOptions* access, std::string* error) {
  std::vector<std::string> zones;
  auto defined_before = [&zones](const std::string& zone) {
    bool twice = std::find(zones.begin(), zones.end(), zone) != zones.end();
    zones.push_back(zone);
    return twice;
  };
  for (const std::string& text : limit_req) {
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
  for (const std::string& text : limit_conn) {
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
  return parse_cidrs(allow, "--limit-req-allow", &access->limit_req_allow, error) &&
         parse_cidrs(real_ip_from, "--real-ip-from", &access->real_ip_from, error);
}

// --cache-size against the smallest store --cache-max-entry allows (0 is no cache). False with
// *error.
bool check_cache_size(const handlers::cache::CacheOptions& cache, std::string* error) {
  const uint64_t least =
      shm::CacheStore::bytes_for(shm::CacheGeometry::for_max_entry(cache.max_entry), 1);
  if (!cache.enabled() || cache.size_bytes >= least) return true;
  const uint64_t least_k = (least + 1023) / 1024;
  *error = "--cache-size: value " + bytes_text(cache.size_bytes) + " is below the " +
           std::to_string(least_k) + "k a cache of --cache-max-entry " +
           bytes_text(cache.max_entry) + " needs (0 turns the cache off)";
  return false;
}

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

template <size_t N>
CLI::Validator one_of(const std::string_view (&choices)[N]) {
  return CLI::Validator(
      [&choices](std::string& value) -> std::string {
        std::string list;
        for (std::string_view choice : choices) {
          if (value == choice) return {};
          if (!list.empty()) list += ", ";
          list += choice;
        }
        return "value " + shown(value) + " is not one of " + list;
      },
      "");
}

CLI::Validator not_empty() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        return value.empty() ? "value must not be empty" : std::string();
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

// The reason a config file cannot be read, for the message.
std::string unreadable_reason(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::strerror(errno);
  if (S_ISDIR(st.st_mode)) return "is a directory";
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return std::strerror(errno);
  std::fclose(f);
  return "cannot be read";
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Whether argv names the long option `name` ("--root" or "--root=...").
bool on_command_line(std::string_view name, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == name ||
        (starts_with(arg, name) && arg.size() > name.size() && arg[name.size()] == '=')) {
      return true;
    }
  }
  return false;
}

// One line naming the option, from CLI11's error.
std::string describe(const CLI::ParseError& e, const std::string& config_path, int argc,
                     char** argv) {
  std::string message = e.what();
  if (dynamic_cast<const CLI::FileError*>(&e) != nullptr) {
    // "PATH was not readable (missing?)": PATH is the file that failed, of several --config.
    constexpr std::string_view kMissing = " was not readable (missing?)";
    std::string path = config_path;
    if (message.ends_with(kMissing)) path = message.substr(0, message.size() - kMissing.size());
    return "--config: cannot read " + shown(path) + ": " + unreadable_reason(path);
  }
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr && starts_with(message, "-")) {
    // "--workers: 1 required N|auto missing" and the like.
    return message.substr(0, message.find_first_of(": ")) + ": missing value";
  }
  if (dynamic_cast<const CLI::ConfigError*>(&e) != nullptr) {
    constexpr std::string_view kExtras = "INI was not able to parse ";
    constexpr std::string_view kNotConfigurable =
        ": This option is not allowed in a configuration file";
    if (starts_with(message, kExtras)) {
      std::string item = message.substr(kExtras.size());
      // CLI11 marks a section's start as "NAME.++" and its end as "NAME.--".
      if (item.size() > 3 && (item.ends_with(".++") || item.ends_with(".--"))) {
        return "--config: unknown section [" + item.substr(0, item.size() - 3) + "] in " +
               config_path;
      }
      return "--config: unknown option " + item + " in " + config_path;
    }
    size_t at = message.find(kNotConfigurable);
    if (at != std::string::npos) {
      return "--config: " + message.substr(0, at) + " cannot be set in a config file (" +
             config_path + ")";
    }
    return "--config: " + message + " (" + config_path + ")";
  }
  constexpr std::string_view kConvert = "Could not convert: ";
  if (starts_with(message, kConvert)) {  // "Could not convert: NAME = VALUES"
    std::string rest = message.substr(kConvert.size());
    size_t eq = rest.find(" = ");
    if (eq != std::string::npos) {
      message = rest.substr(0, eq) + ": value " + shown(rest.substr(eq + 3)) + " is not valid";
    }
  }
  if (starts_with(message, "--") && !config_path.empty()) {
    // The bad value came from the file unless the command line names the option.
    std::string name = message.substr(0, message.find_first_of(": "));
    if (!on_command_line(name, argc, argv)) message += " (in " + config_path + ")";
  }
  return message;
}

// A bad command line: prints "zhttpd: MESSAGE" as one line, whatever bytes the message carries,
// and keeps the message in the Command (for a reload's log line).
Command bad_usage(std::string message) {
  for (char& ch : message) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = '?';
  }
  std::fprintf(stderr, "zhttpd: %s\n", message.c_str());
  std::fflush(stderr);
  Command command;
  command.kind = Command::Kind::kExit;
  command.exit_code = 2;
  command.error = std::move(message);
  return command;
}

Command exit_with(int code) {
  Command command;
  command.kind = Command::Kind::kExit;
  command.exit_code = code;
  return command;
}

// The application's options, into `values` (its defaults first).
void add_app_options(CLI::App& cli, const AppDeclarations& app,
                     std::map<std::string, std::string, std::less<>>* values) {
  const std::string group = "Application";
  for (const AppDeclarations::Option& o : app.options()) {
    (*values)[o.name] = o.is_flag ? "false" : o.default_value;
    std::string& target = (*values)[o.name];
    if (o.is_flag) {
      cli.add_flag_callback(
             "--" + o.name, [&target] { target = "true"; }, o.help)
          ->group(group);
      continue;
    }
    CLI::Option* option = cli.add_option("--" + o.name, target, o.help)
                              ->type_name("VALUE")
                              ->default_str(o.default_value)
                              ->group(group);
    if (o.check) {
      AppDeclarations::Check check = o.check;
      option->check(CLI::Validator([check](std::string& v) { return check(v); }, ""));
    }
  }
}

Command parse(int argc, char** argv, Config* out, const AppDeclarations* declared) {
  Config c;  // every call starts from the defaults: a reload must not inherit old values
  io::WorkerConfig& w = c.worker;
  ParserLimits& limits = w.connection.parser;
  std::string log_level(kLogLevels[static_cast<int>(c.log_level)]);
  std::string log_format(kLogFormats[static_cast<int>(c.access_log_format)]);
  std::string signal;
  bool test_config = false;

  CLI::App app{kDescription, "zhttpd"};
  app.footer(kFooter);
  app.get_formatter()->column_width(42);
  app.allow_extras();  // reported below as one line
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

  app.set_help_flag("-h,--help", "print this help and exit");
  app.set_version_flag("--version", "zhttpd " + std::string(kVersion),
                       "print the version and exit");
  CLI::Option* config_option =
      app.set_config("--config", "", "read options from this INI/TOML file (keys as long options)");
  config_option->type_name("FILE");
  app.add_flag("-t,--test-config", test_config, "check the configuration and exit")
      ->configurable(false);
  app.add_option("-s,--signal", signal, "tell the running master to reload, quit, stop or reopen")
      ->type_name("SIGNAL")
      ->transform(one_of(kSignals))
      ->configurable(false);

  const std::string listening = "Listening";
  app.add_option("--listen", c.listen,
                 "address to listen on, HOST:PORT or [IPv6]:PORT (repeatable)")
      ->type_name("HOST:PORT")
      ->check(check_listen)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false)
      ->capture_default_str()
      ->group(listening);

  const std::string files = "Files";
  app.add_option("--root", c.files.root, "directory to serve")
      ->type_name("DIR")
      ->transform(existing_directory())
      ->capture_default_str()
      ->group(files);
  std::vector<std::string> vhosts;
  app.add_option("--vhost", vhosts,
                 "serve DIR to requests for host NAME ('*.example.com': any name below it); "
                 "other hosts get --root (repeatable)")
      ->type_name("NAME=DIR")
      ->check(check_vhost)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false)
      ->group(files);
  app.add_option("--index", c.files.index, "file served for a directory")
      ->type_name("NAME")
      ->transform(not_empty())
      ->capture_default_str()
      ->group(files);
  app.add_flag("--autoindex", c.files.autoindex,
               "list a directory that has no index file (HTML; JSON with ?format=json)")
      ->group(files);
  app.add_option("--mime-types", c.files.mime_types,
                 "mime.types file (extensions it lacks use a built-in table; \"\" for that only)")
      ->type_name("FILE")
      ->capture_default_str()
      ->group(files);
  app.add_option("--open-file-cache", c.files.open_file_cache.entries,
                 "open files kept per worker (0: open every file per request)")
      ->type_name("N")
      ->transform(whole_number(0, 1u << 20))
      ->capture_default_str()
      ->group(files);
  app.add_option("--open-file-cache-valid", c.files.open_file_cache.valid_seconds,
                 "seconds a kept file is served before its path is checked again")
      ->type_name("SECONDS")
      ->transform(whole_number(1, 86400))
      ->capture_default_str()
      ->group(files);

  std::string precompressed(handlers::static_site::kDefaultPrecompressed);
  app.add_option("--precompressed", precompressed,
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
      ->group(files);

  std::vector<std::string> error_pages;
  app.add_option("--error-page", error_pages,
                 "the file sent, with the status, for an error the file handler answers "
                 "(400, 403, 404, 405): 'CODE=/PATH' (repeatable)")
      ->type_name("CODE=/PATH")
      ->check(checked_by(handlers::static_site::parse_error_page))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false)
      ->group(files);
  app.add_option("--fallback", c.files.fallback,
                 "the file a GET or HEAD gets (200) when its path names no file and its last "
                 "segment has no extension: a single-page app's routes")
      ->type_name("/PATH")
      ->check([](const std::string& value) {
        std::string error;
        return handlers::static_site::check_site_path(value, &error) ? std::string() : error;
      })
      ->group(files);

  std::vector<std::string> cache_control;
  std::vector<std::string> add_header;
  app.add_option("--cache-control", cache_control,
                 "Cache-Control of the files whose path matches GLOB ('*' any bytes, '/' too): "
                 "'GLOB=VALUE' (repeatable, the first match wins)")
      ->type_name("GLOB=VALUE")
      ->check(checked_by(handlers::static_site::parse_cache_control_rule))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false)
      ->group(files);
  app.add_option("--add-header", add_header,
                 "a field for the files whose path matches GLOB: 'GLOB=Name: value' "
                 "(repeatable, every match adds its field)")
      ->type_name("GLOB=FIELD")
      ->check(checked_by(handlers::static_site::parse_add_header_rule))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false)
      ->group(files);

  const std::string processes = "Processes";
  app.add_option("--workers", c.workers, "worker processes: 1-256, or auto for one per core")
      ->type_name("N|auto")
      ->transform(workers_value())
      ->default_str("auto")
      ->group(processes);
  app.add_flag("--daemon", c.daemon, "fork into the background (default: stay in the foreground)")
      ->group(processes);
  app.add_option("--pid-file", c.pid_file, "write the master's pid to this file (default: none)")
      ->type_name("FILE")
      ->group(processes);
  app.add_option("--shm-name", c.shm_name,
                 "shared memory segment name (default: derived from --pid-file or --listen)")
      ->type_name("NAME")
      ->transform(shm_name())
      ->group(processes);
  app.add_option("--user", c.user, "drop privileges to this user after binding")
      ->type_name("USER")
      ->group(processes);
  app.add_option("--group", c.group, "group to drop to (default: the user's primary group)")
      ->type_name("GROUP")
      ->group(processes);

  const std::string logging = "Logging";
  app.add_option("--access-log", c.access_log, "access log file, or off")
      ->type_name("FILE|off")
      ->transform(not_empty())
      ->capture_default_str()
      ->group(logging);
  CLI::Option* access_log_format =
      app.add_option("--access-log-format", log_format,
                     "access log line: combined, vhost_combined (the host first) or extended "
                     "(combined, then the host and Content-Encoding quoted); default: combined, "
                     "vhost_combined with --vhost")
          ->type_name("FORMAT")
          ->transform(one_of(kLogFormats))
          ->group(logging);
  app.add_option("--error-log", c.error_log, "error log file, or stderr")
      ->type_name("FILE|stderr")
      ->transform(not_empty())
      ->capture_default_str()
      ->group(logging);
  app.add_option("--log-level", log_level,
                 "least severe error log level: debug, info, notice, warn, error, crit")
      ->type_name("LEVEL")
      ->transform(one_of(kLogLevels))
      ->capture_default_str()
      ->group(logging);

  app.add_option("--metrics-path", c.metrics_path,
                 "serve the Prometheus text of the statistics at this path (default: off)")
      ->type_name("PATH")
      ->check(metrics_path_value())
      ->group(logging);
  app.add_option("--metrics-allow", c.metrics_allow,
                 "client address allowed to read --metrics-path (repeatable; default: all)")
      ->type_name("ADDRESS")
      ->check(address_value())
      ->group(logging);

  const std::string limits_group = "Limits";
  app.add_option("--max-connections", w.max_connections, "open connections at most")
      ->type_name("N")
      ->transform(whole_number(1, 1000000))
      ->capture_default_str()
      ->group(limits_group);
  app.add_option("--max-body-bytes", w.connection.max_body_bytes, "largest request body (413)")
      ->type_name("BYTES")
      ->transform(whole_number(0, std::numeric_limits<uint64_t>::max()))
      ->capture_default_str()
      ->group(limits_group);
  app.add_option("--max-discard-bytes", w.connection.max_discard_bytes,
                 "largest request body read and thrown away when the handler takes none; "
                 "past it the connection closes after the answer")
      ->type_name("BYTES")
      ->transform(whole_number(0, std::numeric_limits<uint64_t>::max()))
      ->capture_default_str()
      ->group(limits_group);
  app.add_option("--max-header-bytes", limits.max_head_bytes,
                 "largest request head: request line and fields (431)")
      ->type_name("BYTES")
      ->transform(whole_number(256, 16384))
      ->capture_default_str()
      ->group(limits_group);
  app.add_option("--max-headers", limits.max_headers, "most header fields in a request (431)")
      ->type_name("N")
      ->transform(whole_number(1, 100))
      ->capture_default_str()
      ->group(limits_group);
  app.add_option("--max-target-bytes", limits.max_target_bytes, "longest request target (414)")
      ->type_name("BYTES")
      ->transform(whole_number(16, 8192))
      ->capture_default_str()
      ->group(limits_group);

  const std::string access = "Rate limits and client addresses";
  std::vector<std::string> limit_req;
  std::vector<std::string> limit_conn;
  std::vector<std::string> limit_req_allow;
  std::vector<std::string> real_ip_from;
  app.add_option("--limit-req", limit_req,
                 "limit requests per client: 'zone=NAME rate=N{r/s|r/m|r/h} [burst=B] "
                 "[nodelay|delay=D] [key=addr|addr/PREFIX|header:NAME] [path=PREFIX] "
                 "[size=SLOTS]' (repeatable)")
      ->type_name("RULE")
      ->check(check_limit_req)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false)
      ->group(access);
  app.add_option("--limit-conn", limit_conn,
                 "limit open connections per client: 'zone=NAME max=N [key=addr|addr/PREFIX] "
                 "[size=SLOTS]' (repeatable, at most 2); beyond: 503 and close")
      ->type_name("RULE")
      ->check(check_limit_conn)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false)
      ->group(access);
  app.add_option("--limit-req-status", c.access.limit_req_status,
                 "status of a request refused by --limit-req (400-599)")
      ->type_name("CODE")
      ->transform(whole_number(400, 599))
      ->capture_default_str()
      ->group(access);
  app.add_flag("--limit-req-dry-run", c.access.limit_req_dry_run,
               "count and log what --limit-req would refuse, refuse nothing")
      ->group(access);
  app.add_option("--limit-req-allow", limit_req_allow,
                 "client addresses never limited (repeatable)")
      ->type_name("CIDR")
      ->check(check_cidr)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false)
      ->group(access);
  app.add_flag("--limit-req-headers", c.access.limit_req_headers,
               "send RateLimit-Policy and RateLimit fields (IETF draft) on limited responses")
      ->group(access);
  app.add_option("--real-ip-from", real_ip_from,
                 "trusted proxy addresses whose --real-ip-header names the client (repeatable)")
      ->type_name("CIDR")
      ->check(check_cidr)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false)
      ->group(access);
  app.add_option("--real-ip-header", c.access.real_ip_header,
                 "the field trusted proxies name the client in, read right to left")
      ->type_name("NAME")
      ->check(check_field_name)
      ->capture_default_str()
      ->group(access);

  const std::string cache = "Shared response cache";
  std::vector<std::string> cache_purge_allow;
  app.add_option("--cache-size", c.cache.size_bytes,
                 "bytes of shared memory for cached responses, with k, m or g (0: no cache)")
      ->type_name("SIZE")
      ->transform(byte_size(0, uint64_t{1} << 40))
      ->default_str("64m")
      ->group(cache);
  app.add_option("--cache-max-entry", c.cache.max_entry,
                 "largest cached entry: key, stored head and body (1k-1m)")
      ->type_name("SIZE")
      ->transform(byte_size(1024, 1 << 20))
      ->default_str("16k")
      ->group(cache);
  app.add_option("--cache-lock-timeout", c.cache.lock_timeout_ms,
                 "milliseconds a request waits for another one filling its entry (or \"5s\")")
      ->type_name("MS")
      ->transform(milliseconds(1, 600000))
      ->capture_default_str()
      ->group(cache);
  app.add_option("--cache-max-stale", c.cache.max_stale_s,
                 "most seconds of stale-while-revalidate / stale-if-error honoured")
      ->type_name("SECONDS")
      ->transform(whole_number(0, 31536000))
      ->capture_default_str()
      ->group(cache);
  app.add_flag("--cache-authorization", c.cache.allow_authorization,
               "also cache answers to requests with Authorization (when the response allows)")
      ->group(cache);
  app.add_flag("--cache-cookie", c.cache.allow_cookie,
               "also cache answers to requests with a Cookie")
      ->group(cache);
  app.add_option("--cache-purge-allow", cache_purge_allow,
                 "client addresses allowed to send PURGE (repeatable; default: none)")
      ->type_name("CIDR")
      ->check(check_cidr)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false)
      ->group(cache);

  const std::string timeouts = "Timeouts";
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
        ->group(timeouts);
  }

  if (declared != nullptr) add_app_options(app, *declared, &c.app_options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    std::fflush(stdout);
    return exit_with(0);
  } catch (const CLI::CallForAllHelp&) {
    std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    std::fflush(stdout);
    return exit_with(0);
  } catch (const CLI::CallForVersion& e) {
    std::printf("%s\n", e.what());
    std::fflush(stdout);
    return exit_with(0);
  } catch (const CLI::ParseError& e) {
    if (app.get_help_ptr()->count() > 0) {  // --help wins over a bad value next to it
      std::fputs(app.help().c_str(), stdout);
      std::fflush(stdout);
      return exit_with(0);
    }
    std::string config_path;
    if (config_option->count() > 0) config_path = config_option->results().back();
    return bad_usage(describe(e, config_path, argc, argv));
  }

  std::vector<std::string> extras = app.remaining();
  if (!extras.empty()) {
    const std::string& arg = extras.front();
    std::string name = arg.substr(0, arg.find('='));
    if (arg == "--") {  // what follows "--" is no option
      return bad_usage("unexpected argument: " + shown(extras.size() > 1 ? extras[1] : arg));
    }
    if (name.size() > 1 && name.front() == '-' && name != "--") {
      return bad_usage(name + ": unknown option");
    }
    return bad_usage("unexpected argument: " + shown(arg));
  }

  if (test_config && !signal.empty()) {
    return bad_usage("--signal: cannot be combined with --test-config");
  }
  std::string error;
  if (!build_access(limit_req, limit_conn, limit_req_allow, real_ip_from, &c.access, &error) ||
      !parse_cidrs(cache_purge_allow, "--cache-purge-allow", &c.cache.purge_allow, &error) ||
      !check_cache_size(c.cache, &error)) {
    return bad_usage(error);
  }

  handlers::static_site::parse_coding_list(precompressed, &c.files.precompressed);
  c.files.error_pages = parse_checked(error_pages, handlers::static_site::parse_error_page);
  c.files.headers.cache_control =
      parse_checked(cache_control, handlers::static_site::parse_cache_control_rule);
  c.files.headers.add_header =
      parse_checked(add_header, handlers::static_site::parse_add_header_rule);
  if (!parse_vhosts(vhosts, &c.vhosts, &error)) return bad_usage(error);
  if (access_log_format->count() == 0 && !c.vhosts.empty()) log_format = "vhost_combined";
  for (size_t i = 0; i < std::size(kLogFormats); ++i) {
    if (log_format == kLogFormats[i]) c.access_log_format = static_cast<log::AccessLogFormat>(i);
  }

  for (size_t i = 0; i < std::size(kLogLevels); ++i) {
    if (log_level == kLogLevels[i]) c.log_level = static_cast<LogLevel>(i);
  }
  if (config_option->count() > 0) {
    std::filesystem::path path(config_option->results().back());
    std::error_code ec;
    std::filesystem::path absolute = std::filesystem::absolute(path, ec);
    c.config_file = ec ? path.string() : absolute.lexically_normal().string();
  }

  Command command;
  if (test_config) {
    command.kind = Command::Kind::kTestConfig;
  } else if (!signal.empty()) {
    command.kind = Command::Kind::kSignal;
    command.signal = signal;
  }
  *out = std::move(c);
  return command;
}

}  // namespace

Command parse_command_line(int argc, char** argv, Config* config, const AppDeclarations* app) {
  try {
    return parse(argc, argv, config, app);
  } catch (const std::exception& e) {
    return bad_usage(std::string("cannot parse the command line: ") + e.what());
  } catch (...) {
    return bad_usage("cannot parse the command line");
  }
}

}  // namespace zhttp::cli
