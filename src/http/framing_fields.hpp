#pragma once
// Interpretation of the header fields that decide message framing and connection handling
// (Content-Length, Transfer-Encoding, Connection, Host, Expect). Pure functions over value bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace zhttp::http {

// Content-Length = 1*DIGIT, no sign, no list, no overflow of int64.
bool parse_content_length(std::string_view value, int64_t* out);
// One more Content-Length field: parses it into *known (-1 before the first). Identical repeats
// are harmless (RFC 9110 8.6); false when invalid or differing, a smuggling vector.
bool add_content_length(std::string_view value, int64_t* known);

// Transfer-Encoding codings accumulated over every Transfer-Encoding line of a message.
struct TransferCodings {
  bool present = false;  // at least one Transfer-Encoding line
  bool last_is_chunked = false;
  uint8_t chunked_count = 0;  // chunked may be applied once only
  bool has_other = false;     // a coding we do not implement (gzip, deflate, unknown...)
  bool malformed = false;     // an element that is not a token (or an empty field)
};
void add_transfer_codings(std::string_view value, TransferCodings& codings);

struct ConnectionOptions {
  bool close = false;
  bool keep_alive = false;
  bool upgrade = false;
  bool other = false;  // any other option: it names a hop-by-hop field (RFC 9110 7.6.1)
};
void add_connection_options(std::string_view value, ConnectionOptions& options);

// Whether the comma-separated list holds `element` (ASCII case ignored on both sides), e.g. a field
// name among a Connection field's options.
bool list_has_element(std::string_view list, std::string_view element);

// Host = uri-host [ ":" port ]; may be empty. Checks the character set and the port digits.
bool valid_host(std::string_view value);

// Case-insensitive ASCII compare against a lowercase literal.
bool equals_ignore_case(std::string_view s, std::string_view lower);

}  // namespace zhttp::http
