// Accept-Encoding parsing (RFC 9110 12.5.3) and the --precompressed list.
#include "handlers/static_site/content_coding.hpp"

#include <gtest/gtest.h>

namespace zhttp::handlers::static_site {
namespace {

constexpr size_t kBr = 0, kZstd = 1, kGzip = 2;

TEST(ContentCoding, NamesAndSuffixes) {
  EXPECT_EQ(coding_name(ContentCoding::kZstd), "zstd");
  EXPECT_EQ(coding_suffix(ContentCoding::kZstd), ".zst");
  EXPECT_EQ(coding_suffix(ContentCoding::kGzip), ".gz");
  EXPECT_EQ(coding_suffix(ContentCoding::kBr), ".br");
}

TEST(ContentCoding, AbsentOrEmptyAcceptsIdentityOnly) {
  AcceptedCodings a = parse_accept_encoding("");
  EXPECT_EQ(a.q[kBr] + a.q[kZstd] + a.q[kGzip], 0);
  EXPECT_EQ(a.identity, 0);
}

TEST(ContentCoding, PlainListAcceptsAtQOne) {
  AcceptedCodings a = parse_accept_encoding("gzip, deflate, br, zstd");
  EXPECT_EQ(a.q[kBr], 1000);
  EXPECT_EQ(a.q[kZstd], 1000);
  EXPECT_EQ(a.q[kGzip], 1000);
  EXPECT_EQ(a.identity, 0);  // not listed: only the fallback
}

TEST(ContentCoding, QValues) {
  AcceptedCodings a = parse_accept_encoding("br;q=0.5, gzip;q=0.8 ,zstd ; q=0.001");
  EXPECT_EQ(a.q[kBr], 500);
  EXPECT_EQ(a.q[kGzip], 800);
  EXPECT_EQ(a.q[kZstd], 1);
  a = parse_accept_encoding("br;q=0, gzip;Q=1.000, zstd;q=0.");
  EXPECT_EQ(a.q[kBr], 0);
  EXPECT_EQ(a.q[kGzip], 1000);
  EXPECT_EQ(a.q[kZstd], 0);
}

TEST(ContentCoding, StarCoversWhatIsNotListed) {
  AcceptedCodings a = parse_accept_encoding("br;q=0, *;q=0.3");
  EXPECT_EQ(a.q[kBr], 0);
  EXPECT_EQ(a.q[kZstd], 300);
  EXPECT_EQ(a.q[kGzip], 300);
  EXPECT_EQ(a.identity, 300);
  a = parse_accept_encoding("*;q=0, gzip");
  EXPECT_EQ(a.q[kGzip], 1000);
  EXPECT_EQ(a.q[kBr], 0);
  EXPECT_EQ(a.identity, 0);
  a = parse_accept_encoding("*, identity;q=0");
  EXPECT_EQ(a.q[kBr], 1000);
  EXPECT_EQ(a.identity, 0);
}

TEST(ContentCoding, IdentityCompetesWithItsQValue) {
  AcceptedCodings a = parse_accept_encoding("identity, gzip;q=0.5");
  EXPECT_EQ(a.identity, 1000);
  EXPECT_EQ(a.q[kGzip], 500);
  EXPECT_EQ(parse_accept_encoding("IDENTITY;q=0.2").identity, 200);
}

TEST(ContentCoding, NamesAreCaseInsensitiveAndXGzipIsGzip) {
  AcceptedCodings a = parse_accept_encoding("BR, X-Gzip;q=0.4, ZsTd");
  EXPECT_EQ(a.q[kBr], 1000);
  EXPECT_EQ(a.q[kGzip], 400);
  EXPECT_EQ(a.q[kZstd], 1000);
}

TEST(ContentCoding, FirstMentionWins) {
  AcceptedCodings a = parse_accept_encoding("br;q=0, br, *;q=0.5, *");
  EXPECT_EQ(a.q[kBr], 0);
  EXPECT_EQ(a.q[kGzip], 500);
}

TEST(ContentCoding, MalformedMembersAreIgnored) {
  for (const char* v : {"br;q=2", "br;q=1.5", "br;q=0.1234", "br;q=", "br;q", "br;level=1",
                        "br;q=0.5x", "b r", "br=1", "\"br\"", ";q=1", "br;q=-1"}) {
    AcceptedCodings a = parse_accept_encoding(v);
    EXPECT_EQ(a.q[kBr], 0) << v;
  }
  AcceptedCodings a = parse_accept_encoding(",, ,br;q=oops,gzip,\t, zstd;q=0.7,");
  EXPECT_EQ(a.q[kBr], 0);
  EXPECT_EQ(a.q[kGzip], 1000);
  EXPECT_EQ(a.q[kZstd], 700);
  EXPECT_EQ(parse_accept_encoding("brotli, gzipx, gz").q[kGzip], 0);
}

// The memo answers as parse_accept_encoding() does, for a repeated value, a new one, an empty
// one and one too long to remember.
TEST(ContentCoding, MemoAnswersAsTheParser) {
  AcceptEncodingMemo memo;
  const std::string long_value = "gzip;q=0.5, " + std::string(200, ' ') + ", br;q=0.2";
  for (const std::string& v :
       {std::string("gzip, br"), std::string("gzip, br"), std::string("br;q=0, gzip"),
        std::string(""), std::string("gzip, br"), long_value, long_value, std::string("gzip, br"),
        std::string("gzip, bR"), std::string("identity;q=0, *")}) {
    const AcceptedCodings expected = parse_accept_encoding(v);
    const AcceptedCodings& got = memo.parse(v);
    EXPECT_EQ(got.q, expected.q) << v;
    EXPECT_EQ(got.identity, expected.identity) << v;
  }
  // An absent field is a view with no data at all (UBSan: no memcmp of a null pointer), twice.
  EXPECT_EQ(memo.parse(std::string_view()).q[kBr], 0);
  EXPECT_EQ(memo.parse(std::string_view()).q[kBr], 0);
  EXPECT_EQ(memo.parse("br").q[kBr], 1000);
}

TEST(ContentCoding, CodingLists) {
  CodingList list;
  ASSERT_TRUE(parse_coding_list("br,zstd,gzip", &list));
  EXPECT_EQ(list.count, 3);
  EXPECT_EQ(list.codings[2], ContentCoding::kGzip);
  ASSERT_TRUE(parse_coding_list("gzip", &list));
  EXPECT_EQ(list.count, 1);
  EXPECT_EQ(list.codings[0], ContentCoding::kGzip);
  ASSERT_TRUE(parse_coding_list("off", &list));
  EXPECT_EQ(list.count, 0);
  for (const char* bad : {"", "br,", ",br", "br,br", "br, gzip", "deflate", "BR", "off,br"}) {
    EXPECT_FALSE(parse_coding_list(bad, &list)) << bad;
  }
}

// The style.css with .br (40 B) and .gz (60 B) beside its 100 B.
int choose(const char* accept_encoding, const char* enabled = "br,zstd,gzip") {
  CodingList list;
  EXPECT_TRUE(parse_coding_list(enabled, &list));
  VariantSizes sizes = {40, kNoVariant, 60};
  return choose_representation(parse_accept_encoding(accept_encoding), list, sizes, 100);
}

TEST(ContentCoding, ChoosesTheBestAcceptableRepresentation) {
  EXPECT_EQ(choose("gzip, br"), static_cast<int>(kBr));  // equal q: the smallest
  EXPECT_EQ(choose("br;q=0, gzip"), static_cast<int>(kGzip));
  EXPECT_EQ(choose("br;q=0, gzip;q=0"), -1);
  EXPECT_EQ(choose(""), -1);
  EXPECT_EQ(choose("zstd"), -1);                                       // no such variant
  EXPECT_EQ(choose("br;q=0.5, gzip;q=0.8"), static_cast<int>(kGzip));  // q before size
  EXPECT_EQ(choose("identity, br;q=0.9"), -1);
  EXPECT_EQ(choose("*"), static_cast<int>(kBr));
  EXPECT_EQ(choose("gzip, br", "gzip"), static_cast<int>(kGzip));  // br not enabled
  EXPECT_EQ(choose("gzip, br", "off"), -1);
  EXPECT_EQ(choose("identity;q=0"), -1);  // nothing else acceptable: the file itself
}

TEST(ContentCoding, AVariantNoSmallerThanTheFileLosesATie) {
  CodingList list;
  ASSERT_TRUE(parse_coding_list("br,gzip", &list));
  AcceptedCodings a = parse_accept_encoding("br, identity");
  EXPECT_EQ(choose_representation(a, list, {120, kNoVariant, kNoVariant}, 100), -1);
  EXPECT_EQ(choose_representation(a, list, {50, kNoVariant, 50}, 100), static_cast<int>(kBr));
  ASSERT_TRUE(parse_coding_list("gzip,br", &list));
  a = parse_accept_encoding("br, gzip");
  EXPECT_EQ(choose_representation(a, list, {50, kNoVariant, 50}, 100), static_cast<int>(kGzip));
}

}  // namespace
}  // namespace zhttp::handlers::static_site
