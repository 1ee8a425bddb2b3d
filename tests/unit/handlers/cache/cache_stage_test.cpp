// The cache stage in front of a handler, over a private store, driven through real connections
// (no sockets): stored misses and hits, HEAD from the GET entry, what is never stored, Vary,
// 304 from the entry, invalidation by a POST, and coalescing: a request waiting for another
// one's fill, the lock timeout, an uncacheable answer that stops the queueing.
#include <ev.h>
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "handlers/cache/cache_stage.hpp"
#include "shm/rate_table.hpp"
#include "unit/support/exchange_handler.hpp"
#include "unit/support/shared_mapping.hpp"

namespace zhttp::handlers::cache {
namespace {

using conn::ConnectionHarness;
using conn::TestHandler;

// Each harness owns its handler: this one forwards to the stage the test shares.
struct StageRef : Handler {
  explicit StageRef(Handler* s) : stage(s) {}
  BodyMode body_mode(const RequestView& r) override { return stage->body_mode(r); }
  void handle(const RequestView& r, Response& response) override { stage->handle(r, response); }
  void on_abort(Response& r, AbortReason why) override { stage->on_abort(r, why); }
  Handler* stage;
};
using Client = ConnectionHarness<StageRef>;

struct Fixture {
  explicit Fixture(CacheOptions o = {}) : options(o) {
    stage = std::make_unique<CacheStage>(options, inner, store, &stats, 3, loop);
    // By default the handler answers at once, cacheable for a minute, and counts its runs.
    inner.on_handle = [this](const RequestView& r, Response& response) {
      ++runs;
      response.status(200)
          .header("Content-Type", "text/plain")
          .header("Cache-Control", cache_control)
          .header("ETag", "\"v1\"");
      response.body("body of " + std::string(r.target()) + " run " + std::to_string(runs));
    };
  }
  ~Fixture() {
    stage.reset();
    ev_loop_destroy(loop);
  }
  std::unique_ptr<Client> client() {
    return std::make_unique<Client>(conn::ConnectionConfig{}, stage.get());
  }
  // A new connection with one GET for `target` sent (its answer may still be owed).
  std::unique_ptr<Client> open(const std::string& target) {
    auto c = client();
    c->feed("GET " + target + " HTTP/1.1\r\nHost: example\r\n\r\n");
    return c;
  }
  // One request on a new connection; what was sent back.
  std::string get(const std::string& target, const std::string& fields = "") {
    auto c = client();
    c->feed("GET " + target + " HTTP/1.1\r\nHost: Example\r\n" + fields + "\r\n");
    return c->sent;
  }
  // The loop's timers for a while (the waiters' poll).
  void run_loop_for(double seconds) {
    for (double t = 0; t < seconds; t += 0.002) {
      ev_run(loop, EVRUN_NOWAIT);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  CacheOptions options;
  test::SharedMapping map{shm::CacheStore::bytes_for(shm::CacheGeometry::standard(), 4)};
  shm::CacheStore store{*shm::CacheStore::create(map.get(), map.size(), shm::SipKey{5, 6})};
  shm::CacheStats stats;
  struct ev_loop* loop = ev_loop_new(EVFLAG_AUTO);
  TestHandler inner;
  std::unique_ptr<CacheStage> stage;
  int runs = 0;
  std::string cache_control = "public, max-age=60";
};

std::string field(const std::string& response, const std::string& name) {
  size_t at = response.find("\r\n" + name + ": ");
  if (at == std::string::npos) return "";
  at += name.size() + 4;
  return response.substr(at, response.find("\r\n", at) - at);
}

std::string body(const std::string& response) {
  size_t at = response.find("\r\n\r\n");
  return at == std::string::npos ? "" : response.substr(at + 4);
}

// The sequence of the slot holding the key's entry (it grows with every write), 0 if none.
uint64_t sequence_of(const shm::CacheStore& store, uint64_t hash) {
  for (uint32_t c = 0; c < store.classes(); ++c) {
    for (uint32_t i = 0; i < store.class_info(c).slots; ++i) {
      shm::CacheSlotState st = store.slot_state(c, i);
      if (!st.empty && st.hash == hash) return st.sequence;
    }
  }
  return 0;
}

TEST(CacheStage, AMissIsStoredAndTheNextRequestIsAHitWithAge) {
  Fixture f;
  std::string first = f.get("/a?x=1");
  EXPECT_EQ(field(first, "Cache-Status"), "zhttpd; fwd=miss; stored") << first;
  EXPECT_EQ(body(first), "body of /a?x=1 run 1");
  std::string second = f.get("/a?x=1");
  EXPECT_EQ(f.runs, 1);
  EXPECT_EQ(body(second), "body of /a?x=1 run 1");
  EXPECT_EQ(field(second, "Age"), "0");
  EXPECT_EQ(field(second, "Cache-Status").rfind("zhttpd; hit; ttl=", 0), 0u) << second;
  EXPECT_EQ(field(second, "Content-Type"), "text/plain");
  EXPECT_EQ(field(second, "Content-Length"), std::to_string(body(first).size()));
  EXPECT_EQ(f.stats.hits, 1u);
  EXPECT_EQ(f.stats.stores, 1u);
  // Another query is another key; the Host is compared without case.
  f.get("/a?x=2");
  EXPECT_EQ(f.runs, 2);
  auto c = f.client();
  c->feed("GET /a?x=1 HTTP/1.1\r\nHost: EXAMPLE\r\n\r\n");
  EXPECT_EQ(f.runs, 2);
}

TEST(CacheStage, HeadIsAnsweredFromTheGetEntry) {
  Fixture f;
  std::string get = f.get("/h");
  auto c = f.client();
  c->feed("HEAD /h HTTP/1.1\r\nHost: example\r\n\r\n");
  EXPECT_EQ(f.runs, 1);
  EXPECT_EQ(field(c->sent, "Content-Length"), std::to_string(body(get).size()));
  EXPECT_EQ(body(c->sent), "");
  EXPECT_NE(field(c->sent, "Cache-Status").find("hit"), std::string::npos);
}

TEST(CacheStage, AnswersThatForbidItAreNotStored) {
  for (const char* cc : {"no-store", "private, max-age=60", "no-cache", "max-age=0", ""}) {
    SCOPED_TRACE(cc);
    Fixture f;
    f.cache_control = cc;
    std::string first = f.get("/n");
    EXPECT_EQ(field(first, "Cache-Status").rfind("zhttpd; fwd=miss; detail=", 0), 0u) << first;
    f.get("/n");
    EXPECT_EQ(f.runs, 2);
    EXPECT_EQ(f.stats.stores, 0u);
    EXPECT_EQ(f.stats.uncacheable, 2u);
  }
}

TEST(CacheStage, SetCookieIsNeverStoredAndCredentialsBypass) {
  Fixture f;
  f.inner.on_handle = [&f](const RequestView&, Response& r) {
    ++f.runs;
    r.status(200).header("Cache-Control", "max-age=60").header("Set-Cookie", "a=b");
    r.body("x");
  };
  f.get("/c");
  f.get("/c");
  EXPECT_EQ(f.runs, 2);
  Fixture g;
  std::string with_cookie = g.get("/d", "Cookie: a=b\r\n");
  EXPECT_EQ(field(with_cookie, "Cache-Status"), "zhttpd; fwd=bypass");
  g.get("/d", "Authorization: Basic eDp5\r\n");
  g.get("/d", "Cookie: a=b\r\n");
  EXPECT_EQ(g.runs, 3);
  EXPECT_EQ(g.stats.bypasses, 3u);
}

TEST(CacheStage, VaryKeepsVariantsApart) {
  Fixture f;
  f.inner.on_handle = [&f](const RequestView& r, Response& response) {
    ++f.runs;
    response.status(200).header("Cache-Control", "max-age=60").header("Vary", "Accept-Language");
    response.body("lang " + std::string(r.header("Accept-Language")));
  };
  EXPECT_EQ(body(f.get("/v", "Accept-Language: fr\r\n")), "lang fr");
  EXPECT_EQ(body(f.get("/v", "Accept-Language: fr\r\n")), "lang fr");
  EXPECT_EQ(f.runs, 1);
  EXPECT_EQ(body(f.get("/v", "Accept-Language: de\r\n")), "lang de");
  EXPECT_EQ(f.runs, 2);
}

TEST(CacheStage, ConditionalRequestsGet304FromTheEntry) {
  Fixture f;
  f.get("/e");
  std::string r = f.get("/e", "If-None-Match: \"v1\"\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 304", 0), 0u) << r;
  EXPECT_EQ(field(r, "ETag"), "\"v1\"");
  EXPECT_EQ(field(r, "Content-Type"), "");
  EXPECT_EQ(body(r), "");
  EXPECT_EQ(f.get("/e", "If-None-Match: \"v2\"\r\n").rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(f.runs, 1);
}

TEST(CacheStage, ASuccessfulPostRemovesTheEntry) {
  Fixture f;
  f.get("/p");
  auto c = f.client();
  c->feed("POST /p HTTP/1.1\r\nHost: example\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(f.runs, 2);
  f.get("/p");
  EXPECT_EQ(f.runs, 3);
}

TEST(CacheStage, ConcurrentMissesWaitForOneFill) {
  Fixture f;
  ExchangeRef pending;
  f.inner.on_handle = [&](const RequestView&, Response& r) {
    ++f.runs;
    pending = r.defer();
  };
  auto first = f.open("/slow");
  auto second = f.open("/slow");
  auto third = f.open("/slow");
  EXPECT_EQ(f.runs, 1);
  EXPECT_EQ(f.stats.coalesced_waits, 2u);
  f.run_loop_for(0.02);
  EXPECT_EQ(second->sent, "");  // still waiting: the lease is held
  Response* r = pending.response();
  ASSERT_NE(r, nullptr);
  r->status(200).header("Cache-Control", "max-age=60");
  r->body("computed once");
  first->flush();
  EXPECT_EQ(body(first->sent), "computed once");
  f.run_loop_for(0.02);
  second->flush();
  third->flush();
  EXPECT_EQ(body(second->sent), "computed once");
  EXPECT_NE(field(third->sent, "Cache-Status").find("hit"), std::string::npos) << third->sent;
  EXPECT_EQ(f.runs, 1);
}

TEST(CacheStage, AWaiterRunsUncachedAfterTheLockTimeout) {
  CacheOptions o;
  o.lock_timeout_ms = 30;
  Fixture f(o);
  int calls = 0;
  f.inner.on_handle = [&](const RequestView&, Response& r) {
    if (++calls == 1) {
      r.defer();  // never answers
      return;
    }
    r.status(200).header("Cache-Control", "max-age=60");
    r.body("second");
  };
  auto first = f.open("/stuck");
  auto second = f.open("/stuck");
  EXPECT_EQ(calls, 1);
  f.run_loop_for(0.1);
  second->flush();
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(body(second->sent), "second");
  EXPECT_EQ(field(second->sent, "Cache-Status"), "zhttpd; fwd=miss; detail=\"lock timeout\"");
  EXPECT_EQ(f.stats.lock_timeouts, 1u);
}

TEST(CacheStage, AnUncacheableAnswerStopsTheQueueing) {
  Fixture f;
  ExchangeRef pending;
  f.inner.on_handle = [&](const RequestView&, Response& r) {
    if (++f.runs == 1) {
      pending = r.defer();
      return;
    }
    r.status(200).header("Cache-Control", "no-store");
    r.body("fresh every time");
  };
  auto first = f.open("/u");
  auto second = f.open("/u");
  Response* r = pending.response();
  ASSERT_NE(r, nullptr);
  r->status(200).header("Cache-Control", "no-store");
  r->body("fresh every time");
  f.run_loop_for(0.02);
  second->flush();
  EXPECT_EQ(body(second->sent), "fresh every time");
  EXPECT_EQ(f.runs, 2);
  // Remembered: a third request runs at once, without a lease and without waiting, and the
  // mark is not written again for each such request.
  const uint64_t grants = f.stats.lease_grants;
  const uint64_t mark = sequence_of(f.store, f.store.hash("example\n/u"));
  ASSERT_NE(mark, 0u) << "no mark stored";
  std::string third = f.get("/u");
  EXPECT_EQ(body(third), "fresh every time");
  f.get("/u");
  EXPECT_EQ(f.runs, 4);
  EXPECT_EQ(f.stats.coalesced_waits, 1u);
  EXPECT_EQ(f.stats.lease_grants, grants);
  EXPECT_EQ(sequence_of(f.store, f.store.hash("example\n/u")), mark) << "the mark was rewritten";
}

TEST(CacheStage, AClientGoneWhileWaitingLeavesNothingBehind) {
  Fixture f;
  ExchangeRef pending;
  f.inner.on_handle = [&](const RequestView&, Response& r) {
    ++f.runs;
    pending = r.defer();
  };
  auto first = f.open("/g");
  { auto waiter = f.open("/g"); }  // closed while waiting: its exchange is aborted
  f.run_loop_for(0.01);
  first.reset();  // the filler's client goes too: its lease is released
  EXPECT_EQ(f.store.live_leases(shm::monotonic_us()), 0u);
}

// The tests below wait for the real clock (the store's): a second and a bit each.
void wait_past_a_second() {
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
}

// The mark lasts (Varnish's hit-for-miss): renewed by an uncacheable answer once half its time
// is over, so that requests for an uncacheable URL never queue behind one another again; and a
// cacheable answer replaces it at once. Shortened to 2 s here (120 s by default).
TEST(CacheStage, TheUncacheableMarkIsRenewedUntilAnAnswerCanBeStored) {
  CacheOptions o;
  o.remember_uncacheable_s = 2;
  Fixture f(o);
  bool cacheable = false;
  f.inner.on_handle = [&](const RequestView&, Response& r) {
    ++f.runs;
    r.status(200).header("Cache-Control", cacheable ? "max-age=60" : "no-store");
    r.body(cacheable ? "stored" : "fresh every time");
  };
  const uint64_t hash = f.store.hash("example\n/m");
  f.get("/m");
  const uint64_t mark = sequence_of(f.store, hash);
  ASSERT_NE(mark, 0u) << "no mark stored";
  const uint64_t grants = f.stats.lease_grants;
  f.get("/m");
  EXPECT_EQ(sequence_of(f.store, hash), mark) << "a young mark was rewritten";
  wait_past_a_second();  // less than half of its 2 s left: the next uncacheable answer renews it
  f.get("/m");
  const uint64_t renewed = sequence_of(f.store, hash);
  EXPECT_NE(renewed, mark) << "the mark was not renewed";
  EXPECT_NE(renewed, 0u);
  wait_past_a_second();  // past the first mark's 2 s: the renewed one still holds
  f.get("/m");
  EXPECT_EQ(f.stats.lease_grants, grants) << "a request queued behind the uncacheable URL";
  EXPECT_EQ(f.stats.coalesced_waits, 0u);
  cacheable = true;
  EXPECT_EQ(body(f.get("/m")), "stored");
  const int runs = f.runs;
  EXPECT_EQ(body(f.get("/m")), "stored");
  EXPECT_EQ(f.runs, runs) << "the cacheable answer did not replace the mark";
}

TEST(CacheStage, AgeGrowsWithTheTimeStoredAndCountsTheAnswersOwnAge) {
  Fixture f;
  f.inner.on_handle = [&f](const RequestView&, Response& r) {
    ++f.runs;
    r.status(200).header("Cache-Control", "max-age=60").header("Age", "5");
    r.body("aged");
  };
  std::string first = f.get("/age");
  EXPECT_EQ(field(first, "Age"), "5");  // the handler's own, passed on
  EXPECT_EQ(field(f.get("/age"), "Age"), "5");
  wait_past_a_second();
  std::string later = f.get("/age");
  const int age = std::stoi(field(later, "Age"));
  EXPECT_GE(age, 6) << later;
  EXPECT_EQ(later.find("Age: 5"), std::string::npos) << "the stored Age line is not replayed";
  // Freshness counts the Age it came with: 60 - 5 - the time stored (whole seconds, each side
  // rounded down, so 59 together unless the time stored is a whole number of seconds).
  const std::string status = field(later, "Cache-Status");
  ASSERT_EQ(status.rfind("zhttpd; hit; ttl=", 0), 0u) << later;
  const int ttl = std::stoi(status.substr(std::strlen("zhttpd; hit; ttl=")));
  EXPECT_GE(age + ttl, 59) << later;
  EXPECT_LE(age + ttl, 60) << later;
}

TEST(CacheStage, StaleWhileRevalidateAnswersOthersWhileOneRefreshes) {
  Fixture f;
  ExchangeRef refresh;
  f.inner.on_handle = [&](const RequestView&, Response& r) {
    if (++f.runs == 2) {
      refresh = r.defer();
      return;
    }
    r.status(200).header("Cache-Control", "max-age=1, stale-while-revalidate=30");
    r.body("version " + std::to_string(f.runs));
  };
  f.get("/swr");
  wait_past_a_second();
  auto refresher = f.open("/swr");
  EXPECT_EQ(f.runs, 2);
  std::string other = f.get("/swr");  // while the refresh is out: the stale entry, at once
  EXPECT_EQ(body(other), "version 1");
  EXPECT_EQ(field(other, "Cache-Status").rfind("zhttpd; hit; ttl=-", 0), 0u) << other;
  EXPECT_EQ(f.stats.stale_hits, 1u);
  Response* r = refresh.response();
  ASSERT_NE(r, nullptr);
  r->status(200).header("Cache-Control", "max-age=60");
  r->body("version 2");
  EXPECT_EQ(body(f.get("/swr")), "version 2");
  EXPECT_EQ(f.runs, 2);
}

TEST(CacheStage, StaleIfErrorAnswersInsteadOfAFailedRefreshAndMustRevalidateNever) {
  for (bool must_revalidate : {false, true}) {
    SCOPED_TRACE(must_revalidate ? "must-revalidate" : "stale-if-error");
    Fixture f;
    f.inner.on_handle = [&](const RequestView&, Response& r) {
      if (++f.runs == 1) {
        r.status(200).header("Cache-Control", must_revalidate
                                                  ? "max-age=1, stale-if-error=30, must-revalidate"
                                                  : "max-age=1, stale-if-error=30");
        r.body("good");
        return;
      }
      r.send(503, "text/plain", "upstream down");
    };
    f.get("/sie");
    wait_past_a_second();
    std::string refreshed = f.get("/sie");
    EXPECT_EQ(f.runs, 2);
    if (must_revalidate) {
      EXPECT_EQ(refreshed.rfind("HTTP/1.1 503", 0), 0u) << refreshed;
    } else {
      EXPECT_EQ(refreshed.rfind("HTTP/1.1 200", 0), 0u) << refreshed;
      EXPECT_EQ(body(refreshed), "good");
    }
  }
}

TEST(CacheStage, ANoCacheRequestGoesToTheHandlerAndStoresItsAnswer) {
  Fixture f;
  f.get("/nc");
  std::string forced = f.get("/nc", "Cache-Control: no-cache\r\n");
  EXPECT_EQ(f.runs, 2);
  EXPECT_EQ(field(forced, "Cache-Status"), "zhttpd; fwd=request; stored");
  EXPECT_EQ(body(f.get("/nc")), "body of /nc run 2");
  f.get("/nc", "Pragma: no-cache\r\n");
  EXPECT_EQ(f.runs, 3);
  std::string no_store = f.get("/nc", "Cache-Control: no-store\r\n");
  EXPECT_EQ(field(no_store, "Cache-Status"), "zhttpd; fwd=bypass");
  EXPECT_EQ(f.runs, 4);
}

TEST(CacheStage, TheHandlersOwnTtlAndAnswersTooBigToKeep) {
  Fixture f;
  f.inner.on_handle = [&f](const RequestView& r, Response& response) {
    ++f.runs;
    response.cache_for(60);
    response.status(200);
    response.body(std::string(r.path() == "/big" ? 20000 : 10, 'x'));
  };
  f.get("/ttl");
  EXPECT_NE(field(f.get("/ttl"), "Cache-Status").find("hit"), std::string::npos);
  std::string big = f.get("/big");
  EXPECT_EQ(field(big, "Cache-Status"), "zhttpd; fwd=miss; detail=\"too big\"") << big;
  f.get("/big");
  EXPECT_EQ(f.runs, 3);
}

TEST(CacheStage, FilesAndStreamsPassUncached) {
  Fixture f;
  f.inner.on_handle = [&f](const RequestView&, Response& r) {
    ++f.runs;
    r.status(200).header("Cache-Control", "max-age=60");
    r.stream(2);
    r.write("ok");
    r.end();
  };
  std::string streamed = f.get("/s");
  EXPECT_EQ(field(streamed, "Cache-Status"), "zhttpd; fwd=miss; detail=\"not whole\"");
  f.get("/s");
  EXPECT_EQ(f.runs, 2);
}

}  // namespace
}  // namespace zhttp::handlers::cache
