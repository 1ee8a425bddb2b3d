// Preconditions (RFC 9110 13.1, 13.2.2) and entity-tag comparison (8.8.3).
#include "handlers/common/conditional.hpp"

#include <gtest/gtest.h>

namespace zhttp::handlers::common {
namespace {

constexpr std::string_view kEtag = "\"5e1f3c2a-1f4-0-2a\"";
constexpr time_t kModified = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
constexpr time_t kNow = kModified + 86400;
constexpr std::string_view kAtModified = "Sun, 06 Nov 1994 08:49:37 GMT";
constexpr std::string_view kBefore = "Sun, 06 Nov 1994 08:49:36 GMT";
constexpr std::string_view kAfter = "Sun, 06 Nov 1994 08:49:38 GMT";
constexpr std::string_view kFuture = "Tue, 08 Nov 1994 08:49:37 GMT";  // after kNow

Precondition eval(const ConditionalHeaders& h) {
  return evaluate_preconditions(h, kEtag, kModified, kNow);
}

// ---- entity-tag comparison: the RFC 9110 8.8.3.2 table ----

TEST(EtagCompare, RfcTable) {
  EXPECT_FALSE(etag_list_matches("W/\"1\"", "W/\"1\"", Comparison::kStrong));
  EXPECT_TRUE(etag_list_matches("W/\"1\"", "W/\"1\"", Comparison::kWeak));
  EXPECT_FALSE(etag_list_matches("W/\"1\"", "W/\"2\"", Comparison::kStrong));
  EXPECT_FALSE(etag_list_matches("W/\"1\"", "W/\"2\"", Comparison::kWeak));
  EXPECT_FALSE(etag_list_matches("W/\"1\"", "\"1\"", Comparison::kStrong));
  EXPECT_TRUE(etag_list_matches("W/\"1\"", "\"1\"", Comparison::kWeak));
  EXPECT_TRUE(etag_list_matches("\"1\"", "\"1\"", Comparison::kStrong));
  EXPECT_TRUE(etag_list_matches("\"1\"", "\"1\"", Comparison::kWeak));
}

TEST(EtagCompare, Lists) {
  EXPECT_TRUE(etag_list_matches("\"a\", \"b\", \"c\"", "\"b\"", Comparison::kStrong));
  EXPECT_TRUE(etag_list_matches("\"a\",\"b\"", "\"b\"", Comparison::kStrong));
  EXPECT_TRUE(etag_list_matches("\"a\" \t,\t \"b\"", "\"b\"", Comparison::kStrong));
  EXPECT_FALSE(etag_list_matches("\"a\", \"c\"", "\"b\"", Comparison::kWeak));
  EXPECT_TRUE(etag_list_matches(", ,\"b\",", "\"b\"", Comparison::kStrong));  // empty members
  EXPECT_TRUE(etag_list_matches("\"\"", "\"\"", Comparison::kStrong));        // empty opaque-tag
  EXPECT_TRUE(etag_list_matches("\"a,b\"", "\"a,b\"", Comparison::kStrong));  // comma inside
  EXPECT_FALSE(etag_list_matches("", "\"b\"", Comparison::kWeak));
}

TEST(EtagCompare, Star) {
  EXPECT_TRUE(etag_list_matches("*", "\"x\"", Comparison::kStrong));
  EXPECT_TRUE(etag_list_matches("*", "W/\"x\"", Comparison::kWeak));
  EXPECT_FALSE(etag_list_matches("*, \"x\"", "\"x\"", Comparison::kWeak));  // not a list member
  EXPECT_FALSE(etag_list_matches("\"x\", *", "\"x\"", Comparison::kWeak));
}

TEST(EtagCompare, MalformedListsMatchNothing) {
  const std::string_view tag = "\"b\"";
  for (std::string_view bad : {
           "b",            // unquoted
           "\"b",          // unterminated
           "\"b\"\"c\"",   // no comma
           "\"b\" \"c\"",  // whitespace is not a separator
           "w/\"b\"",      // weak prefix is case-sensitive
           "W/ \"b\"",     // nothing between W/ and the quote
           "\"b\", c",     // garbage after a match
           "\"b c\"",      // SP is not an etagc
           "\"b\x7f\"",    // DEL is not an etagc
           "\"b\";q=1",    // no parameters
       }) {
    EXPECT_FALSE(etag_list_matches(bad, tag, Comparison::kWeak)) << bad;
  }
  EXPECT_TRUE(etag_list_matches("\"\xc3\xa9\"", "\"\xc3\xa9\"", Comparison::kStrong));  // obs-text
  EXPECT_FALSE(etag_list_matches("\"b\"", "b", Comparison::kWeak));  // a malformed current tag
}

TEST(EtagCompare, StrongEqualSingleTags) {
  EXPECT_TRUE(etag_strong_equal("\"x\"", "\"x\""));
  EXPECT_FALSE(etag_strong_equal("W/\"x\"", "\"x\""));
  EXPECT_FALSE(etag_strong_equal("\"x\"", "W/\"x\""));
  EXPECT_FALSE(etag_strong_equal("\"x\"", "\"y\""));
  EXPECT_FALSE(etag_strong_equal("\"x\", \"x\"", "\"x\""));  // a list is not one tag
  EXPECT_FALSE(etag_strong_equal("x", "x"));
}

// ---- preconditions ----

TEST(Preconditions, NoneIsProceed) {
  EXPECT_EQ(eval({}), Precondition::kProceed);
}

TEST(Preconditions, IfMatch) {
  EXPECT_EQ(eval({.if_match = kEtag}), Precondition::kProceed);
  EXPECT_EQ(eval({.if_match = "*"}), Precondition::kProceed);  // the file exists
  EXPECT_EQ(eval({.if_match = "\"other\", \"5e1f3c2a-1f4-0-2a\""}), Precondition::kProceed);
  EXPECT_EQ(eval({.if_match = "\"other\""}), Precondition::kPreconditionFailed);
  EXPECT_EQ(eval({.if_match = "W/\"5e1f3c2a-1f4-0-2a\""}), Precondition::kPreconditionFailed);
  EXPECT_EQ(eval({.if_match = "garbage"}), Precondition::kPreconditionFailed);
}

TEST(Preconditions, IfUnmodifiedSince) {
  EXPECT_EQ(eval({.if_unmodified_since = kAtModified}), Precondition::kProceed);
  EXPECT_EQ(eval({.if_unmodified_since = kAfter}), Precondition::kProceed);
  EXPECT_EQ(eval({.if_unmodified_since = kBefore}), Precondition::kPreconditionFailed);
  EXPECT_EQ(eval({.if_unmodified_since = "yesterday"}), Precondition::kProceed);  // ignored
  // The obsolete formats count too.
  EXPECT_EQ(eval({.if_unmodified_since = "Sunday, 06-Nov-94 08:49:36 GMT"}),
            Precondition::kPreconditionFailed);
  EXPECT_EQ(eval({.if_unmodified_since = "Sun Nov  6 08:49:36 1994"}),
            Precondition::kPreconditionFailed);
}

TEST(Preconditions, IfMatchTakesPrecedenceOverIfUnmodifiedSince) {
  EXPECT_EQ(eval({.if_match = kEtag, .if_unmodified_since = kBefore}), Precondition::kProceed);
  EXPECT_EQ(eval({.if_match = "\"no\"", .if_unmodified_since = kAfter}),
            Precondition::kPreconditionFailed);
}

TEST(Preconditions, IfNoneMatch) {
  EXPECT_EQ(eval({.if_none_match = kEtag}), Precondition::kNotModified);
  EXPECT_EQ(eval({.if_none_match = "W/\"5e1f3c2a-1f4-0-2a\""}), Precondition::kNotModified);
  EXPECT_EQ(eval({.if_none_match = "\"a\", W/\"5e1f3c2a-1f4-0-2a\""}), Precondition::kNotModified);
  EXPECT_EQ(eval({.if_none_match = "*"}), Precondition::kNotModified);
  EXPECT_EQ(eval({.if_none_match = "\"other\""}), Precondition::kProceed);
  EXPECT_EQ(eval({.if_none_match = "5e1f3c2a-1f4-0-2a"}), Precondition::kProceed);  // malformed
}

TEST(Preconditions, IfModifiedSince) {
  EXPECT_EQ(eval({.if_modified_since = kAtModified}), Precondition::kNotModified);
  EXPECT_EQ(eval({.if_modified_since = kAfter}), Precondition::kNotModified);
  EXPECT_EQ(eval({.if_modified_since = kBefore}), Precondition::kProceed);
  EXPECT_EQ(eval({.if_modified_since = "Sun, 06 Nov 1994 08:49:37 UTC"}),
            Precondition::kProceed);  // invalid: ignored
  EXPECT_EQ(eval({.if_modified_since = "Sun, 06 Nov 1994 08:49:37 GMT, x"}),
            Precondition::kProceed);  // more than one member: ignored
  EXPECT_EQ(eval({.if_modified_since = kFuture}), Precondition::kProceed);  // later than now
}

TEST(Preconditions, IfNoneMatchTakesPrecedenceOverIfModifiedSince) {
  // A changed tag means a new version even when the date says otherwise, and vice versa.
  EXPECT_EQ(eval({.if_none_match = "\"old\"", .if_modified_since = kAfter}),
            Precondition::kProceed);
  EXPECT_EQ(eval({.if_none_match = kEtag, .if_modified_since = kBefore}),
            Precondition::kNotModified);
  EXPECT_EQ(eval({.if_none_match = "bad", .if_modified_since = kAfter}), Precondition::kProceed);
}

TEST(Preconditions, FailedPreconditionBeatsNotModified) {
  EXPECT_EQ(eval({.if_match = "\"no\"", .if_none_match = kEtag}),
            Precondition::kPreconditionFailed);
  EXPECT_EQ(eval({.if_unmodified_since = kBefore, .if_modified_since = kAfter}),
            Precondition::kPreconditionFailed);
  EXPECT_EQ(eval({.if_match = kEtag, .if_none_match = kEtag}), Precondition::kNotModified);
}

TEST(Preconditions, WeakOwnTag) {
  // A weak tag of our own can satisfy If-None-Match but never If-Match.
  const std::string_view weak = "W/\"v1\"";
  EXPECT_EQ(evaluate_preconditions({.if_none_match = "\"v1\""}, weak, kModified, kNow),
            Precondition::kNotModified);
  EXPECT_EQ(evaluate_preconditions({.if_match = "W/\"v1\""}, weak, kModified, kNow),
            Precondition::kPreconditionFailed);
  EXPECT_EQ(evaluate_preconditions({.if_match = "*"}, weak, kModified, kNow),
            Precondition::kProceed);
}

}  // namespace
}  // namespace zhttp::handlers::common
