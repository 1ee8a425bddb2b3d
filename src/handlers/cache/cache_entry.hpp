#pragma once
// How the cache stage keeps a response in the store (shm/cache_store.hpp): its key, and the
// "head" it stores beside the body: a fixed preamble (the stale windows and the Age the
// response already had), the request fields its Vary names with the values this request had
// (a later request must carry the same to be served it), then the handler's field lines without
// Age. And what the stage needs to know of a handler's field lines. Pure functions over bytes:
// no allocation.
#include <cstdint>
#include <span>
#include <string_view>

#include "zhttp/handler.hpp"

namespace zhttp::handlers::cache {

// "host\ntarget": the Host field lowercased, then the request target as sent. 0 when it does
// not fit in `out` (the request then bypasses the cache).
size_t cache_key(const RequestView& request, std::span<char> out);

// The fields of a handler's response the policy looks at (empty when absent; the first of each).
struct ResponseFields {
  std::string_view cache_control;
  std::string_view vary;
  std::string_view etag;
  std::string_view last_modified;
  std::string_view age;
  bool set_cookie = false;
};
// `lines` as ResponseWriter formats them: "Name: value\r\n"...
ResponseFields scan_fields(std::string_view lines);

struct EntryPreamble {
  uint32_t stale_while_revalidate_s = 0;
  uint32_t stale_if_error_s = 0;
  uint32_t age_s = 0;  // the response's own Age when stored
  uint16_t vary_bytes = 0;
  uint16_t reserved = 0;
};
static_assert(sizeof(EntryPreamble) == 16);

// The stored head into `out`: the preamble, then for each of `vary_names` (lowercase) the line
// "name:value\n" with this request's value, then `fields` without their Age line. Its length,
// or 0 when it does not fit.
size_t build_entry_head(EntryPreamble preamble, std::span<const std::string_view> vary_names,
                        const RequestView& request, std::string_view fields, std::span<char> out);

struct StoredHead {
  EntryPreamble preamble;
  std::string_view vary;    // the "name:value\n" lines
  std::string_view fields;  // field lines to replay
};
// False when `head` is not one build_entry_head() made.
bool parse_entry_head(std::string_view head, StoredHead* out);

// Whether `request` carries the same values of the fields the entry varies on.
bool vary_matches(std::string_view vary, const RequestView& request);

// The lines of `fields` a 304 answered from an entry repeats (RFC 9110 15.4.5): ETag,
// Cache-Control, Expires, Vary, Content-Location, Last-Modified. Into `out`; the length (lines
// that do not fit are left out).
size_t not_modified_fields(std::string_view fields, std::span<char> out);

}  // namespace zhttp::handlers::cache
