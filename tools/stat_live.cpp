#include "stat_live.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

// Functions rather than macros: curses' erase(), move(), clear()... would clash with C++ names.
#define NCURSES_NOMACROS
#include <curses.h>

namespace zhttp::stat {
namespace {

using Row = shm::StatsSnapshot::Row;
using Clock = std::chrono::steady_clock;

volatile sig_atomic_t g_signal = 0;

void on_signal(int sig) {
  g_signal = sig;
}

constexpr int kQuitSignals[] = {SIGINT, SIGTERM, SIGHUP};

// Without SA_RESTART: the signal interrupts poll(), so the loop sees it at once.
void catch_quit_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : kQuitSignals) ::sigaction(sig, &sa, nullptr);
}

std::string human_micros(uint64_t us) {
  if (us < 1000) return fmt::format("{} us", us);
  if (us < 1000000) return fmt::format("{:.1f} ms", static_cast<double>(us) / 1e3);
  return fmt::format("{:.2f} s", static_cast<double>(us) / 1e6);
}

// "p50 < 128 us": the upper bound of the log2 bucket holding the q-quantile of `delta`.
std::string quantile(const uint64_t (&delta)[shm::kLatencyBuckets], uint64_t total, double q) {
  auto rank = static_cast<uint64_t>(q * static_cast<double>(total) + 0.5);
  rank = std::max<uint64_t>(rank, 1);
  uint64_t seen = 0;
  for (size_t i = 0; i < shm::kLatencyBuckets; ++i) {
    seen += delta[i];
    if (seen >= rank) {
      if (i + 1 == shm::kLatencyBuckets) return ">= " + human_micros(uint64_t{1} << (i - 1));
      return "< " + human_micros(uint64_t{1} << i);
    }
  }
  return "-";
}

class Screen {
 public:
  explicit Screen(const LiveOptions& options)
      : options_(options), fields_(options.filter.fields()) {}

  // Draws `cur`, `app` and `cache` (null: no cache); `prev`, `prev_app` and `prev_cache` (taken
  // `seconds` earlier) give the rates, or nullptr on the first frame. `limits` adds the rate
  // limits rows (none without zones).
  void draw(const shm::SegmentView& segment, const shm::StatsSnapshot& cur,
            const shm::StatsSnapshot* prev, const shm::AppValuesSnapshot& app,
            const shm::AppValuesSnapshot* prev_app, const shm::CacheSnapshot* cache,
            const shm::CacheSnapshot* prev_cache, double seconds,
            const shm::LimitsSnapshot& limits) {
    ::werase(stdscr);
    line_ = 0;
    const shm::SegmentHeader& h = segment.header();
    int64_t now = static_cast<int64_t>(::time(nullptr));
    int64_t uptime = now - h.start_time;
    bool running =
        h.master_pid > 0 && (::kill(static_cast<pid_t>(h.master_pid), 0) == 0 || errno == EPERM);
    ::wattron(stdscr, A_REVERSE);
    std::string title = fmt::format(
        "zhttpstat  {}  master {}{}  generation {}  workers {}  up {}", segment.name(),
        h.master_pid, running ? "" : " (not running)", h.generation.load(std::memory_order_relaxed),
        h.worker_count.load(std::memory_order_relaxed), format_duration(uptime));
    std::string keys = fmt::format("every {}s, q quits", options_.interval);
    auto width = static_cast<size_t>(std::max(COLS, 1));
    if (title.size() + 2 + keys.size() <= width) {
      title += std::string(width - title.size() - keys.size(), ' ') + keys;
    }
    put(fmt::format("{:<{}}", title, width));
    ::wattroff(stdscr, A_REVERSE);
    ++line_;

    ::wattron(stdscr, A_BOLD);
    put(fmt::format("{:<24} {:>20} {:>14} {:>14}", "NAME", "CURRENT", "CHANGE/s", "AVG/s"));
    ::wattroff(stdscr, A_BOLD);
    since_start_ = static_cast<double>(std::max<int64_t>(uptime, 1));
    seconds_ = seconds;
    for (const Field& f : fields_) {
      uint64_t before = prev != nullptr ? field_value(prev->totals, f) : 0;
      value_row(f.name, field_value(cur.totals, f), prev != nullptr ? &before : nullptr,
                f.kind == FieldKind::kCounter);
    }

    if (app.count > 0) {
      ++line_;
      put("app values");
      for (size_t i = 0; i < app.count; ++i) {
        const shm::AppValuesSnapshot::Value& a = app.values[i];
        const bool had = prev_app != nullptr && i < prev_app->count;
        value_row(a.name, a.total, had ? &prev_app->values[i].total : nullptr,
                  a.kind == shm::kAppCounter);
      }
    }

    if (cache != nullptr) {
      ++line_;
      put("cache");
      for (size_t f = 0; f < shm::kCacheCounterCount; ++f) {
        if (!shm::kCacheCounterFields[f].shown) continue;
        value_row(shm::kCacheCounterFields[f].name, cache->counters[f],
                  prev_cache != nullptr ? &prev_cache->counters[f] : nullptr, true);
      }
      for (const shm::CacheStoreField& g : shm::kCacheStoreFields) {
        value_row<uint64_t>(g.name, cache->*g.value, nullptr, false);
      }
    }

    if (options_.filter.selects(kLatencyBucketsName)) {
      ++line_;
      if (prev != nullptr) {
        uint64_t delta[shm::kLatencyBuckets] = {};
        uint64_t total = 0;
        for (size_t i = 0; i < shm::kLatencyBuckets; ++i) {
          uint64_t a = cur.totals.latency[i], b = prev->totals.latency[i];
          delta[i] = a >= b ? a - b : 0;
          total += delta[i];
        }
        if (total == 0) {
          put("latency: no request in the last interval");
        } else {
          put(fmt::format("latency over the last interval ({} requests): p50 {}  p90 {}  p99 {}",
                          total, quantile(delta, total, 0.5), quantile(delta, total, 0.9),
                          quantile(delta, total, 0.99)));
        }
      } else {
        put("latency: measuring...");
      }
    }

    ++line_;
    ::wattron(stdscr, A_BOLD);
    put(fmt::format("{:<6} {:>8} {:>4} {:>8} {:>10} {:>14} {:>10} {:>8} {:>8}", "WORKER", "PID",
                    "GEN", "RESPAWNS", "UPTIME", "REQUESTS", "REQ/s", "ACTIVE", "IDLE"));
    ::wattroff(stdscr, A_BOLD);
    std::unordered_map<int64_t, uint64_t> before;
    if (prev != nullptr) {
      for (size_t w = 0; w < prev->worker_count; ++w) {
        before[prev->workers[w].pid] = prev->workers[w].counters[kRequests];
      }
    }
    for (size_t w = 0; w < cur.worker_count; ++w) {
      const Row& r = cur.workers[w];
      std::string rate;
      auto it = before.find(r.pid);
      if (it != before.end() && seconds > 0 && r.counters[kRequests] >= it->second) {
        rate = fmt::format("{:.1f}",
                           static_cast<double>(r.counters[kRequests] - it->second) / seconds);
      }
      put(fmt::format("{:<6} {:>8} {:>4} {:>8} {:>10} {:>14} {:>10} {:>8} {:>8}", r.worker_index,
                      r.pid, r.generation, r.respawns,
                      r.start_time > 0 ? format_duration(now - r.start_time) : "-",
                      r.counters[kRequests], rate, r.gauges[kActive], r.gauges[kIdle]));
    }
    if (cur.worker_count == 0) put("(no worker running)");

    std::vector<std::string> zones = format_limits_rows(limits);
    if (!zones.empty()) {
      ++line_;
      put("rate limits");
      ::wattron(stdscr, A_BOLD);
      put(zones[0]);
      ::wattroff(stdscr, A_BOLD);
      for (size_t i = 1; i < zones.size(); ++i) put(zones[i]);
    }
    ::wrefresh(stdscr);
  }

 private:
  static constexpr size_t kRequests = static_cast<size_t>(shm::Counter::kRequests);
  static constexpr size_t kActive = static_cast<size_t>(shm::Gauge::kConnectionsActive);
  static constexpr size_t kIdle = static_cast<size_t>(shm::Gauge::kConnectionsIdle);

  // NAME and CURRENT, and for a counter its CHANGE/s since `before` (none on the first frame)
  // and its AVG/s since the start.
  template <class Value>
  void value_row(std::string_view name, Value value, const Value* before, bool counter) {
    std::string change, average;
    if (counter) {
      if (before != nullptr && seconds_ > 0) {
        double d = value >= *before ? static_cast<double>(value - *before) : 0.0;
        change = fmt::format("{:.1f}", d / seconds_);
      }
      average = fmt::format("{:.1f}", static_cast<double>(value) / since_start_);
    }
    put(fmt::format("{:<24} {:>20} {:>14} {:>14}", name, value, change, average));
  }

  // One line, cut at the screen's width; nothing below the last line.
  void put(const std::string& text) {
    if (line_ < LINES) ::mvwaddnstr(stdscr, line_, 0, text.c_str(), std::max(COLS, 0));
    ++line_;
  }

  const LiveOptions& options_;
  std::vector<Field> fields_;
  int line_ = 0;
  double seconds_ = 0;      // since the previous frame
  double since_start_ = 1;  // since the master started, at least 1
};

enum class Wait { kTick, kQuit, kRedraw };

// Waits until `deadline` for a key: 'q' quits, a resize redraws at once, a signal quits.
Wait wait_for_keys(Clock::time_point deadline) {
  for (;;) {
    if (g_signal != 0) return Wait::kQuit;
    for (int ch = ::wgetch(stdscr); ch != ERR; ch = ::wgetch(stdscr)) {
      if (ch == 'q' || ch == 'Q') return Wait::kQuit;
      if (ch == KEY_RESIZE) return Wait::kRedraw;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return Wait::kTick;
    pollfd p{STDIN_FILENO, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count() + 1, 1000)));
    if (rc > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0 && (p.revents & POLLIN) == 0) {
      return Wait::kQuit;  // the terminal went away
    }
  }
}

}  // namespace

int run_live_view(std::unique_ptr<shm::SegmentView> segment, const LiveOptions& options) {
  if (::isatty(STDIN_FILENO) == 0 || ::isatty(STDOUT_FILENO) == 0) {
    std::fputs("zhttpstat: -w needs a terminal on stdin and stdout\n", stderr);
    return kExitUsage;
  }
  catch_quit_signals();  // before newterm: curses then leaves these signals to us
  SCREEN* screen = ::newterm(nullptr, stdout, stdin);
  if (screen == nullptr) {
    const char* term = std::getenv("TERM");
    std::fprintf(stderr, "zhttpstat: cannot drive the terminal (TERM=%s)\n",
                 term != nullptr ? term : "");
    return kExitError;
  }
  ::cbreak();
  ::noecho();
  ::nodelay(stdscr, TRUE);
  ::keypad(stdscr, TRUE);
  ::curs_set(0);

  auto cur = std::make_unique<shm::StatsSnapshot>();
  auto prev = std::make_unique<shm::StatsSnapshot>();
  auto limits = std::make_unique<shm::LimitsSnapshot>();
  auto app = std::make_unique<shm::AppValuesSnapshot>();
  auto prev_app = std::make_unique<shm::AppValuesSnapshot>();
  shm::CacheSnapshot cache, prev_cache;
  bool have_prev = false;
  Clock::time_point prev_time{};
  Screen view(options);
  Failure failure;
  auto interval =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.interval));
  Clock::time_point next_tick = Clock::now();

  for (;;) {
    shm::SegmentView::Presence presence = segment->presence();
    if (presence == shm::SegmentView::Presence::kGone) {
      failure = {kExitNoSegment,
                 "zhttpstat: shared segment " + segment->name() + " is gone (zhttpd stopped)"};
      break;
    }
    if (presence == shm::SegmentView::Presence::kReplaced) {
      // A new server under the same name: follow it (or wait while it is being created).
      Failure why;
      auto fresh = open_segment(segment->name(), &why);
      if (fresh != nullptr) {
        segment = std::move(fresh);
        have_prev = false;
      } else if (why.exit_code != kExitNotReady) {
        failure = why;
        break;
      }
    }
    Clock::time_point now = Clock::now();
    if (shm::read_stats(segment->stats(), cur.get()) && segment->read_limits(limits.get()) &&
        segment->read_app_values(app.get()) && segment->read_cache(&cache)) {
      double seconds = have_prev ? std::chrono::duration<double>(now - prev_time).count() : 0;
      const bool has_cache = segment->cache_counters() != nullptr;
      view.draw(*segment, *cur, have_prev ? prev.get() : nullptr, *app,
                have_prev ? prev_app.get() : nullptr, has_cache ? &cache : nullptr,
                have_prev && has_cache ? &prev_cache : nullptr, seconds, *limits);
      std::swap(cur, prev);
      std::swap(app, prev_app);
      std::swap(cache, prev_cache);
      have_prev = true;
      prev_time = now;
    }
    next_tick += interval;
    if (next_tick < now) next_tick = now + interval;  // fell behind (suspended): no burst
    Wait w = wait_for_keys(next_tick);
    if (w == Wait::kQuit) break;
    if (w == Wait::kRedraw) next_tick = Clock::now();
  }

  ::endwin();
  ::delscreen(screen);
  std::fflush(stdout);
  if (failure.exit_code != kExitOk) {
    std::fprintf(stderr, "%s\n", failure.message.c_str());
    return failure.exit_code;
  }
  if (int sig = g_signal; sig != 0) {
    ::signal(sig, SIG_DFL);
    ::raise(sig);
    return 128 + sig;
  }
  return kExitOk;
}

}  // namespace zhttp::stat
