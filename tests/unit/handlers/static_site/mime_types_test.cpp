// MimeTypes: the mime.types format, the built-in fallback, charset rules, extension extraction.
#include "handlers/static_site/mime_types.hpp"
#include "unit/support/test_files.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace zhttp::handlers::static_site {
namespace {

using test::TempFile;

constexpr std::string_view kMissing = "/nonexistent/mime.types";

TEST(MimeTypes, BuiltinWhenFileMissing) {
  const MimeTypes m(kMissing);
  EXPECT_FALSE(m.loaded_file());
  EXPECT_EQ(m.lookup("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(m.lookup("a.htm"), "text/html; charset=utf-8");
  EXPECT_EQ(m.lookup("style.css"), "text/css; charset=utf-8");
  EXPECT_EQ(m.lookup("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(m.lookup("mod.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(m.lookup("data.json"), "application/json; charset=utf-8");
  EXPECT_EQ(m.lookup("app.js.map"), "application/json; charset=utf-8");
  EXPECT_EQ(m.lookup("feed.xml"), "application/xml; charset=utf-8");
  EXPECT_EQ(m.lookup("logo.svg"), "image/svg+xml; charset=utf-8");
  EXPECT_EQ(m.lookup("site.webmanifest"), "application/manifest+json; charset=utf-8");
  EXPECT_EQ(m.lookup("readme.txt"), "text/plain; charset=utf-8");
  EXPECT_EQ(m.lookup("README.md"), "text/markdown; charset=utf-8");
  EXPECT_EQ(m.lookup("t.csv"), "text/csv; charset=utf-8");
}

TEST(MimeTypes, BuiltinBinaryTypesHaveNoCharset) {
  const MimeTypes m(kMissing);
  EXPECT_EQ(m.lookup("a.png"), "image/png");
  EXPECT_EQ(m.lookup("a.jpg"), "image/jpeg");
  EXPECT_EQ(m.lookup("a.jpeg"), "image/jpeg");
  EXPECT_EQ(m.lookup("a.gif"), "image/gif");
  EXPECT_EQ(m.lookup("a.webp"), "image/webp");
  EXPECT_EQ(m.lookup("a.avif"), "image/avif");
  EXPECT_EQ(m.lookup("favicon.ico"), "image/vnd.microsoft.icon");
  EXPECT_EQ(m.lookup("f.woff"), "font/woff");
  EXPECT_EQ(m.lookup("f.woff2"), "font/woff2");
  EXPECT_EQ(m.lookup("f.ttf"), "font/ttf");
  EXPECT_EQ(m.lookup("f.otf"), "font/otf");
  EXPECT_EQ(m.lookup("doc.pdf"), "application/pdf");
  EXPECT_EQ(m.lookup("a.zip"), "application/zip");
  EXPECT_EQ(m.lookup("a.tar.gz"), "application/gzip");
  EXPECT_EQ(m.lookup("a.wasm"), "application/wasm");
  EXPECT_EQ(m.lookup("v.mp4"), "video/mp4");
  EXPECT_EQ(m.lookup("v.webm"), "video/webm");
  EXPECT_EQ(m.lookup("s.mp3"), "audio/mpeg");
  EXPECT_EQ(m.lookup("s.ogg"), "audio/ogg");
  EXPECT_EQ(m.lookup("s.wav"), "audio/wav");
}

TEST(MimeTypes, EmptyPathMeansBuiltinOnly) {
  const MimeTypes m("");
  EXPECT_FALSE(m.loaded_file());
  EXPECT_EQ(m.lookup("a.png"), "image/png");
  EXPECT_GE(m.size(), 40u);
}

TEST(MimeTypes, ExtensionIsCaseInsensitive) {
  const MimeTypes m(kMissing);
  EXPECT_EQ(m.lookup("PHOTO.JPG"), "image/jpeg");
  EXPECT_EQ(m.lookup("Index.Html"), "text/html; charset=utf-8");
  EXPECT_EQ(m.lookup("f.WoFf2"), "font/woff2");
}

TEST(MimeTypes, ExtensionIsTakenFromTheLastSegment) {
  const MimeTypes m(kMissing);
  EXPECT_EQ(m.lookup("/static/v1.2/app.css"), "text/css; charset=utf-8");
  EXPECT_EQ(m.lookup("/dir.html/file"), kDefaultMimeType);  // the dot is in a directory name
  EXPECT_EQ(m.lookup("/a/b.tar.gz"), "application/gzip");
}

TEST(MimeTypes, NoExtensionIsOctetStream) {
  const MimeTypes m(kMissing);
  EXPECT_EQ(m.lookup(""), kDefaultMimeType);
  EXPECT_EQ(m.lookup("/"), kDefaultMimeType);
  EXPECT_EQ(m.lookup("Makefile"), kDefaultMimeType);
  EXPECT_EQ(m.lookup("/a/file."), kDefaultMimeType);  // trailing dot
  EXPECT_EQ(m.lookup(".html"), kDefaultMimeType);     // a dotfile named ".html"
  EXPECT_EQ(m.lookup("/x/.css"), kDefaultMimeType);
  EXPECT_EQ(m.lookup("a.unknownext"), kDefaultMimeType);
  EXPECT_EQ(m.lookup("a." + std::string(kMaxExtensionLen + 1, 'x')), kDefaultMimeType);
}

TEST(MimeTypes, ReadsTheFileFormat) {
  const TempFile f(
      "# comment line\n"
      "\n"
      "application/x-demo\t\tdemo dmo\n"
      "text/x-custom   cst\n"
      "application/no-extensions\n"
      "   # indented comment\n"
      "image/x-trailing  trl   # trailing comment\n"
      "application/vnd.Mixed  MIX\n"
      "application/x-crlf crlf\r\n");
  const MimeTypes m(f.path());
  EXPECT_TRUE(m.loaded_file());
  EXPECT_EQ(m.lookup("x.demo"), "application/x-demo");
  EXPECT_EQ(m.lookup("x.dmo"), "application/x-demo");
  EXPECT_EQ(m.lookup("x.cst"), "text/x-custom; charset=utf-8");
  EXPECT_EQ(m.lookup("x.trl"), "image/x-trailing");
  EXPECT_EQ(m.lookup("x.mix"), "application/vnd.Mixed");  // type spelling kept, ext folded
  EXPECT_EQ(m.lookup("x.MIX"), "application/vnd.Mixed");
  EXPECT_EQ(m.lookup("x.crlf"), "application/x-crlf");
  EXPECT_EQ(m.lookup("x.comment"), kDefaultMimeType);
}

TEST(MimeTypes, FileWinsOverBuiltinAndBuiltinFillsGaps) {
  const TempFile f("application/javascript js\ntext/html html\n");
  const MimeTypes m(f.path());
  EXPECT_EQ(m.lookup("a.js"), "application/javascript; charset=utf-8");
  EXPECT_EQ(m.lookup("a.mjs"), "text/javascript; charset=utf-8");  // not in the file
  EXPECT_EQ(m.lookup("a.wasm"), "application/wasm");
}

TEST(MimeTypes, FirstLineWinsForADuplicateExtension) {
  const TempFile f("application/x-sh sh\ntext/x-sh sh\n");
  const MimeTypes m(f.path());
  EXPECT_EQ(m.lookup("run.sh"), "application/x-sh");
}

TEST(MimeTypes, MalformedLinesAreSkipped) {
  const TempFile f(
      "notatype bad1\n"
      "/nosub bad2\n"
      "type/ bad3\n"
      "ty pe/x bad4\n"
      "a/b\"c bad5\n"
      "a/b ok a/b\n");  // an extension with '/' is dropped, the line's others kept
  const MimeTypes m(f.path());
  EXPECT_EQ(m.lookup("x.bad1"), kDefaultMimeType);
  EXPECT_EQ(m.lookup("x.bad2"), kDefaultMimeType);
  EXPECT_EQ(m.lookup("x.bad3"), kDefaultMimeType);
  EXPECT_EQ(m.lookup("x.bad4"), kDefaultMimeType);
  EXPECT_EQ(m.lookup("x.bad5"), kDefaultMimeType);
  EXPECT_EQ(m.lookup("x.ok"), "a/b");
}

TEST(MimeTypes, TextualRule) {
  EXPECT_TRUE(MimeTypes::is_textual("text/plain"));
  EXPECT_TRUE(MimeTypes::is_textual("TEXT/HTML"));
  EXPECT_TRUE(MimeTypes::is_textual("application/json"));
  EXPECT_TRUE(MimeTypes::is_textual("application/xml"));
  EXPECT_TRUE(MimeTypes::is_textual("application/javascript"));
  EXPECT_TRUE(MimeTypes::is_textual("application/ld+json"));
  EXPECT_TRUE(MimeTypes::is_textual("application/atom+xml"));
  EXPECT_TRUE(MimeTypes::is_textual("image/svg+xml"));
  EXPECT_FALSE(MimeTypes::is_textual("application/octet-stream"));
  EXPECT_FALSE(MimeTypes::is_textual("image/png"));
  EXPECT_FALSE(MimeTypes::is_textual("application/jsonx"));
  EXPECT_FALSE(MimeTypes::is_textual("application/zip"));
}

TEST(MimeTypes, ManyExtensionsAllFound) {
  // Enough entries to need several table sizes; every one must stay reachable.
  std::string text;
  for (int i = 0; i < 3000; ++i)
    text += "application/x-t" + std::to_string(i) + " e" + std::to_string(i) + "\n";
  const TempFile f(text);
  const MimeTypes m(f.path());
  for (int i = 0; i < 3000; ++i) {
    ASSERT_EQ(m.lookup("f.E" + std::to_string(i)), "application/x-t" + std::to_string(i));
  }
  EXPECT_EQ(m.lookup("f.e3000"), kDefaultMimeType);
}

// The machine's own file (Debian media-types), when installed.
TEST(MimeTypes, SystemFile) {
  const MimeTypes m;
  if (!m.loaded_file()) GTEST_SKIP() << "no " << kDefaultMimeTypesPath;
  EXPECT_GT(m.size(), 1000u);
  EXPECT_EQ(m.lookup("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(m.lookup("a.png"), "image/png");
  EXPECT_EQ(m.lookup("a.map"), "application/json; charset=utf-8");  // built-in only
  EXPECT_EQ(m.lookup("a.unknownext"), kDefaultMimeType);
}

}  // namespace
}  // namespace zhttp::handlers::static_site
