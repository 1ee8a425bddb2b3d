#include <CLI/CLI.hpp>

#include "cli/config.hpp"

namespace zhttp::cli {

bool parse_command_line(int argc, char** argv, Config* config, int* exit_code) {
  Config& c = *config;
  io::WorkerConfig& w = c.worker;
  ParserLimits& limits = w.connection.parser;

  CLI::App app{"zhttpd: a fast HTTP/1.1 server for static files"};
  app.set_config("--config", "", "read options from this INI/TOML file (keys as long options)");
  app.add_option("--listen", c.listen,
                 "address to listen on, HOST:PORT or [IPv6]:PORT (repeatable)")
      ->capture_default_str();
  app.add_option("--root", c.files.root, "directory to serve")
      ->check(CLI::ExistingDirectory)
      ->capture_default_str();
  app.add_option("--index", c.files.index, "file served for a directory")->capture_default_str();
  app.add_option("--mime-types", c.files.mime_types,
                 "mime.types file (extensions it lacks use a built-in table; \"\" for that only)")
      ->capture_default_str();

  app.add_option("--open-file-cache", c.files.open_file_cache.entries,
                 "open files kept per worker (0: open every file per request)")
      ->check(CLI::Range(0u, 1u << 20))
      ->capture_default_str();
  app.add_option("--open-file-cache-valid", c.files.open_file_cache.valid_seconds,
                 "seconds a kept file is served before its path is checked again")
      ->check(CLI::Range(1u, 86400u))
      ->capture_default_str();

  app.add_option("--max-connections", w.max_connections, "open connections at most")
      ->check(CLI::Range(1u, 1000000u))
      ->capture_default_str();
  app.add_option("--max-body-bytes", w.connection.max_body_bytes, "largest request body (413)")
      ->capture_default_str();
  app.add_option("--max-header-bytes", limits.max_head_bytes,
                 "largest request head: request line and fields (431)")
      ->check(CLI::Range(256u, 16384u))
      ->capture_default_str();
  app.add_option("--max-headers", limits.max_headers, "most header fields in a request (431)")
      ->check(CLI::Range(1u, 100u))
      ->capture_default_str();
  app.add_option("--max-target-bytes", limits.max_target_bytes, "longest request target (414)")
      ->check(CLI::Range(16u, 8192u))
      ->capture_default_str();

  auto seconds = CLI::PositiveNumber;
  app.add_option("--header-timeout", w.header_timeout, "seconds to receive a request head (408)")
      ->check(seconds)
      ->capture_default_str();
  app.add_option("--body-timeout", w.body_timeout, "seconds between two reads of a body (408)")
      ->check(seconds)
      ->capture_default_str();
  app.add_option("--keepalive-timeout", w.keepalive_timeout,
                 "seconds an idle keep-alive connection stays open")
      ->check(seconds)
      ->capture_default_str();
  app.add_option("--write-timeout", w.write_timeout, "seconds without sending progress: close")
      ->check(seconds)
      ->capture_default_str();
  app.add_option("--drain-timeout", w.drain_timeout,
                 "seconds a graceful stop (SIGQUIT) waits for requests in flight")
      ->check(seconds)
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    *exit_code = app.exit(e);
    return false;
  }
  return true;
}

}  // namespace zhttp::cli
