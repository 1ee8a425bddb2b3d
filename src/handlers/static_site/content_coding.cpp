#include "handlers/static_site/content_coding.hpp"

#include <cstring>

#include "handlers/common/ascii_case.hpp"

namespace zhttp::handlers::static_site {
namespace {

constexpr std::string_view kNames[kContentCodings] = {"br", "zstd", "gzip"};
constexpr std::string_view kSuffixes[kContentCodings] = {".br", ".zst", ".gz"};
constexpr ConstField kContentEncodingFields[kContentCodings] = {{"Content-Encoding", kNames[0]},
                                                                {"Content-Encoding", kNames[1]},
                                                                {"Content-Encoding", kNames[2]}};

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in thousandths; -1 if malformed.
int parse_qvalue(std::string_view s) {
  if (s.empty() || (s[0] != '0' && s[0] != '1')) return -1;
  int q = (s[0] - '0') * 1000;
  if (s.size() == 1) return q;
  if (s[1] != '.' || s.size() > 5) return -1;
  int scale = 100;
  for (char c : s.substr(2)) {
    if (c < '0' || c > '9') return -1;
    q += (c - '0') * scale;
    scale /= 10;
  }
  return q > 1000 ? -1 : q;
}

// What a member's coding names: a content coding's index (as ContentCoding), "*", "identity",
// or anything else. Each name here is a token, so a "coding" holding other bytes (spaces, '=',
// quotes) or none at all is simply none of them, and its member is ignored.
enum Named : uint8_t { kNamedBr, kNamedZstd, kNamedGzip, kNamedStar, kNamedIdentity, kNamedOther };
static_assert(kNamedBr == static_cast<uint8_t>(ContentCoding::kBr) &&
              kNamedZstd == static_cast<uint8_t>(ContentCoding::kZstd) &&
              kNamedGzip == static_cast<uint8_t>(ContentCoding::kGzip));

Named name_of(std::string_view coding) {
  switch (coding.size()) {  // one comparison at most per name, on the request path
    case 1:
      return coding[0] == '*' ? kNamedStar : kNamedOther;
    case 2:
      return common::equal_nocase(coding, "br") ? kNamedBr : kNamedOther;
    case 4:
      if (common::equal_nocase(coding, "gzip")) return kNamedGzip;
      return common::equal_nocase(coding, "zstd") ? kNamedZstd : kNamedOther;
    case 6:
      return common::equal_nocase(coding, "x-gzip") ? kNamedGzip : kNamedOther;
    case 8:
      return common::equal_nocase(coding, "identity") ? kNamedIdentity : kNamedOther;
    default:
      return kNamedOther;
  }
}

// A member's parameters after its ';': "q=V" (OWS around). The weight, or -1 if malformed.
int parse_weight(std::string_view parameters) {
  std::string_view weight = trim(parameters);
  if (weight.size() < 2 || (weight[0] != 'q' && weight[0] != 'Q') || weight[1] != '=') return -1;
  return parse_qvalue(weight.substr(2));
}

}  // namespace

CodingList default_precompressed() {
  CodingList list;
  parse_coding_list(kDefaultPrecompressed, &list);
  return list;
}

std::string_view coding_name(ContentCoding c) {
  return kNames[static_cast<size_t>(c)];
}

ConstField content_encoding_field(ContentCoding c) {
  return kContentEncodingFields[static_cast<size_t>(c)];
}

std::string_view coding_suffix(ContentCoding c) {
  return kSuffixes[static_cast<size_t>(c)];
}

bool parse_coding_list(std::string_view text, CodingList* out) {
  CodingList list;
  if (text == "off") {
    *out = list;
    return true;
  }
  bool seen[kContentCodings] = {};
  for (;;) {
    size_t comma = text.find(',');
    std::string_view name = text.substr(0, comma);
    size_t i = 0;
    while (i < kContentCodings && name != kNames[i]) ++i;
    if (i == kContentCodings || seen[i]) return false;
    seen[i] = true;
    list.codings[list.count++] = static_cast<ContentCoding>(i);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  *out = list;
  return true;
}

AcceptedCodings parse_accept_encoding(std::string_view value) {
  AcceptedCodings accepted;
  bool listed[kContentCodings] = {};
  bool identity_listed = false;
  int star = -1;
  while (!value.empty()) {
    const size_t comma = value.find(',');
    const std::string_view member = value.substr(0, comma);
    value.remove_prefix(comma == std::string_view::npos ? value.size() : comma + 1);
    const size_t semi = member.find(';');
    const Named named = name_of(trim(member.substr(0, semi)));
    if (named == kNamedOther) continue;  // a coding no file is stored in, or malformed
    const int q = semi == std::string_view::npos ? 1000 : parse_weight(member.substr(semi + 1));
    if (q < 0) continue;
    if (named == kNamedStar) {
      if (star < 0) star = q;
    } else if (named == kNamedIdentity) {
      if (!identity_listed) accepted.identity = static_cast<uint16_t>(q);
      identity_listed = true;
    } else if (!listed[named]) {
      accepted.q[named] = static_cast<uint16_t>(q);
      listed[named] = true;
    }
  }
  if (star >= 0) {
    for (size_t i = 0; i < kContentCodings; ++i) {
      if (!listed[i]) accepted.q[i] = static_cast<uint16_t>(star);
    }
    if (!identity_listed) accepted.identity = static_cast<uint16_t>(star);
  }
  return accepted;
}

const AcceptedCodings& AcceptEncodingMemo::parse(std::string_view value) {
  // An absent field is a view without data: no memcmp (nor memcpy) of its null pointer.
  if (remembered_ && value.size() == length_ &&
      (length_ == 0 || std::memcmp(value.data(), value_, length_) == 0)) {
    return parsed_;
  }
  parsed_ = parse_accept_encoding(value);
  remembered_ = value.size() <= kMaxValue;
  if (remembered_ && !value.empty()) std::memcpy(value_, value.data(), value.size());
  length_ = static_cast<uint8_t>(remembered_ ? value.size() : 0);
  return parsed_;
}

int choose_representation(const AcceptedCodings& accepted, const CodingList& enabled,
                          const VariantSizes& sizes, uint64_t identity_size) {
  int best = -1;
  uint16_t best_q = accepted.identity;
  uint64_t best_size = identity_size;
  for (size_t k = 0; k < enabled.count; ++k) {
    const size_t i = static_cast<size_t>(enabled.codings[k]);
    const uint16_t q = accepted.q[i];
    if (q == 0 || sizes[i] == kNoVariant) continue;
    if (q > best_q || (q == best_q && sizes[i] < best_size)) {
      best = static_cast<int>(i);
      best_q = q;
      best_size = sizes[i];
    }
  }
  return best;
}

}  // namespace zhttp::handlers::static_site
