#pragma once
// The shared response cache's stage (issue 11), in front of the application's handler: every
// worker looks requests up in the store of the shared segment (shm/cache_store.hpp), answers
// hits from a private copy of the entry (never from shared memory), and stores what the handler
// answers when the policy allows it (cache_policy.hpp). On a miss one request computes
// (it holds the key's lease in the store); concurrent requests for the key, in any worker, wait
// deferred and are answered from the new entry, served stale where the entry allows it, or run
// uncached once --cache-lock-timeout has passed. A response that could not be stored is
// remembered (an empty entry of status 0, a mark: Varnish's hit-for-miss), so that requests do
// not queue behind it; the mark is renewed while such answers come, and a cacheable answer
// replaces it. PURGE from --cache-purge-allow removes one URL ("PURGE /*": everything); a
// successful POST, PUT, PATCH or DELETE removes its URL's entry. Every answer it touches carries
// Cache-Status (RFC 9211), every hit Age. Nothing here allocates once its pools are warm.
#include <ev.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "handlers/cache/cache_entry.hpp"
#include "handlers/cache/cache_options.hpp"
#include "handlers/cache/cache_policy.hpp"
#include "handlers/common/client_address.hpp"
#include "shm/cache_store.hpp"
#include "zhttp/handler.hpp"

namespace zhttp::handlers::cache {

class CacheStage : public Handler {
 public:
  // `stats` is the worker's row of the cache counters; `worker` its stats slot (the owner the
  // store records, and whose leftovers the master resets when it dies).
  CacheStage(const CacheOptions& options, Handler& inner, shm::CacheStore store,
             shm::CacheStats* stats, uint32_t worker, struct ev_loop* loop);
  ~CacheStage() override;
  CacheStage(const CacheStage&) = delete;
  CacheStage& operator=(const CacheStage&) = delete;

  BodyMode body_mode(const RequestView& request) override { return inner_.body_mode(request); }
  void handle(const RequestView& request, Response& response) override;
  void on_body(Response& r, std::string_view bytes) override { inner_.on_body(r, bytes); }
  void on_body_end(Response& r) override { inner_.on_body_end(r); }
  void on_writable(Response& r) override { inner_.on_writable(r); }
  void on_abort(Response& response, AbortReason why) override;
  void on_worker_start(const WorkerContext& context) override { inner_.on_worker_start(context); }

  static constexpr double kWaitPollSeconds = 0.002;

 private:
  // One exchange the stage follows: a fill (stores the answer), a pass (only says so), an
  // invalidation, or a request waiting for another one's fill.
  struct Ticket final : ResponseTap {
    enum class Kind : uint8_t { kFill, kPass, kInvalidate, kWait };
    bool on_whole(Response& r, std::string_view fields, std::string_view body) override {
      return stage->on_whole(*this, r, fields, body);
    }
    void on_other(Response& r) override { stage->on_other(*this, r); }

    CacheStage* stage = nullptr;
    Kind kind = Kind::kPass;
    CacheOutcome pass_outcome = CacheOutcome::kBypass;  // kPass: what Cache-Status says
    std::string_view pass_detail;
    bool leased = false;     // holds the key's lease in the store
    bool had_stale = false;  // a stale entry was there (stale-if-error may serve it)
    bool revalidate = false;
    bool marked = false;  // came in on a young uncacheable mark: the mark is not written again
    uint64_t hash = 0;
    uint64_t deadline_us = 0;  // kWait: when the wait gives up
    ExchangeRef ref;           // kWait
    Ticket* prev = nullptr;    // kWait: the waiting list
    Ticket* next = nullptr;
  };

  void lookup(const RequestView& request, Response& response, bool revalidate);
  // Runs the inner handler for the exchange, followed by `t` (null: not followed).
  void run_inner(Response& response, Ticket* t);
  bool on_whole(Ticket& t, Response& r, std::string_view fields, std::string_view body);
  void on_other(Ticket& t, Response& r);
  // Stores the answer of a fill when the policy allows; what Cache-Status says about it.
  CacheOutcome store_answer(Ticket& t, Response& r, std::string_view fields, std::string_view body,
                            std::string_view* detail);
  // Answers from a copied-out entry (fresh or stale), with Age and Cache-Status; 304 or 412 when
  // the request's preconditions say so.
  void answer_hit(Response& r, const shm::CacheHit& hit, const StoredHead& head, uint64_t now_us);
  // The entry of the key (already in key_) if it can answer this request now (its Vary values
  // match): its state, its head parsed into *head.
  shm::CacheHit find(uint64_t hash, const RequestView& request, uint64_t now_us, StoredHead* head);
  void purge(const RequestView& request, Response& response);
  void invalidate(const Ticket& t, const Response& r);
  void add_status(Response& r, CacheOutcome outcome, int64_t ttl_s, std::string_view detail);

  void wait(Response& response, uint64_t hash, uint64_t now_us);
  void unlink_waiter(Ticket* t);
  static void on_wait_timer(struct ev_loop* loop, ev_timer* w, int events);
  void poll_waiters();
  // What a waiter does now: answered, handed to the handler, or still waiting (false).
  bool settle(Ticket* t, Response& r, uint64_t now_us);

  Ticket* take(Ticket::Kind kind, uint64_t hash);
  void give(Ticket* t);
  void release_lease(Ticket& t);
  uint64_t hash_of(const RequestView& request);

  CacheOptions options_;
  CachePolicyOptions policy_;
  Handler& inner_;
  shm::CacheStore store_;
  shm::CacheStats* stats_;
  shm::CacheStats scratch_;  // the store's per-lookup counts (only torn reads are kept)
  uint32_t worker_;
  struct ev_loop* loop_;
  common::CidrSet purge_allow_;
  uint64_t lock_timeout_us_;
  uint64_t remember_uncacheable_us_;

  // A mark with more than half its time left, which an uncacheable answer leaves as it is: a
  // URL's mark is written once per half period, not once per request. An older one is renewed.
  bool young_mark(const shm::CacheMeta& mark, uint64_t now_us) const {
    return mark.expires_us > now_us + remember_uncacheable_us_ / 2;
  }

  std::vector<std::unique_ptr<Ticket>> tickets_;  // every ticket made; grows, never shrinks
  std::vector<Ticket*> free_;
  Ticket* waiting_ = nullptr;  // head of the waiting list
  ev_timer wait_timer_{};

  std::vector<char> key_;  // the request's key, built once per request
  size_t key_len_ = 0;
  std::vector<char> copy_;   // an entry copied out of the store
  std::vector<char> build_;  // an entry's head being built
};

}  // namespace zhttp::handlers::cache
