#pragma once
// The program the master runs (proc::Program) for zhttpd and for every embedder: the whole
// configuration from the command line and config file (read again on reload), the segment's
// regions for the limiter, the application's values and the shared cache, and the worker
// pipeline.
#include <optional>
#include <string>
#include <vector>

#include "cli/config.hpp"
#include "proc/program.hpp"
#include "zhttp/app.hpp"

namespace zhttp::app {

class ServerProgram : public proc::Program {
 public:
  // `config` is argv already parsed (with `declared`); argv is parsed again on reload.
  ServerProgram(cli::Config config, std::vector<std::string> argv, App* app,
                AppDeclarations declared);

  const proc::ProcessSettings& settings() const override { return settings_; }
  std::vector<shm::RegionRequest> regions() const override;
  void lay_out(shm::Segment& segment) override;
  bool prepare_reload(shm::Segment& segment, proc::ProcessSettings* next,
                      std::string* error) override;
  void commit_reload(shm::Segment& segment, bool take) override;
  void maintain(shm::Segment& segment) override;
  int run_worker(const proc::WorkerSetup& setup) override;

  // What the master needs of a configuration.
  static proc::ProcessSettings settings_of(const cli::Config& config);

 private:
  cli::Config config_;
  proc::ProcessSettings settings_;
  std::optional<cli::Config> pending_;
  std::vector<std::string> argv_;
  App* app_;
  AppDeclarations declared_;
};

}  // namespace zhttp::app
