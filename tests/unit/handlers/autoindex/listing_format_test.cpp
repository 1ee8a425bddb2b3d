// The directory listing's pages as pure functions (handlers/autoindex/listing_format.hpp): HTML
// escaping of names and links, the nginx layout, JSON that parses back to the names, truncation;
// the format=json query parameter; and encode_path, which the links share with the redirects.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "handlers/autoindex/autoindex.hpp"
#include "handlers/autoindex/listing_format.hpp"
#include "handlers/static_site/path_encoding.hpp"

namespace zhttp::handlers::autoindex {
namespace {

constexpr time_t kDec1 = 1796119200;  // Tue, 01 Dec 2026 10:00:00 GMT

DirEntry file(std::string name, uint64_t size) {
  return {std::move(name), false, kDec1, size};
}
DirEntry dir(std::string name) {
  return {std::move(name), true, kDec1, 0};
}

std::string escaped(std::string_view text) {
  std::string out;
  append_html_escaped(text, &out);
  return out;
}
std::string json_escaped(std::string_view text) {
  std::string out;
  append_json_escaped(text, &out);
  return out;
}

TEST(ListingFormat, HtmlEscapesMarkupAndQuotes) {
  EXPECT_EQ(escaped("<script>alert('x')</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
  EXPECT_EQ(escaped("a&b \"c\""), "a&amp;b &quot;c&quot;");
  EXPECT_EQ(escaped("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");  // UTF-8 kept
}

TEST(ListingFormat, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(escaped("a\xFFz"), "a" + r + "z");
  EXPECT_EQ(escaped("\xC0\xAF"), r + r);                  // overlong '/'
  EXPECT_EQ(escaped("\xED\xA0\x80"), r + r + r);          // a surrogate
  EXPECT_EQ(escaped("\xF4\x90\x80\x80"), r + r + r + r);  // above U+10FFFF
  EXPECT_EQ(escaped("\xC3"), r);                          // cut short
  EXPECT_EQ(escaped("\xE2\x82<"), r + r + "&lt;");        // never swallows the next character
}

TEST(ListingFormat, JsonEscapesQuotesBackslashAndControlBytes) {
  EXPECT_EQ(json_escaped("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(json_escaped("\n\t\x01\x1f"), "\\u000a\\u0009\\u0001\\u001f");
  EXPECT_EQ(json_escaped("</script>&"), "</script>&");
  EXPECT_EQ(json_escaped("caf\xC3\xA9\xFF"), "caf\xC3\xA9\xEF\xBF\xBD");
}

TEST(ListingFormat, HtmlPageInNginxLayout) {
  DirListing listing;
  listing.entries = {dir("sub"), file("a.txt", 12)};
  const std::string html = format_html("/docs/", listing);
  EXPECT_NE(html.find("<title>Index of /docs/</title>"), std::string::npos) << html;
  EXPECT_NE(html.find("<h1>Index of /docs/</h1><hr><pre><a href=\"../\">../</a>\n"
                      "<a href=\"sub/\">sub/</a>" +
                      std::string(47, ' ') + "Tue, 01 Dec 2026 10:00:00 GMT" +
                      std::string(19, ' ') + "-\n" + "<a href=\"a.txt\">a.txt</a>" +
                      std::string(46, ' ') + "Tue, 01 Dec 2026 10:00:00 GMT" +
                      std::string(18, ' ') + "12\n</pre><hr></body>\n</html>\n"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<meta charset=\"utf-8\">"), std::string::npos);
  EXPECT_EQ(html.find("only"), std::string::npos);  // not truncated
}

TEST(ListingFormat, RootHasNoParentLink) {
  DirListing listing;
  listing.entries = {file("a", 1)};
  EXPECT_EQ(format_html("/", listing).find("../"), std::string::npos);
  EXPECT_NE(format_html("/a/", listing).find("<a href=\"../\">../</a>"), std::string::npos);
}

TEST(ListingFormat, LinksAreEncodedAndTextEscaped) {
  DirListing listing;
  listing.entries = {file("<script>x&y \"q\".txt", 1), file("it's", 1),
                     file("javascript:alert(1)", 1),   dir("a b"),
                     file("caf\xC3\xA9", 1),           file("bad\xFF", 1)};
  const std::string html = format_html("/<i>/", listing);
  EXPECT_NE(html.find("Index of /&lt;i&gt;/"), std::string::npos) << html;
  EXPECT_EQ(html.find("<i>"), std::string::npos) << html;
  EXPECT_NE(html.find("<a href=\"%3Cscript%3Ex&amp;y%20%22q%22.txt\">"
                      "&lt;script&gt;x&amp;y &quot;q&quot;.txt</a>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<a href=\"it&#39;s\">it&#39;s</a>"), std::string::npos) << html;
  // A ':' in a relative link's first segment would make it a scheme.
  EXPECT_NE(html.find("<a href=\"./javascript:alert(1)\">javascript:alert(1)</a>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<a href=\"a%20b/\">a b/</a>"), std::string::npos) << html;
  EXPECT_NE(html.find("<a href=\"caf%C3%A9\">caf\xC3\xA9</a>"), std::string::npos) << html;
  EXPECT_NE(html.find("<a href=\"bad%FF\">bad\xEF\xBF\xBD</a>"), std::string::npos) << html;
}

TEST(ListingFormat, NamesAreAlignedByCharactersNotBytes) {
  DirListing listing;
  listing.entries = {file("caf\xC3\xA9", 1), file("cafe", 1),
                     file(std::string(60, 'n'), 1)};  // longer than the column: one space
  const std::string html = format_html("/", listing);
  EXPECT_NE(html.find("caf\xC3\xA9</a>" + std::string(47, ' ') + "Tue"), std::string::npos);
  EXPECT_NE(html.find("cafe</a>" + std::string(47, ' ') + "Tue"), std::string::npos);
  EXPECT_NE(html.find(std::string(60, 'n') + "</a> Tue"), std::string::npos);
}

TEST(ListingFormat, TruncationIsSaid) {
  DirListing listing;
  listing.entries = {file("a", 1), file("b", 2)};
  listing.truncated = true;
  EXPECT_NE(format_html("/", listing)
                .find("<p>This directory holds more entries: only 2 of them are listed.</p>"),
            std::string::npos);
}

TEST(ListingFormat, JsonParsesBackToTheEntries) {
  DirListing listing;
  listing.entries = {dir("sub"), file("a \"b\"\\c\n", 12), file("<x>&\xFF", 0)};
  const std::string text = format_json(listing);
  EXPECT_EQ(text.substr(0, text.find('\n', 2) + 1),
            "[\n{ \"name\":\"sub\", \"type\":\"directory\", "
            "\"mtime\":\"Tue, 01 Dec 2026 10:00:00 GMT\" },\n");
  const nlohmann::json j = nlohmann::json::parse(text);
  ASSERT_EQ(j.size(), 3u) << text;
  EXPECT_EQ(j[0],
            nlohmann::json::parse(
                R"({"name":"sub","type":"directory","mtime":"Tue, 01 Dec 2026 10:00:00 GMT"})"));
  EXPECT_EQ(j[1]["name"], "a \"b\"\\c\n");
  EXPECT_EQ(j[1]["type"], "file");
  EXPECT_EQ(j[1]["size"], 12);
  EXPECT_EQ(j[2]["name"], "<x>&\xEF\xBF\xBD");
  EXPECT_EQ(nlohmann::json::parse(format_json({})), nlohmann::json::array());
}

TEST(ListingFormat, DatesBeyondWhatHttpCanSayAreTheEpoch) {
  DirListing listing;
  listing.entries = {{"far", false, time_t{400000000000}, 1}};
  EXPECT_NE(format_json(listing).find("\"mtime\":\"Thu, 01 Jan 1970 00:00:00 GMT\""),
            std::string::npos);
}

TEST(ListingFormat, JsonOnlyForFormatJson) {
  EXPECT_TRUE(wants_json_listing("format=json"));
  EXPECT_TRUE(wants_json_listing("a=1&format=json&b"));
  EXPECT_FALSE(wants_json_listing(""));
  EXPECT_FALSE(wants_json_listing("format=html"));
  EXPECT_FALSE(wants_json_listing("format=jsonp"));
  EXPECT_FALSE(wants_json_listing("xformat=json"));
  EXPECT_FALSE(wants_json_listing("format=json&format=html"));  // the last one decides
}

TEST(PathEncoding, KeepsPathCharactersAndEncodesTheRest) {
  char out[64];
  const std::string_view in = "/a b/%\"<>?#\xC3\xA9/-._~!$&'()*+,;=:@";
  const size_t n = static_site::encode_path(in, out, sizeof out);
  EXPECT_EQ(std::string_view(out, n), "/a%20b/%25%22%3C%3E%3F%23%C3%A9/-._~!$&'()*+,;=:@");
  EXPECT_EQ(static_site::encode_path("a b", out, 3), 0u);  // does not fit
}

}  // namespace
}  // namespace zhttp::handlers::autoindex
