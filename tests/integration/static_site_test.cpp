// The static site options through the real zhttpd binary and curl, as a new user would try them:
// --cache-control and --add-header by path; --autoindex; and bad values refused at start (exit 2,
// one line naming the option).
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
  // The directory's index is "/", which "*.html" does not match.
  EXPECT_FALSE(has(curl("/"), "Cache-Control: no-cache"));
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

std::string body_of(const std::string& response) {
  return response.substr(response.find("\r\n\r\n") + 4);
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
  EXPECT_EQ(body_of(curl("/files/site/")), "<p>site</p>\n");
}

TEST_F(StaticSite, AutoindexListsDirectoriesAsHtml) {
  ASSERT_NO_FATAL_FAILURE(write_listing_tree(root_));
  ASSERT_NO_FATAL_FAILURE(start({"--autoindex"}));
  const std::string page = curl("/files/");
  EXPECT_EQ(page.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << page;
  EXPECT_TRUE(has(page, "Content-Type: text/html; charset=utf-8")) << page;
  const std::string html = body_of(page);
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
  EXPECT_EQ(body_of(curl("/files/x%20%3Cy%3E.txt")), "xy\n");
  const std::string sub = body_of(curl("/files/sub/"));
  EXPECT_NE(sub.find("<a href=\"inner.txt\">inner.txt</a>"), std::string::npos) << sub;
  EXPECT_EQ(body_of(curl("/files/sub/inner.txt")), "inner\n");
  EXPECT_EQ(curl("/files/sub").rfind("HTTP/1.1 301 ", 0), 0u);
  // An index file is served instead; hidden files stay hidden.
  EXPECT_EQ(body_of(curl("/files/site/")), "<p>site</p>\n");
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
  ASSERT_NO_THROW(listing = nlohmann::json::parse(body_of(response))) << response;
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
