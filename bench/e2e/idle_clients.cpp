// idle_clients: opens N keep-alive HTTP/1.1 connections to one server, completes one request on
// each (so the server holds real idle keep-alive connections, not just accepted sockets), prints
// "ready K" on stdout (K = connections that completed their request and are still open) and holds
// them until stdin reaches EOF or SIGTERM/SIGINT arrives. Used by scripts/bench-e2e.sh to measure
// the server's memory per idle connection.
//
//   idle_clients HOST PORT N [PATH] [WINDOW] [SETUP_TIMEOUT_S]
//
// Connects are non-blocking, at most WINDOW (default 256) in flight at once, driven by epoll.
// RLIMIT_NOFILE is raised to the hard limit first. Diagnostics go to stderr.
// Built by scripts/bench-e2e.sh with g++ directly (not part of the Makefile).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

enum class State { kIdle, kConnecting, kSending, kReading, kHeld, kClosed };

struct Client {
  int fd = -1;
  State state = State::kIdle;
  std::size_t sent = 0;
  std::string in;
  std::size_t expected = 0;  // total response bytes once the head is parsed; 0 = unknown yet
};

// Tags in epoll_event.data.u64 for the non-socket descriptors.
constexpr std::uint64_t kStdinTag = ~std::uint64_t{0};
constexpr std::uint64_t kSignalTag = ~std::uint64_t{0} - 1;

double now_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

bool parse_uint(const char* s, unsigned long& out) {
  const char* end = s + std::strlen(s);
  auto [p, ec] = std::from_chars(s, end, out);
  return ec == std::errc() && p == end;
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// Parses the response head in c.in. Returns false on a response we cannot use (not 200, no
// Content-Length, Connection: close); sets c.expected when the head is complete.
bool parse_head(Client& c, std::string& why) {
  const std::size_t end = c.in.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (c.in.size() > 16384) {
      why = "response head too large";
      return false;
    }
    return true;
  }
  std::string_view head(c.in.data(), end);
  std::size_t line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." ||
      status_line.substr(9, 3) != "200") {
    why = "unexpected status line: " + std::string(status_line);
    return false;
  }
  bool have_length = false;
  unsigned long length = 0;
  while (line_end != std::string_view::npos) {
    head.remove_prefix(line_end + 2);
    line_end = head.find("\r\n");
    std::string_view line = head.substr(0, line_end);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "content-length")) {
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
      if (ec != std::errc() || p != value.data() + value.size()) {
        why = "bad Content-Length";
        return false;
      }
      have_length = true;
    } else if (iequals(name, "connection") && iequals(value, "close")) {
      why = "server answered Connection: close";
      return false;
    }
  }
  if (!have_length) {
    why = "response without Content-Length";
    return false;
  }
  c.expected = end + 4 + length;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || argc > 7) {
    std::fprintf(stderr, "usage: %s HOST PORT N [PATH] [WINDOW] [SETUP_TIMEOUT_S]\n", argv[0]);
    return 2;
  }
  unsigned long port = 0;
  unsigned long count = 0;
  unsigned long window = 256;
  unsigned long setup_timeout = 60;
  const char* path = argc > 4 ? argv[4] : "/100.txt";
  if (!parse_uint(argv[2], port) || port == 0 || port > 65535 || !parse_uint(argv[3], count) ||
      count == 0 || (argc > 5 && (!parse_uint(argv[5], window) || window == 0)) ||
      (argc > 6 && (!parse_uint(argv[6], setup_timeout) || setup_timeout == 0))) {
    std::fprintf(stderr, "idle_clients: bad arguments\n");
    return 2;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
    std::fprintf(stderr, "idle_clients: HOST must be an IPv4 address: %s\n", argv[1]);
    return 2;
  }

  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) std::perror("idle_clients: setrlimit");
  }
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY &&
      lim.rlim_cur < count + 16) {
    std::fprintf(stderr, "idle_clients: RLIMIT_NOFILE %llu is too low for %lu connections\n",
                 static_cast<unsigned long long>(lim.rlim_cur), count);
    return 1;
  }

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  if (sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) {
    std::perror("idle_clients: sigprocmask");
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  const int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (sfd < 0 || ep < 0) {
    std::perror("idle_clients: signalfd/epoll_create1");
    return 1;
  }
  epoll_event sev{};
  sev.events = EPOLLIN;
  sev.data.u64 = kSignalTag;
  epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &sev);

  const std::string request = std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
  std::vector<Client> clients(count);
  std::size_t next = 0;       // next client to start
  std::size_t in_flight = 0;  // connecting, sending or reading
  std::size_t held = 0;
  std::size_t failed = 0;
  std::string first_error;
  bool stop = false;

  auto fail = [&](Client& c, const std::string& why) {
    if (first_error.empty()) first_error = why;
    ++failed;
    if (c.state == State::kConnecting || c.state == State::kSending || c.state == State::kReading) {
      --in_flight;
    }
    close(c.fd);  // also removes it from the epoll set
    c.fd = -1;
    c.state = State::kClosed;
    std::string().swap(c.in);
  };

  auto start = [&](std::size_t i) {
    Client& c = clients[i];
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
      c.state = State::kClosed;
      ++failed;
      if (first_error.empty()) first_error = std::string("socket: ") + std::strerror(errno);
      return;
    }
    const int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c.state = State::kConnecting;
    ++in_flight;
    if (connect(c.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 &&
        errno != EINPROGRESS) {
      fail(c, std::string("connect: ") + std::strerror(errno));
      return;
    }
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = i;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
      fail(c, std::string("epoll_ctl: ") + std::strerror(errno));
    }
  };

  // Sends what is left of the request; moves to kReading when it is all out.
  auto send_more = [&](std::size_t i) {
    Client& c = clients[i];
    while (c.sent < request.size()) {
      const ssize_t n = send(c.fd, request.data() + c.sent, request.size() - c.sent, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        fail(c, std::string("send: ") + std::strerror(errno));
        return;
      }
      c.sent += static_cast<std::size_t>(n);
    }
    c.state = State::kReading;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
  };

  auto read_more = [&](std::size_t i) {
    Client& c = clients[i];
    char buf[16384];
    for (;;) {
      const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        fail(c, std::string("recv: ") + std::strerror(errno));
        return;
      }
      if (n == 0) {
        fail(c, "server closed the connection before the response was complete");
        return;
      }
      c.in.append(buf, static_cast<std::size_t>(n));
      std::string why;
      if (c.expected == 0 && !parse_head(c, why)) {
        fail(c, why);
        return;
      }
      if (c.expected != 0 && c.in.size() > c.expected) {
        fail(c, "more bytes than one response");
        return;
      }
      if (c.expected != 0 && c.in.size() == c.expected) {
        c.state = State::kHeld;
        --in_flight;
        ++held;
        std::string().swap(c.in);
        return;  // stays in the epoll set (EPOLLIN|EPOLLRDHUP) to notice a close by the server
      }
    }
  };

  auto on_signal = [&] {
    signalfd_siginfo si{};
    while (read(sfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) stop = true;
  };

  // Phase 1: open the connections, at most `window` in flight.
  const double deadline = now_s() + static_cast<double>(setup_timeout);
  std::vector<epoll_event> events(1024);
  while (!stop && (next < count || in_flight > 0)) {
    while (next < count && in_flight < window) start(next++);
    if (in_flight == 0) continue;
    if (now_s() > deadline) {
      std::fprintf(stderr, "idle_clients: setup timed out with %zu connections unfinished\n",
                   in_flight);
      for (Client& c : clients) {
        if (c.state == State::kConnecting || c.state == State::kSending ||
            c.state == State::kReading) {
          fail(c, "setup timeout");
        }
      }
      break;
    }
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 1000);
    if (n < 0 && errno != EINTR) {
      std::perror("idle_clients: epoll_wait");
      return 1;
    }
    for (int k = 0; k < n; ++k) {
      const std::uint64_t tag = events[k].data.u64;
      if (tag == kSignalTag) {
        on_signal();
        continue;
      }
      Client& c = clients[tag];
      const std::uint32_t ev = events[k].events;
      if (c.state == State::kConnecting) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          fail(c, std::string("connect: ") + std::strerror(err));
          continue;
        }
        if ((ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) continue;
        c.state = State::kSending;
      }
      if (c.state == State::kSending) send_more(tag);
      if (c.state == State::kReading && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        read_more(tag);
      } else if (c.state == State::kHeld && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        --held;
        ++in_flight;  // fail() decrements only for in-flight states; keep the books straight
        c.state = State::kReading;
        fail(c, "server closed an idle connection during setup");
      }
    }
  }
  if (failed > 0) {
    std::fprintf(stderr, "idle_clients: %zu of %lu connections failed (first: %s)\n", failed, count,
                 first_error.c_str());
  }
  if (stop) return 1;

  std::printf("ready %zu\n", held);
  std::fflush(stdout);
  if (held == 0) return 1;

  // Phase 2: hold until stdin closes or a signal; count connections the server closes meanwhile.
  epoll_event iev{};
  iev.events = EPOLLIN | EPOLLRDHUP;
  iev.data.u64 = kStdinTag;
  bool watch_stdin = epoll_ctl(ep, EPOLL_CTL_ADD, STDIN_FILENO, &iev) == 0;
  if (!watch_stdin && errno == EPERM) {
    // A regular file or /dev/null on stdin: it is at EOF already.
    stop = true;
  }
  std::size_t closed_by_server = 0;
  while (!stop) {
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::perror("idle_clients: epoll_wait");
      return 1;
    }
    for (int k = 0; k < n; ++k) {
      const std::uint64_t tag = events[k].data.u64;
      if (tag == kSignalTag) {
        on_signal();
      } else if (tag == kStdinTag) {
        char buf[256];
        const ssize_t r = read(STDIN_FILENO, buf, sizeof buf);
        if (r <= 0 && !(r < 0 && (errno == EAGAIN || errno == EINTR))) stop = true;
      } else {
        Client& c = clients[tag];
        if (c.state != State::kHeld) continue;
        char buf[512];
        const ssize_t r = recv(c.fd, buf, sizeof buf, 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        ++closed_by_server;
        close(c.fd);
        c.fd = -1;
        c.state = State::kClosed;
      }
    }
  }
  if (closed_by_server > 0) {
    std::fprintf(stderr, "idle_clients: the server closed %zu of %zu idle connections while held\n",
                 closed_by_server, held);
  }
  for (Client& c : clients) {
    if (c.fd >= 0) close(c.fd);
  }
  return 0;
}
