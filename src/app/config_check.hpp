#pragma once
// What the command line cannot check: the root opens, the user and group exist, the log files
// can be opened. For `-t`, at start and before a reload.
#include <string>

#include "cli/config.hpp"

namespace zhttp::app {

// False with *error set.
bool validate_config(const cli::Config& config, std::string* error);

// Workers for a configuration: its --workers, or one per online core.
uint32_t worker_count(const cli::Config& config);

}  // namespace zhttp::app
