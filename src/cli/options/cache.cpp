// Shared response cache: its size in shared memory, what it keeps, and who may purge it.
#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "cli/option_checks.hpp"
#include "cli/options/groups.hpp"
#include "handlers/cache/cache_options.hpp"
#include "shm/cache_store.hpp"

namespace zhttp::cli::options {
namespace {

// --cache-size against the smallest store --cache-max-entry allows (0 is no cache). False with
// *error.
bool check_cache_size(const handlers::cache::CacheOptions& cache, std::string* error) {
  const uint64_t least =
      shm::CacheStore::bytes_for(shm::CacheGeometry::for_max_entry(cache.max_entry), 1);
  if (!cache.enabled() || cache.size_bytes >= least) return true;
  const uint64_t least_k = (least + 1023) / 1024;
  *error = "--cache-size: value " + bytes_text(cache.size_bytes) + " is below the " +
           std::to_string(least_k) + "k a cache of --cache-max-entry " +
           bytes_text(cache.max_entry) + " needs (0 turns the cache off)";
  return false;
}

}  // namespace

Finish cache(const Declaring& d) {
  CLI::App& app = d.app;
  Config& c = d.config;
  auto purge_allow = std::make_shared<std::vector<std::string>>();
  const std::string group = "Shared response cache";
  app.add_option("--cache-size", c.cache.size_bytes,
                 "bytes of shared memory for cached responses, with k, m or g (0: no cache)")
      ->type_name("SIZE")
      ->transform(byte_size(0, uint64_t{1} << 40))
      ->default_str("64m")
      ->group(group);
  app.add_option("--cache-max-entry", c.cache.max_entry,
                 "largest cached entry: key, stored head and body (1k-1m)")
      ->type_name("SIZE")
      ->transform(byte_size(1024, 1 << 20))
      ->default_str("16k")
      ->group(group);
  app.add_option("--cache-lock-timeout", c.cache.lock_timeout_ms,
                 "milliseconds a request waits for another one filling its entry (or \"5s\")")
      ->type_name("MS")
      ->transform(milliseconds(1, 600000))
      ->capture_default_str()
      ->group(group);
  app.add_option("--cache-max-stale", c.cache.max_stale_s,
                 "most seconds of stale-while-revalidate / stale-if-error honoured")
      ->type_name("SECONDS")
      ->transform(whole_number(0, 31536000))
      ->capture_default_str()
      ->group(group);
  app.add_flag("--cache-authorization", c.cache.allow_authorization,
               "also cache answers to requests with Authorization (when the response allows)")
      ->group(group);
  app.add_flag("--cache-cookie", c.cache.allow_cookie,
               "also cache answers to requests with a Cookie")
      ->group(group);
  app.add_option("--cache-purge-allow", *purge_allow,
                 "client addresses allowed to send PURGE (repeatable; default: none)")
      ->type_name("CIDR")
      ->check(checked_by(handlers::common::parse_cidr))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false)
      ->group(group);
  return [purge_allow](Config& config) {
    std::string error;
    if (!parse_cidrs(*purge_allow, "--cache-purge-allow", &config.cache.purge_allow, &error) ||
        !check_cache_size(config.cache, &error)) {
      return error;
    }
    return std::string();
  };
}

}  // namespace zhttp::cli::options
