#pragma once
// What the exchange tests share: a handler whose body mode and answers each test chooses (hooks
// over plain defaults) and that records every call the connection makes, and a few helpers.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "unit/support/connection_harness.hpp"
#include "zhttp/handler.hpp"

namespace zhttp::conn {

// Defaults: bodies are taken in `mode`; handle() answers "ok <target> <body size>" at once, except
// in kStream, where it defers and on_body_end() answers "streamed <size>".
struct TestHandler : Handler {
  BodyMode body_mode(const RequestView& r) override {
    log.push_back("mode " + std::string(r.target()));
    current = on_mode ? on_mode(r) : mode;
    return current;
  }
  void handle(const RequestView& r, Response& response) override {
    if (!r.request().has_body()) current = BodyMode::kRefuse;
    std::string line = "handle " + std::string(r.target());
    if (!r.body().empty()) line += " [" + std::to_string(r.body().size()) + "]";
    log.push_back(line);
    bodies.emplace_back(r.body());
    streamed.emplace_back();
    if (on_handle) {
      on_handle(r, response);
    } else if (current == BodyMode::kStream) {
      refs.push_back(response.defer());
    } else {
      response.send(200, "text/plain",
                    "ok " + std::string(r.target()) + " " + std::to_string(r.body().size()));
    }
  }
  void on_body(Response& r, std::string_view bytes) override {
    ++body_calls;
    streamed.back() += bytes;
    if (on_data) on_data(r, bytes);
  }
  void on_body_end(Response& r) override {
    log.push_back("body-end");
    if (on_data_end) {
      on_data_end(r);
    } else {
      r.send(200, "text/plain", "streamed " + std::to_string(streamed.back().size()));
    }
  }
  void on_writable(Response& r) override {
    ++writable_calls;
    if (on_room) on_room(r);
  }
  void on_abort(Response&, AbortReason why) override {
    log.push_back("abort " + std::to_string(static_cast<int>(why)));
    aborts.push_back(why);
  }

  BodyMode mode = BodyMode::kGather;
  std::function<BodyMode(const RequestView&)> on_mode;
  std::function<void(const RequestView&, Response&)> on_handle;
  std::function<void(Response&, std::string_view)> on_data;
  std::function<void(Response&)> on_data_end;
  std::function<void(Response&)> on_room;

  BodyMode current = BodyMode::kRefuse;  // what the request being handled takes its body as
  std::vector<std::string> log;          // "mode <target>", "handle <target> [size]", ...
  std::vector<std::string> bodies;       // RequestView::body() at each handle()
  std::vector<std::string> streamed;     // on_body() bytes of each handled request
  int body_calls = 0;
  int writable_calls = 0;
  std::vector<AbortReason> aborts;
  std::vector<ExchangeRef> refs;  // what the default kStream handle() deferred
};

using ExchangeHarness = ConnectionHarness<TestHandler>;

inline const std::string kDateLine = "Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n";

// Every Date line as the harness clock's: a response completed outside the connection's events
// reads the real clock.
inline std::string undated(std::string s) {
  for (size_t p = s.find("\r\nDate: "); p != std::string::npos; p = s.find("\r\nDate: ", p + 2)) {
    if (p + 2 + kDateLine.size() <= s.size()) s.replace(p + 2, kDateLine.size(), kDateLine);
  }
  return s;
}

// "HTTP/1.1 200 OK\r\nDate..\r\nContent-Type: text/plain\r\nContent-Length: n\r\n\r\n<body>"
inline std::string plain_response(std::string_view body, std::string_view status = "200 OK",
                                  std::string_view extra = "") {
  return "HTTP/1.1 " + std::string(status) + "\r\n" + kDateLine +
         "Content-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         std::string(extra) + "\r\n" + std::string(body);
}

// The body bytes of a chunked coding (no extensions, as the connection writes it); sets *ok
// false when it is malformed or does not end with the last chunk. *rest: what follows it.
inline std::string dechunk(std::string_view in, bool* ok, std::string_view* rest = nullptr) {
  std::string body;
  *ok = false;
  while (true) {
    size_t eol = in.find("\r\n");
    if (eol == std::string_view::npos || eol == 0) return body;
    size_t size = 0;
    for (char c : in.substr(0, eol)) {
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) return body;
      size = size * 16 + static_cast<size_t>(d);
    }
    in.remove_prefix(eol + 2);
    if (size == 0) {
      if (in.substr(0, 2) != "\r\n") return body;
      if (rest) *rest = in.substr(2);
      *ok = true;
      return body;
    }
    if (in.size() < size + 2 || in.substr(size, 2) != "\r\n") return body;
    body.append(in.substr(0, size));
    in.remove_prefix(size + 2);
  }
}

// A body of n bytes that shows where a byte went missing or moved.
inline std::string pattern_body(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

// `body` in chunks of varying sizes (1 to max_chunk bytes), with an extension on some.
inline std::string chunked(std::string_view body, size_t max_chunk = 5000) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  size_t i = 0;
  for (size_t k = 0; i < body.size(); ++k) {
    size_t n = std::min(body.size() - i, 1 + (k * 2654435761u) % max_chunk);
    std::string size;
    for (size_t v = n; v > 0; v >>= 4) size.insert(size.begin(), kHex[v & 15]);
    out += size + (k % 3 == 0 ? ";k=" + std::to_string(k) : "") + "\r\n";
    out.append(body.substr(i, n));
    out += "\r\n";
    i += n;
  }
  return out + "0\r\n\r\n";
}

}  // namespace zhttp::conn
