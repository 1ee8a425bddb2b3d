#include "handlers/cache/cache_stage.hpp"

#include <algorithm>
#include <ctime>

#include "handlers/common/conditional.hpp"
#include "shm/rate_table.hpp"
#include "zhttp/date_cache.hpp"

namespace zhttp::handlers::cache {
namespace {

constexpr uint64_t kUs = 1000000;
constexpr uint16_t kUncacheableMarker = 0;  // the status of a "do not wait for this" entry
constexpr size_t kMaxKeyBytes = 8192 + 256;
constexpr size_t kMaxVary = 8;

bool present(std::string_view field) {
  return field.data() != nullptr;
}

bool is_purge(const RequestView& request) {
  return request.method() == Method::kExtension && request.method_name() == "PURGE";
}

// Seconds from a microsecond span, rounded down (negative spans give negative seconds).
int64_t seconds(int64_t us) {
  return us >= 0 ? us / static_cast<int64_t>(kUs) : -((-us) / static_cast<int64_t>(kUs));
}

uint32_t parse_age(std::string_view v) {
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return 0;
    n = std::min<uint64_t>(n * 10 + static_cast<uint64_t>(c - '0'), UINT32_MAX);
  }
  return static_cast<uint32_t>(n);
}

}  // namespace

CacheStage::CacheStage(const CacheOptions& options, Handler& inner, shm::CacheStore store,
                       shm::CacheStats* stats, uint32_t worker, struct ev_loop* loop)
    : options_(options),
      inner_(inner),
      store_(store),
      stats_(stats),
      worker_(worker),
      loop_(loop),
      lock_timeout_us_(uint64_t{options.lock_timeout_ms} * 1000),
      remember_uncacheable_us_(uint64_t{options.remember_uncacheable_s} * kUs),
      key_(kMaxKeyBytes),
      copy_(store.max_entry()),
      build_(store.max_entry()) {
  policy_.allow_authorization = options.allow_authorization;
  policy_.allow_cookie = options.allow_cookie;
  policy_.max_stale_s = options.max_stale_s;
  for (const common::Cidr& c : options.purge_allow) purge_allow_.add(c);
  ev_timer_init(&wait_timer_, on_wait_timer, kWaitPollSeconds, kWaitPollSeconds);
  wait_timer_.data = this;
}

// The worker may destroy its loop first (when it stops, every waiter was aborted and the timer
// stopped with the last one): the loop is touched only while the timer runs.
CacheStage::~CacheStage() {
  if (ev_is_active(&wait_timer_)) ev_timer_stop(loop_, &wait_timer_);
}

void CacheStage::handle(const RequestView& request, Response& response) {
  if (is_purge(request) && !purge_allow_.empty()) {
    purge(request, response);
    return;
  }
  CacheRequest cr;
  cr.method = request.method();
  cr.has_authorization = present(request.header(HeaderId::kAuthorization));
  cr.has_cookie = present(request.header(HeaderId::kCookie));
  cr.cache_control = request.header(HeaderId::kCacheControl);
  cr.pragma = request.header(HeaderId::kPragma);
  switch (classify_request(cr, policy_)) {
    case RequestUse::kLookup:
      lookup(request, response, false);
      return;
    case RequestUse::kRevalidate:
      lookup(request, response, true);
      return;
    case RequestUse::kInvalidate: {
      uint64_t hash = hash_of(request);
      run_inner(response, hash != 0 ? take(Ticket::Kind::kInvalidate, hash) : nullptr);
      return;
    }
    case RequestUse::kBypass:
      ++stats_->bypasses;
      run_inner(response, take(Ticket::Kind::kPass, 0));
      return;
  }
}

uint64_t CacheStage::hash_of(const RequestView& request) {
  key_len_ = cache_key(request, key_);
  if (key_len_ == 0) return 0;
  uint64_t h = store_.hash({key_.data(), key_len_});
  return h != 0 ? h : 1;  // 0 means "no key" here
}

void CacheStage::lookup(const RequestView& request, Response& response, bool revalidate) {
  const uint64_t hash = hash_of(request);
  if (hash == 0) {  // a key too long to keep
    ++stats_->bypasses;
    run_inner(response, take(Ticket::Kind::kPass, 0));
    return;
  }
  const uint64_t now = shm::monotonic_us();
  StoredHead head;
  shm::CacheHit hit;
  if (!revalidate) {
    hit = find(hash, request, now, &head);
    ++stats_->lookups;
    if (hit.state == shm::CacheState::kFresh && hit.meta.status == kUncacheableMarker) {
      ++stats_->misses;
      Ticket* t = take(Ticket::Kind::kFill, hash);  // no lease: nobody waits for it
      t->marked = young_mark(hit.meta, now);
      run_inner(response, t);
      return;
    }
    if (hit.state == shm::CacheState::kFresh) {
      ++stats_->hits;
      answer_hit(response, hit, head, now);
      return;
    }
  }
  if (request.method() == Method::kHead) {  // a HEAD answer cannot fill the GET entry
    ++stats_->misses;
    Ticket* t = take(Ticket::Kind::kPass, hash);
    t->pass_outcome = CacheOutcome::kMiss;
    run_inner(response, t);
    return;
  }
  const bool stale = hit.state == shm::CacheState::kStale && hit.meta.status != kUncacheableMarker;
  const shm::LeaseResult lease =
      store_.try_lease(hash, worker_, now, now + lock_timeout_us_, stats_);
  switch (lease) {
    case shm::LeaseResult::kAcquired:
    case shm::LeaseResult::kNoRoom: {
      ++stats_->misses;
      Ticket* t = take(Ticket::Kind::kFill, hash);
      t->leased = lease == shm::LeaseResult::kAcquired;
      t->had_stale = stale;
      t->revalidate = revalidate;
      run_inner(response, t);
      return;
    }
    case shm::LeaseResult::kBusy:
      // Another request computes this key: a stale entry within stale-while-revalidate
      // answers now, anything else waits for the fill.
      if (stale &&
          now < hit.meta.expires_us + uint64_t{head.preamble.stale_while_revalidate_s} * kUs) {
        ++stats_->stale_hits;
        answer_hit(response, hit, head, now);
        return;
      }
      wait(response, hash, now);
      return;
  }
}

shm::CacheHit CacheStage::find(uint64_t hash, const RequestView& request, uint64_t now_us,
                               StoredHead* head) {
  // The store counts per lookup; the stage counts per request, and takes only its torn reads.
  const uint64_t torn = scratch_.torn_reads;
  shm::CacheHit hit = store_.lookup(hash, {key_.data(), key_len_}, now_us, copy_, &scratch_);
  stats_->torn_reads.add(scratch_.torn_reads - torn);
  if (hit.state != shm::CacheState::kMiss &&
      (!parse_entry_head(hit.head, head) || !vary_matches(head->vary, request))) {
    hit.state = shm::CacheState::kMiss;  // another variant: this request fills its own
  }
  return hit;
}

void CacheStage::run_inner(Response& response, Ticket* t) {
  response.tap(t);
  inner_.handle(response.request(), response);
}

// --- the answer's end -------------------------------------------------------------------------

bool CacheStage::on_whole(Ticket& t, Response& r, std::string_view fields, std::string_view body) {
  std::string_view detail;
  switch (t.kind) {
    case Ticket::Kind::kInvalidate:
      invalidate(t, r);
      break;
    case Ticket::Kind::kPass:
      add_status(r, t.pass_outcome, 0, t.pass_detail);
      break;
    case Ticket::Kind::kFill: {
      if (r.status_code() >= 500 && t.had_stale) {
        // stale-if-error: the refresh failed, the stale entry answers if it still may.
        const uint64_t now = shm::monotonic_us();
        key_len_ = cache_key(r.request(), key_);
        StoredHead head;
        shm::CacheHit hit = find(t.hash, r.request(), now, &head);
        if (hit.state == shm::CacheState::kStale &&
            now < hit.meta.expires_us + uint64_t{head.preamble.stale_if_error_s} * kUs) {
          release_lease(t);
          give(&t);
          ++stats_->stale_hits;
          answer_hit(r, hit, head, now);
          return true;
        }
      }
      CacheOutcome outcome = store_answer(t, r, fields, body, &detail);
      release_lease(t);
      add_status(r, outcome, 0, detail);
      break;
    }
    case Ticket::Kind::kWait:
      break;  // not reached: a waiter's tap is detached before it is answered
  }
  give(&t);
  return false;
}

void CacheStage::on_other(Ticket& t, Response& r) {
  if (t.kind == Ticket::Kind::kInvalidate) {
    invalidate(t, r);
  } else if (t.kind == Ticket::Kind::kFill) {
    ++stats_->uncacheable;
    release_lease(t);
    add_status(r, CacheOutcome::kMiss, 0, "not whole");
  } else if (t.kind == Ticket::Kind::kPass) {
    add_status(r, t.pass_outcome, 0, t.pass_detail);
  }
  give(&t);
}

CacheOutcome CacheStage::store_answer(Ticket& t, Response& r, std::string_view fields,
                                      std::string_view body, std::string_view* detail) {
  const RequestView& request = r.request();
  ResponseFields f = scan_fields(fields);
  CacheResponse cr;
  cr.status = r.status_code();
  cr.complete = !r.failed();
  cr.cache_control = f.cache_control;
  cr.vary = f.vary;
  cr.has_set_cookie = f.set_cookie;
  cr.has_authorization_request = present(request.header(HeaderId::kAuthorization));
  cr.handler_ttl_s = r.cache_for();
  StoreDecision d = decide_store(cr, policy_);
  const uint64_t now = shm::monotonic_us();
  const CacheOutcome stored = t.revalidate ? CacheOutcome::kRevalidated : CacheOutcome::kMissStored;
  size_t head_len = 0;
  if (d.store) {
    std::string_view names[kMaxVary];
    int vary = f.vary.empty() ? 0 : vary_fields(f.vary, names);
    EntryPreamble pre;
    pre.stale_while_revalidate_s = d.stale_while_revalidate_s;
    pre.stale_if_error_s = d.stale_if_error_s;
    pre.age_s = parse_age(f.age);
    if (vary >= 0) {
      head_len = build_entry_head(pre, {names, static_cast<size_t>(vary)}, request, fields, build_);
    }
    if (head_len == 0) d.reason = vary < 0 ? "vary" : "too big";
  }
  if (d.store && head_len > 0) {
    shm::CacheMeta meta;
    meta.status = cr.status;
    meta.stored_us = now;
    // An Age it already had counts against its freshness (RFC 9111 4.2.3).
    const uint64_t age_us = std::min<uint64_t>(parse_age(f.age), d.ttl_s) * kUs;
    meta.expires_us = now + uint64_t{d.ttl_s} * kUs - age_us;
    meta.stale_until_us =
        meta.expires_us + uint64_t{std::max(d.stale_while_revalidate_s, d.stale_if_error_s)} * kUs;
    key_len_ = cache_key(request, key_);
    shm::CacheStoreResult result =
        store_.store(t.hash, {key_.data(), key_len_}, meta, {build_.data(), head_len}, body,
                     worker_, now, stats_);
    if (result == shm::CacheStoreResult::kStored) return stored;
    d.reason = result == shm::CacheStoreResult::kTooBig ? "too big" : "busy";
  }
  ++stats_->uncacheable;
  *detail = d.reason;
  // What stands in the way in the answer itself (its fields, its size) is remembered, so that
  // requests for the key stop queueing behind one another; a status, a failure or a lost claim
  // may be different next time (nor does the mark replace a stale entry that stale-if-error may
  // still need).
  const bool about_the_answer =
      d.reason != "status" && d.reason != "incomplete" && d.reason != "busy";
  if (about_the_answer && !t.had_stale && !t.marked) {
    shm::CacheMeta meta;
    meta.status = kUncacheableMarker;
    meta.stored_us = now;
    meta.expires_us = meta.stale_until_us = now + remember_uncacheable_us_;
    key_len_ = cache_key(request, key_);
    EntryPreamble pre;
    store_.store(t.hash, {key_.data(), key_len_}, meta,
                 {reinterpret_cast<const char*>(&pre), sizeof pre}, {}, worker_, now, &scratch_);
  }
  return CacheOutcome::kMiss;
}

void CacheStage::invalidate(const Ticket& t, const Response& r) {
  // RFC 9111 4.4: a non-error answer to an unsafe method invalidates the target URI.
  if (r.status_code() < 400 && !r.failed()) store_.purge(t.hash, worker_, stats_);
}

// --- hits -------------------------------------------------------------------------------------

void CacheStage::answer_hit(Response& r, const shm::CacheHit& hit, const StoredHead& head,
                            uint64_t now_us) {
  const RequestView& request = r.request();
  const int64_t resident_s = seconds(static_cast<int64_t>(now_us - hit.meta.stored_us));
  const uint64_t age = uint64_t{head.preamble.age_s} + static_cast<uint64_t>(resident_s);
  const int64_t ttl_s = seconds(static_cast<int64_t>(hit.meta.expires_us - now_us));
  const bool fresh = hit.state == shm::CacheState::kFresh;
  char status[kCacheStatusBytes];
  size_t status_len = format_cache_status(fresh ? CacheOutcome::kHit : CacheOutcome::kStaleHit,
                                          fresh ? ttl_s : std::min<int64_t>(ttl_s, -1), {}, status);
  // Preconditions against the entry: its ETag, and its Last-Modified (or, lacking one, the time
  // it was stored, RFC 9110 13.2.2). Its fields are read only for a conditional request.
  common::ConditionalHeaders conditions{
      request.header(HeaderId::kIfMatch), request.header(HeaderId::kIfUnmodifiedSince),
      request.header(HeaderId::kIfNoneMatch), request.header(HeaderId::kIfModifiedSince)};
  const bool conditional =
      present(conditions.if_match) || present(conditions.if_unmodified_since) ||
      present(conditions.if_none_match) || present(conditions.if_modified_since);
  common::Precondition p = common::Precondition::kProceed;
  if (conditional && hit.meta.status == 200) {
    ResponseFields f = scan_fields(head.fields);
    const time_t now = r.now();
    time_t modified = now - static_cast<time_t>(resident_s);
    if (!f.last_modified.empty()) parse_http_date(f.last_modified, &modified, now);
    p = common::evaluate_preconditions(conditions, f.etag, modified, now);
  }
  if (p == common::Precondition::kPreconditionFailed) {
    r.status(412).header("Cache-Status", {status, status_len});
    r.body("precondition failed\n");
    return;
  }
  if (p == common::Precondition::kNotModified) {
    char kept[1024];
    r.status(304).header_lines({kept, not_modified_fields(head.fields, kept)});
    r.header("Age", age).header("Cache-Status", {status, status_len});
    r.no_body();
    return;
  }
  r.status(hit.meta.status).header_lines(head.fields);
  r.header("Age", age).header("Cache-Status", {status, status_len});
  if (hit.meta.status == 204) {
    r.no_body();
  } else {
    r.body(hit.body);  // copied into the connection's output: the copy here is reused next
  }
}

void CacheStage::add_status(Response& r, CacheOutcome outcome, int64_t ttl_s,
                            std::string_view detail) {
  char value[kCacheStatusBytes];
  r.header("Cache-Status", {value, format_cache_status(outcome, ttl_s, detail, value)});
}

// --- PURGE ------------------------------------------------------------------------------------

void CacheStage::purge(const RequestView& request, Response& response) {
  if (!purge_allow_.contains(request.peer())) {
    response.send(403, "text/plain", "purge not allowed from this address\n");
    return;
  }
  if (request.target() == "/*") {  // everything (as nginx's "PURGE /prefix*", root only)
    store_.purge_all(stats_);
    response.send(200, "text/plain", "purged all\n");
    return;
  }
  uint64_t hash = hash_of(request);
  size_t n = hash != 0 ? store_.purge(hash, worker_, stats_) : 0;
  if (n > 0) {
    response.send(200, "text/plain", "purged\n");
  } else {
    response.send(404, "text/plain", "not in the cache\n");
  }
}

// --- waiting for another request's fill -------------------------------------------------------

void CacheStage::wait(Response& response, uint64_t hash, uint64_t now_us) {
  Ticket* t = take(Ticket::Kind::kWait, hash);
  t->deadline_us = now_us + lock_timeout_us_;
  t->ref = response.defer();
  response.tap(t);  // so that on_abort finds it
  ++stats_->coalesced_waits;
  t->prev = nullptr;
  t->next = waiting_;
  if (waiting_ != nullptr) waiting_->prev = t;
  waiting_ = t;
  if (!ev_is_active(&wait_timer_)) ev_timer_again(loop_, &wait_timer_);
}

void CacheStage::unlink_waiter(Ticket* t) {
  if (t->prev != nullptr) t->prev->next = t->next;
  if (t->next != nullptr) t->next->prev = t->prev;
  if (waiting_ == t) waiting_ = t->next;
  t->prev = t->next = nullptr;
  if (waiting_ == nullptr) ev_timer_stop(loop_, &wait_timer_);
}

void CacheStage::on_wait_timer(struct ev_loop*, ev_timer* w, int) {
  static_cast<CacheStage*>(w->data)->poll_waiters();
}

void CacheStage::poll_waiters() {
  const uint64_t now = shm::monotonic_us();
  for (Ticket* t = waiting_; t != nullptr;) {
    Ticket* next = t->next;
    Response* r = t->ref.response();
    if (r == nullptr) {  // not expected: on_abort() takes dead exchanges off the list
      unlink_waiter(t);
      give(t);
    } else {
      settle(t, *r, now);  // answered, handed to the handler, or left waiting
    }
    t = next;
  }
}

bool CacheStage::settle(Ticket* t, Response& r, uint64_t now_us) {
  const uint64_t hash = t->hash;
  const bool timed_out = now_us >= t->deadline_us;
  // While a live lease is held (here or in another worker) the fill is on its way: one word
  // read, no lookup.
  if (!timed_out && store_.lease_holder(hash, now_us) >= 0) return false;
  key_len_ = cache_key(r.request(), key_);
  StoredHead head;
  shm::CacheHit hit = find(hash, r.request(), now_us, &head);
  const bool marker = hit.state != shm::CacheState::kMiss && hit.meta.status == kUncacheableMarker;
  const bool fresh = hit.state == shm::CacheState::kFresh;
  shm::LeaseResult lease = shm::LeaseResult::kBusy;
  if (!(fresh || timed_out)) {
    // The lease is gone without an entry (the fill could not be stored, or its worker died):
    // this request fills, or goes on waiting for whoever took the lease first.
    lease = store_.try_lease(hash, worker_, now_us, now_us + lock_timeout_us_, stats_);
    if (lease == shm::LeaseResult::kBusy) return false;
  }
  unlink_waiter(t);
  r.tap(nullptr);
  give(t);
  if (fresh && !marker) {
    ++stats_->hits;
    answer_hit(r, hit, head, now_us);
    return true;
  }
  ++stats_->misses;
  Ticket* next = take(Ticket::Kind::kFill, hash);
  if (timed_out) {
    ++stats_->lock_timeouts;
    next->kind = Ticket::Kind::kPass;
    next->pass_outcome = CacheOutcome::kMiss;
    next->pass_detail = "lock timeout";
  } else {
    next->leased = lease == shm::LeaseResult::kAcquired;
    next->marked = fresh && marker && young_mark(hit.meta, now_us);
    next->had_stale = hit.state == shm::CacheState::kStale && !marker;
  }
  run_inner(r, next);
  return true;
}

// --- tickets ----------------------------------------------------------------------------------

void CacheStage::on_abort(Response& response, AbortReason why) {
  if (auto* t = static_cast<Ticket*>(response.tap())) {
    response.tap(nullptr);
    const bool waiting = t->kind == Ticket::Kind::kWait;
    if (waiting) {
      unlink_waiter(t);
    } else {
      release_lease(*t);
    }
    give(t);
    if (waiting) return;  // the handler never saw this exchange
  }
  inner_.on_abort(response, why);
}

CacheStage::Ticket* CacheStage::take(Ticket::Kind kind, uint64_t hash) {
  if (free_.empty()) {
    tickets_.push_back(std::make_unique<Ticket>());
    free_.push_back(tickets_.back().get());
  }
  Ticket* t = free_.back();
  free_.pop_back();
  *t = Ticket{};
  t->stage = this;
  t->kind = kind;
  t->hash = hash;
  return t;
}

void CacheStage::give(Ticket* t) {
  free_.push_back(t);
}

void CacheStage::release_lease(Ticket& t) {
  if (t.leased) store_.release_lease(t.hash, worker_);
  t.leased = false;
}

}  // namespace zhttp::handlers::cache
