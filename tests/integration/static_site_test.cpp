// The static site options through the real zhttpd binary and curl, as a new user would try them:
// precompressed variants, --cache-control and --add-header by path, --error-page, --fallback,
// --autoindex; and bad values refused at start (exit 2, one line naming the option).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server_process.hpp"
#include "zhttp/date_cache.hpp"

namespace zhttp::test {
namespace {

const std::string kZhttpd = ZHTTP_BUILD_DIR "/zhttpd";

class StaticSite : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(server_.dir().empty());
    root_ = server_.path("root");
    ASSERT_TRUE(std::filesystem::create_directories(root_ + "/assets"));
    ASSERT_NO_FATAL_FAILURE(write_file(root_ + "/index.html", "<p>app shell</p>\n"));
    ASSERT_NO_FATAL_FAILURE(write_file(root_ + "/assets/app.1234.js", "app();\n"));
  }

  void start(std::vector<std::string> extra) {
    std::vector<std::string> args = {"--listen", "{address}", "--root", root_, "--workers", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    ServerOptions o = ServerOptions::zhttpd(std::move(args));
    o.probe_path = "/index.html";
    o.sigterm_death_is_clean = true;
    ASSERT_NO_FATAL_FAILURE(server_.start(std::move(o)));
  }

  // curl's answer (head and body, -i) to a request for `path` with `options` before it.
  std::string curl(const std::string& path, std::vector<std::string> options = {}) {
    std::vector<std::string> args = {
        "/usr/bin/curl", "--noproxy", "*", "--max-time", "10", "-s", "-i"};
    args.insert(args.end(), options.begin(), options.end());
    args.push_back("http://127.0.0.1:" + std::to_string(server_.port()) + path);
    ProgramResult r = run_program(args, 15);
    EXPECT_TRUE(r.finished && exited_with(r.status, 0)) << path << ": " << r.err;
    return r.out;
  }

  ServerProcess server_{"zhttpd-site-test"};
  std::string root_;
};

bool has(const std::string& response, const std::string& line) {
  const std::string head = response.substr(0, response.find("\r\n\r\n") + 2);
  return head.find("\r\n" + line + "\r\n") != std::string::npos;
}

TEST_F(StaticSite, CacheControlAndAddHeaderByPath) {
  ASSERT_NO_FATAL_FAILURE(
      start({"--cache-control", "/assets/*=public, max-age=31536000, immutable", "--cache-control",
             "*.html=no-cache", "--add-header", "*=X-Content-Type-Options: nosniff", "--add-header",
             "*.html=Content-Security-Policy: default-src 'self'"}));
  std::string js = curl("/assets/app.1234.js");
  EXPECT_EQ(js.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << js;
  EXPECT_TRUE(has(js, "Cache-Control: public, max-age=31536000, immutable")) << js;
  EXPECT_TRUE(has(js, "X-Content-Type-Options: nosniff")) << js;
  EXPECT_FALSE(has(js, "Content-Security-Policy: default-src 'self'")) << js;
  std::string html = curl("/index.html", {"-I"});
  EXPECT_TRUE(has(html, "Cache-Control: no-cache")) << html;
  EXPECT_TRUE(has(html, "Content-Security-Policy: default-src 'self'")) << html;
  EXPECT_TRUE(html.ends_with("\r\n\r\n")) << html;
  // "/" is served from /index.html: the rules match the file sent, as nginx's internal redirect.
  EXPECT_TRUE(has(curl("/"), "Cache-Control: no-cache"));
  size_t at = html.find("ETag: ");
  ASSERT_NE(at, std::string::npos) << html;
  std::string tag = html.substr(at + 6, html.find("\r\n", at) - at - 6);
  std::string not_modified = curl("/index.html", {"-H", "If-None-Match: " + tag});
  EXPECT_EQ(not_modified.rfind("HTTP/1.1 304 ", 0), 0u) << not_modified;
  EXPECT_TRUE(has(not_modified, "Cache-Control: no-cache")) << not_modified;
  std::string missing = curl("/missing.html");
  EXPECT_EQ(missing.rfind("HTTP/1.1 404 ", 0), 0u) << missing;
  EXPECT_FALSE(has(missing, "Cache-Control: no-cache")) << missing;
}

// `make run`'s own command, on a free port: the demo site as a new user first meets it. "/" and
// a route are /index.html, and a missing file gets /404.html: the "*.html" rule's no-cache.
TEST_F(StaticSite, MakeRunSendsItsPagesWithTheirRules) {
  // Without the flags of a make that runs this test (its jobserver, its variables).
  ProgramResult make =
      run_program({"/usr/bin/env", "-u", "MAKEFLAGS", "-u", "MFLAGS", "-u", "MAKELEVEL",
                   "/usr/bin/make", "-s", "-n", "run", "BUILD=" ZHTTP_BUILD_DIR});
  ASSERT_TRUE(make.finished && exited_with(make.status, 0)) << make.err;
  const size_t at = make.out.find(ZHTTP_BUILD_DIR "/zhttpd ");
  ASSERT_NE(at, std::string::npos) << make.out;
  std::string command = "exec " + make.out.substr(at);
  const size_t listen = command.find("127.0.0.1:8080");
  ASSERT_NE(listen, std::string::npos) << command;
  command.replace(listen, 14, "{address}");
  ServerOptions o = ServerOptions::zhttpd({"-c", command});
  o.program = "/bin/sh";  // which execs zhttpd: the pid is the master's
  o.sigterm_death_is_clean = true;
  ASSERT_NO_FATAL_FAILURE(server_.start(std::move(o)));

  for (const char* page : {"/", "/settings/profile"}) {
    std::string r = curl(page, {"-I"});
    EXPECT_EQ(r.rfind("HTTP/1.1 200 ", 0), 0u) << page << r;
    EXPECT_TRUE(has(r, "Cache-Control: no-cache")) << page << r;
  }
  // A missing asset is no immutable year of 404s: its answer is the page's.
  for (const char* missing : {"/no-such-page.html", "/assets/gone.js"}) {
    std::string r = curl(missing);
    EXPECT_EQ(r.rfind("HTTP/1.1 404 ", 0), 0u) << missing << r;
    EXPECT_TRUE(has(r, "Cache-Control: no-cache")) << missing << r;
  }
}

// The value of field `name` in a response's head, or "(none)".
std::string field(const std::string& response, const std::string& name) {
  const std::string head = response.substr(0, response.find("\r\n\r\n") + 2);
  size_t at = head.find("\r\n" + name + ": ");
  if (at == std::string::npos) return "(none)";
  at += name.size() + 4;
  return head.substr(at, head.find("\r\n", at) - at);
}

std::string body(const std::string& response) {
  return response.substr(response.find("\r\n\r\n") + 4);
}

TEST_F(StaticSite, PrecompressedVariantsAreRepresentationsOfTheirOwn) {
  const std::string css(2000, 'c');
  ASSERT_NO_FATAL_FAILURE(write_file(root_ + "/style.css", css));
  ASSERT_NO_FATAL_FAILURE(write_file(root_ + "/style.css.br", "brotli bytes"));
  ASSERT_NO_FATAL_FAILURE(write_file(root_ + "/style.css.gz", "gzip bytes, longer"));
  ASSERT_NO_FATAL_FAILURE(start({}));  // --precompressed br,zstd,gzip by default
  struct Case {
    std::string accept_encoding;  // "" sends none
    std::string body;
    std::string encoding;
  };
  const Case cases[] = {
      {"gzip, br", "brotli bytes", "br"},
      {"br;q=0, gzip", "gzip bytes, longer", "gzip"},
      {"br;q=0, gzip;q=0", css, "(none)"},
      {"", css, "(none)"},
  };
  for (const Case& c : cases) {
    const std::vector<std::string> ae = {"-H", "Accept-Encoding: " + c.accept_encoding};
    const std::string got = curl("/style.css", ae);
    EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
    EXPECT_EQ(body(got), c.body) << c.accept_encoding;
    EXPECT_EQ(field(got, "Content-Encoding"), c.encoding) << c.accept_encoding;
    EXPECT_EQ(field(got, "Vary"), "Accept-Encoding") << c.accept_encoding;
    EXPECT_EQ(field(got, "Content-Type"), "text/css; charset=utf-8") << c.accept_encoding;
    // HEAD: the same head, no body.
    std::vector<std::string> head_options = ae;
    head_options.push_back("-I");
    const std::string head = curl("/style.css", head_options);
    EXPECT_EQ(head, got.substr(0, got.size() - c.body.size())
                        .replace(got.find("Date: "), 35, head.substr(head.find("Date: "), 35)))
        << c.accept_encoding;
    // If-None-Match with this representation's ETag: 304.
    std::vector<std::string> conditional = ae;
    conditional.insert(conditional.end(), {"-H", "If-None-Match: " + field(got, "ETag")});
    const std::string not_modified = curl("/style.css", conditional);
    EXPECT_EQ(not_modified.rfind("HTTP/1.1 304 ", 0), 0u) << not_modified;
    EXPECT_EQ(field(not_modified, "ETag"), field(got, "ETag"));
    EXPECT_EQ(field(not_modified, "Vary"), "Accept-Encoding");
    // A range of this representation's bytes.
    std::vector<std::string> ranged = ae;
    ranged.insert(ranged.end(), {"-H", "Range: bytes=2-5"});
    const std::string part = curl("/style.css", ranged);
    EXPECT_EQ(part.rfind("HTTP/1.1 206 ", 0), 0u) << part;
    EXPECT_EQ(body(part), c.body.substr(2, 4)) << c.accept_encoding;
    EXPECT_EQ(field(part, "Content-Range"), "bytes 2-5/" + std::to_string(c.body.size()));
    EXPECT_EQ(field(part, "Content-Encoding"), c.encoding);
  }
  const std::string br_tag = field(curl("/style.css", {"-H", "Accept-Encoding: br"}), "ETag");
  const std::string gzip_tag = field(curl("/style.css", {"-H", "Accept-Encoding: gzip"}), "ETag");
  EXPECT_NE(br_tag, gzip_tag);
  EXPECT_NE(br_tag, field(curl("/style.css"), "ETag"));
}

TEST_F(StaticSite, ErrorPageAndSinglePageAppFallback) {
  ASSERT_NO_FATAL_FAILURE(write_file(root_ + "/404.html", "<h1>Not here</h1>\n"));
  ASSERT_NO_FATAL_FAILURE(start({"--error-page", "404=/404.html", "--fallback", "/index.html"}));
  for (const char* route : {"/settings/profile", "/settings/"}) {
    const std::string r = curl(route);
    EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << route << "\n" << r;
    EXPECT_EQ(body(r), "<p>app shell</p>\n") << route;
    EXPECT_EQ(field(r, "Content-Type"), "text/html; charset=utf-8");
  }
  const std::string asset = curl("/assets/missing.js");
  EXPECT_EQ(asset.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << asset;
  EXPECT_EQ(body(asset), "<h1>Not here</h1>\n");
  EXPECT_EQ(field(asset, "Content-Type"), "text/html; charset=utf-8");
  const std::string head = curl("/missing.css", {"-I"});
  EXPECT_EQ(head.rfind("HTTP/1.1 404 ", 0), 0u) << head;
  EXPECT_EQ(field(head, "Content-Length"), "18");
  EXPECT_EQ(body(curl("/assets/app.1234.js")), "app();\n");
}

TEST_F(StaticSite, AMissingErrorPageFallsBackToTheBuiltInText) {
  ASSERT_NO_FATAL_FAILURE(start({"--error-page", "404=/404.html"}));
  const std::string r = curl("/missing");
  EXPECT_EQ(r.rfind("HTTP/1.1 404 ", 0), 0u) << r;
  EXPECT_EQ(body(r), "not found\n");
}

// A tree for --autoindex beneath /files/, which has no index file.
void write_listing_tree(const std::string& root) {
  ASSERT_TRUE(std::filesystem::create_directories(root + "/files/sub"));
  ASSERT_TRUE(std::filesystem::create_directories(root + "/files/site"));
  ASSERT_NO_FATAL_FAILURE(write_file(root + "/files/a.txt", "hello\n"));
  ASSERT_NO_FATAL_FAILURE(write_file(root + "/files/x <y>.txt", "xy\n"));
  ASSERT_NO_FATAL_FAILURE(write_file(root + "/files/.hidden", "secret\n"));
  ASSERT_NO_FATAL_FAILURE(write_file(root + "/files/sub/inner.txt", "inner\n"));
  ASSERT_NO_FATAL_FAILURE(write_file(root + "/files/site/index.html", "<p>site</p>\n"));
}

TEST_F(StaticSite, DirectoryListingsAreOffByDefault) {
  ASSERT_NO_FATAL_FAILURE(write_listing_tree(root_));
  ASSERT_NO_FATAL_FAILURE(start({}));
  EXPECT_EQ(curl("/files/").rfind("HTTP/1.1 404 ", 0), 0u);
  EXPECT_EQ(curl("/files/?format=json").rfind("HTTP/1.1 404 ", 0), 0u);
  EXPECT_EQ(body(curl("/files/site/")), "<p>site</p>\n");
}

TEST_F(StaticSite, AutoindexListsDirectoriesAsHtml) {
  ASSERT_NO_FATAL_FAILURE(write_listing_tree(root_));
  ASSERT_NO_FATAL_FAILURE(start({"--autoindex"}));
  const std::string page = curl("/files/");
  EXPECT_EQ(page.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << page;
  EXPECT_TRUE(has(page, "Content-Type: text/html; charset=utf-8")) << page;
  const std::string html = body(page);
  EXPECT_NE(html.find("<h1>Index of /files/</h1>"), std::string::npos) << html;
  EXPECT_NE(html.find("<a href=\"../\">../</a>\n<a href=\"site/\">site/</a>"), std::string::npos)
      << html;
  const size_t a = html.find("<a href=\"a.txt\">a.txt</a>");
  ASSERT_NE(a, std::string::npos) << html;
  EXPECT_EQ(html.find(" 6\n", a), html.find('\n', a) - 2) << html;  // its size, in bytes
  EXPECT_NE(html.find("<a href=\"x%20%3Cy%3E.txt\">x &lt;y&gt;.txt</a>"), std::string::npos)
      << html;
  EXPECT_EQ(html.find("hidden"), std::string::npos) << html;
  // The links lead where they say.
  EXPECT_EQ(body(curl("/files/x%20%3Cy%3E.txt")), "xy\n");
  const std::string sub = body(curl("/files/sub/"));
  EXPECT_NE(sub.find("<a href=\"inner.txt\">inner.txt</a>"), std::string::npos) << sub;
  EXPECT_EQ(body(curl("/files/sub/inner.txt")), "inner\n");
  EXPECT_EQ(curl("/files/sub").rfind("HTTP/1.1 301 ", 0), 0u);
  // An index file is served instead; hidden files stay hidden.
  EXPECT_EQ(body(curl("/files/site/")), "<p>site</p>\n");
  EXPECT_EQ(curl("/files/.hidden").rfind("HTTP/1.1 404 ", 0), 0u);
  const std::string head = curl("/files/", {"-I"});
  EXPECT_TRUE(has(head, "Content-Length: " + std::to_string(html.size()))) << head;
  EXPECT_TRUE(head.ends_with("\r\n\r\n")) << head;
}

TEST_F(StaticSite, AutoindexFromTheConfigFileAnswersJson) {
  ASSERT_NO_FATAL_FAILURE(write_listing_tree(root_));
  const std::string config = server_.path("zhttpd.toml");
  ASSERT_NO_FATAL_FAILURE(write_file(config, "autoindex = true\n"));
  ASSERT_NO_FATAL_FAILURE(start({"--config", config}));
  const std::string response = curl("/files/?v=2&format=json");
  EXPECT_TRUE(has(response, "Content-Type: application/json")) << response;
  nlohmann::json listing;
  ASSERT_NO_THROW(listing = nlohmann::json::parse(body(response))) << response;
  auto mtime = [&](const std::string& name) {
    struct stat st {};
    EXPECT_EQ(::stat((root_ + "/files/" + name).c_str(), &st), 0) << name;
    char date[kImfFixdateLen];
    EXPECT_TRUE(format_imf_fixdate(st.st_mtim.tv_sec, date));
    return std::string(date, kImfFixdateLen);
  };
  const nlohmann::json expected = {
      {{"name", "site"}, {"type", "directory"}, {"mtime", mtime("site")}},
      {{"name", "sub"}, {"type", "directory"}, {"mtime", mtime("sub")}},
      {{"name", "a.txt"}, {"type", "file"}, {"mtime", mtime("a.txt")}, {"size", 6}},
      {{"name", "x <y>.txt"}, {"type", "file"}, {"mtime", mtime("x <y>.txt")}, {"size", 3}},
  };
  EXPECT_EQ(listing, expected) << listing.dump(1);
}

// An --error-page or --fallback file missing beneath a root is worth a warning (from -t, and in
// the error log at start), not a refusal: a site is often deployed after its server starts.
TEST_F(StaticSite, MissingErrorPagesAndFallbackAreWarnedAbout) {
  const std::string other = server_.path("other");
  ASSERT_TRUE(std::filesystem::create_directories(other));
  const std::vector<std::string> options = {"--root",          root_,          "--vhost",
                                            "o.test=" + other, "--error-page", "404=/404.html",
                                            "--fallback",      "/index.html"};
  std::vector<std::string> args = {kZhttpd, "-t"};
  args.insert(args.end(), options.begin(), options.end());
  ProgramResult r = run_program(args, 10);
  ASSERT_TRUE(r.finished);
  EXPECT_TRUE(exited_with(r.status, 0)) << describe_status(r.status) << " " << r.err;
  EXPECT_EQ(r.out, "zhttpd: the configuration is ok\n");
  EXPECT_EQ(r.err, "zhttpd: warning: --error-page 404=/404.html: no such file beneath " + root_ +
                       ": a 404 from it gets the built-in text\n"
                       "zhttpd: warning: --error-page 404=/404.html: no such file beneath " +
                       other +
                       ": a 404 from it gets the built-in text\n"
                       "zhttpd: warning: --fallback /index.html: no such file beneath " +
                       other + ": its routes get 404\n");

  // At start the same lines go to the error log, and the server serves.
  ASSERT_NO_FATAL_FAILURE(start({"--vhost", "o.test=" + other, "--error-page", "404=/404.html",
                                 "--fallback", "/index.html"}));
  const std::string log = server_.err();
  const size_t warn = log.find("[warn] ");
  EXPECT_NE(warn, std::string::npos) << log;
  EXPECT_NE(log.find(": --fallback /index.html: no such file beneath " + other, warn),
            std::string::npos)
      << log;
  server_.finish();

  // With the files in place nothing is said.
  ASSERT_NO_FATAL_FAILURE(write_file(root_ + "/404.html", "<p>gone</p>\n"));
  ASSERT_NO_FATAL_FAILURE(write_file(other + "/404.html", "<p>gone</p>\n"));
  ASSERT_NO_FATAL_FAILURE(write_file(other + "/index.html", "<p>other</p>\n"));
  r = run_program(args, 10);
  EXPECT_TRUE(r.finished && exited_with(r.status, 0)) << r.err;
  EXPECT_EQ(r.err, "");
}

TEST_F(StaticSite, BadValuesAreRefusedAtStartNamingTheOption) {
  struct Bad {
    std::vector<std::string> args;
    std::string message;
  };
  const Bad cases[] = {
      {{"--cache-control", "html=no-cache"},
       "zhttpd: --cache-control: path pattern html does not start with / or *\n"},
      {{"--cache-control", "*.html"}, "zhttpd: --cache-control: value *.html is not GLOB=...\n"},
      {{"--add-header", "*=Bad Name: x"},
       "zhttpd: --add-header: \"Bad Name\" is not a header field name\n"},
      {{"--add-header", "*=X-A: a\x01z"},
       "zhttpd: --add-header: field value a?z has a control "
       "byte\n"},
      {{"--error-page", "500=/500.html"},
       "zhttpd: --error-page: status 500 is not one the file handler answers (400, 403, 404 or "
       "405)\n"},
      {{"--fallback", "index.html"},
       "zhttpd: --fallback: value index.html is not a path (it starts with /)\n"},
      {{"--precompressed", "br,deflate"},
       "zhttpd: --precompressed: value br,deflate is not off or a comma-separated list of br, "
       "zstd, gzip\n"},
  };
  for (const Bad& bad : cases) {
    std::vector<std::string> args = {kZhttpd, "--root", root_, "-t"};
    args.insert(args.end(), bad.args.begin(), bad.args.end());
    ProgramResult r = run_program(args, 10);
    ASSERT_TRUE(r.finished);
    EXPECT_TRUE(exited_with(r.status, 2)) << describe_status(r.status) << " " << r.err;
    EXPECT_EQ(r.err, bad.message);
  }
}

}  // namespace
}  // namespace zhttp::test
