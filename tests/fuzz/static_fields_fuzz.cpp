// libFuzzer target for the request fields a static file answer depends on, all of them from any
// client: Accept-Encoding (against a slow, obviously-correct reference, and through the
// per-worker memo), the choice of a precompressed variant, Range with If-Range, and the
// preconditions. Checks the output invariants of each.
//
// The input is lines: Accept-Encoding, Range, If-Range, If-Match, If-None-Match,
// If-Modified-Since; the first byte also picks the file's size and which variants exist.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "handlers/common/conditional.hpp"
#include "handlers/static_site/content_coding.hpp"
#include "handlers/static_site/range.hpp"

namespace {

using namespace zhttp::handlers::static_site;
using namespace zhttp::handlers::common;

void check(bool cond, const char* what) {
  if (!cond) {
    std::fprintf(stderr, "invariant failed: %s\n", what);
    std::abort();
  }
}

// ---- Accept-Encoding, the slow way: split, trim, then every rule in turn ------------------

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The weight of "q=V" in thousandths, or -1.
int reference_weight(std::string_view w) {
  w = trim(w);
  if (w.size() < 3 || (w[0] != 'q' && w[0] != 'Q') || w[1] != '=') return -1;
  std::string_view v = w.substr(2);
  if (v == "0" || v == "1") return (v[0] - '0') * 1000;
  if (v.size() < 2 || v.size() > 5 || (v[0] != '0' && v[0] != '1') || v[1] != '.') return -1;
  int q = (v[0] - '0') * 1000;
  int scale = 100;
  for (char c : v.substr(2)) {
    if (c < '0' || c > '9') return -1;
    q += (c - '0') * scale;
    scale /= 10;
  }
  return q > 1000 ? -1 : q;
}

AcceptedCodings reference_accept_encoding(std::string_view value) {
  const std::string names[kContentCodings] = {"br", "zstd", "gzip"};
  int q[kContentCodings] = {-1, -1, -1};
  int identity = -1, star = -1;
  size_t at = 0;
  for (;;) {
    const size_t comma = value.find(',', at);
    const std::string_view member =
        value.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at);
    const size_t semi = member.find(';');
    std::string coding = lower(trim(member.substr(0, semi)));
    const int weight =
        semi == std::string_view::npos ? 1000 : reference_weight(member.substr(semi + 1));
    if (coding == "x-gzip") coding = "gzip";
    if (weight >= 0) {
      if (coding == "*" && star < 0) star = weight;
      if (coding == "identity" && identity < 0) identity = weight;
      for (size_t i = 0; i < kContentCodings; ++i) {
        if (coding == names[i] && q[i] < 0) q[i] = weight;
      }
    }
    if (comma == std::string_view::npos) break;
    at = comma + 1;
  }
  AcceptedCodings out;
  for (size_t i = 0; i < kContentCodings; ++i) {
    out.q[i] = static_cast<uint16_t>(q[i] >= 0 ? q[i] : star >= 0 ? star : 0);
  }
  out.identity = static_cast<uint16_t>(identity >= 0 ? identity : star >= 0 ? star : 0);
  return out;
}

void check_accept_encoding(std::string_view value, uint8_t selector) {
  static AcceptEncodingMemo memo;  // kept across inputs, as a worker keeps it across requests
  const AcceptedCodings fast = parse_accept_encoding(value);
  const AcceptedCodings slow = reference_accept_encoding(value);
  check(fast.q == slow.q && fast.identity == slow.identity, "Accept-Encoding differs");
  const AcceptedCodings& memoised = memo.parse(value);
  check(memoised.q == fast.q && memoised.identity == fast.identity, "the memo differs");

  // The choice: -1 or a coding that is enabled, exists and is acceptable; never beaten.
  const CodingList enabled = default_precompressed();
  VariantSizes sizes{};
  for (size_t i = 0; i < kContentCodings; ++i) {
    sizes[i] = (selector >> i) & 1 ? 10 + ((selector >> (i + 3)) & 1) * 100 : kNoVariant;
  }
  const uint64_t identity_size = 60;
  const int chosen = choose_representation(fast, enabled, sizes, identity_size);
  check(chosen >= -1 && chosen < static_cast<int>(kContentCodings), "choice out of range");
  const uint16_t chosen_q = chosen < 0 ? fast.identity : fast.q[chosen];
  if (chosen >= 0) {
    check(sizes[chosen] != kNoVariant, "a variant that does not exist");
    check(chosen_q > 0, "a refused variant");
  }
  for (size_t i = 0; i < kContentCodings; ++i) {
    if (sizes[i] == kNoVariant || fast.q[i] == 0) continue;
    check(fast.q[i] <= chosen_q, "a variant with a higher q-value was passed over");
  }
}

// ---- Range and If-Range ---------------------------------------------------------------------

void check_range(std::string_view range, std::string_view if_range, uint64_t size) {
  const std::string_view etag = "\"5f-1a2b\"";
  const time_t modified = 1700000000, now = 1700000100;
  const ByteRange r = evaluate_range(range, if_range, size, etag, modified, now);
  char out[kMaxContentRangeLen];
  const size_t n = format_content_range(r, out);
  check(n <= kMaxContentRangeLen, "Content-Range too long");
  switch (r.kind) {
    case RangeKind::kNone:
      check(n == 0, "Content-Range for no range");
      break;
    case RangeKind::kSatisfiable: {
      check(r.first <= r.last && r.last < size, "range outside the file");
      const std::string expected = "bytes " + std::to_string(r.first) + "-" +
                                   std::to_string(r.last) + "/" + std::to_string(size);
      check(std::string_view(out, n) == expected, "Content-Range text");
      break;
    }
    case RangeKind::kUnsatisfiable:
      check(std::string_view(out, n) == "bytes */" + std::to_string(size), "unsatisfied text");
      break;
  }
  check(r.kind == RangeKind::kNone || !range.empty(), "a range without Range");
}

// ---- preconditions --------------------------------------------------------------------------

void check_preconditions(const ConditionalHeaders& h) {
  const std::string_view etag = "\"5f-1a2b\"";
  const time_t modified = 1700000000, now = 1700000100;
  const Precondition p = evaluate_preconditions(h, etag, modified, now);
  check(p == Precondition::kProceed || p == Precondition::kNotModified ||
            p == Precondition::kPreconditionFailed,
        "precondition out of range");
  // Without If-Match and If-Unmodified-Since nothing can fail.
  if (h.if_match.empty() && h.if_unmodified_since.empty()) {
    check(p != Precondition::kPreconditionFailed, "412 without a precondition to fail");
  }
  for (std::string_view list : {h.if_match, h.if_none_match}) {
    if (etag_list_matches(list, etag, Comparison::kStrong)) {
      check(etag_list_matches(list, etag, Comparison::kWeak), "strong match but no weak one");
    }
  }
}

std::string_view next_line(std::string_view* rest) {
  const size_t nl = rest->find('\n');
  const std::string_view line = rest->substr(0, nl);
  rest->remove_prefix(nl == std::string_view::npos ? rest->size() : nl + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string_view accept_encoding = next_line(&rest);
  const std::string_view range = next_line(&rest);
  const std::string_view if_range = next_line(&rest);
  ConditionalHeaders h;
  h.if_match = next_line(&rest);
  h.if_none_match = next_line(&rest);
  h.if_modified_since = next_line(&rest);
  h.if_unmodified_since = next_line(&rest);

  check_accept_encoding(accept_encoding, selector);
  const uint64_t sizes[] = {0, 1, 100, 1000, 65536, UINT64_MAX / 2};
  check_range(range, if_range, sizes[selector % 6]);
  check_preconditions(h);
  return 0;
}
