#pragma once
// Content codings a static file may be precompressed in (F.br, F.zst, F.gz), the --precompressed
// list naming them, and the request's Accept-Encoding (RFC 9110 12.5.3). Pure functions; the
// request path part allocates nothing.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "zhttp/response_writer.hpp"

namespace zhttp::handlers::static_site {

enum class ContentCoding : uint8_t { kBr, kZstd, kGzip };
inline constexpr size_t kContentCodings = 3;

// The Content-Encoding token and the file name suffix of each coding.
std::string_view coding_name(ContentCoding c);
std::string_view coding_suffix(ContentCoding c);
inline constexpr size_t kMaxCodingSuffix = 4;  // ".zst"
// "Content-Encoding: <name>".
ConstField content_encoding_field(ContentCoding c);

// The codings --precompressed enables, in the order given (which breaks ties between variants
// of the same size and q-value). Empty: "off".
struct CodingList {
  uint8_t count = 0;
  std::array<ContentCoding, kContentCodings> codings{};
};

inline constexpr std::string_view kDefaultPrecompressed = "br,zstd,gzip";
CodingList default_precompressed();

// "off", or a comma-separated list of br, zstd and gzip, each at most once (no spaces). False
// for anything else.
bool parse_coding_list(std::string_view text, CodingList* out);

// What an Accept-Encoding field value accepts: q-values in thousandths (0..1000), 0 refusing.
// `identity` is 0 unless listed, or covered by "*", with a q above 0: the unencoded file is then
// a candidate like any variant; at 0 it is still what is sent when no variant is acceptable.
struct AcceptedCodings {
  std::array<uint16_t, kContentCodings> q{};
  uint16_t identity = 0;
};

// Parses an Accept-Encoding value ("" when absent: nothing but identity, the answer RFC 9110
// 12.5.3 allows and nginx gives). Coding names are case-insensitive, "x-gzip" is "gzip", "*"
// gives every coding not listed its q-value, and the first mention of a coding wins. A member
// that does not parse (a bad q-value, a parameter other than q, stray bytes) is ignored, as
// though it were not there.
AcceptedCodings parse_accept_encoding(std::string_view value);

// parse_accept_encoding() remembering the last value it parsed: clients (browsers above all)
// send one value on every request, so most requests cost a comparison. One per worker thread.
class AcceptEncodingMemo {
 public:
  const AcceptedCodings& parse(std::string_view value);

 private:
  static constexpr size_t kMaxValue = 128;  // longer values are parsed every time
  AcceptedCodings parsed_;
  bool remembered_ = false;
  uint8_t length_ = 0;
  char value_[kMaxValue];
};

// The sizes of a file's usable variants, by coding; kNoVariant where there is none.
inline constexpr uint64_t kNoVariant = UINT64_MAX;
using VariantSizes = std::array<uint64_t, kContentCodings>;

// Which representation to send: the index of a variant's coding, or -1 for the file itself. The
// highest q-value wins; among equals the smallest, then the first in `enabled`. A variant needs a
// q above 0; the file itself competes with `identity` and is what remains when nothing else is
// acceptable (RFC 9110 12.5.3 lets a server send it even when identity is refused).
int choose_representation(const AcceptedCodings& accepted, const CodingList& enabled,
                          const VariantSizes& sizes, uint64_t identity_size);

}  // namespace zhttp::handlers::static_site
