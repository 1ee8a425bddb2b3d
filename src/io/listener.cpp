#include "io/listener.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace zhttp::io {
namespace {

constexpr int kBacklog = 4096;

bool parse_port(std::string_view s, uint16_t* port) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || value == 0 || value > 65535) return false;
  *port = static_cast<uint16_t>(value);
  return true;
}

}  // namespace

int open_listener(std::string_view host_port, std::string* error) {
  size_t colon = host_port.rfind(':');
  uint16_t port = 0;
  if (colon == std::string_view::npos || !parse_port(host_port.substr(colon + 1), &port)) {
    *error = "expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080";
    return -1;
  }
  std::string host(host_port.substr(0, colon));
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = AF_INET;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    family = AF_INET6;
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&addr);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a6->sin6_addr) != 1) {
      *error = "not an IPv6 address: " + host;
      return -1;
    }
    len = sizeof(sockaddr_in6);
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&addr);
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    if (inet_pton(AF_INET, host.c_str(), &a4->sin_addr) != 1) {
      *error = "not an IPv4 address: " + host;
      return -1;
    }
    len = sizeof(sockaddr_in);
  }
  int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::strerror(errno);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd, kBacklog) != 0) {
    *error = std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

bool parse_listen_spec(std::string_view text, ListenSpec* out, std::string* error) {
  ListenSpec spec;
  size_t i = 0;
  bool first = true;
  while (i < text.size()) {
    if (text[i] == ' ' || text[i] == '\t') {
      ++i;
      continue;
    }
    size_t end = std::min(text.find_first_of(" \t", i), text.size());
    std::string_view word = text.substr(i, end - i);
    i = end;
    if (first) {
      spec.address = word;
      first = false;
    } else if (word == "proxy_protocol") {
      spec.proxy_protocol = true;
    } else {
      *error = "unknown listen flag " + std::string(word) + " (expected proxy_protocol)";
      return false;
    }
  }
  *out = std::move(spec);
  return true;
}

}  // namespace zhttp::io
