#pragma once
// The whole server for a program with its own handler: zhttp::run(argc, argv, app) gives it
// zhttpd's command line and config file, the master with its pre-forked workers, respawn, reload
// on SIGHUP, graceful and fast stops, the pid file, the shared segment with the statistics
// (zhttpstat, /metrics), the access and error logs, the rate limiter and the static files.
//
//   class Hello : public zhttp::App {
//     void declare(zhttp::AppDeclarations& d) override {
//       d.option("greeting", "Hello", "the word to greet with");
//       d.counter("greetings", "Greetings sent.");
//     }
//     std::unique_ptr<zhttp::Handler> make_handler(const zhttp::AppContext& c) override {
//       return std::make_unique<HelloHandler>(c.option("greeting"), c.counter("greetings"));
//     }
//   };
//   int main(int argc, char** argv) { Hello app; return zhttp::run(argc, argv, app); }
//
// Threading and processes: run() is called once, in the main thread, and returns the exit code
// when the server stops. declare() runs in the master (at start, for -t and --help). make_handler()
// runs in every worker process after fork, once per worker: a reload starts a new generation of
// workers whose handlers are made anew with the options as read again.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "zhttp/handler.hpp"

namespace zhttp {

namespace app {
struct AppContextAccess;  // the server's side, which fills a context in each worker
}  // namespace app

// A counter of the application in the shared segment: only grows, summed over the workers and
// never going back across reloads and crashes (the master keeps what exited workers counted).
// Shown by zhttpstat (in "totals" of --json by its name) and /metrics (zhttpd_app_NAME_total).
// Each worker writes its own word: add() is a relaxed load and store, no lock, no allocation.
class AppCounter {
 public:
  AppCounter() = default;  // counts nothing
  explicit AppCounter(std::atomic<uint64_t>* word) : word_(word) {}
  void add(uint64_t n = 1) const {
    if (word_ != nullptr)
      word_->store(word_->load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

 private:
  std::atomic<uint64_t>* word_ = nullptr;
};

// A gauge of the application: this worker's value, summed over the workers in use (an exited
// worker's share disappears). zhttpstat and /metrics (zhttpd_app_NAME) show the sum.
class AppGauge {
 public:
  AppGauge() = default;
  explicit AppGauge(std::atomic<uint64_t>* word) : word_(word) {}
  void set(int64_t v) const {
    if (word_ != nullptr) word_->store(static_cast<uint64_t>(v), std::memory_order_relaxed);
  }
  void add(int64_t d) const {
    if (word_ != nullptr) {
      word_->store(word_->load(std::memory_order_relaxed) + static_cast<uint64_t>(d),
                   std::memory_order_relaxed);
    }
  }

 private:
  std::atomic<uint64_t>* word_ = nullptr;
};

// What an application adds to the server, declared once in the master.
class AppDeclarations {
 public:
  // Returns "" when a value is fine, else a one-line reason (printed after the option's name).
  using Check = std::function<std::string(const std::string& value)>;

  // --NAME VALUE, also `NAME = "VALUE"` in the config file; shown in --help in the
  // application's own group; checked at start, by -t and on reload.
  void option(std::string name, std::string default_value, std::string help, Check check = {});
  // --NAME, a flag (AppContext::flag()).
  void flag(std::string name, std::string help);
  // Named values in the shared segment (names: [a-z_][a-z0-9_]*, at most 47 bytes, not one of
  // the server's own statistics).
  void counter(std::string name, std::string help);
  void gauge(std::string name, std::string help);

  struct Option {
    std::string name;
    std::string default_value;
    std::string help;
    Check check;
    bool is_flag = false;
  };
  struct Value {
    std::string name;
    std::string help;
    bool is_gauge = false;
  };
  const std::vector<Option>& options() const { return options_; }
  const std::vector<Value>& values() const { return values_; }

 private:
  std::vector<Option> options_;
  std::vector<Value> values_;
};

// What a worker's handler is made with, after fork.
class AppContext {
 public:
  uint32_t worker_index() const { return worker_index_; }  // 0 .. workers - 1
  uint32_t generation() const { return generation_; }      // 1, then one more per reload
  // The worker's libev loop, for the application's own timers and sockets (it runs once the
  // handler is made; Handler::on_worker_start() gets it too).
  struct ev_loop* loop() const {
    return loop_;
  }
  // An option's value as given (or its default); "" for an unknown name.
  const std::string& option(std::string_view name) const;
  bool flag(std::string_view name) const { return option(name) == "true"; }
  // A declared counter or gauge (one that counts nothing for an undeclared name).
  AppCounter counter(std::string_view name) const;
  AppGauge gauge(std::string_view name) const;
  // The static files of --root: to answer what the application does not (or null in a test).
  Handler* files() const { return files_; }

 private:
  friend struct app::AppContextAccess;
  uint32_t worker_index_ = 0;
  uint32_t generation_ = 0;
  struct ev_loop* loop_ = nullptr;
  const std::map<std::string, std::string, std::less<>>* options_ = nullptr;
  std::function<std::atomic<uint64_t>*(std::string_view)> word_;
  Handler* files_ = nullptr;
};

class App {
 public:
  virtual ~App() = default;
  // Options, counters and gauges.
  virtual void declare(AppDeclarations&) {}
  // The handler of one worker, made in it after fork. Null: the static files alone.
  virtual std::unique_ptr<Handler> make_handler(const AppContext& context) = 0;
};

// Runs the server with `app` until it stops; returns the process's exit code (0; 1 when it
// cannot start; 2 for a bad command line, already printed with the option named). The command
// line is zhttpd's (see `--help`) plus the application's options.
int run(int argc, char** argv, App& app);

}  // namespace zhttp
