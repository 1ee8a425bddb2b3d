#pragma once
#include <cstdint>
#include <string_view>

namespace zhttp {

// Reason phrase of an IANA-registered status code, spelled as in RFC 9110 (e.g. 413 "Content Too
// Large", 422 "Unprocessable Content"), plus the WebDAV/extension codes (102, 103, 207, 208, 226,
// 423, 424, 425, 428, 429, 431, 451, 506, 507, 508, 510, 511) and 418 "I'm a teapot".
//
// An unregistered code returns "" rather than a class default ("Client Error"...): the status
// line grammar allows an empty reason (RFC 9112 4: "HTTP/1.1 599 \r\n"), clients act on the code
// alone, and an invented phrase would look registered in logs and captures.
//
// Never allocates; the views point to static storage.
std::string_view reason_phrase(uint16_t code);

}  // namespace zhttp
