#include "app/server_program.hpp"

#include "app/app_values.hpp"
#include "app/cache_region.hpp"
#include "app/config_check.hpp"
#include "app/limit_zones.hpp"
#include "app/upstream_region.hpp"
#include "app/worker_pipeline.hpp"

namespace zhttp::app {

ServerProgram::ServerProgram(cli::Config config, std::vector<std::string> argv, App* app,
                             AppDeclarations declared)
    : config_(std::move(config)),
      settings_(settings_of(config_)),
      argv_(std::move(argv)),
      app_(app),
      declared_(std::move(declared)) {}

proc::ProcessSettings ServerProgram::settings_of(const cli::Config& config) {
  proc::ProcessSettings s;
  s.listen = config.listen;
  s.workers = worker_count(config);
  s.pid_file = config.pid_file;
  s.shm_name = config.shm_name.empty()
                   ? shm::default_segment_name(config.pid_file, config.listen.front())
                   : config.shm_name;
  s.user = config.user;
  s.group = config.group;
  s.root = config.files.root;
  return s;
}

std::vector<shm::RegionRequest> ServerProgram::regions() const {
  std::vector<shm::RegionRequest> regions = limit_regions(config_.access);
  for (shm::RegionRequest& r : app_value_regions(declared_.values())) regions.push_back(r);
  for (shm::RegionRequest& r : cache_regions(config_.cache)) regions.push_back(r);
  for (shm::RegionRequest& r : upstream_regions(config_.proxy)) regions.push_back(r);
  return regions;
}

void ServerProgram::lay_out(shm::Segment& segment) {
  lay_out_limit_zones(segment, config_.access);
  lay_out_app_values(segment, declared_.values());
  lay_out_cache(segment, config_.cache);
  lay_out_upstreams(segment, config_.proxy);
}

bool ServerProgram::prepare_reload(shm::Segment& segment, proc::ProcessSettings* next,
                                   std::string* error) {
  pending_.reset();
  cli::Config fresh;
  std::vector<char*> args;
  for (std::string& a : argv_) args.push_back(a.data());
  args.push_back(nullptr);
  cli::Command command =
      cli::parse_command_line(static_cast<int>(argv_.size()), args.data(), &fresh, &declared_);
  if (command.kind != cli::Command::Kind::kServe) {
    *error = command.error.empty() ? "the command line asks for no server" : command.error;
    return false;
  }
  if (!validate_config(fresh, error) || !same_limit_zones(segment, fresh.access, error) ||
      !same_cache(segment, fresh.cache, error) || !upstreams_fit(segment, fresh.proxy, error)) {
    return false;
  }
  *next = settings_of(fresh);
  next->shm_name = settings_.shm_name;  // the segment stays
  pending_ = std::move(fresh);
  return true;
}

void ServerProgram::commit_reload(shm::Segment& segment, bool take) {
  if (take && pending_) {
    config_ = std::move(*pending_);
    std::string shm_name = settings_.shm_name;
    settings_ = settings_of(config_);
    settings_.shm_name = shm_name;
    describe_limit_zones(segment, config_.access);
    map_upstreams(segment, config_.proxy);  // before the new generation's workers start
  }
  pending_.reset();
}

void ServerProgram::maintain(shm::Segment& segment) {
  // Expired limiter words carry nothing; clearing them keeps a word untouched for months from
  // ever decoding as ahead again (shm/rate_table.hpp).
  sweep_limit_zones(segment);
}

int ServerProgram::run_worker(const proc::WorkerSetup& setup) {
  return serve_worker(config_, app_, setup);
}

}  // namespace zhttp::app
