#include "handlers/static_site/path_encoding.hpp"

namespace zhttp::handlers::static_site {
namespace {

// Bytes a path may carry unescaped (RFC 3986 pchar and '/').
bool is_path_char(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':  // unreserved
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':  // sub-delims
    case ':':
    case '@':
    case '/':
      return true;
    default:
      return false;
  }
}

}  // namespace

size_t encode_path(std::string_view path, char* out, size_t cap) {
  constexpr char kHex[] = "0123456789ABCDEF";
  size_t n = 0;
  for (unsigned char c : path) {
    if (is_path_char(c)) {
      if (n + 1 > cap) return 0;
      out[n++] = static_cast<char>(c);
    } else {
      if (n + 3 > cap) return 0;
      out[n++] = '%';
      out[n++] = kHex[c >> 4];
      out[n++] = kHex[c & 15];
    }
  }
  return n;
}

}  // namespace zhttp::handlers::static_site
