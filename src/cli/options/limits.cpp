// Limits: connections, and the sizes of a request's parts.
#include <CLI/CLI.hpp>
#include <limits>
#include <string>

#include "cli/option_checks.hpp"
#include "cli/options/groups.hpp"

namespace zhttp::cli::options {

Finish limits(const Declaring& d) {
  CLI::App& app = d.app;
  io::WorkerConfig& w = d.config.worker;
  ParserLimits& parser = w.connection.parser;
  const std::string group = "Limits";
  app.add_option("--max-connections", w.max_connections, "open connections at most")
      ->type_name("N")
      ->transform(whole_number(1, 1000000))
      ->capture_default_str()
      ->group(group);
  app.add_option("--max-body-bytes", w.connection.max_body_bytes, "largest request body (413)")
      ->type_name("BYTES")
      ->transform(whole_number(0, std::numeric_limits<uint64_t>::max()))
      ->capture_default_str()
      ->group(group);
  app.add_option("--max-discard-bytes", w.connection.max_discard_bytes,
                 "largest request body read and thrown away when the handler takes none; "
                 "past it the connection closes after the answer")
      ->type_name("BYTES")
      ->transform(whole_number(0, std::numeric_limits<uint64_t>::max()))
      ->capture_default_str()
      ->group(group);
  app.add_option("--max-header-bytes", parser.max_head_bytes,
                 "largest request head: request line and fields (431)")
      ->type_name("BYTES")
      ->transform(whole_number(256, 16384))
      ->capture_default_str()
      ->group(group);
  app.add_option("--max-headers", parser.max_headers, "most header fields in a request (431)")
      ->type_name("N")
      ->transform(whole_number(1, 100))
      ->capture_default_str()
      ->group(group);
  app.add_option("--max-target-bytes", parser.max_target_bytes, "longest request target (414)")
      ->type_name("BYTES")
      ->transform(whole_number(16, 8192))
      ->capture_default_str()
      ->group(group);
  return {};
}

}  // namespace zhttp::cli::options
