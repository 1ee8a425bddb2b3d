#pragma once
// What the master runs, without knowing what it is (docs/design.md section 2): the process settings
// it needs itself, the segment's regions, and what a forked worker does. The application layer
// (src/app) implements it over the whole configuration and the embedder's handler.
#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "log/error_log.hpp"
#include "shm/segment.hpp"

namespace zhttp::proc {

// The part of the configuration the master acts on.
struct ProcessSettings {
  std::vector<std::string> listen;  // "HOST:PORT [proxy_protocol]", in the configuration's order
  uint32_t workers = 1;             // resolved: never 0
  std::string pid_file;             // "" = none
  std::string shm_name;             // resolved
  std::string user;                 // the workers drop to these after fork ("" = keep)
  std::string group;
  std::string root;  // for the banner only
};

// What a forked worker is given.
struct WorkerSetup {
  std::span<const int> listeners;  // in ProcessSettings::listen's order
  int orders_fd = -1;              // the master's orders (io::Worker::take_orders_from)
  uint32_t index = 0;              // 0 .. workers - 1
  uint32_t generation = 0;
  shm::Segment* segment = nullptr;
  int stats_slot = -1;  // -1: none
  log::ErrorLog* error_log = nullptr;
};

class Program {
 public:
  virtual ~Program() = default;
  virtual const ProcessSettings& settings() const = 0;
  // Regions of the segment besides the stats, and what goes in them once it exists (at start).
  virtual std::vector<shm::RegionRequest> regions() const = 0;
  virtual void lay_out(shm::Segment& segment) = 0;
  // SIGHUP: read and check the configuration again, keeping it pending; *next gets its
  // settings. False: nothing changes, *error says why.
  virtual bool prepare_reload(shm::Segment& segment, ProcessSettings* next, std::string* error) = 0;
  // The pending configuration becomes the current one (the new generation's workers are made
  // from it), or is dropped (`take` false: its sockets could not be bound).
  virtual void commit_reload(shm::Segment& segment, bool take) = 0;
  // Now and then (hourly), in the master.
  virtual void maintain(shm::Segment& segment) = 0;
  // In the worker process after fork (signals, descriptors and privileges are set up): serves
  // until ordered to stop; returns the exit code.
  virtual int run_worker(const WorkerSetup& setup) = 0;
};

}  // namespace zhttp::proc
