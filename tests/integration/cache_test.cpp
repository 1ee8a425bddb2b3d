// The shared response cache's acceptance (issue 11), in front of build/examples/compute with 4
// workers: a cold key asked by 200 clients at once is computed once, then thousands of hits
// compute nothing and carry Age and Cache-Status; entries stored by one worker are hits in the
// others; PURGE of one URL or of everything, and refused from an address not allowed; an expired
// entry is computed again; If-None-Match of the stored ETag gets 304; HEAD is answered from the
// GET entry. With --cache-size 0 every request reaches the handler.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "cache_status.hpp"
#include "compute_server.hpp"
#include "http_load.hpp"
#include "server_process.hpp"

namespace zhttp::test {
namespace {

class SharedCache : public ::testing::Test {
 protected:
  void start(std::vector<std::string> extra = {}, std::string size = "64m") {
    extra.insert(extra.begin(), {"--cache-size", size});
    ASSERT_NO_FATAL_FAILURE(server_.start(compute_options(server_, 4, extra)));
  }
  uint16_t port() const { return server_.port(); }
  uint64_t computations() { return server_.stat_total("computations"); }
  // Requests served so far by each worker, by its index.
  std::map<uint64_t, uint64_t> requests_by_worker() {
    std::map<uint64_t, uint64_t> out;
    for (const auto& w : server_.stats_json().value("workers", nlohmann::json::array())) {
      out[w.value("index", uint64_t{0})] = w.value("requests", uint64_t{0});
    }
    return out;
  }

  ServerProcess server_{"zhttp-cache"};
};

// The same body, else both first lines and CRCs (not kilobytes of filler).
::testing::AssertionResult same_body(const HttpResponse& a, const HttpResponse& b) {
  if (a.body == b.body) return ::testing::AssertionSuccess();
  auto brief = [](const HttpResponse& r) {
    return "\"" + r.body.substr(0, r.body.find('\n')) + " ... crc=" + compute_crc(r.body) + "\"";
  };
  return ::testing::AssertionFailure() << brief(a) << " vs " << brief(b);
}

LoadRequest purge(const std::string& target) {
  return http_request(target, "", "PURGE");
}

TEST_F(SharedCache, WithCacheSize0EveryRequestIsComputedAndNothingCarriesCacheStatus) {
  ASSERT_NO_FATAL_FAILURE(start({}, "0"));
  const std::string target = compute_target("off", 0, 30, 500);
  std::vector<HttpResponse> rs = fetch_at_once(port(), std::vector(50, http_request(target)));
  for (const HttpResponse& r : rs) {
    ASSERT_EQ(r.status, 200) << r.head;
    EXPECT_EQ(compute_body_error(r.body, "off", 500), "");
    EXPECT_FALSE(r.field("Cache-Status").has_value()) << r.head;
    EXPECT_FALSE(r.field("Age").has_value()) << r.head;
  }
  EXPECT_EQ(computations(), 50u);
}

TEST_F(SharedCache, AColdKeyAskedBy200ClientsAtOnceIsComputedOnceThen5000HitsComputeNothing) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string target = compute_target("cold", 100, 30, 3000);
  std::vector<HttpResponse> rs = fetch_at_once(port(), std::vector(200, http_request(target)));
  ASSERT_EQ(rs[0].status, 200) << rs[0].head;
  ASSERT_EQ(compute_body_error(rs[0].body, "cold", 3000), "");
  for (size_t i = 0; i < rs.size(); ++i) {
    ASSERT_EQ(rs[i].status, 200) << i << ": " << rs[i].head;
    ASSERT_TRUE(same_body(rs[i], rs[0])) << i << ": one computation for all";
  }
  EXPECT_EQ(computations(), 1u);

  constexpr int kConnections = 50;
  constexpr int kEach = 100;
  std::vector<int> left(kConnections, kEach);
  uint64_t not_ok = 0, not_hit = 0, no_age = 0;
  std::string example;
  LoadReport report = run_load(
      port(), kConnections,
      [&](size_t c, LoadRequest* r) {
        if (left[c] == 0) return false;
        --left[c];
        *r = http_request(target);
        return true;
      },
      [&](size_t, const LoadRequest&, const HttpResponse& r, double, int) {
        bool ok = r.status == 200 && same_body(r, rs[0]);
        not_ok += ok ? 0 : 1;
        not_hit += fresh_hit(r) ? 0 : 1;
        no_age += r.field("Age").has_value() ? 0 : 1;
        if ((!ok || !fresh_hit(r)) && example.empty()) example = r.head;
      },
      60);
  EXPECT_EQ(report.responses, uint64_t{kConnections * kEach});
  EXPECT_EQ(report.cuts + report.malformed + report.unfinished, 0u);
  EXPECT_EQ(not_ok, 0u) << example;
  EXPECT_EQ(not_hit, 0u) << example;
  EXPECT_EQ(no_age, 0u);
  EXPECT_EQ(computations(), 1u);
}

TEST_F(SharedCache, AnEntryStoredByOneWorkerIsAHitInTheOthers) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string target = compute_target("shared", 0, 30, 2000);
  std::map<uint64_t, uint64_t> before = requests_by_worker();
  HttpResponse first = fetch(port(), http_request(target));
  ASSERT_EQ(first.status, 200) << first.head;
  EXPECT_TRUE(stored_miss(first)) << first.head;
  std::map<uint64_t, uint64_t> stored = requests_by_worker();
  // Connections at once, round after round, until a worker other than the one that stored the
  // entry has served some (which worker accepts a connection is the kernel's choice).
  size_t others = 0;
  std::map<uint64_t, uint64_t> now;
  for (int round = 0; round < 20 && others == 0; ++round) {
    for (const HttpResponse& r : fetch_at_once(port(), std::vector(40, http_request(target)))) {
      ASSERT_EQ(r.status, 200) << r.head;
      ASSERT_TRUE(fresh_hit(r)) << r.head;
      ASSERT_TRUE(same_body(r, first));
    }
    now = requests_by_worker();
    others = 0;
    for (const auto& [index, requests] : now) {
      bool storer = stored[index] > before[index];
      others += !storer && requests > stored[index] ? 1 : 0;
    }
  }
  std::string spread;
  for (const auto& [index, requests] : now) {
    spread += " " + std::to_string(index) + ":" + std::to_string(requests - before[index]);
  }
  std::printf("requests by worker:%s\n", spread.c_str());
  EXPECT_GE(others, 1u) << "no other worker served the entry:" << spread;
  EXPECT_EQ(computations(), 1u);
}

TEST_F(SharedCache, PurgeOfOneUrlFromAnAllowedAddressThenAMissAndPurgeOfEverything) {
  ASSERT_NO_FATAL_FAILURE(start({"--cache-purge-allow", "127.0.0.0/8"}));
  const std::string a = compute_target("pa", 0, 30, 500);
  const std::string b = compute_target("pb", 0, 30, 500);
  std::vector<HttpResponse> rs = fetch_in_turn(
      port(), {http_request(a), http_request(a), http_request(b), purge(a), http_request(a),
               purge(a + "&x=1"), http_request(b), purge("/*"), http_request(b), http_request(a)});
  EXPECT_TRUE(stored_miss(rs[0])) << rs[0].head;
  EXPECT_TRUE(fresh_hit(rs[1])) << rs[1].head;
  EXPECT_TRUE(stored_miss(rs[2])) << rs[2].head;
  EXPECT_EQ(rs[3].status, 200) << "PURGE of a stored URL: " << rs[3].head;
  EXPECT_TRUE(stored_miss(rs[4])) << "purged, so computed again: " << rs[4].head;
  EXPECT_EQ(rs[5].status, 404) << "PURGE of a URL never stored: " << rs[5].head;
  EXPECT_TRUE(fresh_hit(rs[6])) << "another URL stays: " << rs[6].head;
  EXPECT_EQ(rs[7].status, 200) << "PURGE /*: " << rs[7].head;
  EXPECT_TRUE(stored_miss(rs[8])) << rs[8].head;
  EXPECT_TRUE(stored_miss(rs[9])) << rs[9].head;
  for (size_t i : {0, 1, 2, 4, 6, 8, 9}) {
    EXPECT_EQ(compute_body_error(rs[i].body, i == 2 || i == 6 || i == 8 ? "pb" : "pa", 500), "");
  }
  EXPECT_EQ(computations(), 5u);
  nlohmann::json cache = server_.stats_json().value("cache", nlohmann::json::object());
  EXPECT_GE(cache.value("purges", uint64_t{0}), 2u) << cache.dump();
}

TEST_F(SharedCache, PurgeFromAnAddressNotAllowedIsRefusedAndRemovesNothing) {
  ASSERT_NO_FATAL_FAILURE(start({"--cache-purge-allow", "10.0.0.0/8"}));
  const std::string a = compute_target("keep", 0, 30, 500);
  std::vector<HttpResponse> rs =
      fetch_in_turn(port(), {http_request(a), purge(a), purge("/*"), http_request(a)});
  EXPECT_TRUE(stored_miss(rs[0])) << rs[0].head;
  for (int i : {1, 2}) {
    EXPECT_TRUE(rs[i].status == 403 || rs[i].status == 405) << rs[i].head;
  }
  EXPECT_TRUE(fresh_hit(rs[3])) << rs[3].head;
  EXPECT_TRUE(same_body(rs[3], rs[0]));
  EXPECT_EQ(computations(), 1u);
}

TEST_F(SharedCache, AnExpiredEntryIsComputedAgain) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string target = compute_target("short", 0, 1, 800);
  std::vector<HttpResponse> rs =
      fetch_in_turn(port(), {http_request(target), http_request(target)});
  EXPECT_TRUE(stored_miss(rs[0])) << rs[0].head;
  EXPECT_TRUE(fresh_hit(rs[1])) << rs[1].head;
  EXPECT_TRUE(same_body(rs[1], rs[0]));
  EXPECT_LE(std::stoi(rs[1].field("Age").value_or("99")), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));  // max-age=1 is long past
  HttpResponse after = fetch(port(), http_request(target));
  ASSERT_EQ(after.status, 200) << after.head;
  EXPECT_FALSE(fresh_hit(after)) << after.head;
  EXPECT_EQ(compute_body_error(after.body, "short", 800), "");
  // Computed again for that request, or (if it was served stale meanwhile) right after it.
  EXPECT_TRUE(eventually([&] { return computations() == 2; }, 5)) << computations();
  HttpResponse fresh = fetch(port(), http_request(target));
  EXPECT_TRUE(fresh_hit(fresh)) << fresh.head;
  EXPECT_EQ(computations(), 2u);
}

TEST_F(SharedCache, IfNoneMatchOfTheStoredETagGets304FromTheCache) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string target = compute_target("etag", 0, 30, 1500);
  HttpResponse first = fetch(port(), http_request(target));
  ASSERT_EQ(first.status, 200) << first.head;
  const std::string etag = first.field("ETag").value_or("");
  ASSERT_EQ(etag, "\"" + compute_crc(first.body) + "\"");
  std::vector<HttpResponse> rs = fetch_in_turn(
      port(), {http_request(target, "If-None-Match: " + etag + "\r\n"),
               http_request(target, "If-None-Match: \"00000000\"\r\n"),
               http_request(target, "If-None-Match: \"00000000\", " + etag + "\r\n")});
  for (int i : {0, 2}) {
    EXPECT_EQ(rs[i].status, 304) << rs[i].head;
    EXPECT_EQ(rs[i].body, "");
    EXPECT_EQ(rs[i].field("ETag"), etag);
    EXPECT_TRUE(cache_hit(rs[i])) << rs[i].head;
  }
  EXPECT_EQ(rs[1].status, 200) << rs[1].head;
  EXPECT_TRUE(fresh_hit(rs[1])) << rs[1].head;
  EXPECT_TRUE(same_body(rs[1], first));
  EXPECT_EQ(computations(), 1u);
}

TEST_F(SharedCache, HeadIsAnsweredFromTheGetEntry) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string target = compute_target("head", 0, 30, 5000);
  std::vector<HttpResponse> rs = fetch_in_turn(
      port(), {http_request(target), http_request(target, "", "HEAD"), http_request(target)});
  EXPECT_TRUE(stored_miss(rs[0])) << rs[0].head;
  EXPECT_EQ(rs[1].status, 200) << rs[1].head;
  EXPECT_TRUE(fresh_hit(rs[1])) << rs[1].head;
  EXPECT_EQ(rs[1].body, "");
  EXPECT_EQ(rs[1].field("Content-Length"), "5000");
  EXPECT_EQ(rs[1].field("ETag"), rs[0].field("ETag"));
  EXPECT_TRUE(fresh_hit(rs[2])) << rs[2].head;  // and the connection goes on after the HEAD
  EXPECT_TRUE(same_body(rs[2], rs[0]));
  EXPECT_EQ(computations(), 1u);
}

}  // namespace
}  // namespace zhttp::test
