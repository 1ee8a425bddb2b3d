#pragma once
// The host a request names (RFC 9112 3.2: the authority of an absolute-form target wins over
// the Host field), as a name: userinfo, port and a trailing dot dropped, the case as sent.
// Pure functions over views into the request: no allocation.
#include <string_view>

#include "zhttp/request.hpp"

namespace zhttp::http {

// "user@Example.COM.:8080" -> "Example.COM"; "[::1]:80" -> "[::1]"; "" -> "".
std::string_view host_name(std::string_view authority);

// The host of a request with this target and Host field value (empty: none, e.g. HTTP/1.0).
std::string_view request_host(TargetForm form, std::string_view target,
                              std::string_view host_field);

}  // namespace zhttp::http
