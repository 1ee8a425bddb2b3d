#include "handlers/static_site/virtual_hosts.hpp"

#include <algorithm>

#include "handlers/common/ascii_case.hpp"
#include "http/request_host.hpp"

namespace zhttp::handlers::static_site {
namespace {

constexpr std::string_view kWildcard = "*.";

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

// Why `name` (lowercase) is no host name, or "" when it is one.
std::string host_name_problem(std::string_view name) {
  if (name.empty()) return "the name is empty";
  if (name.size() > 253) return "the name is longer than 253 bytes";
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = std::min(name.find('.', start), name.size());
    std::string_view label = name.substr(start, dot - start);
    if (label.empty()) return "an empty label";
    if (label.size() > 63) return "a label longer than 63 bytes";
    if (!std::all_of(label.begin(), label.end(), is_label_char)) {
      return "a byte that is not a letter, digit, '-' or '.'";
    }
    if (label.front() == '-' || label.back() == '-') return "a label starting or ending with '-'";
    start = dot + 1;
  }
  return {};
}

}  // namespace

bool parse_virtual_host(std::string_view text, VirtualHost* host, std::string* error) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos) {
    *error = "value " + std::string(text) + " is not NAME=DIR";
    return false;
  }
  std::string name(text.substr(0, eq));
  std::transform(name.begin(), name.end(), name.begin(), common::ascii_lower);
  const std::string_view bare =
      std::string_view(name).starts_with(kWildcard) ? std::string_view(name).substr(2) : name;
  if (std::string problem = host_name_problem(bare); !problem.empty()) {
    *error = "\"" + std::string(text.substr(0, eq)) + "\" is not a host name: " + problem;
    return false;
  }
  if (eq + 1 == text.size()) {
    *error = "value " + std::string(text) + " names no directory";
    return false;
  }
  host->name = std::move(name);
  host->root = std::string(text.substr(eq + 1));
  return true;
}

HostMatcher::HostMatcher(const std::vector<std::string>& names) {
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string_view name = names[i];
    if (name.starts_with(kWildcard)) {
      wildcards_.push_back({std::string(name.substr(1)), static_cast<int>(i)});
    } else {
      exact_.push_back({std::string(name), static_cast<int>(i)});
    }
  }
  std::stable_sort(wildcards_.begin(), wildcards_.end(),
                   [](const Name& a, const Name& b) { return a.text.size() > b.text.size(); });
}

int HostMatcher::match(std::string_view host) const {
  for (const Name& n : exact_) {
    if (common::equal_nocase(host, n.text)) return n.index;
  }
  for (const Name& n : wildcards_) {
    // At least one byte before the suffix's dot: "*.example.com" is not "example.com".
    if (host.size() > n.text.size() &&
        common::equal_nocase(host.substr(host.size() - n.text.size()), n.text)) {
      return n.index;
    }
  }
  return -1;
}

std::vector<std::string> VirtualHosts::names_of(const std::vector<VirtualHost>& hosts) {
  std::vector<std::string> names;
  for (const VirtualHost& h : hosts) names.push_back(h.name);
  return names;
}

VirtualHosts::VirtualHosts(const StaticFilesOptions& defaults,
                           const std::vector<VirtualHost>& hosts)
    : matcher_(names_of(hosts)), default_(defaults) {
  for (const VirtualHost& h : hosts) {
    StaticFilesOptions options = defaults;
    options.root = h.root;
    hosts_.push_back(std::make_unique<StaticFiles>(options));
  }
}

void VirtualHosts::handle(const RequestView& request, Response& response) {
  const std::string_view host = http::request_host(request.request().target_form, request.target(),
                                                   request.header(HeaderId::kHost));
  const int i = matcher_.match(host);
  (i < 0 ? default_ : *hosts_[static_cast<size_t>(i)]).handle(request, response);
}

}  // namespace zhttp::handlers::static_site
