// The real zhttpstat binary of this build over shared segments the tests create themselves (as
// the master does: shm::Segment::create, then slots marked in use and counters written): the
// table, the JSON (totals = retired + workers), the Prometheus text, -f, every refusal with its
// message and exit code (no segment, permission denied, not a zhttpd segment, another layout
// version, not ready), the live view under a pseudo-terminal (read back through a small VT100
// screen model: rates while a counter grows, 'q', SIGTERM, the segment going away), the rate
// limiter's zones (a limits region and a zone's table in the segment: the JSON "limits", the
// table's and the live view's "rate limits" rows, the Prometheus families), the application's
// values (a kAppCounters region: "totals" by name, the table's and the live view's "app values",
// the zhttpd_app_ families), the shared cache (kCache and kCacheCounters regions: the JSON
// "cache", the table's and the live view's "cache" rows, the zhttpd_cache_ families; none without
// a cache), the reverse proxy's upstream table (a kUpstreams region: the JSON "upstreams", the
// table's "upstreams" rows, the zhttpd_upstream_ families), and finally a real zhttpd found by its
// --pid-file and by its --listen address, with its cache.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/config.hpp"
#include "server_process.hpp"
#include "shm/app_counters.hpp"
#include "shm/cache_counters.hpp"
#include "shm/cache_store.hpp"
#include "shm/limits.hpp"
#include "shm/prometheus.hpp"
#include "shm/rate_table.hpp"
#include "shm/segment.hpp"
#include "shm/stats.hpp"
#include "shm/upstream_table.hpp"
#include "socket_util.hpp"

namespace zhttp::test {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;
using shm::Counter;
using shm::Gauge;

constexpr const char* kZhttpstat = ZHTTP_BUILD_DIR "/zhttpstat";
constexpr const char* kZhttpd = ZHTTP_BUILD_DIR "/zhttpd";

constexpr size_t idx(Counter c) {
  return static_cast<size_t>(c);
}
constexpr size_t idx(Gauge g) {
  return static_cast<size_t>(g);
}

struct Outcome {
  int status = -1;
  std::string out;
  std::string err;
  int exit_code() const { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
};

// Runs zhttpstat with `args` (prefixed with `wrapper`, e.g. setpriv ...), stdin from /dev/null.
Outcome run_zhttpstat(const std::vector<std::string>& args,
                      const std::vector<std::string>& wrapper = {}) {
  std::vector<std::string> all = wrapper;
  all.push_back(kZhttpstat);
  all.insert(all.end(), args.begin(), args.end());
  ProgramResult r = run_program(all, 20);
  return Outcome{r.status, r.out, r.err};
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<std::string> words_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// The table line of a field: its words (name, value, avg/s, description...), or {} when absent.
std::vector<std::string> table_row(const std::string& table, std::string_view name) {
  for (const std::string& line : lines_of(table)) {
    std::vector<std::string> w = words_of(line);
    if (!w.empty() && w[0] == name) return w;
  }
  return {};
}

// A unique segment name for this test.
std::string unique_name() {
  static int n = 0;
  return "zhttpstat-test-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

// A segment as the master creates it, with workers the test fills in.
class ZhttpstatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = unique_name();
    segment_ = shm::Segment::create(name_, static_cast<uint64_t>(::getpid()));
    header().generation.store(2);
    header().worker_count.store(2);
  }

  shm::SegmentHeader& header() { return segment_->header(); }
  shm::StatsRegion& stats() { return segment_->stats(); }

  // A known state: retired totals, and workers in slots 0 and 3 (slot 1 free).
  void fill_known() {
    shm::WorkerStats& r = stats().retired;
    r.add(Counter::kRequests, 1000);
    r.add(Counter::kConnectionsAccepted, 100);
    r.add(Counter::kResponses2xx, 990);
    r.add(Counter::kResponses200, 990);
    r.add(Counter::kResponses5xx, 10);
    r.add(Counter::kBytesIn, 50000);
    r.add(Counter::kBytesOut, 9000000);
    r.add(Counter::kLatencySumUs, 2000);
    r.latency[1].store(1000);
    add_worker(0, 0, 4001, 10);
    add_worker(3, 1, 4002, 20);
  }

  void add_worker(size_t slot, uint32_t index, int64_t pid, uint64_t requests) {
    shm::WorkerStats& w = stats().slots[slot];
    w.worker_index.store(index);
    w.generation.store(2);
    w.respawns.store(static_cast<uint32_t>(slot));
    w.pid.store(pid);
    w.start_time.store(header().start_time);
    w.add(Counter::kRequests, requests);
    w.add(Counter::kConnectionsAccepted, requests / 2);
    w.add(Counter::kResponses2xx, requests - 1);
    w.add(Counter::kResponses200, requests - 1);
    w.add(Counter::kResponses4xx, 1);
    w.add(Counter::kResponses404, 1);
    w.add(Counter::kBytesIn, requests * 100);
    w.add(Counter::kBytesOut, requests * 1000);
    w.add(Counter::kLatencySumUs, requests * 50);
    w.latency[6].store(requests);
    w.set(Gauge::kConnectionsActive, 2 + slot);
    w.set(Gauge::kConnectionsIdle, 1);
    w.in_use.store(1, std::memory_order_release);
  }

  std::string name_;
  std::unique_ptr<shm::Segment> segment_;
};

TEST_F(ZhttpstatTest, TableShowsTotalsAveragesAndWorkers) {
  fill_known();
  Outcome r = run_zhttpstat({"--shm-name", name_});
  ASSERT_EQ(r.exit_code(), 0) << describe_status(r.status) << r.err;
  EXPECT_EQ(r.err, "");
  std::vector<std::string> lines = lines_of(r.out);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(
      lines[0].rfind(
          name_ + ": master " + std::to_string(::getpid()) + ", generation 2, 2 workers, up ", 0),
      0u)
      << lines[0];

  std::vector<std::string> requests = table_row(r.out, "requests");
  ASSERT_GE(requests.size(), 3u) << r.out;
  EXPECT_EQ(requests[1], "1030");
  double avg = std::stod(requests[2]);  // since start_time, a second or two ago
  EXPECT_GT(avg, 1030.0 / 30);
  EXPECT_LE(avg, 1030.0);
  EXPECT_EQ(table_row(r.out, "bytes_out")[1], "9030000");
  EXPECT_EQ(table_row(r.out, "responses_5xx")[1], "10");
  EXPECT_EQ(table_row(r.out, "responses_404")[1], "2");
  std::vector<std::string> active = table_row(r.out, "connections_active");
  ASSERT_GE(active.size(), 3u);
  EXPECT_EQ(active[1], "7");  // 2 + 0 and 2 + 3
  EXPECT_EQ(active[2], ".");  // a gauge has no average
  for (std::string_view name : shm::kCounterNames)
    EXPECT_FALSE(table_row(r.out, name).empty()) << name;
  for (std::string_view name : shm::kGaugeNames)
    EXPECT_FALSE(table_row(r.out, name).empty()) << name;

  // Worker rows: worker, pid, generation, respawns, uptime, then the main fields.
  std::vector<std::string> head = table_row(r.out, "worker");
  ASSERT_GE(head.size(), 6u) << r.out;
  EXPECT_EQ(head[1], "pid");
  EXPECT_EQ(head[5], "requests");
  std::vector<std::string> w0 = table_row(r.out, "0"), w1 = table_row(r.out, "1");
  ASSERT_EQ(w0.size(), head.size()) << r.out;
  ASSERT_EQ(w1.size(), head.size()) << r.out;
  EXPECT_EQ(w0[1], "4001");
  EXPECT_EQ(w1[1], "4002");
  EXPECT_EQ(w1[2], "2");
  EXPECT_EQ(w1[3], "3");
  EXPECT_EQ(w0[5], "10");
  EXPECT_EQ(w1[5], "20");
  EXPECT_EQ(r.out.find("rate limits"), std::string::npos) << "no zone, no section";
}

TEST_F(ZhttpstatTest, JsonTotalsAreRetiredPlusWorkers) {
  fill_known();
  Outcome r = run_zhttpstat({"--shm-name", name_, "--json"});
  ASSERT_EQ(r.exit_code(), 0) << describe_status(r.status) << r.err;
  ASSERT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "one object on one line";
  Json doc = Json::parse(r.out);
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["version"], 1);
  EXPECT_EQ(doc["master_pid"], ::getpid());
  EXPECT_EQ(doc["generation"], 2);
  EXPECT_EQ(doc["worker_count"], 2);
  EXPECT_EQ(doc["segment"], name_);
  EXPECT_EQ(doc["layout_version"], shm::kLayoutVersion);
  EXPECT_EQ(doc["start_time"], header().start_time);
  double now = static_cast<double>(::time(nullptr));
  EXPECT_NEAR(doc["timestamp"].get<double>(), now, 5.0);

  // The expected totals, computed here from what the test wrote.
  const shm::StatsRegion& s = stats();
  const shm::WorkerStats* parts[] = {&s.retired, &s.slots[0], &s.slots[3]};
  const Json& totals = doc["totals"];
  const Json& retired = doc["retired"];
  const Json& workers = doc["workers"];
  ASSERT_EQ(workers.size(), 2u);
  for (size_t i = 0; i < std::size(shm::kCounterNames); ++i) {
    std::string name(shm::kCounterNames[i]);
    uint64_t expected = 0;
    for (const auto* p : parts) expected += p->counters[i].load();
    ASSERT_TRUE(totals.contains(name)) << name;
    EXPECT_EQ(totals[name].get<uint64_t>(), expected) << name;
    EXPECT_EQ(retired[name].get<uint64_t>(), s.retired.counters[i].load()) << name;
    uint64_t sum = retired[name].get<uint64_t>();
    for (const Json& w : workers) sum += w[name].get<uint64_t>();
    EXPECT_EQ(sum, expected) << name;
  }
  for (size_t i = 0; i < std::size(shm::kGaugeNames); ++i) {
    std::string name(shm::kGaugeNames[i]);
    uint64_t sum = 0;
    for (const Json& w : workers) sum += w[name].get<uint64_t>();
    EXPECT_EQ(totals[name].get<uint64_t>(), sum) << name;
    EXPECT_FALSE(retired.contains(name)) << "a retired worker has no " << name;
  }
  EXPECT_EQ(totals["requests"], 1030);
  EXPECT_EQ(totals["connections_accepted"], 115);
  EXPECT_EQ(totals["bytes_in"], 53000);
  EXPECT_EQ(totals["bytes_out"], 9030000);
  EXPECT_EQ(totals["responses_1xx"], 0);
  EXPECT_EQ(totals["responses_2xx"], 1018);
  EXPECT_EQ(totals["responses_3xx"], 0);
  EXPECT_EQ(totals["responses_4xx"], 2);
  EXPECT_EQ(totals["responses_5xx"], 10);
  EXPECT_EQ(totals["responses_200"], 1018);
  EXPECT_EQ(totals["connections_active"], 7);

  ASSERT_EQ(totals["latency_buckets"].size(), shm::kLatencyBuckets);
  EXPECT_EQ(totals["latency_buckets"][1], 1000);
  EXPECT_EQ(totals["latency_buckets"][6], 30);
  EXPECT_EQ(retired["latency_buckets"][6], 0);

  EXPECT_EQ(workers[0]["index"], 0);
  EXPECT_EQ(workers[0]["pid"], 4001);
  EXPECT_EQ(workers[0]["generation"], 2);
  EXPECT_EQ(workers[0]["respawns"], 0);
  EXPECT_EQ(workers[0]["start_time"], header().start_time);
  EXPECT_EQ(workers[0]["requests"], 10);
  EXPECT_EQ(workers[1]["index"], 1);
  EXPECT_EQ(workers[1]["pid"], 4002);
  EXPECT_EQ(workers[1]["respawns"], 3);
  EXPECT_EQ(workers[1]["connections_active"], 5);
  EXPECT_EQ(workers[1]["latency_buckets"][6], 20);

  EXPECT_EQ(doc["limits"], Json::array());  // no limiter: always there, empty
  EXPECT_FALSE(doc.contains("cache")) << "no cache, no key";
}

TEST_F(ZhttpstatTest, PrometheusIsTheFormatterOutput) {
  fill_known();
  Outcome r = run_zhttpstat({"--shm-name", name_, "--prometheus"});
  ASSERT_EQ(r.exit_code(), 0) << describe_status(r.status) << r.err;
  auto snapshot = std::make_unique<shm::StatsSnapshot>();
  ASSERT_TRUE(shm::read_stats(stats(), snapshot.get()));
  std::string expected(shm::kPrometheusMaxBytes, '\0');
  expected.resize(shm::format_prometheus(header(), *snapshot, expected.data(), expected.size()));
  EXPECT_EQ(r.out, expected);
  EXPECT_NE(r.out.find("\nzhttpd_requests_total 1030\n"), std::string::npos);
  EXPECT_NE(r.out.find("\nzhttpd_workers 2\n"), std::string::npos);
  EXPECT_NE(r.out.find("\nzhttpd_generation 2\n"), std::string::npos);
  EXPECT_NE(r.out.find("\nzhttpd_request_duration_seconds_bucket{le=\"0.000002\"} 1000\n"),
            std::string::npos);
  EXPECT_NE(r.out.find("\nzhttpd_request_duration_seconds_bucket{le=\"0.000064\"} 1030\n"),
            std::string::npos);
  EXPECT_NE(r.out.find("\nzhttpd_request_duration_seconds_sum 0.003500\n"), std::string::npos);
  EXPECT_NE(r.out.find("\nzhttpd_request_duration_seconds_count 1030\n"), std::string::npos);
}

TEST_F(ZhttpstatTest, FieldFilterAppliesToTableAndJson) {
  fill_known();
  Outcome t = run_zhttpstat({"--shm-name", name_, "-f", "responses_?xx", "-f", "requests"});
  ASSERT_EQ(t.exit_code(), 0) << t.err;
  std::vector<std::string> names;
  std::vector<std::string> lines = lines_of(t.out);
  for (size_t i = 1; i < lines.size() && !lines[i].empty(); ++i)
    names.push_back(words_of(lines[i])[0]);
  EXPECT_EQ(names, (std::vector<std::string>{"requests", "responses_1xx", "responses_2xx",
                                             "responses_3xx", "responses_4xx", "responses_5xx"}));
  // The worker rows show the selected fields.
  std::vector<std::string> head = table_row(t.out, "worker");
  EXPECT_EQ(head, (std::vector<std::string>{"worker", "pid", "generation", "respawns", "uptime",
                                            "requests", "responses_1xx", "responses_2xx",
                                            "responses_3xx", "responses_4xx", "responses_5xx"}));

  Outcome j = run_zhttpstat({"--shm-name", name_, "--json", "-f", "bytes_*"});
  ASSERT_EQ(j.exit_code(), 0) << j.err;
  Json doc = Json::parse(j.out);
  EXPECT_EQ(doc["totals"], (Json{{"bytes_in", 53000}, {"bytes_out", 9030000}}));
  for (const Json& w : doc["workers"]) {
    EXPECT_EQ(w.size(), 7u) << w.dump();  // identity (5) and the two fields
    EXPECT_TRUE(w.contains("pid") && w.contains("bytes_in") && w.contains("bytes_out"));
  }
  Json lat = Json::parse(run_zhttpstat({"--shm-name", name_, "--json", "-f", "latency*"}).out);
  EXPECT_EQ(lat["totals"].size(), 2u) << lat.dump();  // latency_sum_us and latency_buckets

  Outcome bad = run_zhttpstat({"--shm-name", name_, "-f", "nosuchfield*"});
  EXPECT_EQ(bad.exit_code(), 2);
  EXPECT_EQ(bad.err, "zhttpstat: -f nosuchfield* matches no field (zhttpstat -l lists them)\n");
  EXPECT_EQ(bad.out, "");
}

TEST_F(ZhttpstatTest, NoSegment) {
  std::string missing = name_ + "-missing";
  Outcome r = run_zhttpstat({"--shm-name", missing});
  EXPECT_EQ(r.exit_code(), 3) << describe_status(r.status);
  EXPECT_EQ(r.err, "zhttpstat: no shared segment " + missing + " (is zhttpd running?)\n");
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(run_zhttpstat({"--shm-name", missing, "--json"}).exit_code(), 3);
  EXPECT_EQ(run_zhttpstat({"--shm-name", missing, "--prometheus"}).exit_code(), 3);
}

TEST_F(ZhttpstatTest, PermissionDenied) {
  std::string path = "/dev/shm/" + name_;
  ASSERT_EQ(::chmod(path.c_str(), 0), 0) << std::strerror(errno);
  std::vector<std::string> wrapper;
  if (::geteuid() == 0) {  // root reads anything: run zhttpstat as nobody
    if (::access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "no setpriv (util-linux)";
    wrapper = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  }
  Outcome r = run_zhttpstat({"--shm-name", name_}, wrapper);
  EXPECT_EQ(r.exit_code(), 4) << describe_status(r.status) << r.err;
  EXPECT_EQ(r.err, "zhttpstat: permission denied on " + name_ + " (run as the server's user)\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(ZhttpstatTest, OtherLayoutVersion) {
  header().layout_version = shm::kLayoutVersion + 41;
  Outcome r = run_zhttpstat({"--shm-name", name_, "--json"});
  EXPECT_EQ(r.exit_code(), 5) << describe_status(r.status);
  EXPECT_EQ(r.err, "zhttpstat: " + name_ + " has layout version " +
                       std::to_string(shm::kLayoutVersion + 41) +
                       ", this zhttpstat reads version " + std::to_string(shm::kLayoutVersion) +
                       "\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(ZhttpstatTest, NotAZhttpdSegment) {
  header().magic = 0x0123456789abcdefull;
  Outcome r = run_zhttpstat({"--shm-name", name_});
  EXPECT_EQ(r.exit_code(), 5) << describe_status(r.status);
  EXPECT_EQ(r.err, "zhttpstat: " + name_ + " is not a zhttpd segment\n");

  // A tiny foreign object under the name.
  segment_.reset();
  int fd = ::shm_open(("/" + name_).c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "hello, world, not zhttpd", 24), 24);
  ::close(fd);
  r = run_zhttpstat({"--shm-name", name_});
  ::shm_unlink(("/" + name_).c_str());
  EXPECT_EQ(r.exit_code(), 5) << describe_status(r.status);
  EXPECT_EQ(r.err, "zhttpstat: " + name_ + " is not a zhttpd segment\n");
}

TEST_F(ZhttpstatTest, NotReady) {
  header().ready.store(0);
  Outcome r = run_zhttpstat({"--shm-name", name_});
  EXPECT_EQ(r.exit_code(), 6) << describe_status(r.status);
  EXPECT_EQ(r.err, "zhttpstat: " + name_ + " is not ready yet (zhttpd is starting)\n");

  // Created, not sized yet.
  segment_.reset();
  int fd = ::shm_open(("/" + name_).c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  ASSERT_GE(fd, 0);
  ::close(fd);
  r = run_zhttpstat({"--shm-name", name_});
  ::shm_unlink(("/" + name_).c_str());
  EXPECT_EQ(r.exit_code(), 6) << describe_status(r.status);
}

TEST_F(ZhttpstatTest, UsageErrors) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--bogus"},
                                             {"--json", "--prometheus"},
                                             {"--prometheus", "-f", "requests"},
                                             {"--shm-name", "x", "--pid-file", "y"},
                                             {"-w", "0"},
                                             {"-w", "abc"}}) {
    Outcome r = run_zhttpstat(args);
    EXPECT_EQ(r.exit_code(), 2) << args[0] << " " << (args.size() > 1 ? args[1] : "") << ": "
                                << r.err;
    EXPECT_NE(r.err, "");
  }
  Outcome help = run_zhttpstat({"--help"});
  EXPECT_EQ(help.exit_code(), 0);
  EXPECT_NE(help.out.find("--prometheus"), std::string::npos);
  Outcome list = run_zhttpstat({"-l"});
  EXPECT_EQ(list.exit_code(), 0);
  EXPECT_FALSE(table_row(list.out, "responses_2xx").empty());
  EXPECT_FALSE(table_row(list.out, "latency_buckets").empty());
}

// Without options, zhttpstat looks for the segment of a zhttpd started without options: named
// after the server's default --listen and no pid file. (A `make run` server may be up, or not.)
TEST_F(ZhttpstatTest, DefaultIsTheSegmentOfADefaultServer) {
  std::string expected = shm::default_segment_name("", cli::Config{}.listen.front());
  Outcome r = run_zhttpstat({"--json"});
  if (r.exit_code() == 0) {
    EXPECT_EQ(Json::parse(r.out)["segment"], expected);
  } else {
    EXPECT_EQ(r.exit_code(), 3) << r.err;
    EXPECT_EQ(r.err, "zhttpstat: no shared segment " + expected + " (is zhttpd running?)\n");
  }
}

// -------------------------------------------------------------------------------------------
// The live view, on a pseudo-terminal, read back through a screen model.

// Enough of a VT100/xterm to replay what ncurses sends: cursor moves, erases, repeats, scroll
// regions; attributes and modes are ignored.
class TerminalModel {
 public:
  TerminalModel(int rows, int cols)
      : rows_(rows), cols_(cols), bottom_(rows - 1), cells_(rows, std::string(cols, ' ')) {}

  void feed(std::string_view bytes) {
    for (char c : bytes) step(static_cast<unsigned char>(c));
  }

  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    for (const std::string& row : cells_)
      out.push_back(row.substr(0, row.find_last_not_of(' ') + 1));
    return out;
  }
  std::string text() const {
    std::string out;
    for (const std::string& l : lines()) out += l + "\n";
    return out;
  }

 private:
  enum class State { kGround, kEscape, kCsi, kOsc, kCharset };

  void step(unsigned char c) {
    switch (state_) {
      case State::kGround:
        ground(c);
        return;
      case State::kEscape:
        escape(c);
        return;
      case State::kCharset:
        state_ = State::kGround;
        return;
      case State::kOsc:
        if (c == 0x07 || c == '\\') state_ = State::kGround;
        return;
      case State::kCsi:
        if (c >= 0x40 && c <= 0x7e) {
          csi(static_cast<char>(c));
          state_ = State::kGround;
        } else {
          params_ += static_cast<char>(c);
        }
        return;
    }
  }

  void ground(unsigned char c) {
    switch (c) {
      case 0x1b:
        state_ = State::kEscape;
        return;
      case '\r':
        col_ = 0;
        return;
      case '\n':
        line_feed();
        return;
      case '\b':
        col_ = std::max(col_ - 1, 0);
        return;
      case '\t':
        col_ = std::min((col_ / 8 + 1) * 8, cols_ - 1);
        return;
      default:
        if (c >= 0x20 && c != 0x7f) print(static_cast<char>(c));
        return;
    }
  }

  void escape(unsigned char c) {
    state_ = State::kGround;
    switch (c) {
      case '[':
        params_.clear();
        state_ = State::kCsi;
        return;
      case ']':
        state_ = State::kOsc;
        return;
      case '(':
      case ')':
      case '*':
      case '+':
        state_ = State::kCharset;
        return;
      case '7':
        saved_row_ = row_, saved_col_ = col_;
        return;
      case '8':
        row_ = saved_row_, col_ = saved_col_;
        return;
      case 'D':
        line_feed();
        return;
      case 'E':
        col_ = 0;
        line_feed();
        return;
      case 'M':
        if (row_ == top_) {
          scroll_down(1);
        } else {
          row_ = std::max(row_ - 1, 0);
        }
        return;
      default:
        return;
    }
  }

  std::vector<int> numbers() const {
    std::vector<int> out;
    std::string p = params_;
    if (!p.empty() && (p[0] == '?' || p[0] == '>' || p[0] == '=')) p.erase(0, 1);
    std::stringstream in(p);
    for (std::string part; std::getline(in, part, ';');)
      out.push_back(part.empty() ? 0 : std::atoi(part.c_str()));
    return out;
  }

  void csi(char final) {
    if (!params_.empty() && params_[0] == '?') return;  // private modes
    std::vector<int> n = numbers();
    auto arg = [&](size_t i, int def) { return i < n.size() && n[i] > 0 ? n[i] : def; };
    switch (final) {
      case 'A':
        row_ = std::max(row_ - arg(0, 1), 0);
        break;
      case 'B':
        row_ = std::min(row_ + arg(0, 1), rows_ - 1);
        break;
      case 'C':
        col_ = std::min(col_ + arg(0, 1), cols_ - 1);
        break;
      case 'D':
        col_ = std::max(col_ - arg(0, 1), 0);
        break;
      case 'E':
        row_ = std::min(row_ + arg(0, 1), rows_ - 1), col_ = 0;
        break;
      case 'F':
        row_ = std::max(row_ - arg(0, 1), 0), col_ = 0;
        break;
      case 'G':
      case '`':
        col_ = std::clamp(arg(0, 1) - 1, 0, cols_ - 1);
        break;
      case 'd':
        row_ = std::clamp(arg(0, 1) - 1, 0, rows_ - 1);
        break;
      case 'H':
      case 'f':
        row_ = std::clamp(arg(0, 1) - 1, 0, rows_ - 1);
        col_ = std::clamp(arg(1, 1) - 1, 0, cols_ - 1);
        break;
      case 'J': {
        int mode = n.empty() ? 0 : n[0];
        if (mode == 0) {
          blank(row_, col_, cols_);
          for (int r = row_ + 1; r < rows_; ++r) blank(r, 0, cols_);
        } else if (mode == 1) {
          for (int r = 0; r < row_; ++r) blank(r, 0, cols_);
          blank(row_, 0, col_ + 1);
        } else {
          for (int r = 0; r < rows_; ++r) blank(r, 0, cols_);
        }
        break;
      }
      case 'K': {
        int mode = n.empty() ? 0 : n[0];
        if (mode == 0) blank(row_, col_, cols_);
        if (mode == 1) blank(row_, 0, col_ + 1);
        if (mode == 2) blank(row_, 0, cols_);
        break;
      }
      case 'X':
        blank(row_, col_, std::min(col_ + arg(0, 1), cols_));
        break;
      case 'b':
        for (int i = arg(0, 1); i > 0; --i) print(last_);
        break;
      case '@': {
        std::string& line = cells_[row_];
        line.insert(static_cast<size_t>(col_), static_cast<size_t>(arg(0, 1)), ' ');
        line.resize(static_cast<size_t>(cols_));
        break;
      }
      case 'P': {
        std::string& line = cells_[row_];
        line.erase(static_cast<size_t>(col_),
                   static_cast<size_t>(std::min(arg(0, 1), cols_ - col_)));
        line.resize(static_cast<size_t>(cols_), ' ');
        break;
      }
      case 'L':
        if (row_ >= top_ && row_ <= bottom_) shift(row_, bottom_, -arg(0, 1));
        break;
      case 'M':
        if (row_ >= top_ && row_ <= bottom_) shift(row_, bottom_, arg(0, 1));
        break;
      case 'S':
        scroll_up(arg(0, 1));
        break;
      case 'T':
        scroll_down(arg(0, 1));
        break;
      case 'r':
        top_ = std::clamp(arg(0, 1) - 1, 0, rows_ - 1);
        bottom_ = std::clamp(arg(1, rows_) - 1, top_, rows_ - 1);
        row_ = 0, col_ = 0;
        break;
      default:
        break;  // m (attributes), h/l (modes), t, n, c...
    }
  }

  void print(char c) {
    if (col_ >= cols_) {  // autowrap
      col_ = 0;
      line_feed();
    }
    cells_[row_][col_] = c;
    last_ = c;
    ++col_;
  }

  void line_feed() {
    if (row_ == bottom_) {
      scroll_up(1);
    } else {
      row_ = std::min(row_ + 1, rows_ - 1);
    }
  }

  void blank(int row, int from, int to) {
    for (int c = std::max(from, 0); c < std::min(to, cols_); ++c) cells_[row][c] = ' ';
  }

  // Moves the lines of [first, last] up by `by` (down when negative), blanking what is left.
  void shift(int first, int last, int by) {
    for (int i = 0; i < std::abs(by); ++i) {
      if (by > 0) {
        for (int r = first; r < last; ++r) cells_[r] = cells_[r + 1];
        blank(last, 0, cols_);
      } else {
        for (int r = last; r > first; --r) cells_[r] = cells_[r - 1];
        blank(first, 0, cols_);
      }
    }
  }
  void scroll_up(int n) { shift(top_, bottom_, n); }
  void scroll_down(int n) { shift(top_, bottom_, -n); }

  int rows_, cols_;
  int row_ = 0, col_ = 0, saved_row_ = 0, saved_col_ = 0;
  int top_ = 0, bottom_;
  char last_ = ' ';
  State state_ = State::kGround;
  std::string params_;
  std::vector<std::string> cells_;
};

constexpr int kRows = 60;
constexpr int kCols = 160;

// zhttpstat -w on a pseudo-terminal of kRows x kCols.
class LiveView {
 public:
  explicit LiveView(const std::vector<std::string>& args) : screen_(kRows, kCols) {
    std::vector<std::string> all = {kZhttpstat};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    winsize ws{};
    ws.ws_row = kRows;
    ws.ws_col = kCols;
    pid_ = ::forkpty(&fd_, nullptr, nullptr, &ws);
    if (pid_ == 0) {
      ::setenv("TERM", "xterm", 1);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~LiveView() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // Reads what the view drew for up to `ms`.
  void pump(int ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0) return;
    char buf[65536];
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n > 0) {
      raw_.append(buf, static_cast<size_t>(n));
      screen_.feed(std::string_view(buf, static_cast<size_t>(n)));
    } else {
      ::usleep(static_cast<useconds_t>(ms) * 1000);  // EIO: the child is gone
    }
  }

  // Pumps until `done()` or `seconds`, calling `tick()` between reads.
  template <typename Done, typename Tick>
  bool until(double seconds, Done done, Tick tick) {
    auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(seconds));
    while (!done()) {
      if (Clock::now() >= deadline) return false;
      tick();
      pump(20);
    }
    return true;
  }

  void type(std::string_view keys) {
    ASSERT_EQ(::write(fd_, keys.data(), keys.size()), static_cast<ssize_t>(keys.size()));
  }

  // Waits up to `seconds` for the exit, reading the terminal meanwhile. False when still running.
  bool wait_exit(double seconds, int* status) {
    auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(seconds));
    while (Clock::now() < deadline) {
      if (::waitpid(pid_, status, WNOHANG) == pid_) {
        reaped_ = true;
        for (int i = 0; i < 5; ++i) pump(10);  // what it wrote last
        return true;
      }
      pump(10);
    }
    return false;
  }

  // The words of the screen line starting with `name`, or {}.
  std::vector<std::string> row(std::string_view name) const {
    for (const std::string& line : screen_.lines()) {
      std::vector<std::string> w = words_of(line);
      if (!w.empty() && w[0] == name) return w;
    }
    return {};
  }
  std::string screen() const { return screen_.text(); }
  const std::string& raw() const { return raw_; }

 private:
  int fd_ = -1;
  pid_t pid_ = -1;
  bool reaped_ = false;
  TerminalModel screen_;
  std::string raw_;
};

TEST_F(ZhttpstatTest, LiveViewShowsRatesAndQuitsOnQ) {
  fill_known();
  LiveView view({"--shm-name", name_, "-w", "0.2"});
  ASSERT_TRUE(view.started());
  shm::WorkerStats& w = stats().slots[0];
  // The requests line: name, current, change/s (once two frames were drawn), avg/s.
  auto rate_shown = [&] {
    std::vector<std::string> r = view.row("requests");
    return r.size() == 4 && std::stod(r[2]) > 0;
  };
  bool shown = view.until(10, rate_shown, [&] { w.add(Counter::kRequests, 10); });
  ASSERT_TRUE(shown) << "screen:\n" << view.screen();
  std::vector<std::string> requests = view.row("requests");
  EXPECT_GE(std::stoull(requests[1]), 1030u);
  // About 10 every 20 ms: 500/s. Loose bounds: a loaded machine stretches both.
  EXPECT_GT(std::stod(requests[2]), 10.0) << view.screen();
  EXPECT_LT(std::stod(requests[2]), 50000.0) << view.screen();
  // Gauges have no rate; the worker rows are there.
  EXPECT_EQ(view.row("connections_active").size(), 2u) << view.screen();
  EXPECT_EQ(view.row("0").size() >= 7 ? view.row("0")[1] : "", "4001") << view.screen();
  EXPECT_NE(view.screen().find("zhttpstat  " + name_), std::string::npos) << view.screen();

  auto quit_at = Clock::now();
  view.type("q");
  int status = 0;
  ASSERT_TRUE(view.wait_exit(2, &status)) << "still running 2 s after q";
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - quit_at).count(), 2.0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << describe_status(status);
  EXPECT_NE(view.raw().find("\x1b[?1049l"), std::string::npos) << "terminal not restored";
}

TEST_F(ZhttpstatTest, LiveViewFieldFilter) {
  fill_known();
  LiveView view({"--shm-name", name_, "-w", "0.1", "-f", "bytes_*"});
  ASSERT_TRUE(view.started());
  ASSERT_TRUE(view.until(
      10, [&] { return view.row("bytes_out").size() == 4; }, [] {}))
      << view.screen();
  EXPECT_TRUE(view.row("bytes_in").size() >= 3);
  EXPECT_TRUE(view.row("requests").empty()) << view.screen();
  EXPECT_TRUE(view.row("connections_active").empty()) << view.screen();
  view.type("q");
  int status = 0;
  ASSERT_TRUE(view.wait_exit(2, &status));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << describe_status(status);
}

TEST_F(ZhttpstatTest, LiveViewRestoresTheTerminalOnSigterm) {
  LiveView view({"--shm-name", name_, "-w", "0.2"});
  ASSERT_TRUE(view.started());
  ASSERT_TRUE(view.until(
      10, [&] { return !view.row("requests").empty(); }, [] {}))
      << view.screen();
  size_t before = view.raw().size();
  ::kill(view.pid(), SIGTERM);
  int status = 0;
  ASSERT_TRUE(view.wait_exit(2, &status));
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << describe_status(status);
  EXPECT_NE(view.raw().find("\x1b[?1049l", before), std::string::npos) << "terminal not restored";
}

TEST_F(ZhttpstatTest, LiveViewExitsWhenTheSegmentGoes) {
  LiveView view({"--shm-name", name_, "-w", "0.1"});
  ASSERT_TRUE(view.started());
  ASSERT_TRUE(view.until(
      10, [&] { return !view.row("requests").empty(); }, [] {}))
      << view.screen();
  segment_.reset();  // removes the name, as a server's clean stop does
  int status = 0;
  ASSERT_TRUE(view.wait_exit(3, &status)) << view.screen();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3) << describe_status(status);
  EXPECT_NE(view.raw().find("zhttpstat: shared segment " + name_ + " is gone (zhttpd stopped)"),
            std::string::npos)
      << view.raw();
}

TEST_F(ZhttpstatTest, LiveViewNeedsATerminal) {
  Outcome r = run_zhttpstat({"--shm-name", name_, "-w", "1"});
  EXPECT_EQ(r.exit_code(), 2);
  EXPECT_EQ(r.err, "zhttpstat: -w needs a terminal on stdin and stdout\n");
}

// -------------------------------------------------------------------------------------------
// The rate limiter's zones: a segment with a limits region and one zone's table ("one"), as the
// master lays them out, counters written and keys charged the way a worker does.

class ZhttpstatLimitsTest : public ZhttpstatTest {
 protected:
  static constexpr uint32_t kSlots = 64;

  void SetUp() override {
    name_ = unique_name();
    segment_ = shm::Segment::create(
        name_, static_cast<uint64_t>(::getpid()),
        {shm::RegionRequest{shm::RegionKind::kLimits, shm::kLimitsVersion,
                            shm::LimitsRegion::bytes_for(1), ""},
         shm::RegionRequest{shm::RegionKind::kRateTable, shm::kRateTableVersion,
                            shm::RateTable::bytes_for(kSlots), "one"}});
    header().generation.store(2);
    header().worker_count.store(2);
    fill_known();  // workers in stats slots 0 and 3

    auto& limits = *static_cast<shm::LimitsRegion*>(segment_->region(shm::RegionKind::kLimits));
    limits.zone_count = 1;
    std::strcpy(limits.zones[0].name, "one");
    limits.zones[0].slots = kSlots;
    shm::ZoneCounters& retired = limits.counters(-1, 0);
    retired.table.passed.add(5);
    retired.table.delayed.add(1);
    retired.table.refused.add(2);
    retired.dry_run_rejected.add(3);
    retired.table.evictions.add(4);
    retired.table.cas_retries.add(6);
    retired.table.refunds.add(7);
    limits.counters(1, 0).table.passed.add(1000);  // stats slot 1 is not in use: not counted

    void* region = segment_->region(shm::RegionKind::kRateTable, "one");
    ASSERT_NE(region, nullptr);
    std::optional<shm::RateTable> table = shm::RateTable::create(
        region, shm::RateTable::bytes_for(kSlots), kSlots, shm::SipKey{1, 2}, shm::monotonic_us());
    ASSERT_TRUE(table.has_value());
    // One request an hour: a, b and c pass (3 keys now live), a second a is refused.
    const shm::RateRule rule = shm::RateRule::per(1, 3600'000'000, 0, 0);
    shm::RateStats* worker = &limits.counters(0, 0).table;  // the worker of stats slot 0
    for (std::string_view key : {"a", "b", "c", "a"}) {
      table->check(table->hash(key), rule, shm::monotonic_us(), worker);
    }
  }
};

TEST_F(ZhttpstatLimitsTest, JsonHasTheZones) {
  Outcome r = run_zhttpstat({"--shm-name", name_, "--json"});
  ASSERT_EQ(r.exit_code(), 0) << describe_status(r.status) << r.err;
  Json doc = Json::parse(r.out);
  EXPECT_EQ(doc["totals"]["requests"], 1030);  // the stats are unchanged
  Json expected = Json::parse(R"([{"zone": "one", "passed": 8, "delayed": 1, "rejected": 3,
      "dry_run_rejected": 3, "entries": 3, "evictions": 4, "slots": 64, "inserts": 3,
      "cas_retries": 6, "refunds": 7, "kind": "requests"}])");
  EXPECT_EQ(doc["limits"], expected) << doc["limits"].dump();
  // The key names, in this order (an interface), and the last key of the document.
  EXPECT_TRUE(r.out.ends_with(
      R"("limits":[{"zone":"one","passed":8,"delayed":1,"rejected":3,"dry_run_rejected":3,)"
      R"("entries":3,"evictions":4,"slots":64,"inserts":3,"cas_retries":6,"refunds":7,)"
      R"("kind":"requests"}]})"
      "\n"))
      << r.out;
}

TEST_F(ZhttpstatLimitsTest, TableHasTheZones) {
  Outcome r = run_zhttpstat({"--shm-name", name_});
  ASSERT_EQ(r.exit_code(), 0) << describe_status(r.status) << r.err;
  ASSERT_NE(r.out.find("\nrate limits\n"), std::string::npos) << r.out;
  EXPECT_EQ(table_row(r.out, "zone"),
            (std::vector<std::string>{"zone", "passed", "delayed", "rejected", "dry_run_rejected",
                                      "entries/slots", "evictions", "cas_retries"}))
      << r.out;
  EXPECT_EQ(table_row(r.out, "one"),
            (std::vector<std::string>{"one", "8", "1", "3", "3", "3/64", "4", "6"}))
      << r.out;
  EXPECT_EQ(table_row(r.out, "requests")[1], "1030");
}

TEST_F(ZhttpstatLimitsTest, PrometheusAppendsTheZones) {
  Outcome r = run_zhttpstat({"--shm-name", name_, "--prometheus"});
  ASSERT_EQ(r.exit_code(), 0) << describe_status(r.status) << r.err;
  auto snapshot = std::make_unique<shm::StatsSnapshot>();
  ASSERT_TRUE(shm::read_stats(stats(), snapshot.get()));
  std::string stats_text(shm::kPrometheusMaxBytes, '\0');
  stats_text.resize(
      shm::format_prometheus(header(), *snapshot, stats_text.data(), stats_text.size()));
  ASSERT_EQ(r.out.substr(0, stats_text.size()), stats_text);
  std::string limits = r.out.substr(stats_text.size());
  EXPECT_EQ(limits.rfind("# HELP zhttpd_limit_requests_total ", 0), 0u) << limits;
  for (const char* line : {
           "zhttpd_limit_requests_total{zone=\"one\",result=\"passed\"} 8\n",
           "zhttpd_limit_requests_total{zone=\"one\",result=\"delayed\"} 1\n",
           "zhttpd_limit_requests_total{zone=\"one\",result=\"rejected\"} 3\n",
           "zhttpd_limit_requests_total{zone=\"one\",result=\"dry_run_rejected\"} 3\n",
           "zhttpd_limit_entries{zone=\"one\"} 3\n",
           "zhttpd_limit_slots{zone=\"one\"} 64\n",
           "zhttpd_limit_evictions_total{zone=\"one\"} 4\n",
           "zhttpd_limit_cas_retries_total{zone=\"one\"} 6\n",
       }) {
    EXPECT_NE(limits.find(line), std::string::npos) << line << limits;
  }
}

// A table region that is not a table (never created): the zone is shown with 0 entries.
TEST_F(ZhttpstatLimitsTest, ZoneWithoutItsTableHasNoEntries) {
  auto& limits = *static_cast<shm::LimitsRegion*>(segment_->region(shm::RegionKind::kLimits));
  std::strcpy(limits.zones[0].name, "two");  // no table of that name
  Outcome r = run_zhttpstat({"--shm-name", name_, "--json"});
  ASSERT_EQ(r.exit_code(), 0) << describe_status(r.status) << r.err;
  Json zone = Json::parse(r.out)["limits"][0];
  EXPECT_EQ(zone["zone"], "two");
  EXPECT_EQ(zone["entries"], 0);
  EXPECT_EQ(zone["passed"], 8);
}

TEST_F(ZhttpstatLimitsTest, LiveViewShowsTheZones) {
  LiveView view({"--shm-name", name_, "-w", "0.1"});
  ASSERT_TRUE(view.started());
  // A row may be caught half drawn: wait for the whole of it.
  const std::vector<std::string> expected = {"one", "8", "1", "3", "3", "3/64", "4", "6"};
  ASSERT_TRUE(view.until(
      10, [&] { return view.row("one") == expected; }, [] {}))
      << view.screen();
  EXPECT_NE(view.screen().find("rate limits"), std::string::npos) << view.screen();
  view.type("q");
  int status = 0;
  ASSERT_TRUE(view.wait_exit(2, &status));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << describe_status(status);
}

// The application's values: a kAppCounters region with a counter and a gauge, retired totals and
// the workers of stats slots 0 and 3 (slot 1, not in use, is not counted).
class ZhttpstatAppTest : public ZhttpstatTest {
 protected:
  void SetUp() override {
    name_ = unique_name();
    segment_ = shm::Segment::create(
        name_, static_cast<uint64_t>(::getpid()),
        {shm::RegionRequest{shm::RegionKind::kAppCounters, shm::kAppCountersVersion,
                            shm::AppCountersRegion::bytes_for(2), ""}});
    header().generation.store(2);
    header().worker_count.store(2);
    fill_known();
    auto& app =
        *static_cast<shm::AppCountersRegion*>(segment_->region(shm::RegionKind::kAppCounters));
    const shm::AppValueDecl values[] = {{"greetings", "Greetings sent.", shm::kAppCounter},
                                        {"queue_depth", "Jobs waiting.", shm::kAppGauge}};
    ASSERT_TRUE(shm::lay_out_app_values(app, values));
    app.word(-1, 0).store(10);
    shm::AppValueWriter(shm::worker_word(app, 0, 0)).add(1);
    shm::AppValueWriter(shm::worker_word(app, 3, 0)).add(1);
    shm::AppValueWriter(shm::worker_word(app, 1, 0)).add(500);
    shm::AppValueWriter(shm::worker_word(app, 0, 1)).set(4);
    shm::AppValueWriter(shm::worker_word(app, 3, 1)).set(-1);
  }
};

TEST_F(ZhttpstatAppTest, JsonHasTheValuesInTotalsByName) {
  Outcome r = run_zhttpstat({"--shm-name", name_, "--json"});
  ASSERT_EQ(r.exit_code(), 0) << describe_status(r.status) << r.err;
  Json doc = Json::parse(r.out);
  EXPECT_EQ(doc["totals"]["requests"], 1030);
  EXPECT_EQ(doc["totals"]["greetings"], 12) << r.out;
  EXPECT_EQ(doc["totals"]["queue_depth"], 3) << r.out;
}

TEST_F(ZhttpstatAppTest, TableHasAnAppValuesSection) {
  Outcome r = run_zhttpstat({"--shm-name", name_});
  ASSERT_EQ(r.exit_code(), 0) << describe_status(r.status) << r.err;
  ASSERT_NE(r.out.find("\napp values\n"), std::string::npos) << r.out;
  std::vector<std::string> greetings = table_row(r.out, "greetings");
  ASSERT_EQ(greetings.size(), 5u) << r.out;
  EXPECT_EQ(greetings[1], "12");
  EXPECT_GT(std::stod(greetings[2]), 0.0);  // per second since the start
  EXPECT_EQ(greetings[3] + " " + greetings[4], "Greetings sent.");
  EXPECT_EQ(table_row(r.out, "queue_depth"),
            (std::vector<std::string>{"queue_depth", "3", ".", "Jobs", "waiting."}))
      << r.out;
}

TEST_F(ZhttpstatAppTest, PrometheusAppendsTheValues) {
  Outcome r = run_zhttpstat({"--shm-name", name_, "--prometheus"});
  ASSERT_EQ(r.exit_code(), 0) << describe_status(r.status) << r.err;
  EXPECT_TRUE(
      r.out.ends_with("# HELP zhttpd_app_greetings_total Greetings sent.\n"
                      "# TYPE zhttpd_app_greetings_total counter\n"
                      "zhttpd_app_greetings_total 12\n"
                      "# HELP zhttpd_app_queue_depth Jobs waiting.\n"
                      "# TYPE zhttpd_app_queue_depth gauge\n"
                      "zhttpd_app_queue_depth 3\n"))
      << r.out;
  EXPECT_NE(r.out.find("\nzhttpd_requests_total 1030\n"), std::string::npos) << r.out;
}

TEST_F(ZhttpstatAppTest, LiveViewShowsTheValues) {
  LiveView view({"--shm-name", name_, "-w", "0.1"});
  ASSERT_TRUE(view.started());
  // Rows may be caught half drawn: wait for both whole.
  ASSERT_TRUE(view.until(
      10,
      [&] {
        std::vector<std::string> g = view.row("greetings");
        return g.size() >= 2 && g[1] == "12" &&
               view.row("queue_depth") == std::vector<std::string>{"queue_depth", "3"};
      },
      [] {}))
      << view.screen();
  EXPECT_NE(view.screen().find("app values"), std::string::npos) << view.screen();
  view.type("q");
  int status = 0;
  ASSERT_TRUE(view.wait_exit(2, &status));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << describe_status(status);
}

TEST_F(ZhttpstatAppTest, TooSmallARegionIsRefused) {
  header().regions[1].bytes = 16;
  Outcome r = run_zhttpstat({"--shm-name", name_, "--json"});
  EXPECT_EQ(r.exit_code(), 5) << describe_status(r.status) << r.err;
  EXPECT_EQ(r.err, "zhttpstat: " + name_ +
                       " is not a zhttpd segment (its app counters region of 16 bytes is too "
                       "small)\n");
}

// The shared cache: a store with two live entries and one expired, its counters' retired row and
// the rows of the workers of stats slots 0 and 3 (slot 1, not in use, is not counted).
class ZhttpstatCacheTest : public ZhttpstatTest {
 protected:
  static constexpr uint64_t kStoreBytes = 1 << 20;

  void SetUp() override {
    name_ = unique_name();
    segment_ = shm::Segment::create(
        name_, static_cast<uint64_t>(::getpid()),
        {shm::RegionRequest{shm::RegionKind::kCache, shm::kCacheStoreVersion, kStoreBytes, ""},
         shm::RegionRequest{shm::RegionKind::kCacheCounters, shm::kCacheCountersVersion,
                            sizeof(shm::CacheCountersRegion), ""}});
    header().generation.store(2);
    header().worker_count.store(2);
    fill_known();
    std::optional<shm::CacheStore> store = shm::CacheStore::create(
        segment_->region(shm::RegionKind::kCache), kStoreBytes, shm::SipKey{1, 2});
    ASSERT_TRUE(store.has_value());
    slots_ = 0;
    for (uint32_t c = 0; c < store->classes(); ++c) slots_ += store->class_info(c).slots;
    auto& counters =
        *static_cast<shm::CacheCountersRegion*>(segment_->region(shm::RegionKind::kCacheCounters));
    const uint64_t now = shm::monotonic_us();
    shm::CacheMeta meta;
    meta.expires_us = meta.stale_until_us = now + 3600'000'000;
    for (std::string_view key : {"/a", "/b"}) {
      ASSERT_EQ(store->store(store->hash(key), key, meta, "H", "B", 0, now, &counters.row(0)),
                shm::CacheStoreResult::kStored);
    }
    meta.expires_us = meta.stale_until_us = 1;  // long gone
    ASSERT_EQ(store->store(store->hash("/old"), "/old", meta, "H", "B", 3, now, &counters.row(3)),
              shm::CacheStoreResult::kStored);
    counters.row(-1).lookups.add(100);
    counters.row(-1).crash_resets.add(1);
    counters.row(0).lookups.add(10);
    counters.row(0).hits.add(6);
    counters.row(3).lookups.add(20);
    counters.row(3).misses.add(4);
    counters.row(3).lease_no_room.add(9);  // not shown
    counters.row(1).lookups.add(5000);
  }

  uint64_t slots_ = 0;
};

TEST_F(ZhttpstatCacheTest, JsonHasTheCacheWithExactlyItsKeys) {
  Outcome r = run_zhttpstat({"--shm-name", name_, "--json"});
  ASSERT_EQ(r.exit_code(), 0) << describe_status(r.status) << r.err;
  Json doc = Json::parse(r.out);
  EXPECT_EQ(doc["totals"]["requests"], 1030);  // the stats are unchanged
  const Json expected = {{"lookups", 130},       {"hits", 6},          {"stale_hits", 0},
                         {"misses", 4},          {"bypasses", 0},      {"stores", 3},
                         {"too_big", 0},         {"evictions", 0},     {"torn_reads", 0},
                         {"coalesced_waits", 0}, {"lock_timeouts", 0}, {"purges", 0},
                         {"crash_resets", 1},    {"uncacheable", 0},   {"lease_waits", 0},
                         {"entries", 2},         {"slots", slots_},    {"bytes", kStoreBytes}};
  EXPECT_EQ(doc["cache"], expected) << doc["cache"].dump();
  // The keys in this order (an interface), right before "limits", the last key.
  EXPECT_NE(r.out.find(R"("cache":{"lookups":130,"hits":6,"stale_hits":0,"misses":4,)"
                       R"("bypasses":0,"stores":3,"too_big":0,"evictions":0,"torn_reads":0,)"
                       R"("coalesced_waits":0,"lock_timeouts":0,"purges":0,"crash_resets":1,)"
                       R"("uncacheable":0,"lease_waits":0,"entries":2,"slots":)" +
                       std::to_string(slots_) + R"(,"bytes":1048576},"limits":[]})"),
            std::string::npos)
      << r.out;
}

TEST_F(ZhttpstatCacheTest, TableHasACacheSection) {
  Outcome r = run_zhttpstat({"--shm-name", name_});
  ASSERT_EQ(r.exit_code(), 0) << describe_status(r.status) << r.err;
  ASSERT_NE(r.out.find("\ncache\n"), std::string::npos) << r.out;
  std::vector<std::string> lookups = table_row(r.out, "lookups");
  ASSERT_GE(lookups.size(), 4u) << r.out;
  EXPECT_EQ(lookups[1], "130");
  EXPECT_GT(std::stod(lookups[2]), 0.0);  // per second since the start
  EXPECT_EQ(table_row(r.out, "hits")[1], "6");
  std::vector<std::string> entries = table_row(r.out, "entries");
  ASSERT_GE(entries.size(), 3u) << r.out;
  EXPECT_EQ(entries[1], "2");
  EXPECT_EQ(entries[2], ".");
  EXPECT_EQ(table_row(r.out, "slots")[1], std::to_string(slots_));
  EXPECT_EQ(table_row(r.out, "bytes")[1], "1048576");
  EXPECT_TRUE(table_row(r.out, "lease_no_room").empty()) << r.out;
}

TEST_F(ZhttpstatCacheTest, PrometheusAppendsTheCache) {
  Outcome r = run_zhttpstat({"--shm-name", name_, "--prometheus"});
  ASSERT_EQ(r.exit_code(), 0) << describe_status(r.status) << r.err;
  const std::vector<std::string> lines = {"zhttpd_cache_lookups_total 130\n",
                                          "zhttpd_cache_misses_total 4\n",
                                          "zhttpd_cache_crash_resets_total 1\n",
                                          "zhttpd_cache_entries 2\n",
                                          "zhttpd_cache_slots " + std::to_string(slots_) + "\n",
                                          "zhttpd_cache_bytes 1048576\n"};
  for (const std::string& line : lines) {
    EXPECT_NE(r.out.find("\n" + line), std::string::npos) << line << r.out;
  }
  EXPECT_TRUE(r.out.ends_with("zhttpd_cache_bytes 1048576\n")) << "no app value after it";
}

TEST_F(ZhttpstatCacheTest, LiveViewShowsTheCache) {
  LiveView view({"--shm-name", name_, "-w", "0.1", "-f", "requests"});
  ASSERT_TRUE(view.started());
  ASSERT_TRUE(view.until(
      10,
      [&] {
        std::vector<std::string> l = view.row("lookups");
        return l.size() >= 2 && l[1] == "130" &&
               view.row("entries") == std::vector<std::string>{"entries", "2"};
      },
      [] {}))
      << view.screen();
  EXPECT_NE(view.screen().find("cache"), std::string::npos) << view.screen();
  view.type("q");
  int status = 0;
  ASSERT_TRUE(view.wait_exit(2, &status));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << describe_status(status);
}

TEST_F(ZhttpstatCacheTest, TooSmallACountersRegionIsRefused) {
  header().regions[2].bytes = 64;
  Outcome r = run_zhttpstat({"--shm-name", name_, "--json"});
  EXPECT_EQ(r.exit_code(), 5) << describe_status(r.status) << r.err;
  EXPECT_EQ(r.err, "zhttpstat: " + name_ +
                       " is not a zhttpd segment (its cache counters region of 64 bytes is too "
                       "small)\n");
}

// The reverse proxy's upstream table: two servers of "app" (one a backup, taken out by a
// failure), one of "api" under active checks, and one removed by a later map (not shown).
class ZhttpstatUpstreamTest : public ZhttpstatTest {
 protected:
  void SetUp() override {
    name_ = unique_name();
    const uint32_t capacity = shm::UpstreamTable::capacity_for(3);
    segment_ = shm::Segment::create(
        name_, static_cast<uint64_t>(::getpid()),
        {shm::RegionRequest{shm::RegionKind::kUpstreams, shm::kUpstreamTableVersion,
                            shm::UpstreamTable::bytes_for(capacity), ""}});
    header().generation.store(2);
    header().worker_count.store(2);
    fill_known();
    const shm::RegionEntry* e = shm::find_region(header(), shm::RegionKind::kUpstreams);
    ASSERT_NE(e, nullptr);
    std::optional<shm::UpstreamTable> table = shm::UpstreamTable::create(
        segment_->region(shm::RegionKind::kUpstreams), e->bytes, capacity, true);
    ASSERT_TRUE(table);
    std::vector<shm::UpstreamSpec> specs = {{"app", "127.0.0.1:9001"},
                                            {"app", "127.0.0.1:9002", 2, 10, true},
                                            {"api", "unix:/run/api.sock", 1, 0, false, true},
                                            {"old", "127.0.0.1:9009"}};
    std::string error;
    ASSERT_TRUE(table->map(specs, &error)) << error;
    specs.pop_back();
    ASSERT_TRUE(table->map(specs, &error)) << error;
    shm::UpstreamSlot& a =
        table->slot(static_cast<uint32_t>(table->find("app", "127.0.0.1:9001", 0)));
    ASSERT_TRUE(shm::acquire(a, nullptr, 0));
    shm::bump(a.traffic.requests, 40);
    shm::bump(a.traffic.responses[1], 30);
    shm::bump(a.traffic.responses[4], 5);
    shm::bump(a.traffic.reused_connections, 33);
    shm::bump(a.events.new_connections, 7);
    shm::bump(a.events.connect_errors, 2);
    shm::bump(a.events.timeouts, 1);
    shm::bump(a.events.retries, 3);
    shm::bump(a.events.fails, 3);
    shm::UpstreamSlot& b =
        table->slot(static_cast<uint32_t>(table->find("app", "127.0.0.1:9002", 0)));
    shm::record_failure(b, shm::monotonic_us() / 1000, 1, 3'600'000);
    shm::UpstreamSlot& c =
        table->slot(static_cast<uint32_t>(table->find("api", "unix:/run/api.sock", 0)));
    shm::record_check(c, true, 1, 2, 3);
    shm::record_check(c, false, 2, 2, 3);
  }
};

TEST_F(ZhttpstatUpstreamTest, JsonHasOneObjectPerServerWithItsKeys) {
  Outcome r = run_zhttpstat({"--shm-name", name_, "--json"});
  ASSERT_EQ(r.exit_code(), 0) << describe_status(r.status) << r.err;
  Json doc = Json::parse(r.out);
  ASSERT_TRUE(doc.contains("upstreams")) << r.out;
  const Json& u = doc["upstreams"];
  ASSERT_EQ(u.size(), 3u) << u.dump();
  const Json expected = {
      {"group", "app"},
      {"server", "127.0.0.1:9001"},
      {"state", "up"},
      {"backup", false},
      {"weight", 1},
      {"max_conns", 0},
      {"in_flight", 1},
      {"requests", 41},
      {"responses", {{"1xx", 0}, {"2xx", 30}, {"3xx", 0}, {"4xx", 0}, {"5xx", 5}}},
      {"connect_errors", 2},
      {"errors", 0},
      {"timeouts", 1},
      {"retries", 3},
      {"abandoned", 0},
      {"reused_connections", 33},
      {"new_connections", 7},
      {"fails", 3},
      {"downs", 0},
      {"checks_passed", 0},
      {"checks_failed", 0}};
  EXPECT_EQ(u[0], expected) << u[0].dump();
  EXPECT_EQ(u[1]["state"], "down");
  EXPECT_EQ(u[1]["backup"], true);
  EXPECT_EQ(u[1]["weight"], 2);
  EXPECT_EQ(u[1]["max_conns"], 10);
  EXPECT_EQ(u[1]["downs"], 1);
  EXPECT_EQ(u[2]["group"], "api");
  EXPECT_EQ(u[2]["state"], "checking");
  EXPECT_EQ(u[2]["checks_passed"], 1);
  EXPECT_EQ(u[2]["checks_failed"], 1);
  EXPECT_TRUE(r.out.ends_with("]}\n")) << "the last key";
}

TEST_F(ZhttpstatUpstreamTest, TableHasAnUpstreamsSection) {
  Outcome r = run_zhttpstat({"--shm-name", name_});
  ASSERT_EQ(r.exit_code(), 0) << describe_status(r.status) << r.err;
  const size_t at = r.out.find("\nupstreams\n");
  ASSERT_NE(at, std::string::npos) << r.out;
  const std::vector<std::string> lines = lines_of(r.out.substr(at + 1));
  ASSERT_GE(lines.size(), 5u) << r.out;
  EXPECT_EQ(words_of(lines[1]),
            (std::vector<std::string>{"group", "server", "state", "in_flight", "requests", "2xx",
                                      "3xx", "4xx", "5xx", "conn_errors", "errors", "timeouts",
                                      "retries", "reused", "new"}));
  EXPECT_EQ(words_of(lines[2]),
            (std::vector<std::string>{"app", "127.0.0.1:9001", "up", "1", "41", "30", "0", "0", "5",
                                      "2", "0", "1", "3", "33", "7"}));
  EXPECT_EQ(words_of(lines[3])[1], "127.0.0.1:9002");
  EXPECT_EQ(words_of(lines[3])[2], "(backup)");
  EXPECT_EQ(words_of(lines[3])[3], "down");
  EXPECT_EQ(words_of(lines[4])[2], "checking");
}

TEST_F(ZhttpstatUpstreamTest, PrometheusAppendsTheUpstreams) {
  Outcome r = run_zhttpstat({"--shm-name", name_, "--prometheus"});
  ASSERT_EQ(r.exit_code(), 0) << describe_status(r.status) << r.err;
  const std::string a = R"({group="app",server="127.0.0.1:9001")";
  const std::string b = R"({group="app",server="127.0.0.1:9002")";
  for (const std::string& line :
       {"zhttpd_upstream_requests_total" + a + "} 41\n",
        "zhttpd_upstream_responses_total" + a + R"(,class="5xx"} 5)" + "\n",
        "zhttpd_upstream_connect_errors_total" + a + "} 2\n",
        "zhttpd_upstream_in_flight" + a + "} 1\n", "zhttpd_upstream_up" + a + "} 1\n",
        "zhttpd_upstream_up" + b + "} 0\n",
        "zhttpd_upstream_connections_total" + a + R"(,reused="true"} 33)" + "\n"}) {
    EXPECT_NE(r.out.find("\n" + line), std::string::npos) << line << r.out;
  }
  EXPECT_EQ(r.out.find("127.0.0.1:9009"), std::string::npos) << "a removed server";
}

TEST_F(ZhttpstatTest, RegionOutsideTheMapping) {
  header().regions[0].bytes = header().total_bytes;  // the stats region, from 4 KiB on
  Outcome r = run_zhttpstat({"--shm-name", name_, "--json"});
  EXPECT_EQ(r.exit_code(), 5) << describe_status(r.status) << r.err;
  EXPECT_EQ(r.err, "zhttpstat: " + name_ +
                       " is not a zhttpd segment (its region 0 does not fit in its " +
                       std::to_string(header().total_bytes) + " bytes)\n");
  EXPECT_EQ(r.out, "");
}

// -------------------------------------------------------------------------------------------
// A real zhttpd: zhttpstat finds its segment the way the server names it.

class ZhttpstatServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/zhttpstat-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    std::ofstream(dir_ + "/index.html") << "hello\n";
  }
  void TearDown() override {
    servers_.clear();  // each stops its server with a deadline
    std::filesystem::remove_all(dir_);
  }

  // Starts zhttpd with one worker on a free port plus `extra`; returns the port (0 on failure).
  // It sends it no request: the test counts them.
  uint16_t start(const std::vector<std::string>& extra) {
    servers_.push_back(std::make_unique<ServerProcess>("zhttpstat-test-server"));
    std::vector<std::string> args = {"--listen", "{address}", "--root", dir_, "--workers", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    ServerOptions o = ServerOptions::zhttpd(args);
    o.ready = ServerOptions::Ready::kNone;
    servers_.back()->start(o);
    return servers_.back()->running() ? servers_.back()->port() : 0;
  }

  // One GET / on a fresh connection, answered.
  static bool get(uint16_t port) {
    int fd = connect_loopback(port);
    if (fd < 0) return false;
    bool ok = send_all(fd, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    std::string got = read_until(
        fd, [](const std::string&) { return false; }, 10);
    ::close(fd);
    return ok && got.rfind("HTTP/1.1 200", 0) == 0;
  }

  // zhttpstat --json with `args`, retried while the server is still starting (exit 6).
  static Json stats_of(const std::vector<std::string>& args) {
    std::vector<std::string> all = args;
    all.push_back("--json");
    for (int i = 0; i < 50; ++i) {
      Outcome r = run_zhttpstat(all);
      if (r.exit_code() == 0) return Json::parse(r.out);
      EXPECT_EQ(r.exit_code(), 6) << r.err;
      if (r.exit_code() != 6) break;
      ::usleep(100000);
    }
    return Json();
  }

  std::string dir_;
  std::vector<std::unique_ptr<ServerProcess>> servers_;
};

TEST_F(ZhttpstatServerTest, FindsTheServerByItsPidFileAndByItsListenAddress) {
  std::string pid_file = dir_ + "/zhttpd.pid";
  uint16_t with_pid_file = start({"--pid-file", pid_file});
  ASSERT_NE(with_pid_file, 0) << "zhttpd did not start";
  uint16_t without = start({});
  ASSERT_NE(without, 0) << "zhttpd did not start";
  ASSERT_TRUE(get(with_pid_file));

  Json a = stats_of({"--pid-file", pid_file});
  ASSERT_TRUE(a.is_object());
  std::ifstream in(pid_file);
  int64_t pid = 0;
  in >> pid;
  EXPECT_EQ(a["master_pid"], pid);
  EXPECT_EQ(a["master_pid"], servers_[0]->pid());
  EXPECT_GE(a["generation"].get<int>(), 1);
  EXPECT_EQ(a["worker_count"], 1);
  // The request above is counted once its worker recorded it.
  for (int i = 0; i < 50 && a["totals"]["requests"].get<uint64_t>() < 1; ++i) {
    ::usleep(100000);
    a = stats_of({"--pid-file", pid_file});
  }
  EXPECT_GE(a["totals"]["requests"].get<uint64_t>(), 1u) << a.dump();

  // The same pid file named through another path finds the same segment.
  Json again = stats_of({"--pid-file", dir_ + "/./zhttpd.pid"});
  EXPECT_EQ(again["master_pid"], pid);

  Json b = stats_of({"--listen", "127.0.0.1:" + std::to_string(without)});
  ASSERT_TRUE(b.is_object());
  EXPECT_EQ(b["master_pid"], servers_[1]->pid());
}

// The cache of a real server (on by default, 64m): the keys are there (the counters stay 0 until
// a cache stage counts), its slots and bytes; --cache-size 0: no "cache".
TEST_F(ZhttpstatServerTest, ShowsTheCacheOfTheServer) {
  uint16_t with_cache = start({});
  ASSERT_NE(with_cache, 0) << "zhttpd did not start";
  uint16_t without = start({"--cache-size", "0"});
  ASSERT_NE(without, 0) << "zhttpd did not start";
  ASSERT_TRUE(get(with_cache));

  Json a = stats_of({"--listen", "127.0.0.1:" + std::to_string(with_cache)});
  ASSERT_TRUE(a.is_object());
  ASSERT_TRUE(a.contains("cache")) << a.dump();
  const Json& cache = a["cache"];
  std::vector<std::string> keys;
  for (const auto& item : cache.items()) keys.push_back(item.key());
  std::sort(keys.begin(), keys.end());
  std::vector<std::string> expected = {
      "lookups",      "hits",        "stale_hits",  "misses",          "bypasses",      "stores",
      "too_big",      "evictions",   "torn_reads",  "coalesced_waits", "lock_timeouts", "purges",
      "crash_resets", "uncacheable", "lease_waits", "entries",         "slots",         "bytes"};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(keys, expected) << cache.dump();
  for (const auto& item : cache.items())
    EXPECT_TRUE(item.value().is_number_unsigned()) << item.key();
  EXPECT_EQ(cache["bytes"], uint64_t{64} << 20);
  EXPECT_GT(cache["slots"].get<uint64_t>(), 20000u);  // 1, 4 and 16 KiB slots in 64 MiB
  EXPECT_EQ(cache["entries"], 0);

  Json b = stats_of({"--listen", "127.0.0.1:" + std::to_string(without)});
  ASSERT_TRUE(b.is_object());
  EXPECT_FALSE(b.contains("cache")) << b.dump();
}

}  // namespace
}  // namespace zhttp::test
