#pragma once
// HTTP/1.1 clients for tests that send many requests over many connections at once: responses
// parsed off a byte stream (Content-Length framing; no body for HEAD, 1xx, 204 and 304), and
// run_load(), which drives many keep-alive connections from one thread with poll(), each with
// one request in flight at a time. A connection cut before its response is complete (a reset,
// or EOF: a worker killed under it) connects again and sends the same request again: the cut is
// counted and reported with the response that finally came, never taken for an answer.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "socket_util.hpp"

namespace zhttp::test {

struct HttpResponse {
  int status = 0;
  std::string head;  // status line and fields, without the final CRLFCRLF
  std::string body;

  // The value of the first field `name` (case-insensitive), without surrounding blanks.
  std::optional<std::string> field(std::string_view name) const {
    size_t at = head.find("\r\n");
    while (at != std::string::npos) {
      size_t from = at + 2;
      at = head.find("\r\n", from);
      std::string_view line = std::string_view(head).substr(from, at - from);
      size_t colon = line.find(':');
      if (colon != name.size() ||
          !std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
          })) {
        continue;
      }
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
      return std::string(value);
    }
    return std::nullopt;
  }
};

// One response at the front of `raw` (to a HEAD request when `head_request`): the bytes it
// takes once complete, 0 while more is needed, std::string::npos when it is malformed.
inline size_t parse_http_response(std::string_view raw, bool head_request, HttpResponse* out) {
  size_t end = raw.find("\r\n\r\n");
  if (end == std::string_view::npos) return 0;
  HttpResponse r;
  r.head = std::string(raw.substr(0, end));
  if (r.head.compare(0, 9, "HTTP/1.1 ") != 0 || r.head.size() < 12) return std::string::npos;
  r.status = std::atoi(r.head.c_str() + 9);
  size_t length = 0;
  bool bodiless = head_request || r.status / 100 == 1 || r.status == 204 || r.status == 304;
  if (!bodiless) {
    std::optional<std::string> cl = r.field("Content-Length");
    if (!cl || cl->empty()) return std::string::npos;  // compute and files always send one
    length = std::strtoull(cl->c_str(), nullptr, 10);
  }
  if (raw.size() < end + 4 + length) return 0;
  r.body = std::string(raw.substr(end + 4, length));
  *out = std::move(r);
  return end + 4 + length;
}

struct LoadRequest {
  std::string bytes;
  bool head = false;  // a HEAD request: its response has no body
};

// `method` `target` with the fields `extra_fields` (each ending in CRLF), keep-alive.
inline LoadRequest http_request(std::string_view target, std::string_view extra_fields = "",
                                std::string_view method = "GET") {
  return {std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n" +
              std::string(extra_fields) + "\r\n",
          method == "HEAD"};
}

// Gives connection `conn` its next request; false when that connection is done.
using NextRequest = std::function<bool(size_t conn, LoadRequest* request)>;
// A request's response: how long its last attempt waited for it, and how often it was cut.
using OnResponse = std::function<void(size_t conn, const LoadRequest& request,
                                      const HttpResponse& response, double wait_ms, int cuts)>;

struct LoadReport {
  uint64_t responses = 0;
  uint64_t cuts = 0;        // attempts ended by the server closing or resetting before an answer
  uint64_t malformed = 0;   // bytes that were no response (that connection stopped there)
  uint64_t unfinished = 0;  // connections still owed a response at the deadline
  double max_wait_ms = 0;
};

// Runs `connections` connections to 127.0.0.1:`port` until every one is done or `seconds` pass.
// All connect first, then all send their first request: they arrive together.
inline LoadReport run_load(uint16_t port, size_t connections, const NextRequest& next,
                           const OnResponse& done, double seconds) {
  using Clock = std::chrono::steady_clock;
  struct Conn {
    int fd = -1;
    bool busy = false;  // a request is in flight (or waits for a connection to send it on)
    LoadRequest request;
    std::string in;
    Clock::time_point sent;
    int cuts = 0;
  };
  LoadReport report;
  std::vector<Conn> cs(connections);
  auto send_request = [&](Conn& c) {
    if (c.fd < 0) c.fd = connect_loopback(port);
    if (c.fd < 0) return;  // tried again on the next turn
    c.in.clear();
    c.sent = Clock::now();
    if (!send_all(c.fd, c.request.bytes)) {  // cut before it went: counted on the read side
      ::shutdown(c.fd, SHUT_WR);
    }
  };
  auto cut = [&](Conn& c) {
    ::close(c.fd);
    c.fd = -1;
    ++c.cuts;
    ++report.cuts;
  };
  for (Conn& c : cs) c.fd = connect_loopback(port);
  for (size_t i = 0; i < cs.size(); ++i) {
    cs[i].busy = next(i, &cs[i].request);
    if (cs[i].busy) send_request(cs[i]);
  }
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  std::vector<pollfd> fds;
  std::vector<size_t> which;
  char buf[65536];
  for (;;) {
    fds.clear();
    which.clear();
    bool owed = false;
    for (size_t i = 0; i < cs.size(); ++i) {
      Conn& c = cs[i];
      if (!c.busy) continue;
      owed = true;
      if (c.fd < 0) send_request(c);  // a cut, or a connect that failed
      if (c.fd < 0) continue;
      fds.push_back({c.fd, POLLIN, 0});
      which.push_back(i);
    }
    if (!owed) break;
    if (Clock::now() >= deadline) {
      for (const Conn& c : cs) report.unfinished += c.busy ? 1 : 0;
      break;
    }
    if (::poll(fds.data(), fds.size(), 10) < 0 && errno != EINTR) break;
    for (size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents == 0) continue;
      Conn& c = cs[which[k]];
      ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        cut(c);
        continue;
      }
      c.in.append(buf, static_cast<size_t>(n));
      HttpResponse r;
      size_t used = parse_http_response(c.in, c.request.head, &r);
      if (used == 0) continue;
      if (used == std::string::npos) {
        ++report.malformed;
        ::close(c.fd);
        c.fd = -1;
        c.busy = false;
        continue;
      }
      double wait = std::chrono::duration<double, std::milli>(Clock::now() - c.sent).count();
      report.max_wait_ms = std::max(report.max_wait_ms, wait);
      ++report.responses;
      done(which[k], c.request, r, wait, c.cuts);
      c.cuts = 0;
      if (r.field("Connection") == "close") {
        ::close(c.fd);
        c.fd = -1;
      }
      c.busy = next(which[k], &c.request);
      if (c.busy) send_request(c);
    }
  }
  for (Conn& c : cs) {
    if (c.fd >= 0) ::close(c.fd);
  }
  return report;
}

// `requests` one after another on one connection: their responses (status 0 for those that
// did not come within `seconds` in all).
inline std::vector<HttpResponse> fetch_in_turn(uint16_t port,
                                               const std::vector<LoadRequest>& requests,
                                               double seconds = 30) {
  std::vector<HttpResponse> out(requests.size());
  size_t sent = 0;
  run_load(
      port, 1,
      [&](size_t, LoadRequest* r) {
        if (sent == requests.size()) return false;
        *r = requests[sent++];
        return true;
      },
      [&](size_t, const LoadRequest&, const HttpResponse& r, double, int) { out[sent - 1] = r; },
      seconds);
  return out;
}

// One request on a connection of its own.
inline HttpResponse fetch(uint16_t port, const LoadRequest& request, double seconds = 30) {
  return fetch_in_turn(port, {request}, seconds)[0];
}

// Each of `requests` on a connection of its own, all at once: their responses, in order.
inline std::vector<HttpResponse> fetch_at_once(uint16_t port,
                                               const std::vector<LoadRequest>& requests,
                                               double seconds = 30) {
  std::vector<HttpResponse> out(requests.size());
  std::vector<bool> asked(requests.size());
  run_load(
      port, requests.size(),
      [&](size_t c, LoadRequest* r) {
        if (asked[c]) return false;
        asked[c] = true;
        *r = requests[c];
        return true;
      },
      [&](size_t c, const LoadRequest&, const HttpResponse& r, double, int) { out[c] = r; },
      seconds);
  return out;
}

}  // namespace zhttp::test
