// parse_command_line: defaults, each option (the cache's sizes and times with their units), the
// config file and its precedence, -t and -s,
// one-line errors naming the option (exit code 2), --help and --version.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "cli/config.hpp"
#include "cli/version.hpp"
#include "unit/support/parse_command_line.hpp"
#include "unit/support/test_files.hpp"

namespace zhttp::cli {
namespace {

using test::TempFile;

using testing::internal::CaptureStderr;
using testing::internal::CaptureStdout;
using testing::internal::GetCapturedStderr;
using testing::internal::GetCapturedStdout;

// A directory in /tmp for one test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/command_line_test_dir_XXXXXX";
    EXPECT_NE(mkdtemp(name), nullptr);
    path_ = name;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void expect_serve(const Parsed& p) {
  EXPECT_EQ(p.command.kind, Command::Kind::kServe) << p.err;
  EXPECT_EQ(p.err, "");
  EXPECT_EQ(p.out, "");
}

TEST(CommandLine, Defaults) {
  const Parsed p = parse({});
  expect_serve(p);
  const Config d;
  const Config& c = p.config;
  EXPECT_EQ(c.listen, std::vector<std::string>{"127.0.0.1:8080"});
  EXPECT_EQ(c.workers, 0u);
  EXPECT_EQ(c.files.root, ".");
  EXPECT_EQ(c.files.index, "index.html");
  EXPECT_EQ(c.files.mime_types, d.files.mime_types);
  EXPECT_EQ(c.files.open_file_cache.entries, 1024u);
  EXPECT_EQ(c.files.open_file_cache.valid_seconds, 1u);
  EXPECT_EQ(c.worker.max_connections, 10240u);
  EXPECT_EQ(c.worker.connection.max_body_bytes, 1u << 20);
  EXPECT_EQ(c.worker.connection.max_discard_bytes, 1u << 20);
  EXPECT_EQ(c.worker.handler_timeout, 60);
  EXPECT_EQ(c.worker.connection.parser.max_head_bytes, 16384u);
  EXPECT_EQ(c.worker.connection.parser.max_headers, 100u);
  EXPECT_EQ(c.worker.connection.parser.max_target_bytes, 8192u);
  EXPECT_EQ(c.worker.header_timeout, 10);
  EXPECT_EQ(c.worker.body_timeout, 30);
  EXPECT_EQ(c.worker.keepalive_timeout, 75);
  EXPECT_EQ(c.worker.write_timeout, 30);
  EXPECT_EQ(c.worker.drain_timeout, 30);
  EXPECT_EQ(c.pid_file, "");
  EXPECT_EQ(c.shm_name, "");
  EXPECT_EQ(c.user, "");
  EXPECT_EQ(c.group, "");
  EXPECT_FALSE(c.daemon);
  EXPECT_EQ(c.access_log, "off");
  EXPECT_EQ(c.access_log_format, log::AccessLogFormat::kCombined);
  EXPECT_TRUE(c.vhosts.empty());
  EXPECT_EQ(c.error_log, "stderr");
  EXPECT_EQ(c.log_level, LogLevel::kNotice);
  EXPECT_EQ(c.config_file, "");
  EXPECT_EQ(c.cache.size_bytes, uint64_t{64} << 20);
  EXPECT_TRUE(c.cache.enabled());
  EXPECT_EQ(c.cache.max_entry, 16384u);
  EXPECT_EQ(c.cache.lock_timeout_ms, 5000u);
  EXPECT_EQ(c.cache.max_stale_s, 60u);
  EXPECT_FALSE(c.cache.allow_authorization);
  EXPECT_FALSE(c.cache.allow_cookie);
  EXPECT_TRUE(c.cache.purge_allow.empty());
}

TEST(CommandLine, EachOptionSetsItsField) {
  TempDir root;
  const Parsed p = parse({"--listen",
                          "10.0.0.1:81",
                          "--workers",
                          "3",
                          "--root",
                          root.path(),
                          "--index",
                          "default.htm",
                          "--mime-types",
                          "",
                          "--open-file-cache",
                          "0",
                          "--open-file-cache-valid",
                          "60",
                          "--pid-file",
                          "/run/zhttpd.pid",
                          "--shm-name",
                          "/zhttpd-test",
                          "--user",
                          "www-data",
                          "--group",
                          "www",
                          "--daemon",
                          "--access-log",
                          "/var/log/zhttpd/access.log",
                          "--error-log",
                          "/var/log/zhttpd/error.log",
                          "--log-level",
                          "debug",
                          "--max-connections",
                          "500",
                          "--max-body-bytes",
                          "4096",
                          "--max-discard-bytes",
                          "8192",
                          "--max-header-bytes",
                          "8192",
                          "--max-headers",
                          "50",
                          "--max-target-bytes",
                          "2048",
                          "--header-timeout",
                          "1.5",
                          "--body-timeout",
                          "2",
                          "--keepalive-timeout",
                          "3",
                          "--write-timeout",
                          "4",
                          "--drain-timeout",
                          "5",
                          "--handler-timeout",
                          "6"});
  expect_serve(p);
  const Config& c = p.config;
  EXPECT_EQ(c.listen, std::vector<std::string>{"10.0.0.1:81"});
  EXPECT_EQ(c.workers, 3u);
  EXPECT_EQ(c.files.root, root.path());
  EXPECT_EQ(c.files.index, "default.htm");
  EXPECT_EQ(c.files.mime_types, "");
  EXPECT_EQ(c.files.open_file_cache.entries, 0u);
  EXPECT_EQ(c.files.open_file_cache.valid_seconds, 60u);
  EXPECT_EQ(c.pid_file, "/run/zhttpd.pid");
  EXPECT_EQ(c.shm_name, "/zhttpd-test");
  EXPECT_EQ(c.user, "www-data");
  EXPECT_EQ(c.group, "www");
  EXPECT_TRUE(c.daemon);
  EXPECT_EQ(c.access_log, "/var/log/zhttpd/access.log");
  EXPECT_EQ(c.error_log, "/var/log/zhttpd/error.log");
  EXPECT_EQ(c.log_level, LogLevel::kDebug);
  EXPECT_EQ(c.worker.max_connections, 500u);
  EXPECT_EQ(c.worker.connection.max_body_bytes, 4096u);
  EXPECT_EQ(c.worker.connection.max_discard_bytes, 8192u);
  EXPECT_EQ(c.worker.handler_timeout, 6);
  EXPECT_EQ(c.worker.connection.parser.max_head_bytes, 8192u);
  EXPECT_EQ(c.worker.connection.parser.max_headers, 50u);
  EXPECT_EQ(c.worker.connection.parser.max_target_bytes, 2048u);
  EXPECT_EQ(c.worker.header_timeout, 1.5);
  EXPECT_EQ(c.worker.body_timeout, 2);
  EXPECT_EQ(c.worker.keepalive_timeout, 3);
  EXPECT_EQ(c.worker.write_timeout, 4);
  EXPECT_EQ(c.worker.drain_timeout, 5);
}

TEST(CommandLine, EqualsSyntax) {
  const Parsed p = parse({"--workers=7", "--listen=127.0.0.1:9000"});
  expect_serve(p);
  EXPECT_EQ(p.config.workers, 7u);
  EXPECT_EQ(p.config.listen, std::vector<std::string>{"127.0.0.1:9000"});
}

TEST(CommandLine, ListenIsRepeatableAndTakesIpv6) {
  const Parsed p =
      parse({"--listen", "127.0.0.1:8080", "--listen", "[::1]:8080", "--listen", "0.0.0.0:1"});
  expect_serve(p);
  EXPECT_EQ(p.config.listen,
            (std::vector<std::string>{"127.0.0.1:8080", "[::1]:8080", "0.0.0.0:1"}));
  const Parsed v6 = parse({"--listen", "[2001:db8::1]:65535", "--listen", "[::]:443"});
  expect_serve(v6);
  EXPECT_EQ(v6.config.listen, (std::vector<std::string>{"[2001:db8::1]:65535", "[::]:443"}));
}

TEST(CommandLine, LogLevels) {
  const std::pair<const char*, LogLevel> levels[] = {
      {"debug", LogLevel::kDebug}, {"info", LogLevel::kInfo},   {"notice", LogLevel::kNotice},
      {"warn", LogLevel::kWarn},   {"error", LogLevel::kError}, {"crit", LogLevel::kCrit}};
  for (const auto& [name, level] : levels) {
    const Parsed p = parse({"--log-level", name});
    expect_serve(p);
    EXPECT_EQ(p.config.log_level, level) << name;
  }
}

TEST(CommandLine, WorkersAutoAndNumber) {
  Parsed p = parse({"--workers", "auto"});
  expect_serve(p);
  EXPECT_EQ(p.config.workers, 0u);
  p = parse({"--workers", "1"});
  expect_serve(p);
  EXPECT_EQ(p.config.workers, 1u);
  p = parse({"--workers", "256"});
  expect_serve(p);
  EXPECT_EQ(p.config.workers, 256u);
  p = parse({"--workers", "010"});  // decimal, not octal
  expect_serve(p);
  EXPECT_EQ(p.config.workers, 10u);
}

TEST(CommandLine, NumbersAreDecimal) {
  const Parsed p = parse({"--max-headers", "010", "--max-body-bytes", "18446744073709551615"});
  expect_serve(p);
  EXPECT_EQ(p.config.worker.connection.parser.max_headers, 10u);
  EXPECT_EQ(p.config.worker.connection.max_body_bytes, 18446744073709551615u);
}

TEST(CommandLine, LastOfARepeatedOptionWins) {
  const Parsed p = parse({"--workers", "2", "--workers", "5"});
  expect_serve(p);
  EXPECT_EQ(p.config.workers, 5u);
}

TEST(CommandLine, ConfigFileSetsValues) {
  TempDir root;
  TempFile file(
      "# zhttpd\n"
      "root = \"" +
      root.path() +
      "\"\n"
      "listen = [\"127.0.0.1:8081\", \"[::1]:8081\"]\n"
      "workers = 2\n"
      "index = \"home.html\"\n"
      "daemon = true\n"
      "log-level = \"warn\"\n"
      "access-log = \"/tmp/access.log\"\n"
      "max-headers = 20\n"
      "keepalive-timeout = 5.5\n"
      "drain-timeout = 7\n");
  const Parsed p = parse({"--config", file.path()});
  expect_serve(p);
  const Config& c = p.config;
  EXPECT_EQ(c.files.root, root.path());
  EXPECT_EQ(c.listen, (std::vector<std::string>{"127.0.0.1:8081", "[::1]:8081"}));
  EXPECT_EQ(c.workers, 2u);
  EXPECT_EQ(c.files.index, "home.html");
  EXPECT_TRUE(c.daemon);
  EXPECT_EQ(c.log_level, LogLevel::kWarn);
  EXPECT_EQ(c.access_log, "/tmp/access.log");
  EXPECT_EQ(c.worker.connection.parser.max_headers, 20u);
  EXPECT_EQ(c.worker.keepalive_timeout, 5.5);
  EXPECT_EQ(c.worker.drain_timeout, 7);
  EXPECT_EQ(c.config_file, file.path());
  // What the file does not name keeps its default.
  EXPECT_EQ(c.worker.header_timeout, 10);
}

TEST(CommandLine, IniConfigFile) {
  TempFile file(
      "; zhttpd\n"
      "workers=auto\n"
      "listen=127.0.0.1:8082\n"
      "error-log=/tmp/error.log\n"
      "open-file-cache = 16\n");
  const Parsed p = parse({"--config", file.path()});
  expect_serve(p);
  EXPECT_EQ(p.config.workers, 0u);
  EXPECT_EQ(p.config.listen, std::vector<std::string>{"127.0.0.1:8082"});
  EXPECT_EQ(p.config.error_log, "/tmp/error.log");
  EXPECT_EQ(p.config.files.open_file_cache.entries, 16u);
}

TEST(CommandLine, CommandLineWinsOverConfigFile) {
  TempFile file(
      "workers = 2\n"
      "listen = [\"127.0.0.1:8081\", \"[::1]:8081\"]\n"
      "log-level = \"warn\"\n"
      "max-headers = 20\n");
  // Before and after --config: the command line wins either way.
  const Parsed p = parse({"--workers", "4", "--config", file.path(), "--listen", "127.0.0.1:9"});
  expect_serve(p);
  EXPECT_EQ(p.config.workers, 4u);
  EXPECT_EQ(p.config.listen, std::vector<std::string>{"127.0.0.1:9"});
  EXPECT_EQ(p.config.log_level, LogLevel::kWarn);
  EXPECT_EQ(p.config.worker.connection.parser.max_headers, 20u);
}

TEST(CommandLine, DaemonFromConfigCanBeTurnedOffOnCommandLine) {
  TempFile file("daemon = true\n");
  Parsed p = parse({"--config", file.path()});
  expect_serve(p);
  EXPECT_TRUE(p.config.daemon);
  p = parse({"--config", file.path(), "--daemon=false"});
  expect_serve(p);
  EXPECT_FALSE(p.config.daemon);
}

TEST(CommandLine, LastConfigFileWins) {
  TempFile first("workers = 3\nindex = \"a.html\"\n");
  TempFile second("workers = 4\n");
  const Parsed p = parse({"--config", first.path(), "--config", second.path()});
  expect_serve(p);
  EXPECT_EQ(p.config.workers, 4u);
  EXPECT_EQ(p.config.files.index, "index.html");
  EXPECT_EQ(p.config.config_file, second.path());
}

TEST(CommandLine, ConfigFilePathIsRecordedAbsolute) {
  TempFile file("workers = 3\n");
  const std::string relative =
      std::filesystem::relative(file.path(), std::filesystem::current_path()).string();
  ASSERT_NE(relative.front(), '/');
  const Parsed p = parse({"--config", relative});
  expect_serve(p);
  EXPECT_EQ(p.config.workers, 3u);
  EXPECT_EQ(p.config.config_file, file.path());
}

TEST(CommandLine, ParsingAgainRereadsTheFileAndStartsFromDefaults) {
  TempFile file("workers = 3\n");
  Parsed first = parse({"--config", file.path(), "--index", "a.html"});
  expect_serve(first);
  EXPECT_EQ(first.config.workers, 3u);
  {
    FILE* f = std::fopen(file.path().c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("workers = 5\n", f);
    std::fclose(f);
  }
  // Starting from the first result, as a reload would: nothing of it carries over.
  const Parsed second = parse({"--config", file.path()}, first.config);
  expect_serve(second);
  EXPECT_EQ(second.config.workers, 5u);
  EXPECT_EQ(second.config.files.index, "index.html");
}

TEST(CommandLine, CacheOptions) {
  const Parsed p = parse({"--cache-size", "1g", "--cache-max-entry", "1m", "--cache-lock-timeout",
                          "250", "--cache-max-stale", "0", "--cache-authorization",
                          "--cache-cookie", "--cache-purge-allow", "127.0.0.1",
                          "--cache-purge-allow", "10.1.2.3/8", "--cache-purge-allow", "::1"});
  expect_serve(p);
  const handlers::cache::CacheOptions& c = p.config.cache;
  EXPECT_EQ(c.size_bytes, uint64_t{1} << 30);
  EXPECT_EQ(c.max_entry, 1u << 20);
  EXPECT_EQ(c.lock_timeout_ms, 250u);
  EXPECT_EQ(c.max_stale_s, 0u);
  EXPECT_TRUE(c.allow_authorization);
  EXPECT_TRUE(c.allow_cookie);
  ASSERT_EQ(c.purge_allow.size(), 3u);
  EXPECT_EQ(c.purge_allow[0].family, AF_INET);
  EXPECT_EQ(c.purge_allow[0].prefix, 32);
  EXPECT_EQ(c.purge_allow[1].prefix, 8);
  EXPECT_EQ(c.purge_allow[1].bytes[0], 10);
  EXPECT_EQ(c.purge_allow[1].bytes[1], 0);  // host bits cleared
  EXPECT_EQ(c.purge_allow[2].family, AF_INET6);
}

TEST(CommandLine, CacheSizesTakeSuffixesAndTimeoutsSeconds) {
  const std::pair<const char*, uint64_t> sizes[] = {
      {"0", 0},          {"300k", 300 << 10}, {"300K", 300 << 10},  {"64m", 64 << 20},
      {"64M", 64 << 20}, {"2G", 2ull << 30},  {"1048576", 1 << 20}, {"010m", 10 << 20}};
  for (const auto& [text, bytes] : sizes) {
    const Parsed p = parse({"--cache-size", text});
    expect_serve(p);
    EXPECT_EQ(p.config.cache.size_bytes, bytes) << text;
    EXPECT_EQ(p.config.cache.enabled(), bytes != 0) << text;
  }
  for (const auto& [text, bytes] : {std::pair{"1k", 1024u}, std::pair{"2000", 2000u}}) {
    const Parsed p = parse({"--cache-max-entry", text, "--cache-size", "1m"});
    expect_serve(p);
    EXPECT_EQ(p.config.cache.max_entry, bytes) << text;
  }
  const std::pair<const char*, uint32_t> timeouts[] = {
      {"1", 1}, {"750ms", 750}, {"5s", 5000}, {"600s", 600000}, {"600000", 600000}};
  for (const auto& [text, ms] : timeouts) {
    const Parsed p = parse({"--cache-lock-timeout", text});
    expect_serve(p);
    EXPECT_EQ(p.config.cache.lock_timeout_ms, ms) << text;
  }
}

TEST(CommandLine, CacheOptionsFromTheConfigFile) {
  TempFile file(
      "cache-size = \"32m\"\n"
      "cache-max-entry = 4096\n"
      "cache-lock-timeout = \"2s\"\n"
      "cache-max-stale = 30\n"
      "cache-cookie = true\n"
      "cache-purge-allow = [\"127.0.0.1\", \"10.0.0.0/8\"]\n");
  const Parsed p = parse({"--config", file.path()});
  expect_serve(p);
  const handlers::cache::CacheOptions& c = p.config.cache;
  EXPECT_EQ(c.size_bytes, uint64_t{32} << 20);
  EXPECT_EQ(c.max_entry, 4096u);
  EXPECT_EQ(c.lock_timeout_ms, 2000u);
  EXPECT_EQ(c.max_stale_s, 30u);
  EXPECT_TRUE(c.allow_cookie);
  EXPECT_FALSE(c.allow_authorization);
  EXPECT_EQ(c.purge_allow.size(), 2u);
  TempFile off("cache-size = 0\n");
  const Parsed none = parse({"--config", off.path()});
  expect_serve(none);
  EXPECT_FALSE(none.config.cache.enabled());
}

TEST(CommandLine, PathHeaderOptionsRepeatInOrder) {
  const Parsed p =
      parse({"--cache-control", "/assets/*=public, max-age=31536000, immutable",
             "--cache-control=*.html=no-cache", "--add-header", "*=X-Content-Type-Options: nosniff",
             "--add-header", "*.html=Content-Security-Policy: default-src 'self'"});
  expect_serve(p);
  const handlers::static_site::PathHeaders& h = p.config.files.headers;
  ASSERT_EQ(h.cache_control.size(), 2u);
  EXPECT_EQ(h.cache_control[0].glob, "/assets/*");
  EXPECT_EQ(h.cache_control[0].value, "public, max-age=31536000, immutable");
  EXPECT_EQ(h.cache_control[1].glob, "*.html");
  ASSERT_EQ(h.add_header.size(), 2u);
  EXPECT_EQ(h.add_header[0].name, "X-Content-Type-Options");
  EXPECT_EQ(h.add_header[1].value, "default-src 'self'");
  EXPECT_TRUE(parse({}).config.files.headers.empty());
}

TEST(CommandLine, ErrorPagesAndFallback) {
  const Parsed p = parse(
      {"--error-page", "404=/404.html", "--error-page=403=/403.html", "--fallback", "/index.html"});
  expect_serve(p);
  ASSERT_EQ(p.config.files.error_pages.size(), 2u);
  EXPECT_EQ(p.config.files.error_pages[0].status, 404);
  EXPECT_EQ(p.config.files.error_pages[0].path, "/404.html");
  EXPECT_EQ(p.config.files.error_pages[1].status, 403);
  EXPECT_EQ(p.config.files.fallback, "/index.html");
  EXPECT_TRUE(parse({}).config.files.fallback.empty());
  TempFile file("error-page = [\"404=/e/404.html\"]\nfallback = \"/app.html\"\n");
  const Parsed from_file = parse({"--config", file.path()});
  expect_serve(from_file);
  ASSERT_EQ(from_file.config.files.error_pages.size(), 1u);
  EXPECT_EQ(from_file.config.files.error_pages[0].path, "/e/404.html");
  EXPECT_EQ(from_file.config.files.fallback, "/app.html");
}

TEST(CommandLine, PrecompressedCodings) {
  const handlers::static_site::CodingList standard = parse({}).config.files.precompressed;
  ASSERT_EQ(standard.count, 3);
  EXPECT_EQ(standard.codings[0], handlers::static_site::ContentCoding::kBr);
  EXPECT_EQ(standard.codings[1], handlers::static_site::ContentCoding::kZstd);
  EXPECT_EQ(standard.codings[2], handlers::static_site::ContentCoding::kGzip);
  const Parsed gzip_first = parse({"--precompressed", "gzip,br"});
  expect_serve(gzip_first);
  ASSERT_EQ(gzip_first.config.files.precompressed.count, 2);
  EXPECT_EQ(gzip_first.config.files.precompressed.codings[0],
            handlers::static_site::ContentCoding::kGzip);
  EXPECT_EQ(parse({"--precompressed=off"}).config.files.precompressed.count, 0);
  TempFile file("precompressed = \"gzip\"\n");
  const Parsed from_file = parse({"--config", file.path()});
  expect_serve(from_file);
  EXPECT_EQ(from_file.config.files.precompressed.count, 1);
}

TEST(CommandLine, PathHeaderOptionsFromTheConfigFile) {
  TempFile file(
      "cache-control = [\"/assets/*=public, max-age=31536000\", \"*.html=no-cache\"]\n"
      "add-header = \"*=X-Frame-Options: DENY\"\n");
  const Parsed p = parse({"--config", file.path()});
  expect_serve(p);
  const handlers::static_site::PathHeaders& h = p.config.files.headers;
  ASSERT_EQ(h.cache_control.size(), 2u);
  EXPECT_EQ(h.cache_control[0].value, "public, max-age=31536000");
  EXPECT_EQ(h.cache_control[1].value, "no-cache");
  ASSERT_EQ(h.add_header.size(), 1u);
  EXPECT_EQ(h.add_header[0].value, "DENY");
}

TEST(CommandLine, VirtualHostsRepeatInOrder) {
  TempDir a, b;
  const Parsed p = parse({"--vhost", "A.test=" + a.path(), "--vhost=*.b.test=" + b.path()});
  expect_serve(p);
  ASSERT_EQ(p.config.vhosts.size(), 2u);
  EXPECT_EQ(p.config.vhosts[0].name, "a.test");
  EXPECT_EQ(p.config.vhosts[0].root, a.path());
  EXPECT_EQ(p.config.vhosts[1].name, "*.b.test");
  EXPECT_EQ(p.config.vhosts[1].root, b.path());
  // With virtual hosts the log says which host, unless a format is chosen.
  EXPECT_EQ(p.config.access_log_format, log::AccessLogFormat::kVhostCombined);
  EXPECT_EQ(parse({"--vhost", "a.test=" + a.path(), "--access-log-format", "combined"})
                .config.access_log_format,
            log::AccessLogFormat::kCombined);
}

TEST(CommandLine, VirtualHostsFromTheConfigFile) {
  TempDir a, b;
  TempFile file("vhost = [\"a.test=" + a.path() + "\", \"b.test=" + b.path() +
                "\"]\naccess-log-format = \"extended\"\n");
  const Parsed p = parse({"--config", file.path()});
  expect_serve(p);
  ASSERT_EQ(p.config.vhosts.size(), 2u);
  EXPECT_EQ(p.config.vhosts[1].name, "b.test");
  EXPECT_EQ(p.config.access_log_format, log::AccessLogFormat::kExtended);
}

TEST(CommandLine, AccessLogFormats) {
  EXPECT_EQ(parse({"--access-log-format", "combined"}).config.access_log_format,
            log::AccessLogFormat::kCombined);
  EXPECT_EQ(parse({"--access-log-format", "vhost_combined"}).config.access_log_format,
            log::AccessLogFormat::kVhostCombined);
  EXPECT_EQ(parse({"--access-log-format=extended"}).config.access_log_format,
            log::AccessLogFormat::kExtended);
}

TEST(CommandLine, AutoindexIsOffUnlessAsked) {
  EXPECT_FALSE(parse({}).config.files.autoindex);
  const Parsed p = parse({"--autoindex"});
  expect_serve(p);
  EXPECT_TRUE(p.config.files.autoindex);
  TempFile file("autoindex = true\n");
  const Parsed from_file = parse({"--config", file.path()});
  expect_serve(from_file);
  EXPECT_TRUE(from_file.config.files.autoindex);
  EXPECT_FALSE(parse({"--config", file.path(), "--autoindex=false"}).config.files.autoindex);
  EXPECT_NE(parse({"--help"}).out.find("--autoindex"), std::string::npos);
}

TEST(CommandLine, TestConfig) {
  Parsed p = parse({"-t"});
  EXPECT_EQ(p.command.kind, Command::Kind::kTestConfig);
  EXPECT_EQ(p.err, "");
  p = parse({"--test-config", "--workers", "2"});
  EXPECT_EQ(p.command.kind, Command::Kind::kTestConfig);
  EXPECT_EQ(p.config.workers, 2u);
}

TEST(CommandLine, Signal) {
  for (const char* signal : {"reload", "quit", "stop", "reopen"}) {
    Parsed p = parse({"-s", signal});
    EXPECT_EQ(p.command.kind, Command::Kind::kSignal) << p.err;
    EXPECT_EQ(p.command.signal, signal);
    EXPECT_EQ(p.err, "");
  }
  const Parsed p = parse({"--signal", "quit", "--pid-file", "/run/z.pid"});
  EXPECT_EQ(p.command.kind, Command::Kind::kSignal);
  EXPECT_EQ(p.command.signal, "quit");
  EXPECT_EQ(p.config.pid_file, "/run/z.pid");
}

TEST(CommandLine, Help) {
  const Parsed p = parse({"--help"});
  EXPECT_EQ(p.command.kind, Command::Kind::kExit);
  EXPECT_EQ(p.command.exit_code, 0);
  EXPECT_EQ(p.err, "");
  for (const char* group : {"Listening", "Files", "Processes", "Logging", "Limits", "Timeouts"}) {
    EXPECT_NE(p.out.find(std::string(group) + ":"), std::string::npos) << group;
  }
  for (const char* option : {"--listen", "--workers", "--root", "--config", "--test-config",
                             "--signal", "--drain-timeout", "--log-level", "--version"}) {
    EXPECT_NE(p.out.find(option), std::string::npos) << option;
  }
  EXPECT_EQ(parse({"-h"}).out, p.out);
  // --help wins over a bad value next to it.
  const Parsed bad = parse({"--workers", "0x", "--help"});
  EXPECT_EQ(bad.command.exit_code, 0);
  EXPECT_EQ(bad.out, p.out);
  EXPECT_EQ(bad.err, "");
}

TEST(CommandLine, Version) {
  const Parsed p = parse({"--version"});
  EXPECT_EQ(p.command.kind, Command::Kind::kExit);
  EXPECT_EQ(p.command.exit_code, 0);
  EXPECT_EQ(p.out, "zhttpd " + std::string(kVersion) + "\n");
  EXPECT_EQ(p.err, "");
  EXPECT_EQ(kVersion, "0.3.0");
}

// Each bad command line prints one line naming the option and exits with 2.
struct BadCase {
  std::vector<std::string> args;
  std::string expected;  // a part of the message
};

void expect_bad(const BadCase& bad) {
  Config sentinel;
  sentinel.workers = 99;
  const Parsed p = parse(bad.args, sentinel);
  std::string joined;
  for (const std::string& a : bad.args) joined += a + " ";
  EXPECT_EQ(p.command.kind, Command::Kind::kExit) << joined;
  EXPECT_EQ(p.command.exit_code, 2) << joined;
  EXPECT_EQ(p.out, "") << joined;
  EXPECT_EQ(p.err.rfind("zhttpd: ", 0), 0u) << joined << ": " << p.err;
  ASSERT_FALSE(p.err.empty()) << joined;
  EXPECT_EQ(p.err.back(), '\n') << joined;
  EXPECT_EQ(p.err.find('\n'), p.err.size() - 1) << joined << ": " << p.err;
  EXPECT_NE(p.err.find(bad.expected), std::string::npos) << joined << ": " << p.err;
  EXPECT_EQ(p.config.workers, 99u) << "an error leaves the config alone: " << joined;
}

TEST(CommandLine, BadValuesPrintOneLineNamingTheOption) {
  const BadCase cases[] = {
      {{"--bogus"}, "zhttpd: --bogus: unknown option"},
      {{"--bogus=3"}, "zhttpd: --bogus: unknown option"},
      {{"stray"}, "zhttpd: unexpected argument: stray"},
      {{"--", "--root"}, "zhttpd: unexpected argument: --root"},
      {{"--listen", "127.0.0.1:1", "127.0.0.1:2"}, "zhttpd: unexpected argument: 127.0.0.1:2"},
      {{"-x"}, "zhttpd: -x: unknown option"},
      {{"--root"}, "zhttpd: --root: missing value"},
      {{"--workers", "-1"}, "zhttpd: --workers: value -1 is not a number or \"auto\""},
      {{"--workers", "many"}, "zhttpd: --workers: value many is not a number or \"auto\""},
      {{"--workers", "0x"}, "zhttpd: --workers: value 0x is not a number or \"auto\""},
      {{"--workers", "0"}, "zhttpd: --workers: value 0 is out of range 1-256"},
      {{"--workers", "257"}, "zhttpd: --workers: value 257 is out of range 1-256"},
      {{"--workers"}, "zhttpd: --workers: missing value"},
      {{"--workers="}, "zhttpd: --workers: missing value"},
      {{"--listen", "nohost"}, "zhttpd: --listen: value nohost is not HOST:PORT"},
      {{"--listen", "1.2.3.4:70000"}, "zhttpd: --listen: port 70000 is out of range 1-65535"},
      {{"--listen", "1.2.3.4:0"}, "zhttpd: --listen: port 0 is out of range"},
      {{"--listen", "1.2.3.4:http"}, "zhttpd: --listen: value 1.2.3.4:http has no port"},
      {{"--listen", "localhost:80"}, "zhttpd: --listen: not an IPv4 address: localhost"},
      {{"--listen", "::1:80"}, "zhttpd: --listen: an IPv6 address needs brackets"},
      {{"--listen", "[::g]:80"}, "zhttpd: --listen: not an IPv6 address: [::g]"},
      {{"--listen", ":80"}, "zhttpd: --listen: value :80 has no host"},
      {{"--root", "/nonexistent"}, "zhttpd: --root: directory does not exist: /nonexistent"},
      {{"--root", "/etc/passwd"}, "zhttpd: --root: not a directory: /etc/passwd"},
      {{"--log-level", "loud"}, "zhttpd: --log-level: value loud is not one of debug, info"},
      {{"-s", "restart"}, "zhttpd: --signal: value restart is not one of reload, quit, stop"},
      {{"-t", "-s", "reload"}, "zhttpd: --signal: cannot be combined with --test-config"},
      {{"--max-headers", "101"}, "zhttpd: --max-headers: value 101 is out of range 1-100"},
      {{"--max-body-bytes", "-1"}, "zhttpd: --max-body-bytes: value -1 is not a whole number"},
      {{"--max-body-bytes", "18446744073709551616"}, "--max-body-bytes: value 1844"},
      {{"--max-connections", "0x10"}, "zhttpd: --max-connections: value 0x10 is not a whole"},
      {{"--header-timeout", "0"}, "zhttpd: --header-timeout: value 0 is not above 0 seconds"},
      {{"--body-timeout", "soon"}, "zhttpd: --body-timeout: value soon is not a number"},
      {{"--handler-timeout", "0"}, "zhttpd: --handler-timeout: value 0 is not above 0"},
      {{"--max-discard-bytes", "lots"}, "--max-discard-bytes: value lots is not a whole"},
      {{"--write-timeout", "nan"}, "zhttpd: --write-timeout: value nan is not a number"},
      {{"--drain-timeout", "-5"}, "zhttpd: --drain-timeout: value -5 is not above 0"},
      {{"--index", ""}, "zhttpd: --index: value must not be empty"},
      {{"--shm-name", "a/b"}, "zhttpd: --shm-name: value a/b is not a shared memory name"},
      {{"--config", "/nonexistent/zhttpd.toml"},
       "zhttpd: --config: cannot read /nonexistent/zhttpd.toml: No such file or directory"},
      {{"--config", "/tmp"}, "zhttpd: --config: cannot read /tmp: is a directory"},
      {{"--root", "a\nb"}, "--root: directory does not exist: a?b"},
      {{"--cache-size", "64x"}, "zhttpd: --cache-size: value 64x is not a size"},
      {{"--cache-size", "-1"}, "zhttpd: --cache-size: value -1 is not a size"},
      {{"--cache-size", "m"}, "zhttpd: --cache-size: value m is not a size"},
      {{"--cache-size", "1.5m"}, "zhttpd: --cache-size: value 1.5m is not a size"},
      {{"--cache-size", "2000g"}, "zhttpd: --cache-size: value 2000g is out of range 0-1024g"},
      {{"--cache-size", "99999999999999999999"}, "zhttpd: --cache-size: value 9999"},
      {{"--cache-size", "17179869184g"}, "zhttpd: --cache-size: value 17179869184g is out of"},
      {{"--cache-size", "100k"},
       "zhttpd: --cache-size: value 100k is below the 298k a cache of --cache-max-entry 16k "
       "needs (0 turns the cache off)"},
      {{"--cache-size", "16m", "--cache-max-entry", "1m"}, "--cache-size: value 16m is below the "},
      {{"--cache-max-entry", "512"}, "zhttpd: --cache-max-entry: value 512 is out of range 1k-1m"},
      {{"--cache-max-entry", "2m"}, "zhttpd: --cache-max-entry: value 2m is out of range 1k-1m"},
      {{"--cache-lock-timeout", "0"},
       "zhttpd: --cache-lock-timeout: value 0 is out of range 1-600000 ms"},
      {{"--cache-lock-timeout", "601s"}, "--cache-lock-timeout: value 601s is out of range"},
      {{"--cache-lock-timeout", "soon"},
       "zhttpd: --cache-lock-timeout: value soon is not a number of milliseconds"},
      {{"--cache-lock-timeout", "1.5s"}, "--cache-lock-timeout: value 1.5s is not a number"},
      {{"--cache-max-stale", "-1"}, "zhttpd: --cache-max-stale: value -1 is not a whole number"},
      {{"--cache-purge-allow", "10.0.0.0/33"}, "zhttpd: --cache-purge-allow: "},
      {{"--cache-purge-allow", "everyone"}, "zhttpd: --cache-purge-allow: "},
  };
  for (const BadCase& bad : cases) expect_bad(bad);
}

TEST(CommandLine, BadSiteOptionsNameTheOption) {
  const BadCase cases[] = {
      {{"--cache-control", "no-cache"}, "zhttpd: --cache-control: value no-cache is not GLOB=..."},
      {{"--cache-control", "html=no-cache"},
       "zhttpd: --cache-control: path pattern html does not start with / or *"},
      {{"--cache-control", "*="}, "zhttpd: --cache-control: the field value is empty"},
      {{"--add-header", "*=nosniff"}, "zhttpd: --add-header: value *=nosniff is not GLOB=Name"},
      {{"--add-header", "*=X Y: z"}, "zhttpd: --add-header: \"X Y\" is not a header field name"},
      {{"--add-header", "*=X-A: a\x01z"}, "zhttpd: --add-header: field value a?z has a control"},
      {{"--add-header", "*=Content-Length: 1"}, "--add-header: field Content-Length is the server"},
      {{"--precompressed", "br,deflate"},
       "zhttpd: --precompressed: value br,deflate is not off or a comma-separated list of br, "
       "zstd, gzip"},
      {{"--error-page", "404"}, "zhttpd: --error-page: value 404 is not CODE=/PATH"},
      {{"--error-page", "502=/502.html"}, "zhttpd: --error-page: status 502 is not one the file"},
      {{"--error-page", "404=404.html"},
       "zhttpd: --error-page: value 404.html is not a path (it starts with /)"},
      {{"--fallback", "index.html"},
       "zhttpd: --fallback: value index.html is not a path (it starts with /)"},
      {{"--fallback", "/app/"}, "zhttpd: --fallback: value /app/ names a directory, not a file"},
      {{"--precompressed", "gzip,gzip"}, "zhttpd: --precompressed: value gzip,gzip is not"},
      {{"--precompressed", ""}, "zhttpd: --precompressed: value  is not"},
  };
  for (const BadCase& bad : cases) expect_bad(bad);
}

TEST(CommandLine, BadVirtualHostsAndFormatsNameTheOption) {
  TempDir a;
  const BadCase cases[] = {
      {{"--vhost", a.path()}, "zhttpd: --vhost: value " + a.path() + " is not NAME=DIR"},
      {{"--vhost", "a_b.test=" + a.path()}, "zhttpd: --vhost: \"a_b.test\" is not a host name"},
      {{"--vhost", "a.test="}, "zhttpd: --vhost: value a.test= names no directory"},
      {{"--vhost", "a.test=/nonexistent"},
       "zhttpd: --vhost: directory does not exist: /nonexistent"},
      {{"--vhost", "a.test=/etc/passwd"}, "zhttpd: --vhost: not a directory: /etc/passwd"},
      {{"--vhost", "a.test=" + a.path(), "--vhost", "A.TEST=" + a.path()},
       "zhttpd: --vhost: a.test is given twice"},
      {{"--vhost"}, "zhttpd: --vhost: missing value"},
      {{"--access-log-format", "common"},
       "zhttpd: --access-log-format: value common is not one of combined, vhost_combined, "
       "extended"},
  };
  for (const BadCase& bad : cases) expect_bad(bad);
}

TEST(CommandLine, MalformedConfigFile) {
  TempFile garbage("this is not a config file\n");
  expect_bad({{"--config", garbage.path()},
              "zhttpd: --config: unknown option this is not a config file in " + garbage.path()});
  TempFile unknown("workers = 2\nworkerz = 3\n");
  expect_bad(
      {{"--config", unknown.path()}, "--config: unknown option workerz in " + unknown.path()});
  TempFile section("[server]\nroot = \"/srv\"\n");
  expect_bad(
      {{"--config", section.path()}, "--config: unknown section [server] in " + section.path()});
  TempFile bad_value("workers = 0x\n");
  expect_bad(
      {{"--config", bad_value.path()},
       "zhttpd: --workers: value 0x is not a number or \"auto\" (in " + bad_value.path() + ")"});
  TempFile bad_root("root = \"/nonexistent\"\n");
  expect_bad({{"--config", bad_root.path()}, "--root: directory does not exist: /nonexistent"});
  TempFile not_configurable("signal = \"reload\"\n");
  expect_bad(
      {{"--config", not_configurable.path()}, "--config: signal cannot be set in a config file"});
  TempFile bad_cache("cache-size = \"lots\"\n");
  expect_bad({{"--config", bad_cache.path()},
              "zhttpd: --cache-size: value lots is not a size (bytes, or with a k, m or g suffix) "
              "(in " +
                  bad_cache.path() + ")"});
  TempFile bad_flag("daemon = maybe\n");
  expect_bad({{"--config", bad_flag.path()}, "--daemon"});
}

// A directory cannot be read as a file, by root either.
TEST(CommandLine, UnreadableConfigFile) {
  expect_bad({{"--config", "/tmp"}, "--config: cannot read /tmp"});
}

}  // namespace
}  // namespace zhttp::cli
