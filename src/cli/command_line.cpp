// The zhttpd command line and its config file (CLI11), into one Config value: the driver. Each
// option group (options/groups.hpp) declares, checks and documents its own options; this file
// builds the CLI::App around them, with --config, -t and -s, and turns CLI11's errors into one
// line.
//
// Every call builds its own CLI::App over a fresh Config and touches no global state, so the master
// can parse the same argv again on reload (which reads the config file again).
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "cli/config.hpp"
#include "cli/option_checks.hpp"
#include "cli/options/groups.hpp"
#include "cli/version.hpp"
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

Command parse(int argc, char** argv, Config* out, const AppDeclarations* declared) {
  Config c;  // every call starts from the defaults: a reload must not inherit old values
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

  std::vector<options::Finish> finishes;
  for (const auto group : options::kGroups) finishes.push_back(group({app, c, declared}));

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
  for (const options::Finish& finish : finishes) {
    if (!finish) continue;
    std::string error = finish(c);
    if (!error.empty()) return bad_usage(error);
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
