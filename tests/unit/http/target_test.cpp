// The request target: split_target (path, query, fragment) and normalize_path (dot segments,
// merged slashes, percent decoding, every rejection, the output capacity).
#include "zhttp/target.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

namespace zhttp {
namespace {

// Normalizes into a guarded buffer; returns the output or "!<error>" and checks the guard.
std::string norm(std::string_view in, size_t cap = 1024) {
  constexpr size_t kGuard = 16;
  std::string buf(cap + kGuard, '\xA5');
  const PathResult r = normalize_path(in, buf.data(), cap);
  for (size_t i = cap; i < cap + kGuard; ++i) {
    EXPECT_EQ(buf[i], '\xA5') << "wrote past cap " << cap << " for " << in;
  }
  if (!r.ok()) {
    EXPECT_EQ(r.length, 0u);
    return "!" + std::string(describe(r.error));
  }
  EXPECT_LE(r.length, cap);
  return buf.substr(0, r.length);
}

PathError err(std::string_view in, size_t cap = 1024) {
  std::string buf(cap, '\0');
  return normalize_path(in, buf.data(), cap).error;
}

// ---- split_target ----

struct Split {
  std::string_view path, query;
};
Split split(std::string_view t) {
  Split s;
  split_target(t, &s.path, &s.query);
  return s;
}

TEST(SplitTarget, PathAndQuery) {
  const Split s = split("/a/b?x=1&y=2");
  EXPECT_EQ(s.path, "/a/b");
  EXPECT_EQ(s.query, "x=1&y=2");
}

TEST(SplitTarget, NoQueryHasNullData) {
  const Split s = split("/a/b");
  EXPECT_EQ(s.path, "/a/b");
  EXPECT_TRUE(s.query.empty());
  EXPECT_EQ(s.query.data(), nullptr);
}

TEST(SplitTarget, EmptyButPresentQuery) {
  const std::string_view t = "/a?";
  const Split s = split(t);
  EXPECT_EQ(s.path, "/a");
  EXPECT_TRUE(s.query.empty());
  EXPECT_NE(s.query.data(), nullptr);
}

TEST(SplitTarget, SplitsAtTheFirstQuestionMark) {
  const Split s = split("/a?b?c");
  EXPECT_EQ(s.path, "/a");
  EXPECT_EQ(s.query, "b?c");
}

TEST(SplitTarget, EncodedQuestionMarkStaysInPath) {
  const Split s = split("/a%3Fb?c");
  EXPECT_EQ(s.path, "/a%3Fb");
  EXPECT_EQ(s.query, "c");
}

TEST(SplitTarget, FragmentIsDropped) {
  Split s = split("/a#frag?x");
  EXPECT_EQ(s.path, "/a");
  EXPECT_EQ(s.query.data(), nullptr);
  s = split("/a?x=1#frag");
  EXPECT_EQ(s.path, "/a");
  EXPECT_EQ(s.query, "x=1");
}

TEST(SplitTarget, ViewsPointIntoTheInput) {
  const std::string_view t = "/p?q";
  const Split s = split(t);
  EXPECT_EQ(s.path.data(), t.data());
  EXPECT_EQ(s.query.data(), t.data() + 3);
}

TEST(SplitTarget, EmptyInput) {
  const Split s = split("");
  EXPECT_EQ(s.path, "");
  EXPECT_EQ(s.query, "");
}

// ---- normalize_path: accepted ----

TEST(NormalizePath, RootAndPlainPaths) {
  EXPECT_EQ(norm("/"), "/");
  EXPECT_EQ(norm("/index.html"), "/index.html");
  EXPECT_EQ(norm("/a/b/c.txt"), "/a/b/c.txt");
}

TEST(NormalizePath, TrailingSlashIsKept) {
  EXPECT_EQ(norm("/a/b/"), "/a/b/");
  EXPECT_EQ(norm("/a/"), "/a/");
}

TEST(NormalizePath, RepeatedSlashesMerge) {
  EXPECT_EQ(norm("//a///b"), "/a/b");
  EXPECT_EQ(norm("//"), "/");
  EXPECT_EQ(norm("/a//"), "/a/");
  EXPECT_EQ(norm("///a"), "/a");
}

TEST(NormalizePath, SingleDotSegmentsVanish) {
  EXPECT_EQ(norm("/./a/./"), "/a/");
  EXPECT_EQ(norm("/a/."), "/a/");
  EXPECT_EQ(norm("/."), "/");
  EXPECT_EQ(norm("/./"), "/");
  EXPECT_EQ(norm("/a/./b/."), "/a/b/");
  EXPECT_EQ(norm("/a/./b"), "/a/b");
}

TEST(NormalizePath, DotDotPopsOneSegment) {
  EXPECT_EQ(norm("/a/b/../c"), "/a/c");
  EXPECT_EQ(norm("/a/b/.."), "/a/");
  EXPECT_EQ(norm("/a/b/../"), "/a/");
  EXPECT_EQ(norm("/a/.."), "/");
  EXPECT_EQ(norm("/a/b/../../"), "/");
  EXPECT_EQ(norm("/a/b/c/../../d"), "/a/d");
}

TEST(NormalizePath, DotDotAfterMergedSlashes) {
  // "//" merges first, so ".." pops "a" (as the file system would), not an empty segment.
  EXPECT_EQ(norm("/a//../b"), "/b");
  EXPECT_EQ(norm("/a/b//..//c"), "/a/c");
}

TEST(NormalizePath, EncodedDotSegmentsAreDotSegments) {
  EXPECT_EQ(norm("/a/%2e"), "/a/");
  EXPECT_EQ(norm("/a/b/%2e%2e/c"), "/a/c");
  EXPECT_EQ(norm("/a/b/%2E%2e/c"), "/a/c");
  EXPECT_EQ(norm("/a/b/.%2E/c"), "/a/c");
  EXPECT_EQ(norm("/a/b/%2e./c"), "/a/c");
}

TEST(NormalizePath, DotsInsideNamesAreOrdinary) {
  EXPECT_EQ(norm("/..."), "/...");
  EXPECT_EQ(norm("/..a"), "/..a");
  EXPECT_EQ(norm("/a.."), "/a..");
  EXPECT_EQ(norm("/.hidden"), "/.hidden");
  EXPECT_EQ(norm("/%2e%2e%2e"), "/...");
  EXPECT_EQ(norm("/.%2ea"), "/..a");
  EXPECT_EQ(norm("/a/..b/../c"), "/a/c");
}

TEST(NormalizePath, PercentDecodingEitherCase) {
  EXPECT_EQ(norm("/a%20b"), "/a b");
  EXPECT_EQ(norm("/%41%62%7E"), "/Ab~");
  EXPECT_EQ(norm("/%3f%3F%23"), "/??#");
  EXPECT_EQ(norm("/caf%C3%A9"), "/caf\xC3\xA9");
  EXPECT_EQ(norm("/caf%c3%a9"), "/caf\xC3\xA9");
}

TEST(NormalizePath, DecodesOnlyOnce) {
  EXPECT_EQ(norm("/%252e%252e/x"), "/%2e%2e/x");
  EXPECT_EQ(norm("/%25"), "/%");
  EXPECT_EQ(norm("/%252F"), "/%2F");
}

TEST(NormalizePath, RawHighBytesPassThrough) {
  EXPECT_EQ(norm("/caf\xC3\xA9/\xFF"), "/caf\xC3\xA9/\xFF");
}

TEST(NormalizePath, BackslashIsAnOrdinaryByte) {
  EXPECT_EQ(norm("/a%5c..%5c..%5cetc"), "/a\\..\\..\\etc");
  EXPECT_EQ(norm("/a\\..\\b"), "/a\\..\\b");
  EXPECT_EQ(norm("/..%5C"), "/..\\");
  EXPECT_EQ(norm("/%5C"), "/\\");
}

// ---- normalize_path: rejected ----

TEST(NormalizePathReject, TraversalAboveRoot) {
  EXPECT_EQ(err("/../etc/passwd"), PathError::kAboveRoot);
  EXPECT_EQ(err("/a/../../b"), PathError::kAboveRoot);
  EXPECT_EQ(err("/.."), PathError::kAboveRoot);
  EXPECT_EQ(err("/../"), PathError::kAboveRoot);
  EXPECT_EQ(err("/a/b/../../.."), PathError::kAboveRoot);
  EXPECT_EQ(err("/./../a"), PathError::kAboveRoot);
  EXPECT_EQ(err("//../a"), PathError::kAboveRoot);
}

TEST(NormalizePathReject, EncodedTraversalAboveRoot) {
  EXPECT_EQ(err("/%2e%2e/x"), PathError::kAboveRoot);
  EXPECT_EQ(err("/%2E%2E/etc/passwd"), PathError::kAboveRoot);
  EXPECT_EQ(err("/.%2e/x"), PathError::kAboveRoot);
  EXPECT_EQ(err("/a/%2e%2e/%2e%2e/x"), PathError::kAboveRoot);
}

TEST(NormalizePathReject, EncodedSlash) {
  EXPECT_EQ(err("/%2E%2e%2fetc"), PathError::kEncodedSlash);
  EXPECT_EQ(err("/a%2Fb"), PathError::kEncodedSlash);
  EXPECT_EQ(err("/a%2fb"), PathError::kEncodedSlash);
  EXPECT_EQ(err("/..%2f..%2fetc%2fpasswd"), PathError::kEncodedSlash);
  EXPECT_EQ(err("/%2F"), PathError::kEncodedSlash);
}

TEST(NormalizePathReject, ControlBytes) {
  EXPECT_EQ(err("/a%00b"), PathError::kControlChar);
  EXPECT_EQ(err("/a%0d%0aSet-Cookie:x"), PathError::kControlChar);
  EXPECT_EQ(err("/a%7f"), PathError::kControlChar);
  EXPECT_EQ(err("/a%1F"), PathError::kControlChar);
  EXPECT_EQ(err(std::string_view("/a\0b", 4)), PathError::kControlChar);
  EXPECT_EQ(err("/a\tb"), PathError::kControlChar);
  EXPECT_EQ(err("/a\nb"), PathError::kControlChar);
}

TEST(NormalizePathReject, MalformedEscapes) {
  EXPECT_EQ(err("/%zz"), PathError::kBadEscape);
  EXPECT_EQ(err("/%"), PathError::kBadEscape);
  EXPECT_EQ(err("/%2"), PathError::kBadEscape);
  EXPECT_EQ(err("/a%"), PathError::kBadEscape);
  EXPECT_EQ(err("/%g0"), PathError::kBadEscape);
  EXPECT_EQ(err("/%0g"), PathError::kBadEscape);
  EXPECT_EQ(err("/%%41"), PathError::kBadEscape);
  EXPECT_EQ(err("/%2/"), PathError::kBadEscape);
  EXPECT_EQ(err("/.%2"), PathError::kBadEscape);
  EXPECT_EQ(err("/% 1"), PathError::kBadEscape);
}

TEST(NormalizePathReject, NotAbsolute) {
  EXPECT_EQ(err(""), PathError::kNotAbsolute);
  EXPECT_EQ(err("a/b"), PathError::kNotAbsolute);
  EXPECT_EQ(err("*"), PathError::kNotAbsolute);
  EXPECT_EQ(err("%2Fa"), PathError::kNotAbsolute);
  EXPECT_EQ(err("http://h/a"), PathError::kNotAbsolute);
  EXPECT_EQ(err("\\a"), PathError::kNotAbsolute);
}

TEST(NormalizePathReject, FirstErrorFromTheLeft) {
  EXPECT_EQ(err("/%zz/../.."), PathError::kBadEscape);
  EXPECT_EQ(err("/../%zz"), PathError::kAboveRoot);
  EXPECT_EQ(err("/a%2f/%00"), PathError::kEncodedSlash);
  EXPECT_EQ(err("/a%00/%2f"), PathError::kControlChar);
}

TEST(NormalizePathReject, DescribeEveryError) {
  EXPECT_EQ(norm("/a%2fb"), "!encoded slash in path");
  EXPECT_EQ(norm("/.."), "!path climbs above the root");
  for (auto e :
       {PathError::kNone, PathError::kNotAbsolute, PathError::kBadEscape, PathError::kControlChar,
        PathError::kEncodedSlash, PathError::kAboveRoot, PathError::kTooLong}) {
    EXPECT_FALSE(describe(e).empty());
  }
}

// ---- capacity ----

TEST(NormalizePathCapacity, ZeroCapacity) {
  EXPECT_EQ(err("/", 0), PathError::kTooLong);
  EXPECT_EQ(normalize_path("/", nullptr, 0).error, PathError::kTooLong);
}

TEST(NormalizePathCapacity, ExactFit) {
  EXPECT_EQ(norm("/abc", 4), "/abc");
  EXPECT_EQ(norm("/abc", 3), "!normalized path too long");
  EXPECT_EQ(norm("/a/", 3), "/a/");
  EXPECT_EQ(norm("/a/", 2), "!normalized path too long");
  EXPECT_EQ(norm("/%41%42", 3), "/AB");  // decoded length counts, not encoded
}

TEST(NormalizePathCapacity, DotSegmentsTakeNoRoom) {
  EXPECT_EQ(norm("/./././.", 1), "/");
  EXPECT_EQ(norm("/a/./b/%2e", 5), "/a/b/");
}

TEST(NormalizePathCapacity, IntermediateLongerThanCapIsTooLong) {
  // Documented: the output buffer is the working space.
  EXPECT_EQ(err("/abcdef/../x", 3), PathError::kTooLong);
  EXPECT_EQ(norm("/abcdef/../x", 8), "/x");
}

TEST(NormalizePathCapacity, EveryCapacityNeverWritesPastCap) {
  for (std::string_view in :
       {std::string_view("/a/b/../c%20d/./e//f/"), std::string_view("/%2e%2e%2e/x/%2E/y/"),
        std::string_view("/caf%C3%A9/index.html")}) {
    const std::string full = norm(in);
    ASSERT_NE(full[0], '!');
    for (size_t cap = 0; cap < full.size() + 4; ++cap) {
      const std::string got = norm(in, cap);  // checks the guard bytes
      if (cap >= full.size()) {
        EXPECT_EQ(got, full) << in << " cap " << cap;
      } else {
        EXPECT_EQ(got, "!normalized path too long") << in << " cap " << cap;
      }
    }
  }
}

// ---- properties on random input ----

TEST(NormalizePathProperties, RandomPathsKeepTheInvariants) {
  std::mt19937 rng(3);
  const std::string_view pieces[] = {"/", "a",   "b",   ".",  "..", "%2e", "%2E", "%2f", "%00",
                                     "%", "%41", "%5c", "\\", "//", "x.y", "%zz", "%25"};
  int ok = 0;
  for (int i = 0; i < 50000; ++i) {
    std::string in = "/";
    const int n = static_cast<int>(rng() % 12);
    for (int k = 0; k < n; ++k) in += pieces[rng() % std::size(pieces)];
    const size_t cap = rng() % 40;
    const std::string out = norm(in, cap);
    if (out[0] == '!') continue;
    ++ok;
    ASSERT_EQ(out[0], '/') << in;
    ASSERT_LE(out.size(), cap);
    ASSERT_EQ(out.find("//"), std::string::npos) << in;
    ASSERT_EQ((out + "/").find("/./"), std::string::npos) << in;
    ASSERT_EQ((out + "/").find("/../"), std::string::npos) << in;
    ASSERT_EQ(out.find('\0'), std::string::npos) << in;
    // Idempotent when the output holds no '%' (which would be read as an escape again).
    if (out.find('%') == std::string::npos) {
      ASSERT_EQ(norm(out, cap), out) << in;
    }
  }
  EXPECT_GT(ok, 1000);
}

}  // namespace
}  // namespace zhttp
