#include "http/request_host.hpp"

namespace zhttp::http {

std::string_view host_name(std::string_view authority) {
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);
  if (!authority.empty() && authority.front() == '[') {  // IP-literal: its colons are no port
    const size_t close = authority.find(']');
    return close == std::string_view::npos ? authority : authority.substr(0, close + 1);
  }
  authority = authority.substr(0, authority.find(':'));
  if (!authority.empty() && authority.back() == '.') authority.remove_suffix(1);
  return authority;
}

std::string_view request_host(TargetForm form, std::string_view target,
                              std::string_view host_field) {
  if (form == TargetForm::kAuthority) return host_name(target);
  if (form == TargetForm::kAbsolute) {
    const size_t scheme_end = target.find("://");
    if (scheme_end != std::string_view::npos) {
      std::string_view authority = target.substr(scheme_end + 3);
      return host_name(authority.substr(0, authority.find_first_of("/?#")));
    }
  }
  return host_name(host_field);
}

}  // namespace zhttp::http
