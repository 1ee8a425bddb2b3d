#pragma once
// The option groups of the command line. Each file options/GROUP.cpp declares its options onto the
// CLI::App with their checks and help texts, and builds its part of the Config once argv and the
// config file are parsed: everything about an option is in its group's file.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "cli/config.hpp"
#include "zhttp/app.hpp"

namespace zhttp::cli::options {

// Where a group declares its options.
struct Declaring {
  CLI::App& app;
  Config& config;                   // the defaults; options bound to it are parsed into it
  const AppDeclarations* declared;  // the embedding program's options (null: none)
};

// What a group does after parsing: builds its part of `config` from the texts it kept, and returns
// why they are refused ("" when they are not). The groups' Finish run in the list's order, so one
// may read the Config parts of the groups before it, and the first refusal is the one reported.
// Empty when every option is bound to the Config.
using Finish = std::function<std::string(Config& config)>;

// The groups, in --help order (CLI11 shows a group where its first option is declared): a new
// group is its file and one line here, GROUP naming both the file and its function.
#define ZHTTP_CLI_OPTION_GROUPS(GROUP) \
  GROUP(listening)                     \
  GROUP(static_site)                   \
  GROUP(processes)                     \
  GROUP(logging)                       \
  GROUP(metrics)                       \
  GROUP(limits)                        \
  GROUP(access)                        \
  GROUP(cache)                         \
  GROUP(proxy)                         \
  GROUP(timeouts)                      \
  GROUP(application)

#define ZHTTP_CLI_DECLARE_GROUP(group) Finish group(const Declaring& d);
ZHTTP_CLI_OPTION_GROUPS(ZHTTP_CLI_DECLARE_GROUP)
#undef ZHTTP_CLI_DECLARE_GROUP

#define ZHTTP_CLI_LIST_GROUP(group) &group,
inline constexpr Finish (*const kGroups[])(const Declaring&) = {
    ZHTTP_CLI_OPTION_GROUPS(ZHTTP_CLI_LIST_GROUP)};
#undef ZHTTP_CLI_LIST_GROUP

}  // namespace zhttp::cli::options
