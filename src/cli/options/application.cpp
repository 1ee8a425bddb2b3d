// Application: the options an embedding program declares (zhttp::AppDeclarations), shown last.
#include <CLI/CLI.hpp>
#include <functional>
#include <map>
#include <string>

#include "cli/options/groups.hpp"

namespace zhttp::cli::options {

// The application's options, into config.app_options (its defaults first).
Finish application(const Declaring& d) {
  if (d.declared == nullptr) return {};
  CLI::App& cli = d.app;
  std::map<std::string, std::string, std::less<>>& values = d.config.app_options;
  const std::string group = "Application";
  for (const AppDeclarations::Option& o : d.declared->options()) {
    values[o.name] = o.is_flag ? "false" : o.default_value;
    std::string& target = values[o.name];
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
  return {};
}

}  // namespace zhttp::cli::options
