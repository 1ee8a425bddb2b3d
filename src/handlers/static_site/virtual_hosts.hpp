#pragma once
// Virtual hosts (--vhost 'NAME=DIR'): the request's host picks the document root. Each virtual
// host is a StaticFiles of its own (the same options but the root, an open file cache each);
// a request whose host no name matches, or that names none (HTTP/1.0), gets the default one.
// Names are checked and parsed at start; matching and handle() allocate nothing.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "handlers/static_site/static_files.hpp"
#include "zhttp/handler.hpp"

namespace zhttp::handlers::static_site {

struct VirtualHost {
  std::string name;  // lowercase; "*.example.com" for every name below example.com
  std::string root;
};

// "NAME=DIR": NAME a host name (letters, digits, '-' in dot-separated labels of at most 63
// bytes, no label starting or ending with '-'), optionally after "*."; DIR not empty (whether it
// is a directory is the caller's check). False with *error saying why.
bool parse_virtual_host(std::string_view text, VirtualHost* host, std::string* error);

// Picks the name serving a host: the exact name first, then the longest "*.suffix" the host
// ends with (below it: "*.example.com" takes "a.b.example.com", not "example.com"). Hosts are
// compared without case; give them as http::request_host() returns them.
class HostMatcher {
 public:
  // `names` lowercase, as parse_virtual_host() leaves them.
  explicit HostMatcher(const std::vector<std::string>& names);
  // The index in `names` of the match, or -1.
  int match(std::string_view host) const;

 private:
  struct Name {
    std::string text;  // exact: the name; wildcard: the suffix with its dot (".example.com")
    int index;
  };
  std::vector<Name> exact_;
  std::vector<Name> wildcards_;  // longest suffix first
};

class VirtualHosts : public Handler {
 public:
  // Throws std::runtime_error when a root cannot be opened (as StaticFiles does).
  VirtualHosts(const StaticFilesOptions& defaults, const std::vector<VirtualHost>& hosts);

  void handle(const RequestView& request, Response& response) override;

 private:
  static std::vector<std::string> names_of(const std::vector<VirtualHost>& hosts);

  HostMatcher matcher_;
  std::vector<std::unique_ptr<StaticFiles>> hosts_;  // in the order of the names
  StaticFiles default_;
};

}  // namespace zhttp::handlers::static_site
