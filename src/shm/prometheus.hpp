#pragma once
// The totals of a stats snapshot in the Prometheus text exposition format, version 0.0.4
// (Content-Type: text/plain; version=0.0.4), for zhttpstat --prometheus and a /metrics handler.
//
// format_prometheus allocates nothing, takes no lock and makes no system call: numbers are
// formatted by hand into the caller's bytes, so a worker may call it on the request path with a
// StatsSnapshot it keeps (read_stats fills one without allocating either). The output is about
// 5 KB; kPrometheusMaxBytes is always enough.
//
// Families, in this order:
//   zhttpd_<counter>_total                counter, one per kCounterNames entry but latency_sum_us
//   zhttpd_<gauge>                        gauge, one per kGaugeNames entry (summed over workers)
//   zhttpd_workers                        gauge, the header's worker_count (current generation)
//   zhttpd_generation                     gauge, the header's generation
//   zhttpd_start_time_seconds             gauge, the master's start, seconds since the epoch
//   zhttpd_request_duration_seconds       histogram over the log2 latency buckets: bucket i
//     counts latencies < 2^i us, so le="2^i/1e6" (0.000001 ... 4.194304) for every bucket but
//     the last, which holds everything longer and appears only in le="+Inf"; _sum is
//     latency_sum_us / 1e6 and _count the sum of the buckets (requests that reached a handler:
//     requests refused by the parser are not timed).
//
// format_prometheus_limits, the rate limiter's zones (limits.hpp), is appended after it by its
// callers (only when the segment has a limits region). Same rules: allocates nothing. Families,
// in this order, each declared once (# HELP, # TYPE), then one sample per zone in zone order:
//   zhttpd_limit_requests_total{zone,result}  counter, result = passed, delayed, rejected,
//                                             dry_run_rejected (4 samples per zone)
//   zhttpd_limit_connections_total{zone,result}  counter, result = passed, rejected: the
//                                             --limit-conn zones (only when there are some;
//                                             they have no requests_total samples)
//   zhttpd_limit_entries{zone}                gauge, live keys of the zone's table
//   zhttpd_limit_slots{zone}                  gauge, words of the zone's table
//   zhttpd_limit_evictions_total{zone}        counter
//   zhttpd_limit_cas_retries_total{zone}      counter
// Without zones the five families are still declared, with no sample (so the output is never
// empty and 0 always means "does not fit").
//
// format_prometheus_cache, the shared cache (cache_counters.hpp), is appended after those (only
// when the segment has a cache). Same rules. Families, in this order:
//   zhttpd_cache_<name>_total              counter, one per kCacheCounterFields entry shown
//                                          (lookups, hits, stale_hits, misses, bypasses...)
//   zhttpd_cache_entries                   gauge, live entries (fresh or stale) now
//   zhttpd_cache_slots                     gauge, entry slots of every size class
//   zhttpd_cache_bytes                     gauge, the cache region's bytes (--cache-size)
//
// format_prometheus_app, the application's values (app_counters.hpp), is appended after those
// (only when the segment has at least one app value). Same rules. One family per value, in
// declaration order, with its declared help text (backslash and newline escaped):
//   zhttpd_app_<name>_total                counter
//   zhttpd_app_<name>                      gauge (may be negative)
//
// format_prometheus_upstreams, the reverse proxy's servers (upstream_table.hpp), is appended
// last (only when the segment has an upstream table). Same rules. Each family declared once,
// then one sample per server (labels group="...",server="...", in slot order):
//   zhttpd_upstream_requests_total            counter, attempts sent to the server
//   zhttpd_upstream_responses_total{class}    counter, class = 1xx .. 5xx (5 samples)
//   zhttpd_upstream_connect_errors_total      counter
//   zhttpd_upstream_timeouts_total            counter
//   zhttpd_upstream_errors_total              counter, resets, premature closes, bad heads
//   zhttpd_upstream_retries_total             counter
//   zhttpd_upstream_connections_total{reused} counter, reused = true, false
//   zhttpd_upstream_downs_total               counter, times failures took it out
//   zhttpd_upstream_checks_total{result}      counter, result = passed, failed
//   zhttpd_upstream_in_flight                 gauge, attempts in flight from every worker
//   zhttpd_upstream_up                        gauge, 1 up (or checking, used meanwhile), 0 down
#include <cstddef>
#include <string_view>

#include "shm/app_counters.hpp"
#include "shm/cache_counters.hpp"
#include "shm/limits.hpp"
#include "shm/segment.hpp"
#include "shm/stats.hpp"
#include "shm/upstream_table.hpp"

namespace zhttp::shm {

// One line per counter and gauge: the # HELP text, and the description column of zhttpstat.
inline constexpr std::string_view kCounterHelp[] = {
    "Connections accepted.",
    "Requests read and answered (a head was parsed).",
    "Requests after the first on their keep-alive connection.",
    "Bytes read from clients.",
    "Bytes written to clients.",
    "Responses with a 1xx status.",
    "Responses with a 2xx status.",
    "Responses with a 3xx status.",
    "Responses with a 4xx status.",
    "Responses with a 5xx status.",
    "Responses with status 200.",
    "Responses with status 206.",
    "Responses with status 304.",
    "Responses with status 400.",
    "Responses with status 404.",
    "Responses with status 408.",
    "Responses with status 413.",
    "Responses with status 429.",
    "Responses with status 431.",
    "Requests refused before a handler saw them (400, 413, 414, 431, 501, 505...).",
    "Connections closed by a timeout (408 sent, idle or stalled).",
    "Sum of the request latencies, microseconds.",
};
static_assert(std::size(kCounterHelp) == static_cast<size_t>(Counter::kCount));

inline constexpr std::string_view kGaugeHelp[] = {
    "Open connections.",
    "Open connections idle between keep-alive requests.",
};
static_assert(std::size(kGaugeHelp) == static_cast<size_t>(Gauge::kCount));

// Always enough room for format_prometheus's output.
inline constexpr size_t kPrometheusMaxBytes = 16 * 1024;

// Writes the exposition of `snapshot.totals` (and of the header's generation, worker count and
// start time) into out[0, cap) and returns the number of bytes written, or 0 when they do not fit
// (out's content is then unspecified). No terminating NUL. Allocates nothing.
size_t format_prometheus(const SegmentHeader& header, const StatsSnapshot& snapshot, char* out,
                         size_t cap);

// Always enough room for format_prometheus_limits's output with kMaxZones zones (names of
// kZoneNameBytes characters, all escaped, and 20-digit values: under 1100 bytes a zone).
inline constexpr size_t kPrometheusLimitsMaxBytes = 2 * 1024 + kMaxZones * 1152;

// Writes the exposition of `limits` into out[0, cap) and returns the number of bytes written, or
// 0 when they do not fit. No terminating NUL. Allocates nothing.
size_t format_prometheus_limits(const LimitsSnapshot& limits, char* out, size_t cap);

// Always enough room for format_prometheus_cache's output (18 families of a help text under 100
// bytes and a 20-digit value: under 300 bytes each).
inline constexpr size_t kPrometheusCacheMaxBytes = 8 * 1024;

// Writes the exposition of `cache` into out[0, cap) and returns the number of bytes written, or 0
// when they do not fit. No terminating NUL. Allocates nothing.
size_t format_prometheus_cache(const CacheSnapshot& cache, char* out, size_t cap);

// Always enough room for format_prometheus_app's output with kMaxAppValues values (names of
// kAppNameBytes - 1 characters, help texts of kAppHelpBytes - 1 all escaped, 20-character
// values: under 500 bytes a value).
inline constexpr size_t kPrometheusAppMaxBytes = kMaxAppValues * 512;

// Writes the exposition of `app` into out[0, cap) and returns the number of bytes written, or 0
// when they do not fit or there is no value. No terminating NUL. Allocates nothing.
size_t format_prometheus_app(const AppValuesSnapshot& app, char* out, size_t cap);

}  // namespace zhttp::shm

namespace zhttp::shm {

// Always enough room for format_prometheus_upstreams's output: the families' lines, and per
// server 17 samples of labels all escaped (group and address twice their limits) and 20-digit
// values: under 8 KiB a server.
inline constexpr size_t kPrometheusUpstreamFamiliesBytes = 4 * 1024;
inline constexpr size_t kPrometheusUpstreamServerBytes = 8 * 1024;
constexpr size_t prometheus_upstreams_max_bytes(size_t servers) {
  return kPrometheusUpstreamFamiliesBytes + servers * kPrometheusUpstreamServerBytes;
}

// Writes the exposition of `rows` (read_upstreams) into out[0, cap) and returns the number of
// bytes written, or 0 when they do not fit. No terminating NUL. Allocates nothing.
size_t format_prometheus_upstreams(const UpstreamRow* rows, size_t count, char* out, size_t cap);

}  // namespace zhttp::shm
