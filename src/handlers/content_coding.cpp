#include "handlers/content_coding.hpp"

#include "handlers/ascii_case.hpp"

namespace zhttp::handlers {
namespace {

constexpr std::string_view kNames[kContentCodings] = {"br", "zstd", "gzip"};
constexpr std::string_view kSuffixes[kContentCodings] = {".br", ".zst", ".gz"};

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

// One member: "coding" or "coding;q=V" (OWS around ';'). The weight, or -1 if malformed.
int parse_member(std::string_view member, std::string_view* coding) {
  size_t semi = member.find(';');
  *coding = trim(member.substr(0, semi));
  if (coding->empty()) return -1;
  for (char c : *coding) {
    if (is_ows(c) || c == '=' || c == '"') return -1;
  }
  if (semi == std::string_view::npos) return 1000;
  std::string_view weight = trim(member.substr(semi + 1));
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
    size_t comma = value.find(',');
    std::string_view member = value.substr(0, comma);
    value.remove_prefix(comma == std::string_view::npos ? value.size() : comma + 1);
    std::string_view coding;
    const int q = parse_member(member, &coding);
    if (q < 0) continue;
    if (coding == "*") {
      if (star < 0) star = q;
      continue;
    }
    if (equal_nocase(coding, "identity")) {
      if (!identity_listed) accepted.identity = static_cast<uint16_t>(q);
      identity_listed = true;
      continue;
    }
    if (equal_nocase(coding, "x-gzip")) coding = "gzip";
    for (size_t i = 0; i < kContentCodings; ++i) {
      if (listed[i] || !equal_nocase(coding, kNames[i])) continue;
      accepted.q[i] = static_cast<uint16_t>(q);
      listed[i] = true;
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

}  // namespace zhttp::handlers
