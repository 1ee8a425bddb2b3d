// libFuzzer target for the PROXY protocol header parser. On any input: the result must be
// consistent with the result on a prefix (cut chosen by the input): a prefix that is done or an
// error decides the whole, and every prefix shorter than a done header is partial; kDone stays
// within the input and the v2 bound. Inputs made only of address characters are also checked as a
// v1 source address against inet_pton.
#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "zhttp/proxy_protocol.hpp"

namespace {

using zhttp::ProxyHeader;
using Status = ProxyHeader::Status;

void check(bool ok) {
  if (!ok) std::abort();
}

bool same(const ProxyHeader& a, const ProxyHeader& b) {
  return a.status == b.status && a.consumed == b.consumed && a.has_source == b.has_source &&
         a.family == b.family && std::memcmp(a.source, b.source, 16) == 0 &&
         a.source_port == b.source_port;
}

// Parses a heap copy of exactly `len` bytes, so that ASan catches a read past it.
ProxyHeader parse(const uint8_t* data, size_t len) {
  char* copy = static_cast<char*>(std::malloc(len ? len : 1));
  if (len) std::memcpy(copy, data, len);
  ProxyHeader h = zhttp::parse_proxy_header(copy, len);
  std::free(copy);
  return h;
}

// `text` as the source of a v1 line must parse exactly when inet_pton accepts it, to the same
// bytes (the parser's IPv4 form is inet_pton's: strict dotted quad).
void check_address(std::string_view text, int family) {
  std::string z(text);
  uint8_t want[16] = {};
  bool ok = inet_pton(family, z.c_str(), want) == 1;
  std::string line = std::string(family == AF_INET ? "PROXY TCP4 " : "PROXY TCP6 ") + z +
                     (family == AF_INET ? " 1.2.3.4" : " ::1") + " 1 2\r\n";
  ProxyHeader h = zhttp::parse_proxy_header(line.data(), line.size());  // within 107 bytes
  check(ok == (h.status == Status::kDone));
  if (ok) check(std::memcmp(h.source, want, family == AF_INET ? 4 : 16) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ProxyHeader whole = parse(data, size);
  if (whole.status == Status::kDone) {
    check(whole.consumed > 0 && whole.consumed <= size);
    check(whole.consumed <= zhttp::kProxyV2MaxBytes);
    check(!whole.has_source || whole.family == AF_INET || whole.family == AF_INET6);
    // The header alone gives the same result; one byte less is partial.
    check(same(whole, parse(data, whole.consumed)));
    check(parse(data, whole.consumed - 1).status == Status::kPartial);
  }
  if (size > 0) {
    size_t cut = (size_t{data[0]} << 8 | data[size - 1]) % size;
    ProxyHeader prefix = parse(data, cut);
    if (prefix.status != Status::kPartial) check(same(prefix, whole));
    if (whole.status == Status::kPartial) check(prefix.status == Status::kPartial);
    if (whole.status == Status::kDone && cut < whole.consumed) {
      check(prefix.status == Status::kPartial);
    }
  }

  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (size > 0 && size <= 64 && text.find_first_not_of("0123456789abcdefABCDEF:.") == text.npos) {
    check_address(text, AF_INET6);
    if (text.find_first_not_of("0123456789.") == text.npos) check_address(text, AF_INET);
  }
  return 0;
}
