#pragma once
// Runs cli::parse_command_line over "zhttpd" and some arguments, with what it prints captured:
// for the command-line tests of every option group.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "cli/config.hpp"

namespace zhttp::cli {

struct Parsed {
  Command command;
  Config config;
  std::string out;
  std::string err;
};

// `config`: what parsing starts from (a reload parses into a fresh Config).
inline Parsed parse(const std::vector<std::string>& args, Config config = {}) {
  std::vector<std::string> storage = {"zhttpd"};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  Parsed p;
  p.config = std::move(config);
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  p.command = parse_command_line(static_cast<int>(storage.size()), argv.data(), &p.config);
  p.err = testing::internal::GetCapturedStderr();
  p.out = testing::internal::GetCapturedStdout();
  return p;
}

}  // namespace zhttp::cli
