#pragma once
// The command line every example shares: `--listen HOST:PORT` (repeatable, also
// `--listen=HOST:PORT`; default 127.0.0.1:8080, as zhttpd), then zhttp::serve() until a signal.
#include <zhttp/server.hpp>

#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zhttp::examples {

struct ExampleInfo {
  const char* name;         // for the usage line
  const char* description;  // one or more lines after it
  // Also take a bare HOST:PORT argument (hello's original command line).
  bool positional_listen = false;
};

// Fills options->listen from argv. Returns -1 to go on serving, else the exit code (0 after
// --help, 2 after a usage error, both printed).
inline int parse_example_options(int argc, char** argv, const ExampleInfo& info,
                                 ServeOptions* options) {
  auto usage = [&](FILE* to) {
    std::fprintf(to, "usage: %s [--listen HOST:PORT]...%s\n%s", info.name,
                 info.positional_listen ? " [HOST:PORT]" : "", info.description);
  };
  std::vector<std::string> listen;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    constexpr std::string_view kListen = "--listen";
    if (arg == "-h" || arg == "--help") {
      usage(stdout);
      return 0;
    }
    if (arg == kListen) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s: --listen needs HOST:PORT\n", info.name);
        usage(stderr);
        return 2;
      }
      listen.emplace_back(argv[++i]);
    } else if (arg.substr(0, kListen.size() + 1) == "--listen=") {
      listen.emplace_back(arg.substr(kListen.size() + 1));
    } else if (info.positional_listen && !arg.empty() && arg.front() != '-') {
      listen.emplace_back(arg);
    } else {
      std::fprintf(stderr, "%s: unknown argument '%s'\n", info.name, argv[i]);
      usage(stderr);
      return 2;
    }
  }
  if (!listen.empty()) options->listen = std::move(listen);
  return -1;
}

// The whole main() of an example: parse the command line, then serve `handler`.
inline int run_example(Handler& handler, int argc, char** argv, const ExampleInfo& info) {
  ServeOptions options;
  if (int code = parse_example_options(argc, argv, info, &options); code >= 0) return code;
  return serve(handler, options);
}

}  // namespace zhttp::examples
