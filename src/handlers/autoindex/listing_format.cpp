#include "handlers/autoindex/listing_format.hpp"

#include <algorithm>

#include "handlers/static_site/path_encoding.hpp"
#include "zhttp/date_cache.hpp"

namespace zhttp::handlers::autoindex {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr size_t kNameColumns = 50;                        // nginx's NGX_HTTP_AUTOINDEX_NAME_LEN
constexpr size_t kSizeColumns = 20;

// The length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF), or 0.
size_t utf8_length(std::string_view s) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;  // the range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < n || b(1) < lo || b(1) > hi) return 0;
  for (size_t i = 2; i < n; ++i) {
    if (b(i) < 0x80 || b(i) > 0xBF) return 0;
  }
  return n;
}

// Calls emit(piece) for each character of `text`: a well-formed UTF-8 sequence, or U+FFFD in
// place of one byte that does not start one. Returns how many characters there were.
template <typename Emit>
size_t for_each_char(std::string_view text, Emit emit) {
  size_t count = 0;
  while (!text.empty()) {
    const size_t n = utf8_length(text);
    emit(n == 0 ? kReplacement : text.substr(0, n));
    text.remove_prefix(n == 0 ? 1 : n);
    ++count;
  }
  return count;
}

void append_html_char(std::string_view piece, std::string* out) {
  switch (piece[0]) {
    case '&':
      *out += "&amp;";
      break;
    case '<':
      *out += "&lt;";
      break;
    case '>':
      *out += "&gt;";
      break;
    case '"':
      *out += "&quot;";
      break;
    case '\'':
      *out += "&#39;";
      break;
    default:
      *out += piece;
  }
}

std::string_view http_date(time_t t, char (&buf)[kImfFixdateLen]) {
  if (!format_imf_fixdate(t, buf)) format_imf_fixdate(0, buf);  // beyond year 9999
  return {buf, kImfFixdateLen};
}

void append_html_entry(const DirEntry& e, std::string* out) {
  // A relative link whose first segment holds a ':' would read as a scheme ("javascript:..."):
  // "./" first (RFC 3986 4.2). The encoded name can still hold '&' and '\'': escaped too.
  std::string href(3 * e.name.size() + 3, '\0');
  size_t n = 0;
  if (e.name.find(':') != std::string::npos) {
    href[n++] = '.';
    href[n++] = '/';
  }
  n += static_site::encode_path(e.name, href.data() + n, href.size() - n);
  if (e.directory) href[n++] = '/';
  href.resize(n);

  *out += "<a href=\"";
  append_html_escaped(href, out);
  *out += "\">";
  size_t columns =
      for_each_char(e.name, [&](std::string_view piece) { append_html_char(piece, out); });
  if (e.directory) {
    *out += '/';
    ++columns;
  }
  *out += "</a>";
  // Aligned in columns, as nginx; a longer name pushes its line (nginx would cut it).
  out->append(kNameColumns + 1 - std::min(columns, kNameColumns), ' ');
  char date[kImfFixdateLen];
  *out += http_date(e.mtime, date);
  const std::string size = e.directory ? "-" : std::to_string(e.size);
  out->append(kSizeColumns - std::min(size.size(), kSizeColumns - 1), ' ');
  *out += size;
  *out += '\n';
}

}  // namespace

void append_html_escaped(std::string_view text, std::string* out) {
  for_each_char(text, [&](std::string_view piece) { append_html_char(piece, out); });
}

void append_json_escaped(std::string_view text, std::string* out) {
  constexpr char kHex[] = "0123456789abcdef";
  for_each_char(text, [&](std::string_view piece) {
    const auto c = static_cast<unsigned char>(piece[0]);
    if (c == '"' || c == '\\') {
      *out += '\\';
      *out += piece;
    } else if (c < 0x20) {
      *out += "\\u00";
      *out += kHex[c >> 4];
      *out += kHex[c & 15];
    } else {
      *out += piece;
    }
  });
}

std::string format_html(std::string_view dir_path, const DirListing& listing) {
  std::string out;
  std::string title;
  append_html_escaped(dir_path, &title);
  out += "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>Index of ";
  out += title;
  out += "</title></head>\n<body>\n<h1>Index of ";
  out += title;
  out += "</h1><hr><pre>";
  if (dir_path != "/") out += "<a href=\"../\">../</a>\n";
  for (const DirEntry& e : listing.entries) append_html_entry(e, &out);
  out += "</pre><hr>";
  if (listing.truncated) {
    out += "<p>This directory holds more entries: only " + std::to_string(listing.entries.size()) +
           " of them are listed.</p>";
  }
  out += "</body>\n</html>\n";
  return out;
}

std::string format_json(const DirListing& listing) {
  std::string out = "[";
  const char* separator = "\n";
  for (const DirEntry& e : listing.entries) {
    out += separator;
    separator = ",\n";
    out += "{ \"name\":\"";
    append_json_escaped(e.name, &out);
    out += e.directory ? "\", \"type\":\"directory\", \"mtime\":\""
                       : "\", \"type\":\"file\", \"mtime\":\"";
    char date[kImfFixdateLen];
    out += http_date(e.mtime, date);
    out += '"';
    if (!e.directory) out += ", \"size\":" + std::to_string(e.size);
    out += " }";
  }
  out += "\n]\n";
  return out;
}

}  // namespace zhttp::handlers::autoindex
