#pragma once
// What the command line cannot check: the root opens, the user and group exist, the log files
// can be opened; and what is only worth a warning. For `-t`, at start and before a reload.
#include <string>
#include <vector>

#include "cli/config.hpp"

namespace zhttp::app {

// False with *error set.
bool validate_config(const cli::Config& config, std::string* error);

// The files --error-page and --fallback name, looked up beneath --root and each --vhost root as
// a request for them would be: one line for each that is not there, saying what happens
// instead. Warnings, not errors: a site is often deployed after its server starts.
std::vector<std::string> site_file_warnings(const cli::Config& config);

// Workers for a configuration: its --workers, or one per online core.
uint32_t worker_count(const cli::Config& config);

}  // namespace zhttp::app
