#pragma once
// Listening sockets from "HOST:PORT" strings: "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:80",
// "[::]:80" (IPv6 only; bind 0.0.0.0 as well for both families).
#include <string>
#include <string_view>

namespace zhttp::io {

// A non-blocking, close-on-exec listening socket, or -1 with *error set ("bad address",
// "address in use"...).
int open_listener(std::string_view host_port, std::string* error);

}  // namespace zhttp::io
