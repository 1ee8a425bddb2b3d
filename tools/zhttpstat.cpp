// zhttpstat: prints the statistics of a running zhttpd from its shared segment, which it maps
// read-only. A one-shot table (like varnishstat -1), JSON, the Prometheus text, or a live view.
//
// Exit codes: 0 ok, 1 other error, 2 bad usage, 3 no segment (zhttpd not running, or it stopped
// under -w), 4 permission denied, 5 not a zhttpd segment or another layout version, 6 not ready.
#include <sys/time.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "shm/prometheus.hpp"
#include "shm/segment.hpp"
#include "shm/segment_view.hpp"
#include "stat_live.hpp"
#include "stat_report.hpp"
#include "stat_segment.hpp"

namespace {

using namespace zhttp;

constexpr const char* kDefaultListen = "127.0.0.1:8080";  // zhttpd's default --listen

constexpr const char* kFooter =
    "The segment is the one of the zhttpd started with the same --shm-name, else with the same\n"
    "--pid-file, else whose first --listen was the same (default: 127.0.0.1:8080).\n"
    "\n"
    "Exit codes: 0 ok, 1 error, 2 bad usage, 3 no such segment (zhttpd is not running),\n"
    "4 permission denied, 5 not a zhttpd segment or another layout version, 6 not ready yet.";

double unix_now() {
  timeval tv{};
  ::gettimeofday(&tv, nullptr);
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

int fail(const std::string& message, int code) {
  std::fprintf(stderr, "%s\n", message.c_str());
  return code;
}

int run(int argc, char** argv) {
  CLI::App app("zhttpstat: statistics of a running zhttpd, read from its shared segment",
               "zhttpstat");
  app.footer(kFooter);
  app.set_version_flag("--version", ZHTTPD_VERSION);

  std::string shm_name, pid_file, listen;
  auto* by_name = app.add_option("--shm-name", shm_name, "the segment's name (zhttpd --shm-name)")
                      ->type_name("NAME");
  auto* by_pid = app.add_option("--pid-file", pid_file,
                                "find the segment of the zhttpd started with this --pid-file")
                     ->type_name("FILE");
  auto* by_listen =
      app.add_option("--listen", listen,
                     "find the segment of the zhttpd whose first --listen was this (no --pid-file)")
          ->type_name("HOST:PORT");
  by_name->excludes(by_pid)->excludes(by_listen);
  by_pid->excludes(by_listen);

  bool json = false, prometheus = false, list = false;
  double interval = 0;
  std::vector<std::string> patterns;
  auto* json_flag = app.add_flag("-j,--json", json, "print one JSON object");
  auto* prom_flag =
      app.add_flag("--prometheus", prometheus,
                   "print the Prometheus text format (totals, rate limits, cache, app values, "
                   "upstreams)");
  auto* watch = app.add_option("-w,--watch", interval, "live view, redrawn every SECONDS (q quits)")
                    ->type_name("SECONDS")
                    ->check(CLI::Range(0.05, 86400.0));
  auto* filter = app.add_option("-f,--field", patterns,
                                "only the fields matching GLOB (fnmatch), repeatable; see -l")
                     ->type_name("GLOB")
                     ->allow_extra_args(false);
  auto* list_flag = app.add_flag("-l,--list", list, "list the fields and exit");
  json_flag->excludes(prom_flag)->excludes(watch)->excludes(list_flag);
  prom_flag->excludes(watch)->excludes(filter)->excludes(list_flag);
  watch->excludes(list_flag);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // prints help, the version or the error
    return code == 0 ? stat::kExitOk : stat::kExitUsage;
  }

  if (list) {
    std::fputs(stat::format_field_list().c_str(), stdout);
    return stat::kExitOk;
  }
  stat::FieldFilter fields(patterns);
  if (std::string bad = fields.unmatched_pattern(); !bad.empty()) {
    return fail("zhttpstat: -f " + bad + " matches no field (zhttpstat -l lists them)",
                stat::kExitUsage);
  }

  std::string name = !shm_name.empty() ? shm_name
                                       : shm::default_segment_name(
                                             pid_file, listen.empty() ? kDefaultListen : listen);
  stat::Failure failure;
  std::unique_ptr<shm::SegmentView> segment = stat::open_segment(name, &failure);
  if (segment == nullptr) return fail(failure.message, failure.exit_code);

  if (interval > 0) return stat::run_live_view(std::move(segment), {interval, fields});

  auto snapshot = std::make_unique<shm::StatsSnapshot>();
  if (!shm::read_stats(segment->stats(), snapshot.get())) {
    return fail("zhttpstat: " + name + " kept changing while being read; try again",
                stat::kExitError);
  }
  auto limits = std::make_unique<shm::LimitsSnapshot>();
  auto app_values = std::make_unique<shm::AppValuesSnapshot>();
  shm::CacheSnapshot cache;
  if (!segment->read_limits(limits.get()) || !segment->read_app_values(app_values.get()) ||
      !segment->read_cache(&cache)) {
    return fail("zhttpstat: " + name + " kept changing while being read; try again",
                stat::kExitError);
  }
  const std::vector<shm::UpstreamRow> upstreams = segment->read_upstreams();
  if (prometheus) {
    std::vector<char> text(shm::kPrometheusMaxBytes + shm::kPrometheusLimitsMaxBytes +
                           shm::kPrometheusCacheMaxBytes + shm::kPrometheusAppMaxBytes);
    size_t n = shm::format_prometheus(segment->header(), *snapshot, text.data(), text.size());
    if (n > 0 && segment->limits() != nullptr) {
      size_t more = shm::format_prometheus_limits(*limits, text.data() + n, text.size() - n);
      n = more == 0 ? 0 : n + more;
    }
    if (n > 0 && segment->cache_counters() != nullptr) {
      size_t more = shm::format_prometheus_cache(cache, text.data() + n, text.size() - n);
      n = more == 0 ? 0 : n + more;
    }
    if (n > 0 && app_values->count > 0) {
      size_t more = shm::format_prometheus_app(*app_values, text.data() + n, text.size() - n);
      n = more == 0 ? 0 : n + more;
    }
    if (n > 0 && !upstreams.empty()) {
      text.resize(text.size() + shm::prometheus_upstreams_max_bytes(upstreams.size()));
      size_t more = shm::format_prometheus_upstreams(upstreams.data(), upstreams.size(),
                                                     text.data() + n, text.size() - n);
      n = more == 0 ? 0 : n + more;
    }
    if (n == 0) return fail("zhttpstat: the Prometheus text does not fit", stat::kExitError);
    std::fwrite(text.data(), 1, n, stdout);
  } else {
    stat::Report report{name,
                        &segment->header(),
                        snapshot.get(),
                        unix_now(),
                        fields,
                        limits.get(),
                        app_values.get(),
                        segment->cache_counters() != nullptr ? &cache : nullptr,
                        upstreams.empty() ? nullptr : &upstreams};
    std::string out = json ? stat::format_json(report) : stat::format_table(report);
    std::fputs(out.c_str(), stdout);
  }
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    return fail("zhttpstat: cannot write the output", stat::kExitError);
  }
  return stat::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "zhttpstat: %s\n", e.what());
    return zhttp::stat::kExitError;
  }
}
