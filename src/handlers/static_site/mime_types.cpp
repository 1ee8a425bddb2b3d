#include "handlers/static_site/mime_types.hpp"

#include <fstream>
#include <unordered_map>
#include <utility>
#include "handlers/common/ascii_case.hpp"

namespace zhttp::handlers::static_site {
namespace {

constexpr std::string_view kCharset = "; charset=utf-8";
constexpr size_t kMaxTypeLen = 127;  // media-types' longest is 73

// Used when /etc/mime.types is missing and for the extensions it lacks (older media-types has
// no mjs, wasm, avif; none has map or webmanifest). Same spellings as media-types where both
// have an extension, so a machine without the file answers the same for the common ones.
constexpr std::pair<std::string_view, std::string_view> kBuiltin[] = {
    {"html", "text/html"},
    {"htm", "text/html"},
    {"css", "text/css"},
    {"js", "text/javascript"},  // RFC 9239
    {"mjs", "text/javascript"},
    {"json", "application/json"},
    {"map", "application/json"},  // source maps
    {"jsonld", "application/ld+json"},
    {"webmanifest", "application/manifest+json"},
    {"txt", "text/plain"},
    {"md", "text/markdown"},
    {"csv", "text/csv"},
    {"ics", "text/calendar"},
    {"vtt", "text/vtt"},
    {"xml", "application/xml"},
    {"xhtml", "application/xhtml+xml"},
    {"rss", "application/rss+xml"},
    {"atom", "application/atom+xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"apng", "image/apng"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"bmp", "image/bmp"},
    {"ico", "image/vnd.microsoft.icon"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"eot", "application/vnd.ms-fontobject"},
    {"pdf", "application/pdf"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"xz", "application/x-xz"},
    {"bz2", "application/x-bzip2"},
    {"7z", "application/x-7z-compressed"},
    {"wasm", "application/wasm"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"ogv", "video/ogg"},
    {"mov", "video/quicktime"},
    {"mp3", "audio/mpeg"},
    {"m4a", "audio/mp4"},
    {"ogg", "audio/ogg"},
    {"oga", "audio/ogg"},
    {"opus", "audio/ogg"},
    {"flac", "audio/flac"},
    {"wav", "audio/wav"},
    {"weba", "audio/webm"},
};

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && common::equal_nocase(s.substr(0, prefix.size()), prefix);
}

bool iends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         common::equal_nocase(s.substr(s.size() - suffix.size()), suffix);
}

uint64_t hash_of(std::string_view lower_ext) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a
  for (char c : lower_ext) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

bool is_token_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if ((u | 0x20) >= 'a' && (u | 0x20) <= 'z') return true;
  if (u >= '0' && u <= '9') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// type "/" subtype, both tokens (RFC 9110 8.3.1), no parameters.
bool is_media_type(std::string_view t) {
  const size_t slash = t.find('/');
  if (slash == 0 || slash == std::string_view::npos || slash + 1 == t.size()) return false;
  for (size_t i = 0; i < t.size(); ++i) {
    if (i != slash && !is_token_char(t[i])) return false;
  }
  return t.size() <= kMaxTypeLen;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

// Splits off the next whitespace-separated word of *rest.
std::string_view next_word(std::string_view* rest) {
  size_t i = 0;
  while (i < rest->size() && is_space((*rest)[i])) ++i;
  size_t j = i;
  while (j < rest->size() && !is_space((*rest)[j])) ++j;
  std::string_view word = rest->substr(i, j - i);
  rest->remove_prefix(j);
  return word;
}

struct Mapping {
  std::string ext;           // lower case
  std::string content_type;  // with charset when textual
};

std::string content_type_of(std::string_view type) {
  std::string ct(type);
  if (MimeTypes::is_textual(type)) ct += kCharset;
  return ct;
}

void add_mappings(std::string_view line, std::vector<Mapping>* out) {
  line = line.substr(0, line.find('#'));
  const std::string_view type = next_word(&line);
  if (!is_media_type(type)) return;
  const std::string ct = content_type_of(type);
  for (std::string_view ext = next_word(&line); !ext.empty(); ext = next_word(&line)) {
    if (ext.size() > kMaxExtensionLen || ext.find('/') != std::string_view::npos) continue;
    Mapping m{std::string(ext), ct};
    for (char& c : m.ext) c = common::ascii_lower(c);
    out->push_back(std::move(m));
  }
}

}  // namespace

bool MimeTypes::is_textual(std::string_view type) {
  return istarts_with(type, "text/") || common::equal_nocase(type, "application/json") ||
         common::equal_nocase(type, "application/xml") ||
         common::equal_nocase(type, "application/javascript") ||
         common::equal_nocase(type, "application/ecmascript") || iends_with(type, "+json") ||
         iends_with(type, "+xml");
}

MimeTypes::MimeTypes(std::string_view path) {
  std::vector<Mapping> mappings;
  if (!path.empty()) {
    std::ifstream in{std::string(path)};
    loaded_file_ = in.is_open();
    for (std::string line; std::getline(in, line);) add_mappings(line, &mappings);
  }
  for (const auto& [ext, type] : kBuiltin)
    mappings.push_back({std::string(ext), content_type_of(type)});

  // Load factor <= 1/2 keeps probe sequences short; a power of two makes the index a mask.
  size_t capacity = 16;
  while (capacity < 2 * mappings.size()) capacity *= 2;
  slots_.assign(capacity, Slot{});

  std::unordered_map<std::string, uint32_t> type_offsets;  // each value stored once
  for (const Mapping& m : mappings) {
    const size_t at = probe(m.ext);
    if (slots_[at].ext_len != 0) continue;  // first mapping of an extension wins
    auto [it, fresh] = type_offsets.try_emplace(m.content_type, 0);
    if (fresh) {
      it->second = static_cast<uint32_t>(arena_.size());
      arena_ += m.content_type;
    }
    Slot& s = slots_[at];
    s.ext_off = static_cast<uint32_t>(arena_.size());
    s.ext_len = static_cast<uint8_t>(m.ext.size());
    s.type_off = it->second;
    s.type_len = static_cast<uint16_t>(m.content_type.size());
    arena_ += m.ext;
    ++count_;
  }
}

size_t MimeTypes::probe(std::string_view lower_ext) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash_of(lower_ext) & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.ext_len == 0 || std::string_view(arena_.data() + s.ext_off, s.ext_len) == lower_ext) {
      return i;
    }
  }
}

std::string_view MimeTypes::lookup(std::string_view path_or_filename) const {
  std::string_view name = path_or_filename;
  if (const size_t slash = name.rfind('/'); slash != std::string_view::npos) {
    name.remove_prefix(slash + 1);
  }
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return kDefaultMimeType;
  const std::string_view ext = name.substr(dot + 1);
  if (ext.empty() || ext.size() > kMaxExtensionLen) return kDefaultMimeType;

  char buf[kMaxExtensionLen];
  for (size_t i = 0; i < ext.size(); ++i) buf[i] = common::ascii_lower(ext[i]);
  const Slot& s = slots_[probe({buf, ext.size()})];
  if (s.ext_len == 0) return kDefaultMimeType;
  return {arena_.data() + s.type_off, s.type_len};
}

}  // namespace zhttp::handlers::static_site
