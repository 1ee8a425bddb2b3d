// zhttp::run(): the command line decides; the master process serves (src/proc/master.hpp) the
// program of src/app/server_program.hpp. zhttpd's own main is this with the static files alone.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "app/app_values.hpp"
#include "app/config_check.hpp"
#include "app/server_program.hpp"
#include "cli/config.hpp"
#include "log/error_log.hpp"
#include "proc/master.hpp"
#include "proc/pid_file.hpp"
#include "zhttp/app.hpp"

namespace {

using zhttp::cli::Command;

// Each connection is a descriptor: allow as many as the hard limit permits.
void raise_descriptor_limit(uint32_t max_connections) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < max_connections + 64) {
    std::fprintf(stderr,
                 "zhttpd: warning: the descriptor limit (%llu) is below --max-connections (%u); "
                 "connections beyond it are shed\n",
                 static_cast<unsigned long long>(limit.rlim_cur), max_connections);
  }
}

int send_signal(const zhttp::cli::Config& config, const std::string& what) {
  if (config.pid_file.empty()) {
    std::fprintf(stderr, "zhttpd: -s %s needs --pid-file (or pid-file in --config)\n",
                 what.c_str());
    return 2;
  }
  int signo = what == "reload" ? SIGHUP
              : what == "quit" ? SIGQUIT
              : what == "stop" ? SIGTERM
                               : SIGUSR1;
  std::string error;
  pid_t pid = zhttp::proc::read_pid_file(config.pid_file, &error);
  if (pid < 0) {
    std::fprintf(stderr, "zhttpd: is zhttpd running? %s\n", error.c_str());
    return 1;
  }
  if (::kill(pid, signo) != 0) {
    std::fprintf(stderr, "zhttpd: cannot signal process %d: %s\n", pid, std::strerror(errno));
    return 1;
  }
  return 0;
}

// Into the background: the parent returns, the child leads a new session without a terminal.
bool daemonize(bool keep_stderr) {
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid > 0) ::_exit(0);
  ::setsid();
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    if (!keep_stderr) ::dup2(null, STDERR_FILENO);
    ::close(null);
  }
  return true;
}

}  // namespace

namespace zhttp {

int run(int argc, char** argv, App& app) {
  AppDeclarations declared;
  app.declare(declared);
  if (std::string why = app::check_app_values(declared.values()); !why.empty()) {
    std::fprintf(stderr, "%s: %s\n", argc > 0 ? argv[0] : "zhttpd", why.c_str());
    return 2;
  }
  cli::Config config;
  Command command = cli::parse_command_line(argc, argv, &config, &declared);
  switch (command.kind) {
    case Command::Kind::kExit:
      return command.exit_code;
    case Command::Kind::kSignal:
      return send_signal(config, command.signal);
    case Command::Kind::kTestConfig:
    case Command::Kind::kServe:
      break;
  }
  std::string error;
  if (!app::validate_config(config, &error)) {
    std::fprintf(stderr, "zhttpd: %s\n", error.c_str());
    std::fprintf(stderr, "zhttpd: the configuration is invalid\n");
    return 1;
  }
  const std::vector<std::string> warnings = app::site_file_warnings(config);
  if (command.kind == Command::Kind::kTestConfig) {
    for (const std::string& w : warnings) std::fprintf(stderr, "zhttpd: warning: %s\n", w.c_str());
    std::printf("zhttpd: the configuration is ok\n");
    return 0;
  }
  log::ErrorLog error_log(config.error_log, static_cast<log::Level>(config.log_level));
  if (!error_log.open(&error)) {
    std::fprintf(stderr, "zhttpd: cannot open the error log %s\n", error.c_str());
    return 1;
  }
  for (const std::string& w : warnings) error_log.log(log::Level::kWarn, "%s", w.c_str());
  raise_descriptor_limit(config.worker.max_connections);
  if (config.daemon && !daemonize(config.error_log == "stderr")) {
    std::fprintf(stderr, "zhttpd: cannot go into the background: %s\n", std::strerror(errno));
    return 1;
  }
  std::vector<std::string> args(argv, argv + argc);
  app::ServerProgram program(std::move(config), std::move(args), &app, std::move(declared));
  proc::Master master(program, error_log);
  return master.run();
}

}  // namespace zhttp
