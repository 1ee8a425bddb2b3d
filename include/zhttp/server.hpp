#pragma once
// Running a Handler: the simplest way for a program that embeds zhttpd.
#include <string>
#include <vector>

#include "zhttp/handler.hpp"

namespace zhttp {

struct ServeOptions {
  std::vector<std::string> listen = {"127.0.0.1:8080"};  // "HOST:PORT", "[::1]:PORT"
};

// Serves `handler` with one worker in this process until SIGINT or SIGTERM (stop at once) or
// SIGQUIT (finish requests in flight, then stop). Returns 0, or 1 after printing why on stderr
// when an address cannot be listened on.
int serve(Handler& handler, const ServeOptions& options = {});

}  // namespace zhttp
