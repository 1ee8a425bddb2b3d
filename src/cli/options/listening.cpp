// Listening: the addresses to listen on.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <CLI/CLI.hpp>
#include <string>
#include <string_view>

#include "cli/option_checks.hpp"
#include "cli/options/groups.hpp"
#include "io/listener.hpp"

namespace zhttp::cli::options {
namespace {

// HOST:PORT with an IPv4 address, or [IPv6]:PORT; the syntax only (binding comes later).
std::string check_address(const std::string& value) {
  size_t colon = value.rfind(':');
  if (colon == std::string::npos) {
    return "value " + shown(value) + " is not HOST:PORT or [IPv6]:PORT";
  }
  std::string host = value.substr(0, colon);
  std::string_view port_text = std::string_view(value).substr(colon + 1);
  uint64_t port = 0;
  Number parsed = parse_whole(port_text, &port);
  if (parsed == Number::kNotNumber) {
    return "value " + value + " has no port number (HOST:PORT or [IPv6]:PORT)";
  }
  if (parsed == Number::kTooBig || port < 1 || port > 65535) {
    return "port " + std::string(port_text) + " is out of range 1-65535 in " + value;
  }
  if (host.empty()) return "value " + value + " has no host (e.g. 0.0.0.0" + value + ")";
  if (host.front() == '[') {
    in6_addr a6{};
    if (host.size() < 3 || host.back() != ']' ||
        inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a6) != 1) {
      return "not an IPv6 address: " + host + " in " + value;
    }
    return {};
  }
  if (host.find(':') != std::string::npos) {
    return "an IPv6 address needs brackets, e.g. [::1]:8080, in " + value;
  }
  in_addr a4{};
  if (inet_pton(AF_INET, host.c_str(), &a4) != 1) {
    return "not an IPv4 address: " + host + " in " + value;
  }
  return {};
}

// An address and its flags ("127.0.0.1:8081 proxy_protocol").
std::string check_listen(const std::string& value) {
  io::ListenSpec spec;
  std::string error;
  if (!io::parse_listen_spec(value, &spec, &error)) return error + " in " + value;
  return check_address(spec.address);
}

}  // namespace

Finish listening(const Declaring& d) {
  d.app
      .add_option("--listen", d.config.listen,
                  "address to listen on, HOST:PORT or [IPv6]:PORT (repeatable)")
      ->type_name("HOST:PORT")
      ->check(check_listen)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false)
      ->capture_default_str()
      ->group("Listening");
  return {};
}

}  // namespace zhttp::cli::options
