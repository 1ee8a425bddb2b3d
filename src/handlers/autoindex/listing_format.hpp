#pragma once
// The two faces of a directory listing (--autoindex), as pure functions of the entries: an HTML
// page in the layout of nginx's autoindex, and nginx's autoindex_format json. Names are bytes: a
// sequence that is not UTF-8 is shown as U+FFFD (the page's links keep the exact bytes, encoded).
#include <string>
#include <string_view>

#include "handlers/autoindex/directory_listing.hpp"

namespace zhttp::handlers::autoindex {

// The page for the directory `dir_path` (normalised, decoded, ending in '/'): a link to "../"
// (except at "/"), then one line per entry: the name (directories with a '/') linked, its
// modification time as an HTTP date (UTC) and its size in bytes ("-" for a directory). A
// truncated listing says so under the list.
std::string format_html(std::string_view dir_path, const DirListing& listing);

// [{ "name":"a.txt", "type":"file", "mtime":"Tue, 01 Dec 2026 10:00:00 GMT", "size":12 }, ...],
// directories with "type":"directory" and no size; names without a trailing '/'.
std::string format_json(const DirListing& listing);

// `text` as HTML character data or a quoted attribute value: & < > " ' as references.
void append_html_escaped(std::string_view text, std::string* out);
// `text` as the inside of a JSON string: '"', '\\' and control bytes escaped.
void append_json_escaped(std::string_view text, std::string* out);

}  // namespace zhttp::handlers::autoindex
