#pragma once
// What the reverse proxy's integration tests (proxy_*_test.cpp) share: real backends this project
// did not write, each a process started by the test (Python's http.server in
// backends/http_backend.py, gunicorn, a python3-websockets echo server), scripted raw-socket
// backends (a thread of the test that accepts on a loopback port and writes exact bytes), zhttpd
// itself in front of them, and a client that reads any HTTP/1.1 framing (Content-Length, chunked,
// to the close) and tells a complete answer from a cut one.
//
// Every process is stopped by its pid at the end of its test (ServerProcess), every thread is
// joined, every wait is bounded.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "http_load.hpp"
#include "server_process.hpp"
#include "socket_util.hpp"

namespace zhttp::test::proxy {

// Debian's interpreter and programs (scripts/install-deps.sh installs them), never a pyenv one.
inline constexpr const char* kPython = "/usr/bin/python3";
inline constexpr const char* kGunicorn = "/usr/bin/gunicorn";
inline constexpr const char* kWrk = "/usr/bin/wrk";

// tests/integration/backends, where the backends' scripts are.
inline std::string backends_dir() {
  return (std::filesystem::path(__FILE__).parent_path() / "backends").string();
}

inline std::string loopback(uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

// ---- a client that reads any framing ------------------------------------------------------------

// One answer as a client sees it. HttpResponse's status, head (status line and fields) and body
// (decoded when chunked), field() to read a field.
struct Answer : HttpResponse {
  bool complete = false;  // its framing was satisfied (Content-Length, last chunk, or the close)
  bool closed = false;    // the server closed the connection (EOF or reset) while it was read
  bool chunked = false;
  bool until_close = false;  // neither Content-Length nor chunked: delimited by the close
  std::string raw;           // every byte that came for it
};

// Decodes a chunked body from `in` (after the head); the bytes it used once the last chunk and
// its trailers came, 0 while more is needed, npos when it is malformed.
inline size_t decode_chunked(std::string_view in, std::string* out) {
  size_t at = 0;
  out->clear();
  for (;;) {
    size_t eol = in.find("\r\n", at);
    if (eol == std::string_view::npos) return 0;
    std::string_view line = in.substr(at, eol - at);
    line = line.substr(0, line.find(';'));
    if (line.empty()) return std::string::npos;
    size_t size = 0;
    for (char c : line) {
      const int lower = c | 0x20;
      int d = c >= '0' && c <= '9' ? c - '0' : lower >= 'a' && lower <= 'f' ? lower - 'a' + 10 : -1;
      if (d < 0 || size > (size_t{1} << 40)) return std::string::npos;
      size = size * 16 + static_cast<size_t>(d);
    }
    at = eol + 2;
    if (size == 0) {  // trailers, then an empty line
      for (;;) {
        size_t end = in.find("\r\n", at);
        if (end == std::string_view::npos) return 0;
        bool empty = end == at;
        at = end + 2;
        if (empty) return at;
      }
    }
    if (in.size() < at + size + 2) return 0;
    out->append(in.substr(at, size));
    if (in.substr(at + size, 2) != "\r\n") return std::string::npos;
    at += size + 2;
  }
}

// A blocking client connection to zhttpd (or to a backend) on a loopback port.
class Client {
 public:
  explicit Client(uint16_t port) : fd_(connect_loopback(port)) {}
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool send(std::string_view bytes) { return fd_ >= 0 && send_all(fd_, bytes); }

  // Reads the next answer (to a HEAD request when `head_request`: no body), at most `seconds`.
  // An interim 1xx answer is returned as one (complete, no body).
  Answer read(bool head_request = false, double seconds = 10) {
    Answer a;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    size_t head_end = std::string::npos;
    for (;;) {
      if (head_end == std::string::npos) head_end = buffer_.find("\r\n\r\n");
      if (head_end != std::string::npos && try_finish(head_end, head_request, &a)) return a;
      if (eof_) break;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || fd_ < 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char chunk[65536];
      ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) {
        eof_ = true;
        continue;  // a body delimited by the close is complete now
      }
      buffer_.append(chunk, static_cast<size_t>(n));
    }
    // Incomplete: what came is reported as it is.
    a.raw = buffer_;
    a.closed = eof_;
    if (head_end != std::string::npos) {
      a.head = buffer_.substr(0, head_end);
      if (a.head.compare(0, 9, "HTTP/1.1 ") == 0 && a.head.size() >= 12)
        a.status = std::atoi(a.head.c_str() + 9);
      a.body = buffer_.substr(head_end + 4);
    }
    buffer_.clear();
    return a;
  }

  // The bytes read past the last answer (the start of a tunnel's traffic after a 101), taken.
  std::string take_buffered() { return std::exchange(buffer_, std::string()); }

  // Whether the server closes the connection (EOF or reset) within `seconds`; bytes that come
  // meanwhile are kept in *extra.
  bool closed_within(double seconds, std::string* extra = nullptr) {
    if (eof_) return true;
    bool closed = false;
    std::string got = read_until(
        fd_, [](const std::string&) { return false; }, seconds, &closed);
    if (extra) *extra = buffer_ + got;
    eof_ = closed;
    return closed;
  }

 private:
  bool try_finish(size_t head_end, bool head_request, Answer* a) {
    HttpResponse h;
    h.head = buffer_.substr(0, head_end);
    // Not an HTTP/1.1 status line: reported as incomplete once the connection ends or time is up.
    if (h.head.compare(0, 9, "HTTP/1.1 ") != 0 || h.head.size() < 12) return false;
    h.status = std::atoi(h.head.c_str() + 9);
    const size_t body_at = head_end + 4;
    std::string_view rest = std::string_view(buffer_).substr(body_at);
    bool chunked = false;
    if (auto te = h.field("Transfer-Encoding")) chunked = te->find("chunked") != std::string::npos;
    std::optional<std::string> cl = h.field("Content-Length");
    size_t used = 0;
    bool until_close = false;
    if (head_request || h.status / 100 == 1 || h.status == 204 || h.status == 304) {
      used = 0;
    } else if (chunked) {
      size_t n = decode_chunked(rest, &h.body);
      if (n == 0 || n == std::string::npos) return false;
      used = n;
    } else if (cl) {
      size_t length = std::strtoull(cl->c_str(), nullptr, 10);
      if (rest.size() < length) return false;
      h.body = std::string(rest.substr(0, length));
      used = length;
    } else {
      if (!eof_) return false;
      h.body = std::string(rest);
      used = rest.size();
      until_close = true;
    }
    static_cast<HttpResponse&>(*a) = std::move(h);
    a->complete = true;
    a->chunked = chunked;
    a->until_close = until_close;
    a->raw = buffer_.substr(0, body_at + used);
    a->closed = eof_;
    buffer_.erase(0, body_at + used);
    return true;
  }

  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

// One request on a connection of its own: its answer.
inline Answer exchange(uint16_t port, std::string_view request, bool head_request = false,
                       double seconds = 10) {
  Client c(port);
  if (!c.send(request)) return {};
  return c.read(head_request, seconds);
}

inline std::string get_request(std::string_view target, std::string_view host = "t",
                               std::string_view extra_fields = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: " + std::string(host) + "\r\n" +
         std::string(extra_fields) + "\r\n";
}

// The body of an answer from http_backend.py, parsed (an empty object when it is not JSON).
inline nlohmann::json backend_json(const std::string& body) {
  try {
    return nlohmann::json::parse(body);
  } catch (const std::exception&) {
    return nlohmann::json::object();
  }
}

// The values of request field `name` (case-insensitive) as the backend saw them, in order.
inline std::vector<std::string> seen_fields(const nlohmann::json& echo, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& pair : echo.value("headers", nlohmann::json::array())) {
    std::string n = pair[0].get<std::string>();
    if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      out.push_back(pair[1].get<std::string>());
    }
  }
  return out;
}

// ---- backends as processes ----------------------------------------------------------------------

// backends/http_backend.py: Python's http.server speaking HTTP/1.1, one thread per connection.
class PythonBackend {
 public:
  explicit PythonBackend(std::string name)
      : name_(std::move(name)), process_("zhttp-py-" + name_) {}

  // On a free loopback port.
  void start() {
    ServerOptions o = options({"--port", "{port}"});
    ASSERT_NO_FATAL_FAILURE(process_.start(std::move(o)));
    port_ = process_.port();
  }
  // On a unix socket at `path` (ready once it printed its banner: it listens then).
  void start_unix(const std::string& path) {
    ServerOptions o = options({"--unix", path});
    o.ready = ServerOptions::Ready::kNone;
    ASSERT_NO_FATAL_FAILURE(process_.start(std::move(o)));
    port_ = 0;
  }
  // kill -9, reaped.
  void kill() { process_.stop(SIGKILL, 10); }
  // Again on the port it had (after kill()).
  void restart() {
    ServerOptions o = options({"--port", std::to_string(port_)});
    o.ready = ServerOptions::Ready::kNone;  // its banner comes once it listens
    o.attempts = 1;
    ASSERT_NO_FATAL_FAILURE(process_.start(std::move(o)));
  }

  const std::string& name() const { return name_; }
  uint16_t port() const { return port_; }
  std::string address() const { return loopback(port_); }
  pid_t pid() const { return process_.pid(); }
  ServerProcess& process() { return process_; }

  // GET /__stats straight from the backend.
  nlohmann::json stats() {
    OneShotResponse r = get_once(port_, "/__stats", 10);
    EXPECT_TRUE(r.complete && r.status == 200) << name_ << ": /__stats: " << r.head;
    return backend_json(r.body);
  }
  uint64_t total() { return stats().value("total", uint64_t{0}); }
  uint64_t hits(const std::string& target) { return stats()["hits"].value(target, uint64_t{0}); }
  uint64_t max_in_flight(const std::string& target) {
    return stats()["max_in_flight"].value(target, uint64_t{0});
  }
  void reset() {
    Client c(port_);
    ASSERT_TRUE(c.send("POST /__reset HTTP/1.1\r\nHost: b\r\nContent-Length: 0\r\n\r\n"));
    Answer a = c.read();
    ASSERT_EQ(a.status, 200) << a.raw;
  }

 private:
  ServerOptions options(std::vector<std::string> where) {
    ServerOptions o;
    o.program = kPython;
    o.args = {backends_dir() + "/http_backend.py", "--name", name_};
    o.args.insert(o.args.end(), where.begin(), where.end());
    o.banner = "backend " + name_ + " listening on ";
    o.ready = ServerOptions::Ready::kConnect;
    o.port_taken = "Address already in use";
    o.stop_seconds = 10;
    return o;
  }

  std::string name_;
  ServerProcess process_;
  uint16_t port_ = 0;
};

// ---- scripted raw backends ----------------------------------------------------------------------

// Sends RST instead of FIN when `fd` is closed.
inline void close_with_reset(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

// A backend that is a thread of the test: it accepts on a loopback port, reads each
// connection's request head, and runs `script` on it (which writes exact bytes, sleeps, closes
// or resets). Each connection is served by a thread of its own; all are joined by the destructor.
class ScriptedBackend {
 public:
  // `fd` is the connection (the script may close it and set it to -1); `head` the request head
  // as it came (up to and with its CRLFCRLF, and whatever followed it in the same reads).
  using Script = std::function<void(int& fd, const std::string& head, ScriptedBackend& self)>;

  explicit ScriptedBackend(Script script) : script_(std::move(script)) {
    listen_fd_ = listen_loopback(&port_);
    if (listen_fd_ < 0) {
      ADD_FAILURE() << "scripted backend: cannot listen";
      return;
    }
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~ScriptedBackend() { stop(); }
  ScriptedBackend(const ScriptedBackend&) = delete;
  ScriptedBackend& operator=(const ScriptedBackend&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const { return loopback(port_); }
  int connections() const { return connections_.load(); }
  bool stopping() const { return stopping_.load(); }

  // Sleeps up to `seconds`, less when the backend stops.
  void pause(double seconds) const {
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (!stopping() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // The request heads seen so far.
  std::vector<std::string> heads() {
    std::lock_guard<std::mutex> lock(mutex_);
    return heads_;
  }

  // Closes the listening socket: new connects are refused from then on (as to a server that
  // died), while the connections already accepted go on.
  void stop_listening() {
    listening_ = false;
    EXPECT_TRUE(eventually([&] { return listener_closed_.load(); }, 5));
  }

  void stop() {
    if (stopping_.exchange(true)) return;
    if (acceptor_.joinable()) acceptor_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      threads.swap(threads_);
    }
    for (std::thread& t : threads) t.join();
  }

 private:
  void accept_loop() {
    while (!stopping() && listening_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      ++connections_;
      std::lock_guard<std::mutex> lock(mutex_);
      threads_.emplace_back([this, fd] { serve(fd); });
    }
    ::close(listen_fd_);
    listener_closed_ = true;
  }

  void serve(int fd) {
    std::string head = read_until(
        fd, [](const std::string& s) { return s.find("\r\n\r\n") != std::string::npos; }, 5);
    if (head.find("\r\n\r\n") != std::string::npos) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        heads_.push_back(head);
      }
      script_(fd, head, *this);
    }
    if (fd >= 0) ::close(fd);
  }

  Script script_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> listening_{true};
  std::atomic<bool> listener_closed_{false};
  std::atomic<int> connections_{0};
  std::mutex mutex_;
  std::vector<std::thread> threads_;
  std::vector<std::string> heads_;
};

// A script that writes `bytes` and then closes (FIN).
inline ScriptedBackend::Script answer_then_close(std::string bytes) {
  return [bytes](int& fd, const std::string&, ScriptedBackend&) { send_all(fd, bytes); };
}

// ---- zhttpd in front ----------------------------------------------------------------------------

// zhttpd on a free port with logs and a segment of its own in the helper's directory.
class Proxy {
 public:
  Proxy() : process_("zhttp-proxy") {
    static int counter = 0;
    shm_name_ = "zhttpd-proxy-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
  }

  // Starts it with `args` (after --listen, the logs, the segment and --workers), ready once its
  // workers wait in their loops (no request is sent: the backends count theirs).
  void start(std::vector<std::string> args, int workers = 1) {
    std::vector<std::string> all = {
        "--listen",    "{address}",      "--workers",    std::to_string(workers),
        "--error-log", error_log_path(), "--access-log", access_log_path(),
        "--shm-name",  shm_name_,        "--log-level",  "info"};
    all.insert(all.end(), args.begin(), args.end());
    ServerOptions o = ServerOptions::zhttpd(std::move(all));
    o.ready = ServerOptions::Ready::kConnect;
    o.workers_in_loop = static_cast<size_t>(workers);
    o.error_log = error_log_path();
    o.access_log = access_log_path();
    o.shm_name = shm_name_;
    ASSERT_NO_FATAL_FAILURE(process_.start(std::move(o)));
  }

  uint16_t port() const { return process_.port(); }
  pid_t pid() const { return process_.pid(); }
  ServerProcess& process() { return process_; }
  std::string dir() const { return process_.dir(); }
  std::string path(std::string_view name) const { return process_.path(name); }
  std::string error_log_path() const { return process_.path("error.log"); }
  std::string access_log_path() const { return process_.path("access.log"); }
  std::string error_log() const { return read_file(error_log_path()); }
  std::string diagnostics() const { return process_.diagnostics(); }

 private:
  ServerProcess process_;
  std::string shm_name_;
};

}  // namespace zhttp::test::proxy
