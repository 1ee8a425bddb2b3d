#include "handlers/common/conditional.hpp"

#include "zhttp/date_cache.hpp"

namespace zhttp::handlers::common {
namespace {

struct EntityTag {
  bool weak = false;
  std::string_view opaque;  // with its quotes
};

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

// etagc = %x21 / %x23-7E / obs-text: visible bytes other than DQUOTE, and 0x80-0xFF.
bool is_etagc(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == 0x21 || (u >= 0x23 && u != 0x7f);
}

// entity-tag = [ %s"W/" ] DQUOTE *etagc DQUOTE, at s[*pos]; advances *pos past it.
bool parse_entity_tag(std::string_view s, size_t* pos, EntityTag* out) {
  size_t i = *pos;
  out->weak = s.substr(i, 2) == "W/";  // case-sensitive: "w/" is malformed
  if (out->weak) i += 2;
  if (i >= s.size() || s[i] != '"') return false;
  const size_t open = i++;
  while (i < s.size() && is_etagc(s[i])) ++i;
  if (i >= s.size() || s[i] != '"') return false;
  out->opaque = s.substr(open, i + 1 - open);
  *pos = i + 1;
  return true;
}

// A field value that is exactly one entity-tag.
bool parse_single(std::string_view s, EntityTag* out) {
  size_t pos = 0;
  return parse_entity_tag(s, &pos, out) && pos == s.size();
}

bool tags_match(const EntityTag& a, const EntityTag& b, Comparison how) {
  if (how == Comparison::kStrong && (a.weak || b.weak)) return false;
  return a.opaque == b.opaque;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

bool etag_list_matches(std::string_view field, std::string_view current, Comparison how) {
  EntityTag mine;
  if (!parse_single(current, &mine)) return false;
  field = trim_ows(field);
  if (field == "*") return true;

  // #entity-tag as a recipient must accept it: [ tag ] *( OWS "," OWS [ tag ] ). The whole list
  // is parsed before answering, so a match ahead of garbage does not count.
  bool matched = false;
  size_t i = 0;
  for (;;) {
    while (i < field.size() && (is_ows(field[i]) || field[i] == ',')) ++i;
    if (i == field.size()) return matched;
    EntityTag tag;
    if (!parse_entity_tag(field, &i, &tag)) return false;
    matched = matched || tags_match(tag, mine, how);
    while (i < field.size() && is_ows(field[i])) ++i;
    if (i < field.size() && field[i] != ',') return false;  // two tags need a comma between
  }
}

bool etag_strong_equal(std::string_view a, std::string_view b) {
  EntityTag x, y;
  return parse_single(a, &x) && parse_single(b, &y) && tags_match(x, y, Comparison::kStrong);
}

Precondition evaluate_preconditions(const ConditionalHeaders& h, std::string_view etag,
                                    time_t last_modified, time_t now) {
  time_t date = 0;
  if (!h.if_match.empty()) {
    if (!etag_list_matches(h.if_match, etag, Comparison::kStrong)) {
      return Precondition::kPreconditionFailed;
    }
  } else if (!h.if_unmodified_since.empty() &&
             parse_http_date(trim_ows(h.if_unmodified_since), &date, now) && last_modified > date) {
    return Precondition::kPreconditionFailed;
  }

  if (!h.if_none_match.empty()) {
    if (etag_list_matches(h.if_none_match, etag, Comparison::kWeak)) {
      return Precondition::kNotModified;
    }
  } else if (!h.if_modified_since.empty() &&
             parse_http_date(trim_ows(h.if_modified_since), &date, now) && date <= now &&
             last_modified <= date) {
    return Precondition::kNotModified;
  }
  return Precondition::kProceed;
}

}  // namespace zhttp::handlers::common
