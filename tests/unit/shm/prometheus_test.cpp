// The Prometheus exposition of a stats snapshot: the exact text for a known snapshot (retired
// totals plus two workers through read_stats), cumulative histogram buckets with the last one
// only in +Inf, exact decimal seconds, a buffer too small by any amount (0, nothing written past
// the end), the worst case within kPrometheusMaxBytes, and a well-formed line grammar. Then the
// rate limits' exposition (format_prometheus_limits): the exact text for two zones, no zones,
// too small a buffer, label escaping, the worst case within kPrometheusLimitsMaxBytes. Then the
// application's values (format_prometheus_app): the exact text of a counter and a negative
// gauge, help texts escaped, nothing without values, too small a buffer, the worst case within
// kPrometheusAppMaxBytes. Then the shared cache's (format_prometheus_cache): each counter shown
// and only those, the gauges, the grammar, too small a buffer, the worst case within
// kPrometheusCacheMaxBytes. Then the upstream servers' (format_prometheus_upstreams): every
// family once with a sample per server and its labels, escaping, the worst case within
// prometheus_upstreams_max_bytes.
#include "shm/prometheus.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace zhttp::shm {
namespace {

constexpr size_t idx(Counter c) {
  return static_cast<size_t>(c);
}
constexpr size_t idx(Gauge g) {
  return static_cast<size_t>(g);
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

class PrometheusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    header_.magic = kMagic;
    header_.layout_version = kLayoutVersion;
    header_.master_pid = 4242;
    header_.start_time = 1795814322;
    header_.generation.store(3);
    header_.worker_count.store(2);
    header_.ready.store(1);
  }

  // Formats the snapshot of region_ into a string (through a buffer of `cap` bytes).
  std::string format(size_t cap = kPrometheusMaxBytes) {
    EXPECT_TRUE(read_stats(*region_, snapshot_.get()));
    std::vector<char> buf(cap);
    size_t n = format_prometheus(header_, *snapshot_, buf.data(), buf.size());
    return std::string(buf.data(), n);
  }

  // A known state: some retired totals, and two workers in slots 0 and 5.
  void fill_known() {
    WorkerStats& r = region_->retired;
    r.add(Counter::kRequests, 100);
    r.add(Counter::kConnectionsAccepted, 10);
    r.add(Counter::kResponses2xx, 90);
    r.add(Counter::kResponses200, 90);
    r.add(Counter::kResponses4xx, 10);
    r.add(Counter::kResponses404, 10);
    r.add(Counter::kBytesIn, 1000);
    r.add(Counter::kBytesOut, 50000);
    r.add(Counter::kLatencySumUs, 1500000);
    r.latency[3].store(100);
    for (size_t s : {size_t{0}, size_t{5}}) {
      WorkerStats& w = region_->slots[s];
      w.in_use.store(1);
      w.pid.store(static_cast<int64_t>(1000 + s));
      w.add(Counter::kRequests, 7);
      w.add(Counter::kResponses2xx, 6);
      w.add(Counter::kResponses5xx, 1);
      w.add(Counter::kBytesOut, 12345);
      w.add(Counter::kTimeouts, 2);
      w.add(Counter::kLatencySumUs, 7);
      w.latency[0].store(5);
      w.latency[23].store(2);
      w.set(Gauge::kConnectionsActive, 3);
      w.set(Gauge::kConnectionsIdle, 1);
    }
  }

  SegmentHeader header_{};
  std::unique_ptr<StatsRegion> region_ = std::make_unique<StatsRegion>();
  std::unique_ptr<StatsSnapshot> snapshot_ = std::make_unique<StatsSnapshot>();
};

TEST_F(PrometheusTest, ExactTextOfKnownSnapshot) {
  fill_known();
  std::string text = format();
  ASSERT_FALSE(text.empty());

  std::string expected_head =
      "# HELP zhttpd_connections_accepted_total Connections accepted.\n"
      "# TYPE zhttpd_connections_accepted_total counter\n"
      "zhttpd_connections_accepted_total 10\n"
      "# HELP zhttpd_requests_total Requests read and answered (a head was parsed).\n"
      "# TYPE zhttpd_requests_total counter\n"
      "zhttpd_requests_total 114\n"
      "# HELP zhttpd_keepalive_reuses_total Requests after the first on their keep-alive "
      "connection.\n"
      "# TYPE zhttpd_keepalive_reuses_total counter\n"
      "zhttpd_keepalive_reuses_total 0\n"
      "# HELP zhttpd_bytes_in_total Bytes read from clients.\n"
      "# TYPE zhttpd_bytes_in_total counter\n"
      "zhttpd_bytes_in_total 1000\n"
      "# HELP zhttpd_bytes_out_total Bytes written to clients.\n"
      "# TYPE zhttpd_bytes_out_total counter\n"
      "zhttpd_bytes_out_total 74690\n";
  EXPECT_EQ(text.substr(0, expected_head.size()), expected_head);

  EXPECT_TRUE(has_line(text, "zhttpd_responses_1xx_total 0"));
  EXPECT_TRUE(has_line(text, "zhttpd_responses_2xx_total 102"));
  EXPECT_TRUE(has_line(text, "zhttpd_responses_4xx_total 10"));
  EXPECT_TRUE(has_line(text, "zhttpd_responses_5xx_total 2"));
  EXPECT_TRUE(has_line(text, "zhttpd_responses_200_total 90"));
  EXPECT_TRUE(has_line(text, "zhttpd_responses_404_total 10"));
  EXPECT_TRUE(has_line(text, "zhttpd_timeouts_total 4"));
  EXPECT_TRUE(has_line(text, "# TYPE zhttpd_parse_errors_total counter"));
  // latency_sum_us is the histogram's _sum, not a counter of its own.
  EXPECT_EQ(text.find("latency_sum_us"), std::string::npos);

  std::string expected_tail =
      "# HELP zhttpd_connections_active Open connections.\n"
      "# TYPE zhttpd_connections_active gauge\n"
      "zhttpd_connections_active 6\n"
      "# HELP zhttpd_connections_idle Open connections idle between keep-alive requests.\n"
      "# TYPE zhttpd_connections_idle gauge\n"
      "zhttpd_connections_idle 2\n"
      "# HELP zhttpd_workers Worker processes of the current generation.\n"
      "# TYPE zhttpd_workers gauge\n"
      "zhttpd_workers 2\n"
      "# HELP zhttpd_generation Generation of the workers serving now (reloads add one).\n"
      "# TYPE zhttpd_generation gauge\n"
      "zhttpd_generation 3\n"
      "# HELP zhttpd_start_time_seconds Start of the master, seconds since the epoch.\n"
      "# TYPE zhttpd_start_time_seconds gauge\n"
      "zhttpd_start_time_seconds 1795814322\n"
      "# HELP zhttpd_request_duration_seconds Time from a request's head read to its response "
      "queued, seconds.\n"
      "# TYPE zhttpd_request_duration_seconds histogram\n"
      "zhttpd_request_duration_seconds_bucket{le=\"0.000001\"} 10\n"
      "zhttpd_request_duration_seconds_bucket{le=\"0.000002\"} 10\n"
      "zhttpd_request_duration_seconds_bucket{le=\"0.000004\"} 10\n"
      "zhttpd_request_duration_seconds_bucket{le=\"0.000008\"} 110\n"
      "zhttpd_request_duration_seconds_bucket{le=\"0.000016\"} 110\n"
      "zhttpd_request_duration_seconds_bucket{le=\"0.000032\"} 110\n"
      "zhttpd_request_duration_seconds_bucket{le=\"0.000064\"} 110\n"
      "zhttpd_request_duration_seconds_bucket{le=\"0.000128\"} 110\n"
      "zhttpd_request_duration_seconds_bucket{le=\"0.000256\"} 110\n"
      "zhttpd_request_duration_seconds_bucket{le=\"0.000512\"} 110\n"
      "zhttpd_request_duration_seconds_bucket{le=\"0.001024\"} 110\n"
      "zhttpd_request_duration_seconds_bucket{le=\"0.002048\"} 110\n"
      "zhttpd_request_duration_seconds_bucket{le=\"0.004096\"} 110\n"
      "zhttpd_request_duration_seconds_bucket{le=\"0.008192\"} 110\n"
      "zhttpd_request_duration_seconds_bucket{le=\"0.016384\"} 110\n"
      "zhttpd_request_duration_seconds_bucket{le=\"0.032768\"} 110\n"
      "zhttpd_request_duration_seconds_bucket{le=\"0.065536\"} 110\n"
      "zhttpd_request_duration_seconds_bucket{le=\"0.131072\"} 110\n"
      "zhttpd_request_duration_seconds_bucket{le=\"0.262144\"} 110\n"
      "zhttpd_request_duration_seconds_bucket{le=\"0.524288\"} 110\n"
      "zhttpd_request_duration_seconds_bucket{le=\"1.048576\"} 110\n"
      "zhttpd_request_duration_seconds_bucket{le=\"2.097152\"} 110\n"
      "zhttpd_request_duration_seconds_bucket{le=\"4.194304\"} 110\n"
      "zhttpd_request_duration_seconds_bucket{le=\"+Inf\"} 114\n"
      "zhttpd_request_duration_seconds_sum 1.500014\n"
      "zhttpd_request_duration_seconds_count 114\n";
  ASSERT_GE(text.size(), expected_tail.size());
  EXPECT_EQ(text.substr(text.size() - expected_tail.size()), expected_tail);

  // One family per counter but latency_sum_us, per gauge, 3 header gauges, 1 histogram.
  size_t families = 0;
  for (const std::string& line : lines_of(text)) families += line.rfind("# TYPE ", 0) == 0;
  EXPECT_EQ(families, std::size(kCounterNames) - 1 + std::size(kGaugeNames) + 3 + 1);
}

TEST_F(PrometheusTest, BucketsAreCumulativeAndTheLastIsOnlyInInf) {
  uint64_t counts[kLatencyBuckets] = {};
  for (size_t i = 0; i < kLatencyBuckets; ++i) counts[i] = i + 1;  // 1, 2, ... 24
  for (size_t i = 0; i < kLatencyBuckets; ++i) region_->retired.latency[i].store(counts[i]);
  region_->slots[7].in_use.store(1);
  region_->slots[7].latency[10].store(1000);
  counts[10] += 1000;
  std::string text = format();

  std::vector<uint64_t> seen;
  for (const std::string& line : lines_of(text)) {
    const std::string prefix = "zhttpd_request_duration_seconds_bucket{le=\"";
    if (line.rfind(prefix, 0) != 0) continue;
    size_t close = line.find("\"} ");
    ASSERT_NE(close, std::string::npos) << line;
    std::string le = line.substr(prefix.size(), close - prefix.size());
    uint64_t value = std::stoull(line.substr(close + 3));
    if (le == "+Inf") {
      EXPECT_EQ(seen.size(), kLatencyBuckets - 1) << "+Inf must come last";
      seen.push_back(value);
      continue;
    }
    // le is 2^i microseconds for the i-th line.
    uint64_t micros = uint64_t{1} << seen.size();
    EXPECT_EQ(static_cast<uint64_t>(std::stod(le) * 1e6 + 0.5), micros) << line;
    seen.push_back(value);
  }
  ASSERT_EQ(seen.size(), kLatencyBuckets);  // 23 finite bounds and +Inf
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kLatencyBuckets; ++i) {
    cumulative += counts[i];
    EXPECT_EQ(seen[i], cumulative) << "bucket " << i;
    if (i > 0) {
      EXPECT_GE(seen[i], seen[i - 1]);
    }
  }
  EXPECT_TRUE(
      has_line(text, "zhttpd_request_duration_seconds_count " + std::to_string(cumulative)));
  EXPECT_TRUE(has_line(text, "zhttpd_request_duration_seconds_bucket{le=\"4.194304\"} " +
                                 std::to_string(cumulative - counts[kLatencyBuckets - 1])));
}

TEST_F(PrometheusTest, SumIsExactDecimalSeconds) {
  region_->retired.add(Counter::kLatencySumUs, 7);
  EXPECT_TRUE(has_line(format(), "zhttpd_request_duration_seconds_sum 0.000007"));
  region_->retired.add(Counter::kLatencySumUs, 123456789 - 7);
  EXPECT_TRUE(has_line(format(), "zhttpd_request_duration_seconds_sum 123.456789"));
  region_->retired.counters[idx(Counter::kLatencySumUs)].store(0);
  EXPECT_TRUE(has_line(format(), "zhttpd_request_duration_seconds_sum 0.000000"));
}

TEST_F(PrometheusTest, EmptySnapshotIsAllZeros) {
  std::string text = format();
  for (const std::string& line : lines_of(text)) {
    if (line[0] == '#' || line.rfind("zhttpd_workers", 0) == 0 ||
        line.rfind("zhttpd_generation", 0) == 0 || line.rfind("zhttpd_start_time", 0) == 0) {
      continue;
    }
    EXPECT_TRUE(line.ends_with(" 0") || line.ends_with(" 0.000000")) << line;
  }
}

TEST_F(PrometheusTest, TooSmallBufferReturnsZeroAndWritesNothingPastTheEnd) {
  fill_known();
  ASSERT_TRUE(read_stats(*region_, snapshot_.get()));
  std::vector<char> full(kPrometheusMaxBytes);
  size_t n = format_prometheus(header_, *snapshot_, full.data(), full.size());
  ASSERT_GT(n, 0u);

  EXPECT_EQ(format_prometheus(header_, *snapshot_, nullptr, 0), 0u);
  std::vector<char> buf(n + 64);
  for (size_t cap = 0; cap < n; cap += (cap < 64 || n - cap < 64) ? 1 : 37) {
    std::fill(buf.begin(), buf.end(), '\x7f');
    EXPECT_EQ(format_prometheus(header_, *snapshot_, buf.data(), cap), 0u) << "cap " << cap;
    for (size_t i = cap; i < buf.size(); ++i) {
      ASSERT_EQ(buf[i], '\x7f') << "cap " << cap << " byte " << i;
    }
  }
  std::fill(buf.begin(), buf.end(), '\x7f');
  ASSERT_EQ(format_prometheus(header_, *snapshot_, buf.data(), n), n);  // exactly enough
  EXPECT_EQ(std::string(buf.data(), n), std::string(full.data(), n));
  EXPECT_EQ(buf[n], '\x7f');
}

TEST_F(PrometheusTest, WorstCaseFitsInMaxBytes) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  for (auto& c : region_->retired.counters) c.store(kMax);
  for (auto& b : region_->retired.latency) b.store(kMax / kLatencyBuckets);
  header_.start_time = std::numeric_limits<int64_t>::min();
  header_.generation.store(std::numeric_limits<uint32_t>::max());
  header_.worker_count.store(std::numeric_limits<uint32_t>::max());
  std::string text = format();
  ASSERT_FALSE(text.empty());
  EXPECT_LT(text.size(), kPrometheusMaxBytes);
  EXPECT_TRUE(has_line(text, "zhttpd_requests_total 18446744073709551615"));
  EXPECT_TRUE(has_line(text, "zhttpd_start_time_seconds -9223372036854775808"));
  EXPECT_TRUE(has_line(text, "zhttpd_request_duration_seconds_sum 18446744073709.551615"));
  EXPECT_TRUE(has_line(text, "zhttpd_generation 4294967295"));
}

// Every line is a comment (# HELP / # TYPE with a known type) or "name[{le="..."}] number", each
// sample belongs to the family declared just before it, and no family is declared twice.
void expect_exposition_grammar(const std::string& text) {
  ASSERT_EQ(text.back(), '\n');
  std::set<std::string> families;
  std::string current;
  for (const std::string& line : lines_of(text)) {
    ASSERT_FALSE(line.empty());
    if (line.rfind("# HELP ", 0) == 0) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream in(line.substr(7));
      std::string type;
      in >> current >> type;
      EXPECT_TRUE(type == "counter" || type == "gauge" || type == "histogram") << line;
      EXPECT_TRUE(families.insert(current).second) << "declared twice: " << current;
      continue;
    }
    size_t space = line.find(' ');
    ASSERT_NE(space, std::string::npos) << line;
    std::string name = line.substr(0, line.find_first_of("{ "));
    for (char c : name)
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '_') << line;
    EXPECT_EQ(name.rfind(current, 0), 0u) << line << " after # TYPE " << current;
    std::string value = line.substr(space + 1);
    EXPECT_EQ(value.find_first_not_of("-0123456789."), std::string::npos) << line;
  }
}

TEST_F(PrometheusTest, LinesFollowTheExpositionGrammar) {
  fill_known();
  expect_exposition_grammar(format());
}

// -------------------------------------------------------------------------------------------
// format_prometheus_limits: the rate limiter's zones, appended after format_prometheus.

LimitsSnapshot two_zones() {
  LimitsSnapshot l;
  l.zone_count = 2;
  l.zones[0] = {.name = "api",
                .passed = 10,
                .delayed = 2,
                .rejected = 3,
                .dry_run_rejected = 0,
                .entries = 7,
                .slots = 1024,
                .evictions = 1,
                .inserts = 9,
                .cas_retries = 4,
                .refunds = 5};
  l.zones[1] = {.name = "login",
                .passed = 0,
                .delayed = 0,
                .rejected = 0,
                .dry_run_rejected = 6,
                .entries = 0,
                .slots = 64,
                .evictions = 0,
                .inserts = 0,
                .cas_retries = 0,
                .refunds = 0};
  return l;
}

std::string format_limits(const LimitsSnapshot& l, size_t cap = kPrometheusLimitsMaxBytes) {
  std::vector<char> buf(cap);
  return std::string(buf.data(), format_prometheus_limits(l, buf.data(), buf.size()));
}

TEST(PrometheusLimitsTest, ExactTextOfTwoZones) {
  EXPECT_EQ(format_limits(two_zones()),
            "# HELP zhttpd_limit_requests_total Requests a rate limit zone decided, by result "
            "(dry_run_rejected: served anyway).\n"
            "# TYPE zhttpd_limit_requests_total counter\n"
            "zhttpd_limit_requests_total{zone=\"api\",result=\"passed\"} 10\n"
            "zhttpd_limit_requests_total{zone=\"api\",result=\"delayed\"} 2\n"
            "zhttpd_limit_requests_total{zone=\"api\",result=\"rejected\"} 3\n"
            "zhttpd_limit_requests_total{zone=\"api\",result=\"dry_run_rejected\"} 0\n"
            "zhttpd_limit_requests_total{zone=\"login\",result=\"passed\"} 0\n"
            "zhttpd_limit_requests_total{zone=\"login\",result=\"delayed\"} 0\n"
            "zhttpd_limit_requests_total{zone=\"login\",result=\"rejected\"} 0\n"
            "zhttpd_limit_requests_total{zone=\"login\",result=\"dry_run_rejected\"} 6\n"
            "# HELP zhttpd_limit_entries Live keys in the zone's table.\n"
            "# TYPE zhttpd_limit_entries gauge\n"
            "zhttpd_limit_entries{zone=\"api\"} 7\n"
            "zhttpd_limit_entries{zone=\"login\"} 0\n"
            "# HELP zhttpd_limit_slots Key slots of the zone's table.\n"
            "# TYPE zhttpd_limit_slots gauge\n"
            "zhttpd_limit_slots{zone=\"api\"} 1024\n"
            "zhttpd_limit_slots{zone=\"login\"} 64\n"
            "# HELP zhttpd_limit_evictions_total Live keys evicted from the zone's table because "
            "their bucket was full.\n"
            "# TYPE zhttpd_limit_evictions_total counter\n"
            "zhttpd_limit_evictions_total{zone=\"api\"} 1\n"
            "zhttpd_limit_evictions_total{zone=\"login\"} 0\n"
            "# HELP zhttpd_limit_cas_retries_total Compare-and-swap retries on the zone's table "
            "(lost to another worker).\n"
            "# TYPE zhttpd_limit_cas_retries_total counter\n"
            "zhttpd_limit_cas_retries_total{zone=\"api\"} 4\n"
            "zhttpd_limit_cas_retries_total{zone=\"login\"} 0\n");
}

// Documented choice: without zones the families are declared with no sample, so the output is
// never empty and 0 only ever means "does not fit".
TEST(PrometheusLimitsTest, NoZonesDeclaresTheFamiliesWithoutSamples) {
  std::string text = format_limits(LimitsSnapshot{});
  ASSERT_FALSE(text.empty());
  std::vector<std::string> lines = lines_of(text);
  EXPECT_EQ(lines.size(), 10u) << text;
  for (const std::string& line : lines) EXPECT_EQ(line[0], '#') << line;
  EXPECT_TRUE(has_line(text, "# TYPE zhttpd_limit_entries gauge"));
}

TEST(PrometheusLimitsTest, TooSmallBufferReturnsZeroAndWritesNothingPastTheEnd) {
  LimitsSnapshot l = two_zones();
  size_t n = format_limits(l).size();
  ASSERT_GT(n, 0u);
  EXPECT_EQ(format_prometheus_limits(l, nullptr, 0), 0u);
  std::vector<char> buf(n + 64);
  for (size_t cap = 0; cap < n; ++cap) {
    std::fill(buf.begin(), buf.end(), '\x7f');
    EXPECT_EQ(format_prometheus_limits(l, buf.data(), cap), 0u) << "cap " << cap;
    for (size_t i = cap; i < buf.size(); ++i) ASSERT_EQ(buf[i], '\x7f') << "cap " << cap;
  }
  EXPECT_EQ(format_prometheus_limits(l, buf.data(), n), n);
}

TEST(PrometheusLimitsTest, LabelValuesAreEscaped) {
  LimitsSnapshot l;
  l.zone_count = 1;
  l.zones[0].name = "a\"b\\c\nd";
  EXPECT_TRUE(has_line(format_limits(l), "zhttpd_limit_slots{zone=\"a\\\"b\\\\c\\nd\"} 0"));
}

// kMaxZones zones with the longest names, all escaped, and the largest values.
TEST(PrometheusLimitsTest, WorstCaseFitsInMaxBytes) {
  const std::string name(kZoneNameBytes, '"');
  LimitsSnapshot l;
  l.zone_count = kMaxZones;
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  for (ZoneSnapshot& z : l.zones) {
    z = {.name = name,
         .passed = kMax,
         .delayed = kMax,
         .rejected = kMax,
         .dry_run_rejected = kMax,
         .entries = kMax,
         .slots = kMax,
         .evictions = kMax,
         .inserts = kMax,
         .cas_retries = kMax,
         .refunds = kMax};
  }
  std::string text = format_limits(l);
  EXPECT_FALSE(text.empty());
  EXPECT_LE(text.size(), kPrometheusLimitsMaxBytes);
  EXPECT_EQ(lines_of(text).size(), 10 + kMaxZones * 8);
}

AppValuesSnapshot two_app_values() {
  AppValuesSnapshot a;
  a.count = 2;
  a.values[0] = {.name = "greetings", .help = "Greetings sent.", .kind = kAppCounter, .total = 12};
  a.values[1] = {.name = "queue_depth", .help = "Jobs waiting.", .kind = kAppGauge, .total = -3};
  return a;
}

std::string format_app(const AppValuesSnapshot& a, size_t cap = kPrometheusAppMaxBytes) {
  std::vector<char> buf(cap);
  return std::string(buf.data(), format_prometheus_app(a, buf.data(), buf.size()));
}

TEST(PrometheusAppTest, ExactTextOfACounterAndAGauge) {
  EXPECT_EQ(format_app(two_app_values()),
            "# HELP zhttpd_app_greetings_total Greetings sent.\n"
            "# TYPE zhttpd_app_greetings_total counter\n"
            "zhttpd_app_greetings_total 12\n"
            "# HELP zhttpd_app_queue_depth Jobs waiting.\n"
            "# TYPE zhttpd_app_queue_depth gauge\n"
            "zhttpd_app_queue_depth -3\n");
}

TEST(PrometheusAppTest, HelpIsEscaped) {
  AppValuesSnapshot a;
  a.count = 1;
  a.values[0] = {.name = "x", .help = "a\\b\nc \"d\"", .kind = kAppCounter, .total = 0};
  EXPECT_TRUE(has_line(format_app(a), "# HELP zhttpd_app_x_total a\\\\b\\nc \"d\""))
      << format_app(a);
}

TEST(PrometheusAppTest, NoValueWritesNothing) {
  char buf[16];
  EXPECT_EQ(format_prometheus_app(AppValuesSnapshot{}, buf, sizeof buf), 0u);
}

TEST(PrometheusAppTest, TooSmallBufferReturnsZeroAndWritesNothingPastTheEnd) {
  AppValuesSnapshot a = two_app_values();
  size_t n = format_app(a).size();
  ASSERT_GT(n, 0u);
  std::vector<char> buf(n + 64);
  for (size_t cap = 0; cap < n; ++cap) {
    std::fill(buf.begin(), buf.end(), '\x7f');
    EXPECT_EQ(format_prometheus_app(a, buf.data(), cap), 0u) << "cap " << cap;
    for (size_t i = cap; i < buf.size(); ++i) ASSERT_EQ(buf[i], '\x7f') << "cap " << cap;
  }
  EXPECT_EQ(format_prometheus_app(a, buf.data(), n), n);
}

// kMaxAppValues values with the longest names, help texts all escaped, and the widest values.
TEST(PrometheusAppTest, WorstCaseFitsInMaxBytes) {
  const std::string name(kAppNameBytes - 1, 'n');
  const std::string help(kAppHelpBytes - 1, '\n');
  AppValuesSnapshot a;
  a.count = kMaxAppValues;
  for (size_t v = 0; v < kMaxAppValues; ++v) {
    // Counters print as unsigned (20 digits), gauges may be INT64_MIN (20 characters).
    a.values[v] = {.name = name,
                   .help = help,
                   .kind = v % 2 == 0 ? kAppCounter : kAppGauge,
                   .total = v % 2 == 0 ? -1 : std::numeric_limits<int64_t>::min()};
  }
  std::string text = format_app(a);
  EXPECT_FALSE(text.empty());
  EXPECT_LE(text.size(), kPrometheusAppMaxBytes);
  EXPECT_EQ(lines_of(text).size(), 3 * kMaxAppValues);
  EXPECT_TRUE(has_line(text, "zhttpd_app_" + name + "_total 18446744073709551615"));
}

// -------------------------------------------------------------------------------------------
// format_prometheus_cache: the shared cache's counters and its store, appended after the limits.

CacheSnapshot known_cache() {
  CacheSnapshot c;
  for (size_t f = 0; f < kCacheCounterCount; ++f) c.counters[f] = 100 + f;
  c.entries = 7;
  c.slots = 21000;
  c.bytes = uint64_t{64} << 20;
  return c;
}

std::string format_cache(const CacheSnapshot& c, size_t cap = kPrometheusCacheMaxBytes) {
  std::vector<char> buf(cap);
  return std::string(buf.data(), format_prometheus_cache(c, buf.data(), buf.size()));
}

TEST(PrometheusCacheTest, EachShownCounterThenTheGauges) {
  const std::string text = format_cache(known_cache());
  EXPECT_TRUE(
      text.starts_with("# HELP zhttpd_cache_lookups_total Requests looked up in the shared cache.\n"
                       "# TYPE zhttpd_cache_lookups_total counter\n"
                       "zhttpd_cache_lookups_total 100\n"))
      << text;
  size_t shown = 0;
  for (size_t f = 0; f < kCacheCounterCount; ++f) {
    const CacheCounterField& field = kCacheCounterFields[f];
    const std::string name = "zhttpd_cache_" + std::string(field.name) + "_total";
    EXPECT_EQ(has_line(text, name + " " + std::to_string(100 + f)), field.shown) << name;
    if (!field.shown) continue;
    ++shown;
    EXPECT_TRUE(has_line(text, "# TYPE " + name + " counter")) << name;
    EXPECT_TRUE(has_line(text, "# HELP " + name + " " + std::string(field.help))) << name;
  }
  EXPECT_EQ(shown, 15u);
  EXPECT_TRUE(text.ends_with(
      "# HELP zhttpd_cache_entries Live entries in the shared cache (fresh or stale).\n"
      "# TYPE zhttpd_cache_entries gauge\n"
      "zhttpd_cache_entries 7\n"
      "# HELP zhttpd_cache_slots Entry slots of the shared cache, every size class.\n"
      "# TYPE zhttpd_cache_slots gauge\n"
      "zhttpd_cache_slots 21000\n"
      "# HELP zhttpd_cache_bytes Bytes of shared memory the cache holds (--cache-size).\n"
      "# TYPE zhttpd_cache_bytes gauge\n"
      "zhttpd_cache_bytes 67108864\n"))
      << text;
  EXPECT_EQ(lines_of(text).size(), 3 * (shown + 3));
  expect_exposition_grammar(text);
}

TEST(PrometheusCacheTest, TooSmallBufferReturnsZeroAndWritesNothingPastTheEnd) {
  const CacheSnapshot c = known_cache();
  size_t n = format_cache(c).size();
  ASSERT_GT(n, 0u);
  std::vector<char> buf(n + 64);
  for (size_t cap = 0; cap < n; ++cap) {
    std::fill(buf.begin(), buf.end(), '\x7f');
    EXPECT_EQ(format_prometheus_cache(c, buf.data(), cap), 0u) << "cap " << cap;
    for (size_t i = cap; i < buf.size(); ++i) ASSERT_EQ(buf[i], '\x7f') << "cap " << cap;
  }
  EXPECT_EQ(format_prometheus_cache(c, buf.data(), n), n);
}

TEST(PrometheusCacheTest, WorstCaseFitsInMaxBytes) {
  CacheSnapshot c;
  for (uint64_t& v : c.counters) v = std::numeric_limits<uint64_t>::max();
  c.entries = c.slots = c.bytes = std::numeric_limits<uint64_t>::max();
  const std::string text = format_cache(c);
  EXPECT_FALSE(text.empty());
  EXPECT_LE(text.size(), kPrometheusCacheMaxBytes);
  EXPECT_TRUE(has_line(text, "zhttpd_cache_hits_total 18446744073709551615"));
}

UpstreamRow upstream_row(const char* group, const char* server, uint64_t base) {
  UpstreamRow r;
  std::snprintf(r.group, sizeof r.group, "%s", group);
  std::snprintf(r.server, sizeof r.server, "%s", server);
  r.in_flight = 2;
  r.requests = base;
  for (size_t c = 0; c < 5; ++c) r.responses[c] = base + 1 + c;
  r.connect_errors = base + 10;
  r.timeouts = base + 11;
  r.errors = base + 12;
  r.retries = base + 13;
  r.downs = base + 14;
  r.reused_connections = base + 15;
  r.new_connections = base + 16;
  r.checks_passed = base + 17;
  r.checks_failed = base + 18;
  return r;
}

std::string format_upstreams(const std::vector<UpstreamRow>& rows) {
  std::vector<char> buf(prometheus_upstreams_max_bytes(rows.size()));
  return std::string(buf.data(),
                     format_prometheus_upstreams(rows.data(), rows.size(), buf.data(), buf.size()));
}

TEST(PrometheusUpstreamTest, EveryFamilyOnceWithASamplePerServer) {
  std::vector<UpstreamRow> rows = {upstream_row("app", "127.0.0.1:9001", 100),
                                   upstream_row("app", "unix:/run/b.sock", 200)};
  rows[1].state = UpstreamState::kDown;
  const std::string text = format_upstreams(rows);
  const std::string a = "{group=\"app\",server=\"127.0.0.1:9001\"";
  const std::string b = "{group=\"app\",server=\"unix:/run/b.sock\"";
  for (const char* line :
       {"# TYPE zhttpd_upstream_requests_total counter",
        "# TYPE zhttpd_upstream_responses_total counter",
        "# TYPE zhttpd_upstream_connect_errors_total counter",
        "# TYPE zhttpd_upstream_timeouts_total counter",
        "# TYPE zhttpd_upstream_retries_total counter", "# TYPE zhttpd_upstream_in_flight gauge",
        "# TYPE zhttpd_upstream_up gauge", "# TYPE zhttpd_upstream_connections_total counter"}) {
    EXPECT_TRUE(has_line(text, line)) << line << "\n" << text;
  }
  EXPECT_TRUE(has_line(text, "zhttpd_upstream_requests_total" + a + "} 100"));
  EXPECT_TRUE(has_line(text, "zhttpd_upstream_requests_total" + b + "} 200"));
  EXPECT_TRUE(has_line(text, "zhttpd_upstream_responses_total" + a + ",class=\"1xx\"} 101"));
  EXPECT_TRUE(has_line(text, "zhttpd_upstream_responses_total" + b + ",class=\"5xx\"} 205"));
  EXPECT_TRUE(has_line(text, "zhttpd_upstream_connect_errors_total" + a + "} 110"));
  EXPECT_TRUE(has_line(text, "zhttpd_upstream_timeouts_total" + a + "} 111"));
  EXPECT_TRUE(has_line(text, "zhttpd_upstream_errors_total" + a + "} 112"));
  EXPECT_TRUE(has_line(text, "zhttpd_upstream_retries_total" + a + "} 113"));
  EXPECT_TRUE(has_line(text, "zhttpd_upstream_downs_total" + a + "} 114"));
  EXPECT_TRUE(has_line(text, "zhttpd_upstream_connections_total" + a + ",reused=\"true\"} 115"));
  EXPECT_TRUE(has_line(text, "zhttpd_upstream_connections_total" + a + ",reused=\"false\"} 116"));
  EXPECT_TRUE(has_line(text, "zhttpd_upstream_checks_total" + a + ",result=\"passed\"} 117"));
  EXPECT_TRUE(has_line(text, "zhttpd_upstream_checks_total" + a + ",result=\"failed\"} 118"));
  EXPECT_TRUE(has_line(text, "zhttpd_upstream_in_flight" + a + "} 2"));
  EXPECT_TRUE(has_line(text, "zhttpd_upstream_up" + a + "} 1"));
  EXPECT_TRUE(has_line(text, "zhttpd_upstream_up" + b + "} 0"));
  // 11 families of HELP and TYPE, 17 samples a server.
  EXPECT_EQ(lines_of(text).size(), 2 * 11 + 17 * rows.size());
  expect_exposition_grammar(text);
  // No server: the families still declared.
  EXPECT_EQ(lines_of(format_upstreams({})).size(), 2u * 11);
}

TEST(PrometheusUpstreamTest, LabelValuesAreEscapedAndTheWorstCaseFits) {
  std::vector<UpstreamRow> rows(3, upstream_row("", "", 0));
  for (UpstreamRow& r : rows) {
    std::memset(r.group, '"', sizeof r.group - 1);
    std::memset(r.server, '\\', sizeof r.server - 1);
    r.requests = r.connect_errors = r.reused_connections = std::numeric_limits<uint64_t>::max();
    for (uint64_t& c : r.responses) c = std::numeric_limits<uint64_t>::max();
    r.in_flight = std::numeric_limits<int64_t>::max();
  }
  const std::string text = format_upstreams(rows);
  ASSERT_FALSE(text.empty());
  EXPECT_LE(text.size(), prometheus_upstreams_max_bytes(rows.size()));
  EXPECT_NE(text.find("{group=\"\\\"\\\""), std::string::npos);
  expect_exposition_grammar(text);
  std::vector<char> buf(text.size());
  EXPECT_EQ(format_prometheus_upstreams(rows.data(), rows.size(), buf.data(), buf.size() - 1), 0u);
}

}  // namespace
}  // namespace zhttp::shm
