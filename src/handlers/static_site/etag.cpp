#include "handlers/static_site/etag.hpp"

namespace zhttp::handlers::static_site {
namespace {

// Lower-case hex without leading zeros ("0" for zero); returns the digits written (1..16).
size_t put_hex(uint64_t v, char* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  char tmp[16];
  size_t n = 0;
  do {
    tmp[n++] = kDigits[v & 0xf];
    v >>= 4;
  } while (v != 0);
  for (size_t i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
  return n;
}

}  // namespace

size_t format_etag(const FileVersion& v, char out[kMaxEtagLen]) {
  size_t n = 0;
  out[n++] = '"';
  n += put_hex(static_cast<uint64_t>(v.mtime_sec), out + n);
  out[n++] = '-';
  n += put_hex(v.size, out + n);
  out[n++] = '-';
  n += put_hex(v.mtime_nsec, out + n);
  out[n++] = '-';
  n += put_hex(v.inode, out + n);
  out[n++] = '"';
  return n;
}

}  // namespace zhttp::handlers::static_site
