#include "stat_report.hpp"

#include <fmt/format.h>
#include <fnmatch.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "shm/prometheus.hpp"

namespace zhttp::stat {
namespace {

using Row = shm::StatsSnapshot::Row;
using Json = nlohmann::ordered_json;

// The worker columns of the table when no -f is given.
constexpr std::string_view kDefaultWorkerFields[] = {"requests",           "connections_accepted",
                                                     "connections_active", "connections_idle",
                                                     "bytes_in",           "bytes_out"};

std::string master_state(int64_t pid) {
  if (pid <= 0) return "";
  if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) return "";
  return " (not running)";
}

// retired = totals - the workers in use (exact: totals is their sum). Counters and latency only.
Row retired_part(const shm::StatsSnapshot& s) {
  Row r = s.totals;
  for (size_t w = 0; w < s.worker_count; ++w) {
    for (size_t i = 0; i < std::size(r.counters); ++i) r.counters[i] -= s.workers[w].counters[i];
    for (size_t i = 0; i < shm::kLatencyBuckets; ++i) r.latency[i] -= s.workers[w].latency[i];
  }
  return r;
}

void put_fields(Json& out, const Row& row, const std::vector<Field>& fields, bool latency,
                bool counters_only = false) {
  for (const Field& f : fields) {
    if (counters_only && f.kind != FieldKind::kCounter) continue;
    out[std::string(f.name)] = field_value(row, f);
  }
  if (latency) {
    Json buckets = Json::array();
    for (uint64_t b : row.latency) buckets.push_back(b);
    out[std::string(kLatencyBucketsName)] = std::move(buckets);
  }
}

// The lines of a table of cells, columns two spaces apart: the first left-aligned, the others
// right-aligned.
std::vector<std::string> aligned(const std::vector<std::vector<std::string>>& table) {
  std::vector<size_t> width;
  for (const auto& row : table) {
    width.resize(std::max(width.size(), row.size()), 0);
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::vector<std::string> lines;
  for (const auto& row : table) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      if (c > 0) line += "  ";
      line += c == 0 ? fmt::format("{:<{}}", row[c], width[c])
                     : fmt::format("{:>{}}", row[c], width[c]);
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

// The "upstreams" array: one object per server.
Json upstreams_json(const std::vector<shm::UpstreamRow>& rows) {
  Json upstreams = Json::array();
  for (const shm::UpstreamRow& r : rows) {
    Json responses = Json::object();
    for (size_t c = 0; c < 5; ++c) responses[fmt::format("{}xx", c + 1)] = r.responses[c];
    upstreams.push_back({{"group", r.group},
                         {"server", r.server},
                         {"state", shm::state_name(r.state)},
                         {"backup", r.backup},
                         {"weight", r.weight},
                         {"max_conns", r.max_conns},
                         {"in_flight", r.in_flight},
                         {"requests", r.requests},
                         {"responses", std::move(responses)},
                         {"connect_errors", r.connect_errors},
                         {"errors", r.errors},
                         {"timeouts", r.timeouts},
                         {"retries", r.retries},
                         {"abandoned", r.abandoned},
                         {"reused_connections", r.reused_connections},
                         {"new_connections", r.new_connections},
                         {"fails", r.fails},
                         {"downs", r.downs},
                         {"checks_passed", r.checks_passed},
                         {"checks_failed", r.checks_failed}});
  }
  return upstreams;
}

}  // namespace

const std::vector<Field>& all_fields() {
  static const std::vector<Field> fields = [] {
    std::vector<Field> v;
    for (size_t i = 0; i < std::size(shm::kCounterNames); ++i) {
      v.push_back({shm::kCounterNames[i], FieldKind::kCounter, i, shm::kCounterHelp[i]});
    }
    for (size_t i = 0; i < std::size(shm::kGaugeNames); ++i) {
      v.push_back({shm::kGaugeNames[i], FieldKind::kGauge, i, shm::kGaugeHelp[i]});
    }
    return v;
  }();
  return fields;
}

uint64_t field_value(const Row& row, const Field& field) {
  return field.kind == FieldKind::kCounter ? row.counters[field.index] : row.gauges[field.index];
}

bool FieldFilter::selects(std::string_view name) const {
  if (patterns_.empty()) return true;
  std::string n(name);
  return std::any_of(patterns_.begin(), patterns_.end(),
                     [&](const std::string& p) { return ::fnmatch(p.c_str(), n.c_str(), 0) == 0; });
}

std::string FieldFilter::unmatched_pattern() const {
  for (const std::string& p : patterns_) {
    FieldFilter one({p});
    bool used = one.selects(kLatencyBucketsName);
    for (const Field& f : all_fields()) used = used || one.selects(f.name);
    if (!used) return p;
  }
  return "";
}

std::vector<Field> FieldFilter::fields() const {
  std::vector<Field> out;
  for (const Field& f : all_fields()) {
    if (selects(f.name)) out.push_back(f);
  }
  return out;
}

std::string format_duration(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  int64_t days = seconds / 86400;
  std::string hms =
      fmt::format("{:02}:{:02}:{:02}", seconds / 3600 % 24, seconds / 60 % 60, seconds % 60);
  return days > 0 ? fmt::format("{}d {}", days, hms) : hms;
}

std::string format_table(const Report& report) {
  const shm::SegmentHeader& h = *report.header;
  const shm::StatsSnapshot& s = *report.snapshot;
  auto now = static_cast<int64_t>(report.now);
  int64_t uptime = now - h.start_time;
  std::string out = fmt::format(
      "{}: master {}{}, generation {}, {} workers, up {}\n", report.segment_name, h.master_pid,
      master_state(h.master_pid), h.generation.load(std::memory_order_relaxed),
      h.worker_count.load(std::memory_order_relaxed), format_duration(uptime));

  std::vector<Field> fields = report.filter.fields();
  double seconds = static_cast<double>(std::max<int64_t>(uptime, 1));
  for (const Field& f : fields) {
    uint64_t v = field_value(s.totals, f);
    std::string rate = f.kind == FieldKind::kCounter
                           ? fmt::format("{:.2f}", static_cast<double>(v) / seconds)
                           : std::string(".");
    out += fmt::format("{:<24} {:>20} {:>14}  {}\n", f.name, v, rate, f.help);
  }
  if (report.app != nullptr && report.app->count > 0) {
    out += "\napp values\n";
    for (const std::string& line : format_app_rows(*report.app, seconds)) out += line + "\n";
  }
  if (report.cache != nullptr) {
    out += "\ncache\n";
    for (const std::string& line : format_cache_rows(*report.cache, seconds)) out += line + "\n";
  }

  std::vector<Field> columns;
  if (report.filter.empty()) {
    for (std::string_view name : kDefaultWorkerFields) {
      for (const Field& f : all_fields()) {
        if (f.name == name) columns.push_back(f);
      }
    }
  } else {
    columns = fields;
  }
  // Cells first, to size the columns.
  std::vector<std::vector<std::string>> table;
  std::vector<std::string> head = {"worker", "pid", "generation", "respawns", "uptime"};
  for (const Field& f : columns) head.emplace_back(f.name);
  table.push_back(head);
  for (size_t w = 0; w < s.worker_count; ++w) {
    const Row& r = s.workers[w];
    std::vector<std::string> row = {
        fmt::format("{}", r.worker_index), fmt::format("{}", r.pid),
        fmt::format("{}", r.generation), fmt::format("{}", r.respawns),
        r.start_time > 0 ? format_duration(now - r.start_time) : std::string("-")};
    for (const Field& f : columns) row.push_back(fmt::format("{}", field_value(r, f)));
    table.push_back(std::move(row));
  }
  out += "\n";
  for (const std::string& line : aligned(table)) out += line + "\n";
  if (s.worker_count == 0) out += "(no worker running)\n";

  if (report.limits != nullptr && report.limits->zone_count > 0) {
    out += "\nrate limits\n";
    for (const std::string& line : format_limits_rows(*report.limits)) out += line + "\n";
  }
  if (report.upstreams != nullptr) {
    out += "\nupstreams\n";
    for (const std::string& line : format_upstream_rows(*report.upstreams)) out += line + "\n";
  }
  return out;
}

std::vector<std::string> format_upstream_rows(const std::vector<shm::UpstreamRow>& rows) {
  if (rows.empty()) return {"(no upstream server)"};
  std::vector<std::vector<std::string>> table = {
      {"group", "server", "state", "in_flight", "requests", "2xx", "3xx", "4xx", "5xx",
       "conn_errors", "errors", "timeouts", "retries", "reused", "new"}};
  for (const shm::UpstreamRow& r : rows) {
    table.push_back({r.group, std::string(r.server) + (r.backup ? " (backup)" : ""),
                     std::string(shm::state_name(r.state)), fmt::format("{}", r.in_flight),
                     fmt::format("{}", r.requests), fmt::format("{}", r.responses[1]),
                     fmt::format("{}", r.responses[2]), fmt::format("{}", r.responses[3]),
                     fmt::format("{}", r.responses[4]), fmt::format("{}", r.connect_errors),
                     fmt::format("{}", r.errors), fmt::format("{}", r.timeouts),
                     fmt::format("{}", r.retries), fmt::format("{}", r.reused_connections),
                     fmt::format("{}", r.new_connections)});
  }
  return aligned(table);
}

std::vector<std::string> format_app_rows(const shm::AppValuesSnapshot& app, double seconds) {
  std::vector<std::string> lines;
  for (size_t v = 0; v < app.count; ++v) {
    const shm::AppValuesSnapshot::Value& a = app.values[v];
    std::string rate = a.kind == shm::kAppCounter
                           ? fmt::format("{:.2f}", static_cast<double>(a.total) / seconds)
                           : std::string(".");
    lines.push_back(fmt::format("{:<24} {:>20} {:>14}  {}", a.name, a.total, rate, a.help));
  }
  return lines;
}

std::vector<std::string> format_cache_rows(const shm::CacheSnapshot& cache, double seconds) {
  std::vector<std::string> lines;
  for (size_t f = 0; f < shm::kCacheCounterCount; ++f) {
    const shm::CacheCounterField& c = shm::kCacheCounterFields[f];
    if (!c.shown) continue;
    const uint64_t v = cache.counters[f];
    lines.push_back(fmt::format("{:<24} {:>20} {:>14.2f}  {}", c.name, v,
                                static_cast<double>(v) / seconds, c.help));
  }
  for (const shm::CacheStoreField& g : shm::kCacheStoreFields) {
    lines.push_back(fmt::format("{:<24} {:>20} {:>14}  {}", g.name, cache.*g.value, ".", g.help));
  }
  return lines;
}

std::vector<std::string> format_limits_rows(const shm::LimitsSnapshot& limits) {
  if (limits.zone_count == 0) return {};
  std::vector<std::vector<std::string>> table = {{"zone", "passed", "delayed", "rejected",
                                                  "dry_run_rejected", "entries/slots", "evictions",
                                                  "cas_retries"}};
  for (size_t z = 0; z < limits.zone_count; ++z) {
    const shm::ZoneSnapshot& l = limits.zones[z];
    table.push_back({std::string(l.name) + (l.kind == shm::kConnectionZone ? " (conn)" : ""),
                     fmt::format("{}", l.passed), fmt::format("{}", l.delayed),
                     fmt::format("{}", l.rejected), fmt::format("{}", l.dry_run_rejected),
                     fmt::format("{}/{}", l.entries, l.slots), fmt::format("{}", l.evictions),
                     fmt::format("{}", l.cas_retries)});
  }
  return aligned(table);
}

std::string format_json(const Report& report) {
  const shm::SegmentHeader& h = *report.header;
  const shm::StatsSnapshot& s = *report.snapshot;
  std::vector<Field> fields = report.filter.fields();
  bool latency = report.filter.selects(kLatencyBucketsName);

  Json doc;
  doc["version"] = 1;
  doc["timestamp"] = report.now;
  doc["segment"] = report.segment_name;
  doc["layout_version"] = h.layout_version;
  doc["master_pid"] = h.master_pid;
  doc["start_time"] = h.start_time;
  doc["generation"] = h.generation.load(std::memory_order_relaxed);
  doc["worker_count"] = h.worker_count.load(std::memory_order_relaxed);

  Json totals = Json::object();
  put_fields(totals, s.totals, fields, latency);
  for (size_t v = 0; report.app != nullptr && v < report.app->count; ++v) {
    const shm::AppValuesSnapshot::Value& a = report.app->values[v];
    totals[std::string(a.name)] = a.total;
  }
  doc["totals"] = std::move(totals);
  Json retired = Json::object();
  put_fields(retired, retired_part(s), fields, latency, /*counters_only=*/true);
  doc["retired"] = std::move(retired);

  Json workers = Json::array();
  for (size_t w = 0; w < s.worker_count; ++w) {
    const Row& r = s.workers[w];
    Json row;
    row["index"] = r.worker_index;
    row["pid"] = r.pid;
    row["generation"] = r.generation;
    row["respawns"] = r.respawns;
    row["start_time"] = r.start_time;
    put_fields(row, r, fields, latency);
    workers.push_back(std::move(row));
  }
  doc["workers"] = std::move(workers);

  if (report.cache != nullptr) {
    Json cache = Json::object();
    for (size_t f = 0; f < shm::kCacheCounterCount; ++f) {
      const shm::CacheCounterField& c = shm::kCacheCounterFields[f];
      if (c.shown) cache[std::string(c.name)] = report.cache->counters[f];
    }
    for (const shm::CacheStoreField& g : shm::kCacheStoreFields) {
      cache[std::string(g.name)] = report.cache->*g.value;
    }
    doc["cache"] = std::move(cache);
  }

  Json limits = Json::array();
  for (size_t z = 0; report.limits != nullptr && z < report.limits->zone_count; ++z) {
    const shm::ZoneSnapshot& l = report.limits->zones[z];
    limits.push_back({{"zone", l.name},
                      {"passed", l.passed},
                      {"delayed", l.delayed},
                      {"rejected", l.rejected},
                      {"dry_run_rejected", l.dry_run_rejected},
                      {"entries", l.entries},
                      {"evictions", l.evictions},
                      {"slots", l.slots},
                      {"inserts", l.inserts},
                      {"cas_retries", l.cas_retries},
                      {"refunds", l.refunds},
                      {"kind", l.kind == shm::kConnectionZone ? "connections" : "requests"}});
  }
  doc["limits"] = std::move(limits);

  if (report.upstreams != nullptr) doc["upstreams"] = upstreams_json(*report.upstreams);
  return doc.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string format_field_list() {
  std::string out;
  for (const Field& f : all_fields()) {
    out += fmt::format("{:<24} {:<8} {}\n", f.name,
                       f.kind == FieldKind::kCounter ? "counter" : "gauge", f.help);
  }
  out += fmt::format("{:<24} {:<8} {}\n", kLatencyBucketsName, "json",
                     "Request latency histogram (JSON only): bucket i counts < 2^i us.");
  return out;
}

}  // namespace zhttp::stat
