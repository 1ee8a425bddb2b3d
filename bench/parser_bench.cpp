// Parser speed: zhttpd's parser against Debian's libhttp-parser on the same bytes, in the same
// binary. libhttp-parser's callbacks only record spans into a stack array, the fair equivalent
// of what parse_request produces. Ends with one line per case for scripts:
//   parser <case> zhttp_ns=<x> http_parser_ns=<y> ratio=<y/x>
#include <benchmark/benchmark.h>
#include <http_parser.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "zhttp/parser.hpp"

namespace {

std::string minimal_request() {
  return "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n";
}

std::string medium_request() {
  return "POST /api/v2/orders?customer=1842&expand=items HTTP/1.1\r\n"
         "Host: api.shop.example.com\r\n"
         "User-Agent: curl/8.5.0\r\n"
         "Accept: application/json\r\n"
         "Content-Type: application/json; charset=utf-8\r\n"
         "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxODQyIiwiaWF0Ijox"
         "NzAwMDAwMDAwfQ.c2lnbmF0dXJlLXBsYWNlaG9sZGVyLXZhbHVl\r\n"
         "X-Request-Id: 6f1c2b7a-3d4e-4f50-8a9b-0c1d2e3f4a5b\r\n"
         "Accept-Encoding: gzip, deflate\r\n"
         "Content-Length: 64\r\n"
         "\r\n";
}

std::string browser_request() {
  return "GET /assets/css/main.8f3c2a1b.css HTTP/1.1\r\n"
         "Host: www.example.com\r\n"
         "Connection: keep-alive\r\n"
         "sec-ch-ua: \"Chromium\";v=\"120\", \"Google Chrome\";v=\"120\", "
         "\"Not?A_Brand\";v=\"99\"\r\n"
         "sec-ch-ua-mobile: ?0\r\n"
         "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/120.0.0.0 Safari/537.36\r\n"
         "sec-ch-ua-platform: \"Linux\"\r\n"
         "Accept: text/css,*/*;q=0.1\r\n"
         "Sec-Fetch-Site: same-origin\r\n"
         "Sec-Fetch-Mode: no-cors\r\n"
         "Sec-Fetch-Dest: style\r\n"
         "Referer: https://www.example.com/products/category/shoes?sort=price&page=2\r\n"
         "Accept-Encoding: gzip, deflate, br\r\n"
         "Accept-Language: en-US,en;q=0.9,de;q=0.8\r\n"
         "Cookie: _ga=GA1.2.1234567890.1700000000; _gid=GA1.2.987654321.1700000000; "
         "session_id=3f2a9c8e7d6b5a4f3e2d1c0b9a8f7e6d; cart=eyJpdGVtcyI6WzEsMiwzXX0; "
         "consent=analytics%3Dtrue%26ads%3Dfalse; theme=dark; lang=en-US; "
         "csrftoken=Zk3Jd8sLq0Vb2Xw9Ym4Nc7Pt1Rs6Uh5G\r\n"
         "\r\n";
}

std::string headers50_request() {
  std::string s = "GET /api/v1/items?id=42 HTTP/1.1\r\nHost: api.example.com\r\n";
  for (int i = 1; i < 50; ++i) {
    char line[64];
    std::snprintf(line, sizeof line, "X-Custom-Header-%02d: value-%02d-abcdefghij\r\n", i, i);
    s += line;
  }
  return s + "\r\n";
}

struct Case {
  const char* name;
  std::string bytes;
};

const std::array<Case, 4>& cases() {
  static const std::array<Case, 4> all = {{
      {"minimal", minimal_request()},
      {"medium", medium_request()},
      {"browser", browser_request()},
      {"headers50", headers50_request()},
  }};
  return all;
}

// --- zhttpd -----------------------------------------------------------------------------------

zhttp::ParseResult parse_zhttp(const std::string& in, zhttp::Request& req,
                               std::array<zhttp::Header, 100>& headers) {
  return zhttp::parse_request(in, {}, req, headers);
}

void BM_zhttp(benchmark::State& state, const Case* c) {
  std::array<zhttp::Header, 100> headers;
  zhttp::Request req;
  for (auto _ : state) {
    zhttp::ParseResult r = parse_zhttp(c->bytes, req, headers);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(req);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * c->bytes.size()));
}

// --- libhttp-parser -----------------------------------------------------------------------------

struct Spans {
  const char* base = nullptr;
  int count = 0;
  std::array<std::pair<uint32_t, uint32_t>, 128> spans;
};

int record(http_parser* p, const char* at, size_t len) {
  Spans* s = static_cast<Spans*>(p->data);
  if (s->count < static_cast<int>(s->spans.size())) {
    s->spans[static_cast<size_t>(s->count++)] = {static_cast<uint32_t>(at - s->base),
                                                 static_cast<uint32_t>(len)};
  }
  return 0;
}
int headers_complete(http_parser*) {
  return 0;
}

http_parser_settings make_settings() {
  http_parser_settings s{};
  s.on_url = record;
  s.on_header_field = record;
  s.on_header_value = record;
  s.on_headers_complete = headers_complete;
  return s;
}

size_t parse_http_parser(const std::string& in, const http_parser_settings& settings, Spans& spans,
                         http_parser& parser) {
  http_parser_init(&parser, HTTP_REQUEST);
  spans.base = in.data();
  spans.count = 0;
  parser.data = &spans;
  return http_parser_execute(&parser, &settings, in.data(), in.size());
}

void BM_http_parser(benchmark::State& state, const Case* c) {
  const http_parser_settings settings = make_settings();
  Spans spans;
  http_parser parser;
  for (auto _ : state) {
    size_t n = parse_http_parser(c->bytes, settings, spans, parser);
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(spans);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * c->bytes.size()));
}

// Both parsers must accept every case completely before any timing means anything.
void verify_cases() {
  const http_parser_settings settings = make_settings();
  for (const Case& c : cases()) {
    std::array<zhttp::Header, 100> headers;
    zhttp::Request req;
    zhttp::ParseResult r = parse_zhttp(c.bytes, req, headers);
    Spans spans;
    http_parser parser;
    size_t n = parse_http_parser(c.bytes, settings, spans, parser);
    bool ok = r.status == zhttp::ParseStatus::kComplete && r.consumed == c.bytes.size() &&
              n == c.bytes.size() && HTTP_PARSER_ERRNO(&parser) == HPE_OK &&
              spans.count == 1 + 2 * static_cast<int>(req.header_count);
    if (!ok) {
      std::fprintf(stderr, "case %s: parsers disagree or fail (zhttp %d/%u, http_parser %zu/%d)\n",
                   c.name, static_cast<int>(r.status), r.consumed, n, spans.count);
      std::exit(1);
    }
  }
}

// Remembers each run's time per iteration so the summary can pair the two parsers.
// No colours: the summary lines after the table must start with "parser" for scripts.
class RecordingReporter : public benchmark::ConsoleReporter {
 public:
  RecordingReporter() : ConsoleReporter(OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.run_type == Run::RT_Iteration && run.iterations > 0) {
        ns_[run.benchmark_name()] = run.GetAdjustedRealTime();  // default unit: ns
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  double ns(const std::string& name) const {
    auto it = ns_.find(name);
    return it == ns_.end() ? 0 : it->second;
  }

 private:
  std::map<std::string, double> ns_;
};

}  // namespace

int main(int argc, char** argv) {
  verify_cases();
  for (const Case& c : cases()) {
    benchmark::RegisterBenchmark((std::string("zhttp/") + c.name).c_str(), BM_zhttp, &c);
    benchmark::RegisterBenchmark((std::string("http_parser/") + c.name).c_str(), BM_http_parser,
                                 &c);
  }
  benchmark::Initialize(&argc, argv);
  RecordingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  for (const Case& c : cases()) {
    double z = reporter.ns(std::string("zhttp/") + c.name);
    double h = reporter.ns(std::string("http_parser/") + c.name);
    if (z <= 0 || h <= 0) continue;  // filtered out
    std::printf("parser %s zhttp_ns=%.1f http_parser_ns=%.1f ratio=%.2f\n", c.name, z, h, h / z);
  }
  return 0;
}
