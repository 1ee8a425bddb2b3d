#include "shm/prometheus.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace zhttp::shm {
namespace {

// Appends into a fixed buffer; after the first write that does not fit, every later one is
// dropped and ok() stays false.
class Writer {
 public:
  Writer(char* out, size_t cap) : p_(out), end_(out + cap) {}

  bool ok() const { return ok_; }
  char* pos() const { return p_; }

  void text(std::string_view s) {
    if (!ok_ || static_cast<size_t>(end_ - p_) < s.size()) {
      ok_ = false;
      return;
    }
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }

  void u64(uint64_t v) {
    char digits[20];
    size_t n = 0;
    do {
      digits[sizeof digits - ++n] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    text(std::string_view(digits + sizeof digits - n, n));
  }

  void i64(int64_t v) {
    if (v < 0) {
      text("-");
      u64(0 - static_cast<uint64_t>(v));  // INT64_MIN included
    } else {
      u64(static_cast<uint64_t>(v));
    }
  }

  // micros / 1e6 with exactly six decimals: 1 -> "0.000001", 1500000 -> "1.500000". Exact.
  void micros_as_seconds(uint64_t micros) {
    u64(micros / 1000000);
    char frac[7] = {'.'};
    uint64_t rest = micros % 1000000;
    for (int i = 6; i >= 1; --i) {
      frac[i] = static_cast<char>('0' + rest % 10);
      rest /= 10;
    }
    text(std::string_view(frac, sizeof frac));
  }

  // A label value: backslash, double quote and newline escaped, as the format wants.
  void label_value(std::string_view s) {
    size_t from = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '\\' && s[i] != '"' && s[i] != '\n') continue;
      text(s.substr(from, i - from));
      text(s[i] == '\n' ? "\\n" : s[i] == '"' ? "\\\"" : "\\\\");
      from = i + 1;
    }
    text(s.substr(from));
  }

  // A # HELP text: backslash and newline escaped, as the format wants.
  void help_text(std::string_view s) {
    size_t from = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '\\' && s[i] != '\n') continue;
      text(s.substr(from, i - from));
      text(s[i] == '\n' ? "\\n" : "\\\\");
      from = i + 1;
    }
    text(s.substr(from));
  }

  // "# HELP zhttpd_<name><suffix> <help>\n# TYPE zhttpd_<name><suffix> <type>\n"
  void family(std::string_view name, std::string_view suffix, std::string_view type,
              std::string_view help) {
    family("", name, suffix, type, help);
  }
  // The same for "zhttpd_<prefix><name><suffix>".
  void family(std::string_view prefix, std::string_view name, std::string_view suffix,
              std::string_view type, std::string_view help) {
    for (std::string_view tag : {"# HELP zhttpd_", "# TYPE zhttpd_"}) {
      text(tag);
      text(prefix);
      text(name);
      text(suffix);
      text(" ");
      text(tag[2] == 'H' ? help : type);
      text("\n");
    }
  }

  // "zhttpd_<name><suffix> <value>\n"
  void sample(std::string_view name, std::string_view suffix, uint64_t value) {
    sample("", name, suffix, value);
  }
  // "zhttpd_<prefix><name><suffix> <value>\n"
  void sample(std::string_view prefix, std::string_view name, std::string_view suffix,
              uint64_t value) {
    text("zhttpd_");
    text(prefix);
    text(name);
    text(suffix);
    text(" ");
    u64(value);
    text("\n");
  }

 private:
  char* p_;
  char* end_;
  bool ok_ = true;
};

constexpr size_t kLatencySum = static_cast<size_t>(Counter::kLatencySumUs);

// "zhttpd_limit_<name>{zone=\"<zone>\"<more>} <value>\n"; `more` is ",result=\"...\"" or "".
void zone_sample(Writer& w, std::string_view name, std::string_view zone, std::string_view more,
                 uint64_t value) {
  w.text("zhttpd_limit_");
  w.text(name);
  w.text("{zone=\"");
  w.label_value(zone);
  w.text("\"");
  w.text(more);
  w.text("} ");
  w.u64(value);
  w.text("\n");
}

// One gauge or counter family of the limits with one sample per zone.
void zone_family(Writer& w, const LimitsSnapshot& limits, size_t zones, std::string_view name,
                 std::string_view type, std::string_view help, uint64_t ZoneSnapshot::*field) {
  w.family("limit_", name, type, help);
  for (size_t z = 0; z < zones; ++z) {
    zone_sample(w, name, limits.zones[z].name, "", limits.zones[z].*field);
  }
}

// "zhttpd_upstream_<name>{group=\"...\",server=\"...\"<more>} <value>\n"
void upstream_sample(Writer& w, std::string_view name, const UpstreamRow& row,
                     std::string_view more, uint64_t value) {
  w.text("zhttpd_upstream_");
  w.text(name);
  w.text("{group=\"");
  w.label_value(row.group);
  w.text("\",server=\"");
  w.label_value(row.server);
  w.text("\"");
  w.text(more);
  w.text("} ");
  w.u64(value);
  w.text("\n");
}

}  // namespace

size_t format_prometheus(const SegmentHeader& header, const StatsSnapshot& snapshot, char* out,
                         size_t cap) {
  Writer w(out, cap);
  const StatsSnapshot::Row& t = snapshot.totals;

  for (size_t i = 0; i < std::size(kCounterNames); ++i) {
    if (i == kLatencySum) continue;  // the histogram's _sum
    w.family(kCounterNames[i], "_total", "counter", kCounterHelp[i]);
    w.sample(kCounterNames[i], "_total", t.counters[i]);
  }
  for (size_t i = 0; i < std::size(kGaugeNames); ++i) {
    w.family(kGaugeNames[i], "", "gauge", kGaugeHelp[i]);
    w.sample(kGaugeNames[i], "", t.gauges[i]);
  }

  w.family("workers", "", "gauge", "Worker processes of the current generation.");
  w.sample("workers", "", header.worker_count.load(std::memory_order_relaxed));
  w.family("generation", "", "gauge", "Generation of the workers serving now (reloads add one).");
  w.sample("generation", "", header.generation.load(std::memory_order_relaxed));
  w.family("start_time_seconds", "", "gauge", "Start of the master, seconds since the epoch.");
  w.text("zhttpd_start_time_seconds ");
  w.i64(header.start_time);
  w.text("\n");

  constexpr std::string_view kHistogram = "request_duration_seconds";
  w.family(kHistogram, "", "histogram",
           "Time from a request's head read to its response queued, seconds.");
  uint64_t cumulative = 0;
  for (size_t i = 0; i + 1 < kLatencyBuckets; ++i) {
    cumulative += t.latency[i];
    w.text("zhttpd_request_duration_seconds_bucket{le=\"");
    w.micros_as_seconds(uint64_t{1} << i);
    w.text("\"} ");
    w.u64(cumulative);
    w.text("\n");
  }
  cumulative += t.latency[kLatencyBuckets - 1];  // everything longer: only in +Inf
  w.text("zhttpd_request_duration_seconds_bucket{le=\"+Inf\"} ");
  w.u64(cumulative);
  w.text("\nzhttpd_request_duration_seconds_sum ");
  w.micros_as_seconds(t.counters[kLatencySum]);
  w.text("\n");
  w.sample(kHistogram, "_count", cumulative);

  return w.ok() ? static_cast<size_t>(w.pos() - out) : 0;
}

size_t format_prometheus_limits(const LimitsSnapshot& limits, char* out, size_t cap) {
  Writer w(out, cap);
  const size_t zones = std::min(limits.zone_count, kMaxZones);
  constexpr struct {
    std::string_view label;
    uint64_t ZoneSnapshot::*field;
  } kResults[] = {
      {",result=\"passed\"", &ZoneSnapshot::passed},
      {",result=\"delayed\"", &ZoneSnapshot::delayed},
      {",result=\"rejected\"", &ZoneSnapshot::rejected},
      {",result=\"dry_run_rejected\"", &ZoneSnapshot::dry_run_rejected},
  };
  w.family("limit_", "requests_total", "counter",
           "Requests a rate limit zone decided, by result (dry_run_rejected: served anyway).");
  bool connection_zones = false;
  for (size_t z = 0; z < zones; ++z) {
    if (limits.zones[z].kind == kConnectionZone) {
      connection_zones = true;
      continue;
    }
    for (const auto& r : kResults) {
      zone_sample(w, "requests_total", limits.zones[z].name, r.label, limits.zones[z].*r.field);
    }
  }
  if (connection_zones) {  // --limit-conn zones count connections, not requests
    w.family("limit_", "connections_total", "counter",
             "Connections a connection limit zone decided, by result.");
    for (size_t z = 0; z < zones; ++z) {
      if (limits.zones[z].kind != kConnectionZone) continue;
      for (const auto& r : {kResults[0], kResults[2]}) {
        zone_sample(w, "connections_total", limits.zones[z].name, r.label,
                    limits.zones[z].*r.field);
      }
    }
  }
  zone_family(w, limits, zones, "entries", "gauge", "Live keys in the zone's table.",
              &ZoneSnapshot::entries);
  zone_family(w, limits, zones, "slots", "gauge", "Key slots of the zone's table.",
              &ZoneSnapshot::slots);
  zone_family(w, limits, zones, "evictions_total", "counter",
              "Live keys evicted from the zone's table because their bucket was full.",
              &ZoneSnapshot::evictions);
  zone_family(w, limits, zones, "cas_retries_total", "counter",
              "Compare-and-swap retries on the zone's table (lost to another worker).",
              &ZoneSnapshot::cas_retries);
  return w.ok() ? static_cast<size_t>(w.pos() - out) : 0;
}

size_t format_prometheus_cache(const CacheSnapshot& cache, char* out, size_t cap) {
  Writer w(out, cap);
  for (size_t f = 0; f < kCacheCounterCount; ++f) {
    const CacheCounterField& field = kCacheCounterFields[f];
    if (!field.shown) continue;
    w.family("cache_", field.name, "_total", "counter", field.help);
    w.sample("cache_", field.name, "_total", cache.counters[f]);
  }
  for (const CacheStoreField& g : kCacheStoreFields) {
    w.family("cache_", g.name, "", "gauge", g.help);
    w.sample("cache_", g.name, "", cache.*g.value);
  }
  return w.ok() ? static_cast<size_t>(w.pos() - out) : 0;
}

size_t format_prometheus_app(const AppValuesSnapshot& app, char* out, size_t cap) {
  Writer w(out, cap);
  for (size_t v = 0; v < std::min(app.count, kMaxAppValues); ++v) {
    const AppValuesSnapshot::Value& a = app.values[v];
    const bool counter = a.kind == kAppCounter;
    auto metric = [&](std::string_view prefix) {
      w.text(prefix);
      w.text("zhttpd_app_");
      w.text(a.name);
      w.text(counter ? "_total " : " ");
    };
    metric("# HELP ");
    w.help_text(a.help);
    w.text("\n");
    metric("# TYPE ");
    w.text(counter ? "counter\n" : "gauge\n");
    metric("");
    if (counter) {
      w.u64(static_cast<uint64_t>(a.total));
    } else {
      w.i64(a.total);
    }
    w.text("\n");
  }
  return w.ok() ? static_cast<size_t>(w.pos() - out) : 0;
}

size_t format_prometheus_upstreams(const UpstreamRow* rows, size_t count, char* out, size_t cap) {
  Writer w(out, cap);
  struct Plain {
    std::string_view name;
    std::string_view type;
    std::string_view help;
    uint64_t (*value)(const UpstreamRow&);
  };
  static constexpr Plain kPlain[] = {
      {"requests_total", "counter", "Attempts sent to the upstream server.",
       [](const UpstreamRow& r) { return r.requests; }},
      {"connect_errors_total", "counter",
       "Attempts that could not connect to the upstream server (refused, unreachable, reset).",
       [](const UpstreamRow& r) { return r.connect_errors; }},
      {"timeouts_total", "counter", "Attempts that timed out (connect, send or read).",
       [](const UpstreamRow& r) { return r.timeouts; }},
      {"errors_total", "counter",
       "Attempts that failed after connecting (reset, premature close, malformed head).",
       [](const UpstreamRow& r) { return r.errors; }},
      {"retries_total", "counter", "Attempts on the upstream server retried on another one.",
       [](const UpstreamRow& r) { return r.retries; }},
      {"downs_total", "counter", "Times failures took the upstream server out (fail_timeout).",
       [](const UpstreamRow& r) { return r.downs; }},
      {"in_flight", "gauge", "Attempts in flight to the upstream server from every worker.",
       [](const UpstreamRow& r) { return static_cast<uint64_t>(r.in_flight); }},
      {"up", "gauge", "1 when the upstream server is used (up, or checking), 0 when it is down.",
       [](const UpstreamRow& r) { return uint64_t{r.state != UpstreamState::kDown}; }},
  };
  for (const Plain& f : kPlain) {
    w.family("upstream_", f.name, "", f.type, f.help);
    for (size_t i = 0; i < count; ++i) upstream_sample(w, f.name, rows[i], "", f.value(rows[i]));
  }
  w.family("upstream_", "responses_total", "", "counter",
           "Responses of the upstream server, by status class.");
  constexpr std::string_view kClasses[] = {",class=\"1xx\"", ",class=\"2xx\"", ",class=\"3xx\"",
                                           ",class=\"4xx\"", ",class=\"5xx\""};
  for (size_t i = 0; i < count; ++i) {
    for (size_t c = 0; c < 5; ++c) {
      upstream_sample(w, "responses_total", rows[i], kClasses[c], rows[i].responses[c]);
    }
  }
  w.family("upstream_", "connections_total", "", "counter",
           "Connections an attempt used: reused from the pool, or new.");
  for (size_t i = 0; i < count; ++i) {
    upstream_sample(w, "connections_total", rows[i], ",reused=\"true\"",
                    rows[i].reused_connections);
    upstream_sample(w, "connections_total", rows[i], ",reused=\"false\"", rows[i].new_connections);
  }
  w.family("upstream_", "checks_total", "", "counter",
           "Active health checks of the upstream server, by result.");
  for (size_t i = 0; i < count; ++i) {
    upstream_sample(w, "checks_total", rows[i], ",result=\"passed\"", rows[i].checks_passed);
    upstream_sample(w, "checks_total", rows[i], ",result=\"failed\"", rows[i].checks_failed);
  }
  return w.ok() ? static_cast<size_t>(w.pos() - out) : 0;
}

}  // namespace zhttp::shm
