// zhttpd: serves a directory with one worker in this process (the master process of issue #4
// will pre-fork one per core).
#include <sys/resource.h>

#include <cstdio>
#include <exception>

#include "cli/config.hpp"
#include "io/serve.hpp"

namespace {

const zhttp::cli::Config* g_config = nullptr;

void print_banner() {
  for (const std::string& address : g_config->listen) {
    std::printf("zhttpd: serving %s on http://%s/\n", g_config->files.root.c_str(),
                address.c_str());
  }
  std::fflush(stdout);
}

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

}  // namespace

int main(int argc, char** argv) {
  zhttp::cli::Config config;
  int exit_code = 0;
  if (!zhttp::cli::parse_command_line(argc, argv, &config, &exit_code)) return exit_code;
  raise_descriptor_limit(config.worker.max_connections);
  try {
    zhttp::handlers::StaticFiles files(config.files);
    g_config = &config;
    return zhttp::io::serve_in_process(files, config.listen, config.worker, print_banner);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "zhttpd: %s\n", e.what());
    return 1;
  }
}
