#pragma once
// Everything the command line (and its config file) decides, as one value.
#include <string>
#include <vector>

#include "handlers/static_files.hpp"
#include "io/worker.hpp"

namespace zhttp::cli {

struct Config {
  std::vector<std::string> listen = {"127.0.0.1:8080"};
  handlers::StaticFilesOptions files;
  io::WorkerConfig worker;
};

// Parses argv. On --help, or on an error (printed with the usage hint), returns false and sets
// *exit_code (0 for --help, non-zero otherwise).
bool parse_command_line(int argc, char** argv, Config* config, int* exit_code);

}  // namespace zhttp::cli
