// The embedding application's declarations: its options on the command line and in the config
// file (defaults, values, flags, its check naming the option, its own --help group), and the
// names of its counters and gauges.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "app/app_values.hpp"
#include "cli/config.hpp"
#include "unit/support/test_files.hpp"
#include "zhttp/app.hpp"

namespace zhttp {
namespace {

using testing::internal::CaptureStderr;
using testing::internal::CaptureStdout;
using testing::internal::GetCapturedStderr;
using testing::internal::GetCapturedStdout;

AppDeclarations hello_declarations() {
  AppDeclarations d;
  d.option("greeting", "Hello", "the word to greet with", [](const std::string& v) {
    return v.empty() ? std::string("must not be empty") : std::string();
  });
  d.flag("shout", "greet in capitals");
  d.counter("greetings", "Greetings sent.");
  return d;
}

struct Parsed {
  cli::Command command;
  cli::Config config;
  std::string out;
  std::string err;
};

Parsed parse(std::vector<std::string> args) {
  AppDeclarations d = hello_declarations();
  args.insert(args.begin(), "hello");
  std::vector<char*> argv;
  for (std::string& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  Parsed p;
  CaptureStdout();
  CaptureStderr();
  p.command = cli::parse_command_line(static_cast<int>(args.size()), argv.data(), &p.config, &d);
  p.err = GetCapturedStderr();
  p.out = GetCapturedStdout();
  return p;
}

TEST(AppOptions, DefaultsWhenNotGiven) {
  Parsed p = parse({});
  ASSERT_EQ(p.command.kind, cli::Command::Kind::kServe) << p.err;
  EXPECT_EQ(p.config.app_options.at("greeting"), "Hello");
  EXPECT_EQ(p.config.app_options.at("shout"), "false");
}

TEST(AppOptions, ValuesFromTheCommandLine) {
  Parsed p = parse({"--greeting", "Hi", "--shout", "--workers", "3"});
  ASSERT_EQ(p.command.kind, cli::Command::Kind::kServe) << p.err;
  EXPECT_EQ(p.config.app_options.at("greeting"), "Hi");
  EXPECT_EQ(p.config.app_options.at("shout"), "true");
  EXPECT_EQ(p.config.workers, 3u);  // the server's own options still work alongside
  p = parse({"--greeting=Hey"});
  EXPECT_EQ(p.config.app_options.at("greeting"), "Hey");
}

TEST(AppOptions, ValuesFromTheConfigFileAndTheCommandLineWins) {
  test::TempFile file("greeting = \"Salut\"\nshout = true\n");
  Parsed p = parse({"--config", file.path()});
  ASSERT_EQ(p.command.kind, cli::Command::Kind::kServe) << p.err;
  EXPECT_EQ(p.config.app_options.at("greeting"), "Salut");
  EXPECT_EQ(p.config.app_options.at("shout"), "true");
  p = parse({"--config", file.path(), "--greeting", "Hi"});
  EXPECT_EQ(p.config.app_options.at("greeting"), "Hi");
}

TEST(AppOptions, ABadValueIsOneLineNamingTheOptionWithExitTwo) {
  Parsed p = parse({"--greeting", "", "-t"});
  EXPECT_EQ(p.command.kind, cli::Command::Kind::kExit);
  EXPECT_EQ(p.command.exit_code, 2);
  EXPECT_EQ(p.err, "zhttpd: --greeting: must not be empty\n");
  test::TempFile file("greeting = \"\"\n");
  p = parse({"--config", file.path()});
  EXPECT_EQ(p.command.exit_code, 2);
  EXPECT_NE(p.err.find("--greeting"), std::string::npos) << p.err;
}

TEST(AppOptions, HelpShowsThemInTheirOwnGroup) {
  Parsed p = parse({"--help"});
  EXPECT_EQ(p.command.exit_code, 0);
  size_t group = p.out.find("Application:");
  ASSERT_NE(group, std::string::npos) << p.out;
  EXPECT_NE(p.out.find("--greeting", group), std::string::npos);
  EXPECT_NE(p.out.find("--shout", group), std::string::npos);
}

TEST(AppOptions, WithoutDeclarationsTheyAreUnknown) {
  std::vector<std::string> args = {"zhttpd", "--greeting", "Hi"};
  std::vector<char*> argv;
  for (std::string& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  cli::Config config;
  CaptureStderr();
  cli::Command c = cli::parse_command_line(3, argv.data(), &config);
  std::string err = GetCapturedStderr();
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_NE(err.find("--greeting"), std::string::npos) << err;
}

TEST(AppValues, NamesAreCheckedUpFront) {
  auto one = [](std::string name) {
    return std::vector<AppDeclarations::Value>{{std::move(name), "help", false}};
  };
  EXPECT_EQ(app::check_app_values(one("greetings")), "");
  EXPECT_EQ(app::check_app_values(one("_x9")), "");
  EXPECT_NE(app::check_app_values(one("Greetings")), "");  // uppercase
  EXPECT_NE(app::check_app_values(one("9lives")), "");
  EXPECT_NE(app::check_app_values(one("")), "");
  EXPECT_NE(app::check_app_values(one(std::string(48, 'a'))), "");
  EXPECT_NE(app::check_app_values(one("requests")), "");            // a built-in counter
  EXPECT_NE(app::check_app_values(one("connections_active")), "");  // a built-in gauge
  std::vector<AppDeclarations::Value> twice = {{"a", "", false}, {"a", "", true}};
  EXPECT_NE(app::check_app_values(twice), "");
  std::vector<AppDeclarations::Value> many(65, {"x", "", false});
  for (size_t i = 0; i < many.size(); ++i) many[i].name = "v" + std::to_string(i);
  EXPECT_NE(app::check_app_values(many), "");
}

}  // namespace
}  // namespace zhttp
