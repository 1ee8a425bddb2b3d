#pragma once
// Loopback helpers for tests that talk to a real worker: a listening socket on an ephemeral
// port, blocking clients, and reads bounded by a deadline.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

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

// A blocking client socket connected to 127.0.0.1:port, or -1. `rcvbuf` > 0 sets the receive
// buffer before connecting (which turns the kernel's autotuning off), for clients that read slowly.
inline int connect_loopback(uint16_t port, int rcvbuf = 0) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
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

// A loopback port that was free a moment ago (bound to port 0, then closed); 0 when none.
inline uint16_t free_loopback_port() {
  uint16_t port = 0;
  int fd = listen_loopback(&port);
  if (fd < 0) return 0;
  ::close(fd);
  return port;
}

// One response read to the server's close.
struct OneShotResponse {
  bool complete = false;  // a status line, and exactly Content-Length body bytes before the close
  int status = 0;
  std::string head;  // status line and fields, without the final CRLFCRLF
  std::string body;
};

// GET `path` with "Connection: close" on a fresh connection to 127.0.0.1:`port`, read until
// the server closes (at most `seconds`). complete only when the whole body came and the
// server closed right after it.
inline OneShotResponse get_once(uint16_t port, std::string_view path, double seconds = 10) {
  OneShotResponse r;
  int fd = connect_loopback(port);
  if (fd < 0) return r;
  std::string request =
      "GET " + std::string(path) + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
  bool closed = false;
  std::string got;
  auto never = [](const std::string&) { return false; };
  if (send_all(fd, request)) got = read_until(fd, never, seconds, &closed);
  ::close(fd);
  size_t head_end = got.find("\r\n\r\n");
  if (!closed || head_end == std::string::npos || got.compare(0, 9, "HTTP/1.1 ") != 0 ||
      got.size() < 12) {
    return r;
  }
  r.status = std::atoi(got.c_str() + 9);
  r.head = got.substr(0, head_end);
  r.body = got.substr(head_end + 4);
  size_t cl = r.head.find("\r\nContent-Length: ");
  r.complete = cl != std::string::npos &&
               std::strtoull(r.head.c_str() + cl + 18, nullptr, 10) == r.body.size();
  return r;
}

// The state letter of process `pid` from /proc/PID/stat ('R', 'S', 'Z', ...), or 0 when there
// is no such process.
inline char process_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close_paren = stat.rfind(')');
  if (close_paren == std::string::npos || close_paren + 2 >= stat.size()) return 0;
  return stat[close_paren + 2];
}

// Whether process `pid` is gone: no such process, or a zombie (dead, only not reaped yet).
// Reaps nothing: a caller's own child keeps its exit status for waitpid().
inline bool process_gone(pid_t pid) {
  char state = process_state(pid);
  return state == 0 || state == 'Z' || state == 'X';
}

// The children of process `pid` (single-threaded: those of its main thread), zombies included.
inline std::vector<pid_t> child_pids(pid_t pid) {
  std::vector<pid_t> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  long child = 0;
  while (in >> child) out.push_back(static_cast<pid_t>(child));
  return out;
}

}  // namespace zhttp::test
