#include "shm/cache_store.hpp"

#include <cstring>
#include <new>

namespace zhttp::shm {

struct CacheStore::Slot {
  std::atomic<uint64_t> state;
  std::atomic<uint64_t> ref;
  std::atomic<uint64_t> hash;
  std::atomic<uint64_t> epoch_status;
  std::atomic<uint64_t> expires;
  std::atomic<uint64_t> stale_until;
  std::atomic<uint64_t> stored;
  std::atomic<uint64_t> lengths;
  // data_bytes / 8 words follow the header.
  std::atomic<uint64_t>* data() { return reinterpret_cast<std::atomic<uint64_t>*>(this + 1); }
};

namespace {

constexpr size_t kAlign = 64;
constexpr int kClaimAttempts = 4;
constexpr int kLeaseAttempts = 4;
constexpr uint64_t kLeaseDeadlineBits = 36;
constexpr uint64_t kLeaseDeadlineMask = (uint64_t{1} << kLeaseDeadlineBits) - 1;
constexpr uint64_t kLeaseMaxAhead = uint64_t{1} << 35;  // ms
// Unpadded: eight workers share a cache line, which a store writes twice, noise beside its data.
constexpr size_t kClaimWords = size_t{kCacheMaxWorker} + 1;

constexpr size_t align_up(size_t n) {
  return (n + kAlign - 1) / kAlign * kAlign;
}

constexpr bool odd(uint64_t state) {
  return ((state >> 16) & 1) != 0;
}
constexpr uint32_t state_owner(uint64_t state) {
  return static_cast<uint32_t>(state & 0xffff);
}
constexpr uint64_t state_sequence(uint64_t state) {
  return state >> 16;
}
constexpr uint64_t make_state(uint64_t sequence, uint32_t owner) {
  return (sequence << 16) | owner;
}

constexpr uint32_t epoch32(uint64_t epoch) {
  return static_cast<uint32_t>(epoch);
}
constexpr uint64_t pack_lengths(uint64_t key, uint64_t head, uint64_t body) {
  return key | (head << 16) | (body << 40);
}
constexpr uint32_t key_len(uint64_t l) {
  return static_cast<uint32_t>(l & 0xffff);
}
constexpr uint32_t head_len(uint64_t l) {
  return static_cast<uint32_t>((l >> 16) & 0xffffff);
}
constexpr uint32_t body_len(uint64_t l) {
  return static_cast<uint32_t>(l >> 40);
}

// Lease words.
constexpr uint64_t lease_tag(uint64_t key_hash) {
  return key_hash & 0xffff;
}
constexpr uint64_t make_lease(uint64_t key_hash, uint32_t owner, uint64_t deadline_ms) {
  return (lease_tag(key_hash) << 48) | (static_cast<uint64_t>(owner) << 36) |
         (deadline_ms & kLeaseDeadlineMask);
}
constexpr uint32_t lease_owner(uint64_t w) {
  return static_cast<uint32_t>((w >> 36) & 0xfff);
}
constexpr bool lease_live(uint64_t w, uint64_t now_ms) {
  if (lease_owner(w) == 0) return false;
  const uint64_t d =
      ((w & kLeaseDeadlineMask) - (now_ms & kLeaseDeadlineMask)) & kLeaseDeadlineMask;
  return d != 0 && d < kLeaseMaxAhead;
}

// Claim words.
constexpr uint64_t make_claim(uint32_t c, uint32_t index) {
  return (uint64_t{c + 1} << 32) | index;
}
constexpr uint32_t claim_class(uint64_t w) {  // kCacheMaxClasses and up: no claim
  return static_cast<uint32_t>((w >> 32) & 7) - 1;
}
constexpr uint32_t claim_index(uint64_t w) {
  return static_cast<uint32_t>(w);
}
// Relaxed: the claiming CAS that follows is acq_rel, whose release half keeps this store before
// it in the writer's own instruction stream. That order is all the master needs: it reads the
// word only after it reaped the writer (waitpid), when everything the writer stored is visible.
void set_claim(std::atomic<uint64_t>* w, uint32_t c, uint32_t index) {
  w->store(make_claim(c, index), std::memory_order_relaxed);
}
// Release: the slot's even state, stored just before, must not move after the clear, or a writer
// killed between the two would leave an odd slot that no claim names.
void clear_claim(std::atomic<uint64_t>* w) {
  w->store(0, std::memory_order_release);
}

// Packs byte strings into a run of atomic words with relaxed stores.
class WordSink {
 public:
  explicit WordSink(std::atomic<uint64_t>* words) : words_(words) {}
  // False once `limit` words have been written (the test hook's stop).
  bool put(std::string_view s, size_t limit) {
    const char* p = s.data();
    size_t n = s.size();
    while (n > 0) {
      if (fill_ == 0 && n >= 8) {
        if (index_ >= limit) return false;
        uint64_t w;
        std::memcpy(&w, p, 8);
        words_[index_++].store(w, std::memory_order_relaxed);
        p += 8;
        n -= 8;
        continue;
      }
      const size_t take = n < 8 - fill_ ? n : 8 - fill_;
      std::memcpy(reinterpret_cast<char*>(&pending_) + fill_, p, take);
      fill_ += take;
      p += take;
      n -= take;
      if (fill_ == 8) {
        if (index_ >= limit) return false;
        words_[index_++].store(pending_, std::memory_order_relaxed);
        pending_ = 0;
        fill_ = 0;
      }
    }
    return true;
  }
  bool flush(size_t limit) {
    if (fill_ == 0) return true;
    if (index_ >= limit) return false;
    words_[index_++].store(pending_, std::memory_order_relaxed);
    pending_ = 0;
    fill_ = 0;
    return true;
  }

 private:
  std::atomic<uint64_t>* words_;
  uint64_t pending_ = 0;
  size_t fill_ = 0;
  size_t index_ = 0;
};

void copy_out(const std::atomic<uint64_t>* words, char* out, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint64_t w = words[i / 8].load(std::memory_order_relaxed);
    std::memcpy(out + i, &w, 8);
  }
  if (i < n) {
    const uint64_t w = words[i / 8].load(std::memory_order_relaxed);
    std::memcpy(out + i, &w, n - i);
  }
}

// Everything but the state and the CLOCK bit back to an empty slot (the caller owns it).
template <typename S>
void zero_header(S* s) {
  s->hash.store(0, std::memory_order_relaxed);
  s->epoch_status.store(0, std::memory_order_relaxed);
  s->expires.store(0, std::memory_order_relaxed);
  s->stale_until.store(0, std::memory_order_relaxed);
  s->stored.store(0, std::memory_order_relaxed);
  s->lengths.store(0, std::memory_order_relaxed);
  s->ref.store(0, std::memory_order_relaxed);
}

// The header, the lease table and the claim table: what comes before the classes.
size_t fixed_bytes(const CacheGeometry& g) {
  return align_up(sizeof(CacheStoreHeader)) + align_up(size_t{g.leases} * 8) +
         align_up(kClaimWords * 8);
}

// The layout of `bytes` for a geometry: fills the header's class table. False when it does not
// fit or the geometry is invalid.
bool lay_out(const CacheGeometry& g, size_t bytes, CacheStoreHeader* h) {
  const uint32_t classes = g.classes();
  if (classes == 0 || g.ways == 0 || g.ways > 64 || g.leases == 0 || g.leases > (1u << 24)) {
    return false;
  }
  uint32_t share = 0;
  for (uint32_t c = 0; c < classes; ++c) {
    if (g.class_data[c] % 8 != 0 || g.class_data[c] > (1u << 24) - 64 || g.class_share[c] == 0 ||
        (c > 0 && g.class_data[c] <= g.class_data[c - 1])) {
      return false;
    }
    share += g.class_share[c];
  }
  if (share > 100) return false;
  const size_t fixed = fixed_bytes(g);
  if (bytes < fixed) return false;
  const size_t rest = bytes - fixed;
  size_t offset = fixed;
  h->classes = classes;
  h->leases_offset = align_up(sizeof(CacheStoreHeader));
  h->claims_offset = h->leases_offset + align_up(size_t{g.leases} * 8);
  for (uint32_t c = 0; c < classes; ++c) {
    CacheClassInfo& info = h->cls[c];
    info.data_bytes = g.class_data[c];
    info.slot_bytes = static_cast<uint32_t>(align_up(kCacheSlotHeaderBytes + g.class_data[c]));
    const size_t budget = rest / 100 * g.class_share[c];
    const size_t per_set = size_t{g.ways} * info.slot_bytes + 4;
    if (budget < 2 * kAlign + per_set) return false;
    const size_t sets = (budget - 2 * kAlign) / per_set;
    if (sets > UINT32_MAX / g.ways) return false;
    info.sets = static_cast<uint32_t>(sets);
    info.slots = info.sets * g.ways;
    info.hands_offset = offset;
    offset += align_up(sets * 4);
    info.slots_offset = offset;
    offset += size_t{info.slots} * info.slot_bytes;
  }
  for (uint32_t c = classes; c < kCacheMaxClasses; ++c) h->cls[c] = CacheClassInfo{};
  h->bytes = offset;
  return offset <= bytes;
}

// Every lease, claim, CLOCK hand and slot word zero: no lease, no claim, every slot state 0 (even)
// and empty.
void zero_words(const CacheStoreHeader& h, char* base) {
  auto* leases = reinterpret_cast<std::atomic<uint64_t>*>(base + h.leases_offset);
  for (uint32_t i = 0; i < h.geometry.leases; ++i) new (leases + i) std::atomic<uint64_t>(0);
  auto* claims = reinterpret_cast<std::atomic<uint64_t>*>(base + h.claims_offset);
  for (size_t i = 0; i < kClaimWords; ++i) new (claims + i) std::atomic<uint64_t>(0);
  for (uint32_t c = 0; c < h.classes; ++c) {
    const CacheClassInfo& info = h.cls[c];
    auto* hands = reinterpret_cast<std::atomic<uint32_t>*>(base + info.hands_offset);
    for (uint32_t s = 0; s < info.sets; ++s) new (hands + s) std::atomic<uint32_t>(0);
    char* slots = base + info.slots_offset;
    for (size_t w = 0; w < size_t{info.slots} * info.slot_bytes / 8; ++w) {
      new (slots + w * 8) std::atomic<uint64_t>(0);
    }
  }
}

}  // namespace

uint32_t CacheGeometry::classes() const {
  uint32_t n = 0;
  while (n < kCacheMaxClasses && class_data[n] != 0) ++n;
  return n;
}

uint32_t CacheGeometry::max_entry() const {
  const uint32_t n = classes();
  return n == 0 ? 0 : class_data[n - 1];
}

CacheGeometry CacheGeometry::for_max_entry(uint32_t max_entry) {
  CacheGeometry g;
  const uint32_t top = static_cast<uint32_t>(align_up(max_entry));
  uint32_t n = 0;
  for (uint32_t below : {1024u, 4096u}) {
    if (below < top) g.class_data[n++] = below;
  }
  g.class_data[n++] = top;
  constexpr uint32_t kShares[][3] = {{100}, {40, 60}, {25, 25, 50}};
  for (uint32_t c = 0; c < kCacheMaxClasses; ++c) {
    if (c >= n) g.class_data[c] = 0;
    g.class_share[c] = c < n ? kShares[n - 1][c] : 0;
  }
  return g;
}

size_t CacheStore::bytes_for(const CacheGeometry& g, uint32_t sets) {
  const uint32_t classes = g.classes();
  const size_t fixed = fixed_bytes(g);
  size_t worst = 0;  // the class needing the largest total for its share
  for (uint32_t c = 0; c < classes; ++c) {
    const size_t per_set = size_t{g.ways} * align_up(kCacheSlotHeaderBytes + g.class_data[c]) + 4;
    const size_t need = 2 * kAlign + per_set * sets + 100;
    const size_t total = (need * 100 + g.class_share[c] - 1) / g.class_share[c] + 100;
    if (total > worst) worst = total;
  }
  return align_up(fixed + worst);
}

std::optional<CacheStore> CacheStore::create(void* region, size_t bytes, SipKey secret,
                                             const CacheGeometry& g, bool region_is_zero) {
  if (region == nullptr || reinterpret_cast<uintptr_t>(region) % kAlign != 0) return std::nullopt;
  CacheStoreHeader probe{};
  if (!lay_out(g, bytes, &probe)) return std::nullopt;
  auto* h = new (region) CacheStoreHeader{};
  h->magic = kCacheStoreMagic;
  h->version = kCacheStoreVersion;
  h->secret = secret;
  h->geometry = g;
  lay_out(g, bytes, h);
  h->bytes = bytes;  // the layout's input: attach() recomputes it from this
  h->epoch.store(1, std::memory_order_relaxed);
  char* base = static_cast<char*>(region);
  if (!region_is_zero) zero_words(*h, base);
  std::atomic_thread_fence(std::memory_order_release);
  return CacheStore(h, base);
}

std::optional<CacheStore> CacheStore::attach(void* region, size_t bytes) {
  if (region == nullptr || reinterpret_cast<uintptr_t>(region) % kAlign != 0 ||
      bytes < sizeof(CacheStoreHeader)) {
    return std::nullopt;
  }
  auto* h = static_cast<CacheStoreHeader*>(region);
  if (h->magic != kCacheStoreMagic || h->version != kCacheStoreVersion || h->bytes > bytes) {
    return std::nullopt;
  }
  CacheStoreHeader probe{};
  if (!lay_out(h->geometry, h->bytes, &probe) || probe.classes != h->classes ||
      probe.leases_offset != h->leases_offset || probe.claims_offset != h->claims_offset ||
      std::memcmp(probe.cls, h->cls, sizeof probe.cls) != 0) {
    return std::nullopt;
  }
  std::atomic_thread_fence(std::memory_order_acquire);
  return CacheStore(h, static_cast<char*>(region));
}

CacheStore::Slot* CacheStore::slot(uint32_t c, uint32_t index) const {
  static_assert(sizeof(Slot) == kCacheSlotHeaderBytes);
  const CacheClassInfo& info = header_->cls[c];
  return reinterpret_cast<Slot*>(base_ + info.slots_offset + size_t{index} * info.slot_bytes);
}

std::atomic<uint32_t>* CacheStore::hand(uint32_t c, uint32_t set) const {
  return reinterpret_cast<std::atomic<uint32_t>*>(base_ + header_->cls[c].hands_offset) + set;
}

std::atomic<uint64_t>* CacheStore::lease_word(uint64_t key_hash) const {
  const uint64_t i =
      (static_cast<uint64_t>(static_cast<uint32_t>(key_hash)) * header_->geometry.leases) >> 32;
  return reinterpret_cast<std::atomic<uint64_t>*>(base_ + header_->leases_offset) + i;
}

std::atomic<uint64_t>* CacheStore::claim_word(uint32_t worker) const {
  return reinterpret_cast<std::atomic<uint64_t>*>(base_ + header_->claims_offset) + worker;
}

uint32_t CacheStore::set_of(uint32_t c, uint64_t key_hash) const {
  return static_cast<uint32_t>(((key_hash >> 32) * header_->cls[c].sets) >> 32);
}

CacheHit CacheStore::lookup(uint64_t key_hash, std::string_view key, uint64_t now_us,
                            std::span<char> buffer, CacheStats* stats) const {
  ++stats->lookups;
  CacheHit hit;
  const uint32_t epoch = epoch32(header_->epoch.load(std::memory_order_acquire));
  const uint32_t ways = header_->geometry.ways;
  for (uint32_t c = 0; c < header_->classes; ++c) {
    const uint32_t first = set_of(c, key_hash) * ways;
    const uint32_t capacity = header_->cls[c].data_bytes;
    for (uint32_t w = 0; w < ways; ++w) {
      Slot* s = slot(c, first + w);
      if (s->hash.load(std::memory_order_relaxed) != key_hash) continue;
      for (int attempt = 0; attempt < 2; ++attempt) {
        const uint64_t before = s->state.load(std::memory_order_acquire);
        if (odd(before)) break;
        const uint64_t h = s->hash.load(std::memory_order_relaxed);
        const uint64_t es = s->epoch_status.load(std::memory_order_relaxed);
        CacheMeta meta;
        meta.expires_us = s->expires.load(std::memory_order_relaxed);
        meta.stale_until_us = s->stale_until.load(std::memory_order_relaxed);
        meta.stored_us = s->stored.load(std::memory_order_relaxed);
        meta.status = static_cast<uint16_t>(es >> 32);
        const uint64_t lengths = s->lengths.load(std::memory_order_relaxed);
        const size_t kl = key_len(lengths), hl = head_len(lengths), bl = body_len(lengths);
        const size_t total = kl + hl + bl;
        const bool plausible = h == key_hash && epoch32(es) == epoch && kl == key.size() &&
                               total <= capacity && total <= buffer.size();
        if (plausible) copy_out(s->data(), buffer.data(), total);
        std::atomic_thread_fence(std::memory_order_acquire);
        if (s->state.load(std::memory_order_relaxed) != before) {
          ++stats->torn_reads;
          continue;  // one retry
        }
        if (!plausible || std::memcmp(buffer.data(), key.data(), kl) != 0) break;
        if (now_us >= meta.stale_until_us) break;  // expired: a miss (and a free victim)
        hit.state = now_us < meta.expires_us ? CacheState::kFresh : CacheState::kStale;
        hit.meta = meta;
        hit.head = std::string_view(buffer.data() + kl, hl);
        hit.body = std::string_view(buffer.data() + kl + hl, bl);
        if (s->ref.load(std::memory_order_relaxed) == 0) s->ref.store(1, std::memory_order_relaxed);
        if (hit.state == CacheState::kFresh) {
          ++stats->hits;
        } else {
          ++stats->stale_hits;
        }
        return hit;
      }
    }
  }
  ++stats->misses;
  return hit;
}

int CacheStore::store_impl(uint64_t key_hash, std::string_view key, const CacheMeta& meta,
                           std::string_view head, std::string_view body, uint32_t worker,
                           uint64_t now_us, CacheStats* stats, size_t stop_after_words,
                           CacheStoreResult* result) {
  const size_t total = key.size() + head.size() + body.size();
  uint32_t c = 0;
  while (c < header_->classes && header_->cls[c].data_bytes < total) ++c;
  if (c == header_->classes || key.size() > kCacheMaxKey || worker > kCacheMaxWorker) {
    ++stats->too_big;
    *result = CacheStoreResult::kTooBig;
    return -1;
  }
  const uint32_t owner = worker + 1;
  const uint32_t ways = header_->geometry.ways;
  const uint32_t set = set_of(c, key_hash);
  const uint32_t first = set * ways;
  std::atomic<uint32_t>* clock_hand = hand(c, set);
  std::atomic<uint64_t>* claim = claim_word(worker);
  uint64_t tried = 0;  // ways whose claim was lost
  for (int attempt = 0; attempt < kClaimAttempts; ++attempt) {
    const uint32_t epoch = epoch32(header_->epoch.load(std::memory_order_acquire));
    int victim = -1;
    int rank = 4;  // 0 same hash, 1 empty / old epoch, 2 expired, 3 CLOCK
    for (uint32_t w = 0; w < ways && rank > 0; ++w) {
      if ((tried >> w) & 1) continue;
      Slot* s = slot(c, first + w);
      if (odd(s->state.load(std::memory_order_relaxed))) continue;
      const uint64_t h = s->hash.load(std::memory_order_relaxed);
      const uint64_t es = s->epoch_status.load(std::memory_order_relaxed);
      int r = 3;
      if (h == key_hash && epoch32(es) != 0) {
        r = 0;
      } else if (epoch32(es) != epoch) {
        r = 1;
      } else if (now_us >= s->stale_until.load(std::memory_order_relaxed)) {
        r = 2;
      }
      if (r < rank) {
        rank = r;
        victim = static_cast<int>(w);
      }
    }
    if (rank == 3) {  // CLOCK: second chance from the hand
      victim = -1;
      const uint32_t start = clock_hand->load(std::memory_order_relaxed) % ways;
      for (uint32_t i = 0; i < 2 * ways; ++i) {
        const uint32_t w = (start + i) % ways;
        if ((tried >> w) & 1) continue;
        Slot* s = slot(c, first + w);
        if (odd(s->state.load(std::memory_order_relaxed))) continue;
        if (s->ref.load(std::memory_order_relaxed) != 0) {
          s->ref.store(0, std::memory_order_relaxed);
          continue;
        }
        victim = static_cast<int>(w);
        clock_hand->store((w + 1) % ways, std::memory_order_relaxed);
        break;
      }
    }
    if (victim < 0) break;  // every way being written
    const uint32_t index = first + static_cast<uint32_t>(victim);
    Slot* s = slot(c, index);
    uint64_t state = s->state.load(std::memory_order_relaxed);
    set_claim(claim, c, index);  // a lost claim's word is overwritten or cleared below
    if (odd(state) ||
        !s->state.compare_exchange_strong(state, make_state(state_sequence(state) + 1, owner),
                                          std::memory_order_acq_rel, std::memory_order_relaxed)) {
      ++stats->lost_claims;
      tried |= uint64_t{1} << victim;
      continue;
    }
    std::atomic_thread_fence(std::memory_order_release);
    // Ours now: what it held, for the eviction count.
    const uint64_t old_hash = s->hash.load(std::memory_order_relaxed);
    const uint64_t old_es = s->epoch_status.load(std::memory_order_relaxed);
    if (epoch32(old_es) == epoch && old_hash != key_hash &&
        now_us < s->stale_until.load(std::memory_order_relaxed)) {
      ++stats->evictions;
    }
    const uint64_t stale =
        meta.stale_until_us < meta.expires_us ? meta.expires_us : meta.stale_until_us;
    s->hash.store(key_hash, std::memory_order_relaxed);
    s->epoch_status.store(epoch | (uint64_t{meta.status} << 32), std::memory_order_relaxed);
    s->expires.store(meta.expires_us, std::memory_order_relaxed);
    s->stale_until.store(stale, std::memory_order_relaxed);
    s->stored.store(meta.stored_us, std::memory_order_relaxed);
    s->lengths.store(pack_lengths(key.size(), head.size(), body.size()), std::memory_order_relaxed);
    s->ref.store(0, std::memory_order_relaxed);
    WordSink sink(s->data());
    if (!sink.put(key, stop_after_words) || !sink.put(head, stop_after_words) ||
        !sink.put(body, stop_after_words) || !sink.flush(stop_after_words)) {
      return static_cast<int>(index);  // the test hook: left odd, the claim set
    }
    s->state.store(make_state(state_sequence(state) + 2, 0), std::memory_order_release);
    clear_claim(claim);
    ++stats->stores;
    *result = CacheStoreResult::kStored;
    empty_others(c, key_hash, worker);
    return static_cast<int>(index);
  }
  clear_claim(claim);
  ++stats->store_busy;
  *result = CacheStoreResult::kBusy;
  return -1;
}

CacheStoreResult CacheStore::store(uint64_t key_hash, std::string_view key, const CacheMeta& meta,
                                   std::string_view head, std::string_view body, uint32_t worker,
                                   uint64_t now_us, CacheStats* stats) {
  CacheStoreResult result = CacheStoreResult::kBusy;
  store_impl(key_hash, key, meta, head, body, worker, now_us, stats, SIZE_MAX, &result);
  return result;
}

int CacheStore::store_abandoned_for_test(uint64_t key_hash, std::string_view key,
                                         const CacheMeta& meta, std::string_view head,
                                         std::string_view body, uint32_t worker, uint64_t now_us,
                                         size_t words) {
  CacheStats stats;
  CacheStoreResult result = CacheStoreResult::kBusy;
  return store_impl(key_hash, key, meta, head, body, worker, now_us, &stats, words, &result);
}

bool CacheStore::empty_slot(uint32_t c, uint32_t index, uint64_t expected, uint32_t worker) {
  if (odd(expected)) return false;
  Slot* s = slot(c, index);
  std::atomic<uint64_t>* claim = claim_word(worker);
  set_claim(claim, c, index);
  if (!s->state.compare_exchange_strong(expected,
                                        make_state(state_sequence(expected) + 1, worker + 1),
                                        std::memory_order_acq_rel, std::memory_order_relaxed)) {
    clear_claim(claim);
    return false;
  }
  std::atomic_thread_fence(std::memory_order_release);
  zero_header(s);
  s->state.store(make_state(state_sequence(expected) + 2, 0), std::memory_order_release);
  clear_claim(claim);
  return true;
}

void CacheStore::empty_others(uint32_t keep_class, uint64_t key_hash, uint32_t worker) {
  const uint32_t ways = header_->geometry.ways;
  for (uint32_t c = 0; c < header_->classes; ++c) {
    if (c == keep_class) continue;
    const uint32_t first = set_of(c, key_hash) * ways;
    for (uint32_t w = 0; w < ways; ++w) {
      Slot* s = slot(c, first + w);
      if (s->hash.load(std::memory_order_relaxed) != key_hash) continue;
      empty_slot(c, first + w, s->state.load(std::memory_order_relaxed), worker);
    }
  }
}

size_t CacheStore::purge(uint64_t key_hash, uint32_t worker, CacheStats* stats) {
  if (worker > kCacheMaxWorker) return 0;
  size_t n = 0;
  const uint32_t ways = header_->geometry.ways;
  for (uint32_t c = 0; c < header_->classes; ++c) {
    const uint32_t first = set_of(c, key_hash) * ways;
    for (uint32_t w = 0; w < ways; ++w) {
      Slot* s = slot(c, first + w);
      // A slot being written for this key is left: its writer publishes after the purge (a
      // purge racing a store of the same key may keep that store).
      for (int attempt = 0; attempt < 2; ++attempt) {
        if (s->hash.load(std::memory_order_relaxed) != key_hash ||
            epoch32(s->epoch_status.load(std::memory_order_relaxed)) == 0) {
          break;
        }
        if (empty_slot(c, first + w, s->state.load(std::memory_order_relaxed), worker)) {
          ++n;
          break;
        }
      }
    }
  }
  stats->purges.add(n);
  return n;
}

void CacheStore::purge_all(CacheStats* stats) {
  uint64_t e = header_->epoch.load(std::memory_order_relaxed);
  uint64_t next;
  do {
    next = e + 1;
    if (epoch32(next) == 0) ++next;  // 0 marks an empty slot
  } while (!header_->epoch.compare_exchange_weak(e, next, std::memory_order_acq_rel,
                                                 std::memory_order_relaxed));
  ++stats->purges;
}

LeaseResult CacheStore::try_lease(uint64_t key_hash, uint32_t worker, uint64_t now_us,
                                  uint64_t deadline_us, CacheStats* stats) {
  if (worker > kCacheMaxWorker) {
    ++stats->lease_no_room;
    return LeaseResult::kNoRoom;
  }
  const uint32_t owner = worker + 1;
  const uint64_t now_ms = now_us / 1000;
  uint64_t deadline_ms = (deadline_us + 999) / 1000;
  if (deadline_ms <= now_ms) deadline_ms = now_ms + 1;
  if (deadline_ms - now_ms >= kLeaseMaxAhead) deadline_ms = now_ms + kLeaseMaxAhead - 1;
  std::atomic<uint64_t>* word = lease_word(key_hash);
  uint64_t w = word->load(std::memory_order_acquire);
  for (int attempt = 0; attempt < kLeaseAttempts; ++attempt) {
    if (lease_live(w, now_ms)) {
      if ((w >> 48) != lease_tag(key_hash)) {
        ++stats->lease_no_room;
        return LeaseResult::kNoRoom;
      }
      // Held, even by this worker: one of its own requests is computing the key.
      ++stats->lease_waits;
      return LeaseResult::kBusy;
    }
    if (word->compare_exchange_strong(w, make_lease(key_hash, owner, deadline_ms),
                                      std::memory_order_acq_rel, std::memory_order_acquire)) {
      ++stats->lease_grants;
      return LeaseResult::kAcquired;
    }
  }
  ++stats->lease_no_room;  // the word kept changing: compute uncoalesced
  return LeaseResult::kNoRoom;
}

bool CacheStore::release_lease(uint64_t key_hash, uint32_t worker) {
  std::atomic<uint64_t>* word = lease_word(key_hash);
  uint64_t w = word->load(std::memory_order_acquire);
  while ((w >> 48) == lease_tag(key_hash) && lease_owner(w) == worker + 1) {
    if (word->compare_exchange_weak(w, 0, std::memory_order_acq_rel, std::memory_order_acquire)) {
      return true;
    }
  }
  return false;
}

int CacheStore::lease_holder(uint64_t key_hash, uint64_t now_us) const {
  const uint64_t w = lease_word(key_hash)->load(std::memory_order_acquire);
  if (!lease_live(w, now_us / 1000) || (w >> 48) != lease_tag(key_hash)) return -1;
  return static_cast<int>(lease_owner(w)) - 1;
}

size_t CacheStore::reset_owner(uint32_t worker, CacheStats* stats) {
  if (worker > kCacheMaxWorker) return 0;  // it never claimed or leased anything
  const uint32_t owner = worker + 1;
  size_t n = 0;
  std::atomic<uint64_t>* claim = claim_word(worker);
  const uint64_t named = claim->load(std::memory_order_acquire);
  const uint32_t c = claim_class(named);
  if (c < header_->classes && claim_index(named) < header_->cls[c].slots) {
    Slot* s = slot(c, claim_index(named));
    uint64_t state = s->state.load(std::memory_order_acquire);
    if (odd(state) && state_owner(state) == owner) {
      zero_header(s);
      if (s->state.compare_exchange_strong(state, make_state(state_sequence(state) + 1, 0),
                                           std::memory_order_release, std::memory_order_relaxed)) {
        ++n;
      }
    }
  }
  claim->store(0, std::memory_order_relaxed);  // the worker's successor starts without a claim
  auto* leases = reinterpret_cast<std::atomic<uint64_t>*>(base_ + header_->leases_offset);
  for (uint32_t i = 0; i < header_->geometry.leases; ++i) {
    uint64_t w = leases[i].load(std::memory_order_acquire);
    while (w != 0 && lease_owner(w) == owner) {
      if (leases[i].compare_exchange_weak(w, 0, std::memory_order_acq_rel)) {
        ++n;
        break;
      }
    }
  }
  stats->crash_resets.add(n);
  return n;
}

CacheSlotState CacheStore::slot_state(uint32_t c, uint32_t index) const {
  const Slot* s = slot(c, index);
  CacheSlotState st;
  const uint64_t state = s->state.load(std::memory_order_acquire);
  st.sequence = state_sequence(state);
  st.owner = state_owner(state);
  st.writing = odd(state);
  st.hash = s->hash.load(std::memory_order_relaxed);
  st.empty = epoch32(s->epoch_status.load(std::memory_order_relaxed)) == 0;
  return st;
}

size_t CacheStore::live_entries(uint64_t now_us) const {
  const uint32_t epoch = epoch32(header_->epoch.load(std::memory_order_acquire));
  size_t n = 0;
  for (uint32_t c = 0; c < header_->classes; ++c) {
    for (uint32_t i = 0; i < header_->cls[c].slots; ++i) {
      const Slot* s = slot(c, i);
      if (!odd(s->state.load(std::memory_order_acquire)) &&
          epoch32(s->epoch_status.load(std::memory_order_relaxed)) == epoch &&
          now_us < s->stale_until.load(std::memory_order_relaxed)) {
        ++n;
      }
    }
  }
  return n;
}

size_t CacheStore::writing_slots() const {
  size_t n = 0;
  for (uint32_t c = 0; c < header_->classes; ++c) {
    for (uint32_t i = 0; i < header_->cls[c].slots; ++i) {
      if (odd(slot(c, i)->state.load(std::memory_order_acquire))) ++n;
    }
  }
  return n;
}

size_t CacheStore::live_leases(uint64_t now_us) const {
  auto* leases = reinterpret_cast<const std::atomic<uint64_t>*>(base_ + header_->leases_offset);
  size_t n = 0;
  for (uint32_t i = 0; i < header_->geometry.leases; ++i) {
    if (lease_live(leases[i].load(std::memory_order_acquire), now_us / 1000)) ++n;
  }
  return n;
}

}  // namespace zhttp::shm
