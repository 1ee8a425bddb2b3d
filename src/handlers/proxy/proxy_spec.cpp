#include "handlers/proxy/proxy_spec.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>

#include "handlers/common/ascii_case.hpp"
#include "http/char_class.hpp"

namespace zhttp::handlers::proxy {
namespace {

std::string quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

// The space-separated words of a text.
std::vector<std::string_view> words(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

bool valid_group_name(std::string_view name) {
  if (name.empty() || name.size() > 31) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Plain decimal in [min, max].
bool whole(std::string_view key, std::string_view value, uint64_t min, uint64_t max, uint64_t* out,
           std::string* error) {
  uint64_t v = 0;
  bool ok = !value.empty() && value.size() <= 19;
  for (char c : value) {
    if (c < '0' || c > '9') ok = false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (!ok || v < min || v > max) {
    *error = std::string(key) + "=" + std::string(value) + " is not a whole number from " +
             std::to_string(min) + " to " + std::to_string(max);
    return false;
  }
  *out = v;
  return true;
}

// Seconds: "2", "0.5", "2s" or "500ms", at most a year; above 0 unless zero_ok. The number is
// read as --proxy-*-timeout reads theirs (std::from_chars: no sign, hex, "inf" or locale).
bool seconds(std::string_view key, std::string_view value, bool zero_ok, double* out,
             std::string* error) {
  constexpr double kYear = 365 * 24 * 3600;
  std::string_view number = value;
  double scale = 1;
  if (number.ends_with("ms")) {
    number.remove_suffix(2);
    scale = 0.001;
  } else if (number.ends_with('s')) {
    number.remove_suffix(1);
  }
  double v = -1;
  const char* end = number.data() + number.size();
  auto [stop, ec] = std::from_chars(number.data(), end, v);
  const bool is_number = !number.empty() && http::is_digit(static_cast<unsigned char>(number[0])) &&
                         ec == std::errc() && stop == end && std::isfinite(v);
  if (!is_number || v < 0 || (v == 0 && !zero_ok)) {
    *error = std::string(key) + "=" + std::string(value) + " is not a number of seconds" +
             (zero_ok ? "" : " above 0");
    return false;
  }
  if (v * scale > kYear) {
    *error = std::string(key) + "=" + std::string(value) + " is more than a year";
    return false;
  }
  *out = v * scale;
  return true;
}

// Whether every byte may stand in a request target (visible ASCII): a path that goes into the
// request line to an upstream must not carry a space, a control byte or raw UTF-8.
bool target_bytes(std::string_view text) {
  for (char c : text) {
    if (!http::kTargetChar[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

// A --proxy host: a host name or IPv4 address as http::request_host() gives it (no port, no
// trailing dot), lower case; letters, digits and '-' in dot-separated labels.
bool valid_route_host(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  size_t start = 0;
  while (start <= host.size()) {
    size_t dot = std::min(host.find('.', start), host.size());
    std::string_view label = host.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    start = dot + 1;
  }
  return true;
}

}  // namespace

bool resolve_address(std::string_view address, UpstreamServer* out, std::string* error) {
  out->address = std::string(address);
  out->sockaddr = {};
  if (address.starts_with("unix:")) {
    std::string_view path = address.substr(5);
    auto* un = reinterpret_cast<sockaddr_un*>(&out->sockaddr);
    if (path.empty() || path[0] != '/' || path.size() >= sizeof un->sun_path) {
      *error = "address " + quoted(address) + ": a unix socket needs an absolute path of at most " +
               std::to_string(sizeof un->sun_path - 1) + " bytes";
      return false;
    }
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, path.data(), path.size());
    out->sockaddr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    return true;
  }
  std::string_view host;
  std::string_view port;
  const bool bracketed = address.starts_with("[");
  if (bracketed) {
    size_t close = address.find("]:");
    if (close == std::string_view::npos) {
      *error = "address " + quoted(address) + " is not [IPv6]:PORT";
      return false;
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      *error = "address " + quoted(address) + " is not HOST:PORT, [IPv6]:PORT or unix:/path";
      return false;
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      // "::1:80" could be read more than one way: as --listen, brackets are required.
      *error = "address " + quoted(address) + ": an IPv6 address needs brackets, [IPv6]:PORT";
      return false;
    }
  }
  uint64_t port_number = 0;
  std::string unused;
  if (!whole("port", port, 1, 65535, &port_number, &unused)) {
    *error = "address " + quoted(address) + " has no port from 1 to 65535";
    return false;
  }
  addrinfo hints{};
  hints.ai_family = bracketed ? AF_INET6 : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  // Between brackets only an IPv6 address, never a name to look up.
  hints.ai_flags = AI_NUMERICSERV | (bracketed ? AI_NUMERICHOST : AI_ADDRCONFIG);
  addrinfo* found = nullptr;
  const std::string host_text(host);
  const std::string port_text(port);
  int rc = ::getaddrinfo(host_text.c_str(), port_text.c_str(), &hints, &found);
  if (rc == EAI_BADFLAGS || (rc != 0 && (hints.ai_flags & AI_ADDRCONFIG))) {
    hints.ai_flags = AI_NUMERICSERV;  // no configured address of a family (a bare container)
    rc = ::getaddrinfo(host_text.c_str(), port_text.c_str(), &hints, &found);
  }
  if (bracketed && rc != 0) {
    *error = "address " + quoted(address) + ": " + quoted(host) + " is not an IPv6 address";
    return false;
  }
  if (rc != 0 || found == nullptr) {
    *error = "cannot resolve " + quoted(host) + ": " + ::gai_strerror(rc);
    return false;
  }
  std::memcpy(&out->sockaddr, found->ai_addr, found->ai_addrlen);
  out->sockaddr_len = found->ai_addrlen;
  ::freeaddrinfo(found);
  return true;
}

bool parse_upstream(std::string_view text, std::string* group, UpstreamServer* out,
                    std::string* error) {
  std::vector<std::string_view> w = words(text);
  if (w.size() < 2) {
    *error = "value " + quoted(text) + " is not NAME ADDRESS [weight=N] [max_conns=N] [backup]";
    return false;
  }
  if (!valid_group_name(w[0])) {
    *error = "group name " + quoted(w[0]) + " is not 1-31 of A-Z a-z 0-9 . _ -";
    return false;
  }
  *group = std::string(w[0]);
  *out = UpstreamServer();
  if (!resolve_address(w[1], out, error)) return false;
  for (size_t i = 2; i < w.size(); ++i) {
    std::string_view word = w[i];
    size_t eq = word.find('=');
    std::string_view key = word.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? "" : word.substr(eq + 1);
    uint64_t v = 0;
    if (word == "backup") {
      out->backup = true;
    } else if (key == "weight" && eq != std::string_view::npos) {
      if (!whole(key, value, 1, 1000, &v, error)) return false;
      out->weight = static_cast<uint32_t>(v);
    } else if (key == "max_conns" && eq != std::string_view::npos) {
      if (!whole(key, value, 0, 1000000, &v, error)) return false;
      out->max_conns = static_cast<uint32_t>(v);
    } else {
      *error = "unknown parameter " + quoted(word) + " (weight=N, max_conns=N, backup)";
      return false;
    }
  }
  return true;
}

bool parse_upstream_options(std::string_view text, UpstreamGroup* out, std::string* error) {
  std::vector<std::string_view> w = words(text);
  if (w.empty() || !valid_group_name(w[0])) {
    *error = "value " + quoted(text) + " does not begin with a group NAME";
    return false;
  }
  out->name = std::string(w[0]);
  for (size_t i = 1; i < w.size(); ++i) {
    std::string_view word = w[i];
    size_t eq = word.find('=');
    if (eq == std::string_view::npos) {
      *error = "parameter " + quoted(word) + " is not KEY=VALUE";
      return false;
    }
    std::string_view key = word.substr(0, eq);
    std::string_view value = word.substr(eq + 1);
    uint64_t v = 0;
    bool ok = true;
    if (key == "balance") {
      if (value == "round_robin")
        out->balance = Balance::kRoundRobin;
      else if (value == "least_conn")
        out->balance = Balance::kLeastConn;
      else if (value == "random")
        out->balance = Balance::kRandom;
      else if (value == "hash")
        out->balance = Balance::kHash;
      else {
        *error = "balance=" + std::string(value) +
                 " is not one of round_robin, least_conn, random, hash";
        return false;
      }
    } else if (key == "hash_key") {
      if (value == "uri") {
        out->hash_key = HashKey::kUri;
      } else if (value == "addr") {
        out->hash_key = HashKey::kAddr;
      } else if (value.starts_with("header:") && value.size() > 7 &&
                 std::all_of(value.begin() + 7, value.end(), http::is_token)) {
        out->hash_key = HashKey::kHeader;
        out->hash_header = std::string(value.substr(7));
      } else {
        *error = "hash_key=" + std::string(value) + " is not uri, addr or header:NAME";
        return false;
      }
    } else if (key == "keepalive") {
      ok = whole(key, value, 0, 10000, &v, error);
      out->keepalive = static_cast<uint32_t>(v);
    } else if (key == "keepalive_timeout") {
      ok = seconds(key, value, false, &out->keepalive_timeout, error);
    } else if (key == "keepalive_requests") {
      ok = whole(key, value, 1, 100000000, &v, error);
      out->keepalive_requests = static_cast<uint32_t>(v);
    } else if (key == "keepalive_time") {
      ok = seconds(key, value, false, &out->keepalive_time, error);
    } else if (key == "max_fails") {
      ok = whole(key, value, 0, 1000, &v, error);
      out->max_fails = static_cast<uint32_t>(v);
    } else if (key == "fail_timeout") {
      ok = seconds(key, value, true, &out->fail_timeout, error);
    } else if (key == "check") {
      if (value.empty() || value[0] != '/' || !target_bytes(value)) {
        *error = "check=" + std::string(value) + " is not a path beginning with / (visible ASCII)";
        return false;
      }
      out->check = std::string(value);
    } else if (key == "check_interval") {
      ok = seconds(key, value, false, &out->check_interval, error);
    } else if (key == "rise") {
      ok = whole(key, value, 1, 100, &v, error);
      out->rise = static_cast<uint32_t>(v);
    } else if (key == "fall") {
      ok = whole(key, value, 1, 100, &v, error);
      out->fall = static_cast<uint32_t>(v);
    } else {
      *error = "unknown parameter " + quoted(key);
      return false;
    }
    if (!ok) return false;
  }
  return true;
}

bool parse_route(std::string_view text, RouteSpec* out, std::string* error) {
  *out = RouteSpec();
  size_t eq = text.find('=');
  if (eq == std::string_view::npos) {
    *error = "value " + quoted(text) + " is not PREFIX=http://TARGET[/PATH]";
    return false;
  }
  std::string_view prefix = text.substr(0, eq);
  std::string_view url = text.substr(eq + 1);
  size_t slash = prefix.find('/');
  if (slash == std::string_view::npos) {
    *error = "prefix " + quoted(prefix) + " is not /PATH or HOST/PATH";
    return false;
  }
  for (char c : prefix.substr(0, slash)) out->route.host += common::ascii_lower(c);
  out->route.prefix = std::string(prefix.substr(slash));
  if (slash > 0 && !valid_route_host(out->route.host)) {
    // Requests' hosts are compared without port or trailing dot: such a route would never match.
    *error = "prefix " + quoted(prefix) + ": " + quoted(prefix.substr(0, slash)) +
             " is not a host name (labels of letters, digits and '-' between dots; no port)";
    return false;
  }
  if (!target_bytes(out->route.prefix) ||
      out->route.prefix.find_first_of("?#") != std::string::npos) {
    // The path is compared as sent, percent-encoded and without its query.
    *error = "prefix " + quoted(prefix) +
             " is not a path of visible ASCII without ? or # (percent-encode other bytes)";
    return false;
  }
  if (url.starts_with("https://")) {
    *error = "https upstreams are not supported yet: use http://";
    return false;
  }
  if (!url.starts_with("http://")) {
    *error = "target " + quoted(url) + " does not begin with http://";
    return false;
  }
  std::string_view rest = url.substr(7);
  std::string_view path;
  if (rest.starts_with("unix:")) {
    // nginx's form: http://unix:/run/app.sock:/path
    size_t colon = rest.find(':', 5);
    out->target = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) path = rest.substr(colon + 1);
    out->target_is_address = true;
  } else {
    size_t start = rest.starts_with("[") ? rest.find(']') : 0;
    size_t end = start == std::string_view::npos ? std::string_view::npos : rest.find('/', start);
    out->target = std::string(rest.substr(0, end));
    if (end != std::string_view::npos) path = rest.substr(end);
    out->target_is_address = out->target.find(':') != std::string::npos;
  }
  if (out->target.empty()) {
    *error = "target " + quoted(url) + " names no upstream";
    return false;
  }
  if (!path.empty()) {
    if (path[0] != '/') {
      *error = "target " + quoted(url) + ": the path must begin with /";
      return false;
    }
    // It goes into the request line to the upstream, before the client's query.
    if (!target_bytes(path) || path.find_first_of("?#") != std::string_view::npos) {
      *error = "target " + quoted(url) +
               ": the path is not visible ASCII without ? or # (percent-encode other bytes)";
      return false;
    }
    out->route.rewrite = true;
    out->route.replacement = std::string(path);
  }
  return true;
}

bool build_proxy_config(const std::vector<std::string>& upstreams,
                        const std::vector<std::string>& upstream_options,
                        const std::vector<std::string>& routes, ProxyConfig* out,
                        std::string* error) {
  auto find_group = [out](std::string_view name) -> UpstreamGroup* {
    for (UpstreamGroup& g : out->groups) {
      if (g.name == name) return &g;
    }
    return nullptr;
  };
  for (const std::string& text : upstreams) {
    std::string name;
    UpstreamServer server;
    std::string why;
    if (!parse_upstream(text, &name, &server, &why)) {
      *error = "--upstream: " + why;
      return false;
    }
    UpstreamGroup* g = find_group(name);
    if (g == nullptr) {
      g = &out->groups.emplace_back();
      g->name = name;
    }
    g->servers.push_back(std::move(server));
  }
  std::vector<std::string> configured;
  for (const std::string& text : upstream_options) {
    std::vector<std::string_view> w = words(text);
    if (w.empty()) {
      *error = "--upstream-options: the value is empty: it begins with a group NAME";
      return false;
    }
    std::string name(w[0]);
    UpstreamGroup* g = find_group(name);
    if (g == nullptr) {
      *error = "--upstream-options: group " + quoted(name) + " has no --upstream server";
      return false;
    }
    for (const std::string& done : configured) {
      if (done == name) {
        *error = "--upstream-options: group " + quoted(name) + " is given twice";
        return false;
      }
    }
    configured.push_back(name);
    std::string why;
    if (!parse_upstream_options(text, g, &why)) {
      *error = "--upstream-options: " + why;
      return false;
    }
  }
  for (const std::string& text : routes) {
    RouteSpec spec;
    std::string why;
    if (!parse_route(text, &spec, &why)) {
      *error = "--proxy: " + why;
      return false;
    }
    UpstreamGroup* g = find_group(spec.target);
    if (g == nullptr && spec.target_is_address) {
      // A target of its own: an implicit group named after the address.
      g = &out->groups.emplace_back();
      g->name = spec.target;
      g->implicit = true;
      UpstreamServer server;
      if (!resolve_address(spec.target, &server, &why)) {
        out->groups.pop_back();
        *error = "--proxy: " + why;
        return false;
      }
      g->servers.push_back(std::move(server));
    }
    if (g == nullptr) {
      *error = "--proxy: target " + quoted(spec.target) +
               " is no --upstream group (an address needs a port: HOST:PORT)";
      return false;
    }
    for (const ProxyRoute& r : out->routes) {
      if (r.host == spec.route.host && r.prefix == spec.route.prefix) {
        *error =
            "--proxy: prefix " + quoted(spec.route.host + spec.route.prefix) + " is given twice";
        return false;
      }
    }
    spec.route.group = static_cast<uint32_t>(g - out->groups.data());
    out->routes.push_back(std::move(spec.route));
  }
  return true;
}

}  // namespace zhttp::handlers::proxy
