// zhttpd entry point. Until the libev worker and the master land (issues #3 and #4) this is a
// deliberately small placeholder: one blocking loop that parses requests with the real protocol
// layer and answers GET/HEAD / with the root's index.html, 404 otherwise, one connection at a time.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

#include "zhttp/parser.hpp"
#include "zhttp/response_writer.hpp"

namespace {

struct Listen {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
};

Listen parse_listen(const std::string& spec) {
  size_t colon = spec.rfind(':');
  if (colon == std::string::npos) throw CLI::ValidationError("--listen", "expected HOST:PORT");
  Listen l;
  l.host = spec.substr(0, colon);
  l.port = static_cast<uint16_t>(std::stoi(spec.substr(colon + 1)));
  return l;
}

int open_listener(const Listen& l) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(l.port);
  if (inet_pton(AF_INET, l.host.c_str(), &addr.sin_addr) != 1 ||
      bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 128) != 0) {
    std::perror("zhttpd: listen");
    return -1;
  }
  return fd;
}

void serve_connection(int fd, const std::string& index) {
  std::array<char, 16384> in{};
  std::array<char, 512> head{};
  std::array<zhttp::Header, 64> headers{};
  zhttp::DateCache dates;
  size_t have = 0;
  for (;;) {
    zhttp::Request req;
    zhttp::ParseResult r = zhttp::parse_request({in.data(), have}, {}, req, headers);
    if (r.status == zhttp::ParseStatus::kPartial) {
      if (have == in.size()) return;
      ssize_t n = read(fd, in.data() + have, in.size() - have);
      if (n <= 0) return;
      have += static_cast<size_t>(n);
      continue;
    }
    bool ok = r.status == zhttp::ParseStatus::kComplete;
    std::string_view target = ok ? req.target.in(in.data()) : std::string_view{};
    bool found = ok && (target == "/" || target == "/index.html");
    uint16_t code = !ok ? r.http_status : found ? 200 : 404;
    std::string_view body = found ? std::string_view(index) : "not found\n";
    if (!ok) body = zhttp::describe(r.error);
    zhttp::ResponseWriter w(head.data(), head.size());
    w.status_line(code).date(dates, time(nullptr)).content_length(body.size());
    w.header("Content-Type", found ? "text/html; charset=utf-8" : "text/plain");
    bool keep = ok && req.keep_alive;
    if (!keep) w.connection_close();
    w.end_headers();
    if (write(fd, w.data(), w.size()) < 0) return;
    if (!(ok && req.method == zhttp::Method::kHead) && write(fd, body.data(), body.size()) < 0) {
      return;
    }
    if (!keep) return;
    size_t used = r.consumed + static_cast<size_t>(std::max<int64_t>(req.content_length, 0));
    if (used > have) return;  // bodies are not read by the placeholder
    std::copy(in.begin() + static_cast<long>(used), in.begin() + static_cast<long>(have),
              in.begin());
    have -= used;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"zhttpd: HTTP/1.1 server (placeholder front until the worker lands)"};
  std::string listen_spec = "127.0.0.1:8080";
  std::string root = "examples/www";
  app.add_option("--listen", listen_spec, "IPv4 HOST:PORT to listen on");
  app.add_option("--root", root, "directory whose index.html is served")
      ->check(CLI::ExistingDirectory);
  CLI11_PARSE(app, argc, argv);

  std::ifstream file(root + "/index.html");
  std::stringstream index;
  index << file.rdbuf();
  int listener = open_listener(parse_listen(listen_spec));
  if (listener < 0) return 1;
  std::printf("zhttpd: serving %s on http://%s/\n", root.c_str(), listen_spec.c_str());
  std::fflush(stdout);
  for (;;) {
    int fd = accept(listener, nullptr, nullptr);
    if (fd < 0) continue;
    serve_connection(fd, index.str());
    close(fd);
  }
}
