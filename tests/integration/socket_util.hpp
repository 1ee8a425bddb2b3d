#pragma once
// Loopback helpers for tests that talk to a real worker: a listening socket on an ephemeral
// port, blocking clients, and reads bounded by a deadline.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

namespace zhttp::test {

inline int listen_loopback(uint16_t* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 1024) != 0) {
    return -1;
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *port = ntohs(addr.sin_port);
  return fd;
}

inline int connect_loopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads until `done(received)` holds, the peer closes, or `seconds` pass. Returns what came.
template <typename Done>
std::string read_until(int fd, Done done, double seconds, bool* closed = nullptr) {
  std::string got;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  if (closed) *closed = false;
  while (!done(got)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[65536];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      if (closed) *closed = true;
      break;
    }
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

// Counts complete responses with Content-Length bodies in `s`.
inline int count_responses(const std::string& s) {
  int n = 0;
  size_t pos = 0;
  for (;;) {
    size_t head_end = s.find("\r\n\r\n", pos);
    if (head_end == std::string::npos) return n;
    size_t cl = s.find("Content-Length: ", pos);
    size_t len = cl != std::string::npos && cl < head_end ? std::stoul(s.substr(cl + 16)) : 0;
    if (s.size() < head_end + 4 + len) return n;
    pos = head_end + 4 + len;
    ++n;
  }
}

}  // namespace zhttp::test
