#pragma once
// Listening sockets from "HOST:PORT" strings: "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:80",
// "[::]:80" (IPv6 only; bind 0.0.0.0 as well for both families).
#include <string>
#include <string_view>

namespace zhttp::io {

// A --listen value: the address, then flags after blanks ("127.0.0.1:8081 proxy_protocol").
struct ListenSpec {
  std::string address;
  bool proxy_protocol = false;  // connections start with a PROXY protocol header
};
// False with *error naming an unknown flag; the address itself is not checked here.
bool parse_listen_spec(std::string_view text, ListenSpec* out, std::string* error);

// A non-blocking, close-on-exec listening socket, or -1 with *error set ("bad address",
// "address in use"...).
int open_listener(std::string_view host_port, std::string* error);

}  // namespace zhttp::io
