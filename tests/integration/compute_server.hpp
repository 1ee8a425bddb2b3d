#pragma once
// build/examples/compute as the tests run it, and what its /compute bodies must be
// (examples/compute_handler.hpp): "key=K n=N\n" first, exactly L bytes, "crc=<CRC-32>\n" last.
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "server_process.hpp"

namespace zhttp::test {

// compute with `workers` workers, a segment of its own (what server.stats_json() reads, removed by
// finish()), its error log in the server's directory and `extra` options. Ready once every worker
// waits in its loop; no request is sent (the tests count computations and requests).
inline ServerOptions compute_options(const ServerProcess& server, int workers,
                                     const std::vector<std::string>& extra) {
  static int started = 0;
  const std::string shm =
      "zhttp-compute-" + std::to_string(::getpid()) + "-" + std::to_string(++started);
  std::vector<std::string> args = {
      "--listen",   "{address}", "--workers",   std::to_string(workers),
      "--shm-name", shm,         "--error-log", server.path("error.log")};
  args.insert(args.end(), extra.begin(), extra.end());
  ServerOptions o = ServerOptions::example("compute", args);
  o.banner = "zhttpd: serving ";
  o.ready = ServerOptions::Ready::kNone;
  o.workers_in_loop = static_cast<size_t>(workers);
  o.shm_name = shm;
  o.error_log = server.path("error.log");
  return o;
}

inline std::string compute_target(std::string_view key, int ms, int ttl, size_t len) {
  return "/compute?key=" + std::string(key) + "&ms=" + std::to_string(ms) +
         "&ttl=" + std::to_string(ttl) + "&len=" + std::to_string(len);
}

constexpr size_t kComputeCrcLine = 13;  // "crc=" 8 hex digits "\n"

// "" when `body` is a /compute body for `key` of `len` bytes whose CRC is right; else what is
// wrong with it.
inline std::string compute_body_error(std::string_view body, std::string_view key, size_t len) {
  if (body.size() != len) {
    return "length " + std::to_string(body.size()) + ", not " + std::to_string(len);
  }
  std::string prefix = "key=" + std::string(key) + " n=";
  if (body.substr(0, prefix.size()) != prefix) {
    return "starts with \"" + std::string(body.substr(0, 40)) + "\", not \"" + prefix + "\"";
  }
  if (len < kComputeCrcLine) return "too short for its crc line";
  std::string_view tail = body.substr(len - kComputeCrcLine);
  unsigned long crc = crc32_z(crc32_z(0, nullptr, 0), reinterpret_cast<const Bytef*>(body.data()),
                              len - kComputeCrcLine);
  char want[kComputeCrcLine + 1];
  std::snprintf(want, sizeof want, "crc=%08lx\n", crc);
  if (tail != want) return "ends with \"" + std::string(tail) + "\", not \"" + want + "\"";
  return "";
}

// The N of a body's "n=N" (0 when there is none).
inline uint64_t compute_n(std::string_view body) {
  size_t at = body.find(" n=");
  return at == std::string_view::npos
             ? 0
             : std::strtoull(std::string(body.substr(at + 3, 24)).c_str(), nullptr, 10);
}

// The 8 hex digits of a body's crc line ("" when too short).
inline std::string compute_crc(std::string_view body) {
  return body.size() < kComputeCrcLine ? "" : std::string(body.substr(body.size() - 9, 8));
}

}  // namespace zhttp::test
