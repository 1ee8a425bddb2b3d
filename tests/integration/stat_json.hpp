#pragma once
// What build/zhttpstat --json says about a running server's shared segment, for tests that read
// its statistics and the application's counters.
#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "server_process.hpp"

namespace zhttp::test {

// zhttpstat --json of segment `shm_name`, parsed; an empty object (and a test failure) when it
// cannot be read.
inline nlohmann::json stat_json(const std::string& shm_name) {
  ProgramResult r =
      run_program({ZHTTP_BUILD_DIR "/zhttpstat", "--shm-name", shm_name, "--json"}, 10);
  EXPECT_TRUE(r.finished && exited_with(r.status, 0)) << describe_status(r.status) << r.err;
  try {
    return nlohmann::json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what() << ": " << r.out;
    return nlohmann::json::object();
  }
}

// A number under "totals": a server statistic, or an app counter by its name; 0 when absent.
inline uint64_t stat_total(const std::string& shm_name, std::string_view name) {
  nlohmann::json s = stat_json(shm_name);
  return s.contains("totals") ? s["totals"].value(std::string(name), uint64_t{0}) : 0;
}

}  // namespace zhttp::test
