#pragma once
// What zhttpstat prints from a snapshot: the fields (every counter and gauge of stats.hpp, by
// their kCounterNames / kGaugeNames names), the -f filter over them, and the one-shot table and
// JSON renderings, with the rate limiter's zones, the shared cache and the application's values.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "shm/app_counters.hpp"
#include "shm/cache_counters.hpp"
#include "shm/limits.hpp"
#include "shm/segment.hpp"
#include "shm/stats.hpp"
#include "shm/upstream_table.hpp"

namespace zhttp::stat {

enum class FieldKind { kCounter, kGauge };

struct Field {
  std::string_view name;
  FieldKind kind;
  size_t index;  // into Row::counters or Row::gauges
  std::string_view help;
};

// Counters, then gauges, in the order of stats.hpp.
const std::vector<Field>& all_fields();
uint64_t field_value(const shm::StatsSnapshot::Row& row, const Field& field);

// The JSON key of the latency histogram (the buckets of stats.hpp, not cumulative); -f selects
// it like a field.
inline constexpr std::string_view kLatencyBucketsName = "latency_buckets";

// -f GLOB, repeatable: a name is selected when it matches any pattern (fnmatch), or always when
// there is none.
class FieldFilter {
 public:
  FieldFilter() = default;
  explicit FieldFilter(std::vector<std::string> patterns) : patterns_(std::move(patterns)) {}

  bool selects(std::string_view name) const;
  bool empty() const { return patterns_.empty(); }
  // The first pattern that selects no field and not latency_buckets (a typo), or "" when none.
  std::string unmatched_pattern() const;
  std::vector<Field> fields() const;  // the selected ones, in all_fields() order

 private:
  std::vector<std::string> patterns_;
};

// Everything one rendering needs.
struct Report {
  std::string segment_name;
  const shm::SegmentHeader* header = nullptr;
  const shm::StatsSnapshot* snapshot = nullptr;
  double now = 0;  // unix seconds
  FieldFilter filter;
  const shm::LimitsSnapshot* limits = nullptr;               // null: no zone (as zone_count 0)
  const shm::AppValuesSnapshot* app = nullptr;               // null: no app value (as count 0)
  const shm::CacheSnapshot* cache = nullptr;                 // null: the server has no cache
  const std::vector<shm::UpstreamRow>* upstreams = nullptr;  // null: no upstream table
};

// varnishstat -1 style: a title line, then "name value avg/s description" per selected field
// (the average per second since the master started; "." for gauges), then, when the application
// declared values, a blank line, "app values" and one such line per value (-f does not apply),
// then, with a cache, a blank line, "cache" and format_cache_rows (-f does not apply either),
// then a blank line and one row per worker (identity columns, then the selected fields, by default
// a few main ones), then, when there are zones, a blank line, "rate limits" and format_limits_rows,
// then, with an upstream table, a blank line, "upstreams" and format_upstream_rows.
std::string format_table(const Report& report);

// The upstreams table, header first, columns aligned: group, server, state, in_flight,
// requests, 2xx, 3xx, 4xx, 5xx, conn_errors, errors, timeouts, retries, reused, new. A line
// saying there is none when `rows` is empty.
std::vector<std::string> format_upstream_rows(const std::vector<shm::UpstreamRow>& rows);

// The rate limits table, header first, columns aligned: zone, passed, delayed, rejected,
// dry_run_rejected, entries/slots ("3/1024"), evictions, cas_retries. Empty without zones.
std::vector<std::string> format_limits_rows(const shm::LimitsSnapshot& limits);

// One JSON object on one line: version (of this format, 1), timestamp (unix seconds), segment,
// layout_version, master_pid, start_time, generation, worker_count, then "totals" (field name:
// number, and latency_buckets, then each app value by its own name, which -f does not filter),
// "retired" (the part of the totals from workers that exited:
// counters and latency_buckets) and "workers" (index, pid, generation, respawns, start_time and
// the fields of each worker in use). totals = retired + the sum of the workers. Then "limits",
// always (-f does not apply): one object per zone, [{"zone": name, "passed", "delayed",
// "rejected", "dry_run_rejected", "entries", "evictions", "slots", "inserts", "cas_retries",
// "refunds"}, ...], [] without zones. "cache" comes before "limits", only when the server has a
// cache (-f does not apply): {"lookups", "hits", "stale_hits", "misses", "bypasses", "stores",
// "too_big", "evictions", "torn_reads", "coalesced_waits", "lock_timeouts", "purges",
// "crash_resets", "uncacheable", "lease_waits" (the counters, totals over every worker ever),
// "entries" (live now), "slots", "bytes"}. "upstreams" comes last, only when the server has an
// upstream table (-f does not apply):
// one object per server of the proxy's groups, [{"group", "server", "state" ("up", "down",
// "checking"), "backup", "weight", "max_conns", "in_flight", "requests", "responses": {"1xx"
// .. "5xx"}, "connect_errors", "errors", "timeouts", "retries", "abandoned",
// "reused_connections", "new_connections", "fails" (failures counted for health, ever),
// "downs" (times they took it out), "checks_passed", "checks_failed"}, ...].
std::string format_json(const Report& report);

// "name  value  avg/s  help" lines of the cache's counters, then its store's figures (the rate
// "." for those), for the table.
std::vector<std::string> format_cache_rows(const shm::CacheSnapshot& cache, double seconds);

// "name  value  avg/s  help" lines of the app values (the rate "." for gauges), for the table.
std::vector<std::string> format_app_rows(const shm::AppValuesSnapshot& app, double seconds);

// "field  description" lines, for --list.
std::string format_field_list();

// Seconds as "3d 04:05:06" / "04:05:06".
std::string format_duration(int64_t seconds);

}  // namespace zhttp::stat
