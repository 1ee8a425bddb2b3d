#include "shm/upstream_table.hpp"

#include <algorithm>
#include <cstring>
#include <new>
#include <vector>

#include "shm/siphash.hpp"

namespace zhttp::shm {
namespace {

constexpr uint32_t kRowAlign = 64 / sizeof(uint32_t);  // words of one cache line
constexpr uint64_t kFailBits = 16;
constexpr uint64_t kFailMask = (uint64_t{1} << kFailBits) - 1;
// Not a secret: the keys only tell the configuration's own servers apart.
constexpr SipKey kKeyHash{0x7570'7374'7265'616d, 0x736c'6f74'6b65'7973};

constexpr uint64_t pack_fails(uint64_t start_ms, uint64_t fails) {
  return start_ms << kFailBits | std::min(fails, kFailMask);
}

uint32_t row_words(uint32_t capacity) {
  return (capacity + kRowAlign - 1) / kRowAlign * kRowAlign;
}

// The text, truncated to fit with its NUL.
template <size_t N>
void put_text(char (&to)[N], std::string_view text) {
  const size_t n = std::min(text.size(), N - 1);
  std::memcpy(to, text.data(), n);
  std::memset(to + n, 0, N - n);
}

template <size_t N>
bool same_text(const char (&have)[N], std::string_view text) {
  const std::string_view t = text.substr(0, N - 1);
  return strnlen(have, N) == t.size() && std::memcmp(have, t.data(), t.size()) == 0;
}

// The ordinal of each spec: how many before it in its group have the same address.
std::vector<uint32_t> ordinals(std::span<const UpstreamSpec> servers) {
  std::vector<uint32_t> out(servers.size(), 0);
  for (size_t i = 0; i < servers.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      out[i] += servers[j].group == servers[i].group && servers[j].address == servers[i].address;
    }
  }
  return out;
}

void raise_to_zero(std::atomic<int64_t>& total, int64_t seen) {
  // Only a kill between a worker's two writes (or a slot reused under a draining worker) makes
  // it negative: raising it to 0 then never counts an attempt that is not in flight.
  while (seen < 0 && !total.compare_exchange_weak(seen, 0, std::memory_order_relaxed)) {
  }
}

}  // namespace

std::string_view state_name(UpstreamState state) {
  switch (state) {
    case UpstreamState::kUp:
      return "up";
    case UpstreamState::kDown:
      return "down";
    case UpstreamState::kChecking:
      return "checking";
  }
  return "up";
}

uint64_t upstream_key(std::string_view group, std::string_view address, uint32_t ordinal) {
  std::string text;
  text.reserve(group.size() + address.size() + 6);
  text.append(group).push_back('\0');
  text.append(address).push_back('\0');
  text.append(reinterpret_cast<const char*>(&ordinal), sizeof ordinal);
  const uint64_t key = siphash13(kKeyHash, text);
  return key != 0 ? key : 1;
}

bool acquire(UpstreamSlot& slot, std::atomic<uint32_t>* row, uint32_t max_conns) {
  // The row first: a kill between the two leaves the total low, never high.
  if (row != nullptr)
    row->store(row->load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  const int64_t n = slot.traffic.in_flight.fetch_add(1, std::memory_order_acq_rel) + 1;
  if (max_conns != 0 && n > static_cast<int64_t>(max_conns)) {
    release(slot, row);
    return false;
  }
  bump(slot.traffic.requests);
  return true;
}

void release(UpstreamSlot& slot, std::atomic<uint32_t>* row) {
  const int64_t n = slot.traffic.in_flight.fetch_sub(1, std::memory_order_acq_rel) - 1;
  if (n < 0) raise_to_zero(slot.traffic.in_flight, n);
  if (row != nullptr) {  // after the total, for the same reason
    const uint32_t v = row->load(std::memory_order_relaxed);
    row->store(v != 0 ? v - 1 : 0, std::memory_order_release);
  }
}

int64_t in_flight(const UpstreamSlot& slot) {
  return std::max<int64_t>(0, slot.traffic.in_flight.load(std::memory_order_relaxed));
}

bool record_failure(UpstreamSlot& slot, uint64_t now_ms, uint32_t max_fails,
                    uint64_t fail_timeout_ms) {
  if (max_fails == 0 || fail_timeout_ms == 0) return false;
  std::atomic<uint64_t>& word = slot.health.fail_word;
  uint64_t w = word.load(std::memory_order_acquire);
  for (;;) {
    uint64_t start = w >> kFailBits;
    uint64_t fails = w & kFailMask;
    if (now_ms >= start + fail_timeout_ms) {  // the window is over: a new one begins
      start = now_ms;
      fails = 0;
    }
    ++fails;
    const bool out = fails >= max_fails;
    // Out: the window after it comes back holds max_fails - 1 already (probation).
    const uint64_t next =
        out ? pack_fails(now_ms + fail_timeout_ms, max_fails - 1) : pack_fails(start, fails);
    if (word.compare_exchange_weak(w, next, std::memory_order_acq_rel)) {
      if (!out) return false;
      break;
    }
  }
  const uint64_t until = now_ms + fail_timeout_ms;
  uint64_t was = slot.health.down_until_ms.load(std::memory_order_acquire);
  while (was < until &&
         !slot.health.down_until_ms.compare_exchange_weak(was, until, std::memory_order_acq_rel)) {
  }
  // Only the failure that found it up counts the down (later ones only extend it).
  if (was > now_ms) return false;
  bump(slot.events.downs);
  return true;
}

void record_success(UpstreamSlot& slot) {
  uint64_t w = slot.health.fail_word.load(std::memory_order_relaxed);
  if ((w & kFailMask) != 0) {
    slot.health.fail_word.compare_exchange_strong(w, w & ~kFailMask, std::memory_order_acq_rel);
  }
}

bool is_down(const UpstreamSlot& slot, uint64_t now_ms) {
  return now_ms < slot.health.down_until_ms.load(std::memory_order_acquire) ||
         slot.health.check_state.load(std::memory_order_relaxed) ==
             static_cast<uint32_t>(CheckState::kDown);
}

UpstreamState state_of(const UpstreamSlot& slot, uint64_t now_ms) {
  if (is_down(slot, now_ms)) return UpstreamState::kDown;
  return slot.health.check_state.load(std::memory_order_relaxed) ==
                 static_cast<uint32_t>(CheckState::kChecking)
             ? UpstreamState::kChecking
             : UpstreamState::kUp;
}

void record_check(UpstreamSlot& slot, bool passed, uint64_t now_ms, uint32_t rise, uint32_t fall) {
  UpstreamHealth& h = slot.health;
  const auto state = static_cast<CheckState>(h.check_state.load(std::memory_order_relaxed));
  // One process runs the checks (claim_checker): plain stores, no read-modify-write needed.
  if (passed) {
    bump(h.checks_passed);
    h.check_fails.store(0, std::memory_order_relaxed);
    const uint32_t passes = h.check_passes.load(std::memory_order_relaxed) + 1;
    h.check_passes.store(passes, std::memory_order_relaxed);
    if (passes >= std::max<uint32_t>(rise, 1)) {
      if (state != CheckState::kUp) {
        h.check_state.store(static_cast<uint32_t>(CheckState::kUp), std::memory_order_release);
      }
      // Answering its checks: what passive failures said of it is over.
      if (h.down_until_ms.load(std::memory_order_relaxed) != 0) {
        h.down_until_ms.store(0, std::memory_order_release);
      }
      if (h.fail_word.load(std::memory_order_relaxed) != 0) {
        h.fail_word.store(0, std::memory_order_release);
      }
    }
  } else {
    bump(h.checks_failed);
    h.check_passes.store(0, std::memory_order_relaxed);
    const uint32_t fails = h.check_fails.load(std::memory_order_relaxed) + 1;
    h.check_fails.store(fails, std::memory_order_relaxed);
    if (state != CheckState::kDown && fails >= std::max<uint32_t>(fall, 1)) {
      h.check_state.store(static_cast<uint32_t>(CheckState::kDown), std::memory_order_release);
    }
  }
  h.last_check_ok.store(passed ? 1 : 0, std::memory_order_relaxed);
  h.last_check_ms.store(now_ms, std::memory_order_relaxed);
}

uint32_t UpstreamTable::capacity_for(size_t servers) {
  return static_cast<uint32_t>(
      std::max<size_t>(kUpstreamMinCapacity, std::min<size_t>(2 * servers, 1u << 20)));
}

size_t UpstreamTable::bytes_for(uint32_t capacity) {
  return sizeof(UpstreamTableHeader) + size_t{capacity} * sizeof(UpstreamSlot) +
         kStatsSlots * size_t{row_words(capacity)} * sizeof(uint32_t);
}

std::optional<UpstreamTable> UpstreamTable::create(void* region, size_t bytes, uint32_t capacity,
                                                   bool region_is_zero) {
  if (region == nullptr || reinterpret_cast<uintptr_t>(region) % alignof(UpstreamSlot) != 0 ||
      capacity == 0 || capacity > (1u << 20) || bytes < bytes_for(capacity)) {
    return std::nullopt;
  }
  auto* header = new (region) UpstreamTableHeader{};
  header->magic = kUpstreamTableMagic;
  header->version = kUpstreamTableVersion;
  header->capacity = capacity;
  header->row_words = row_words(capacity);
  header->bytes = bytes_for(capacity);
  auto* slots = reinterpret_cast<UpstreamSlot*>(static_cast<char*>(region) + sizeof(*header));
  for (uint32_t i = 0; i < capacity; ++i) new (slots + i) UpstreamSlot{};
  auto* rows = reinterpret_cast<std::atomic<uint32_t>*>(slots + capacity);
  if (!region_is_zero) {
    for (size_t i = 0; i < kStatsSlots * size_t{header->row_words}; ++i) {
      new (rows + i) std::atomic<uint32_t>(0);
    }
  }
  std::atomic_thread_fence(std::memory_order_release);
  return UpstreamTable(header, slots, rows);
}

std::optional<UpstreamTable> UpstreamTable::attach(void* region, size_t bytes) {
  if (region == nullptr || reinterpret_cast<uintptr_t>(region) % alignof(UpstreamSlot) != 0 ||
      bytes < sizeof(UpstreamTableHeader)) {
    return std::nullopt;
  }
  auto* header = static_cast<UpstreamTableHeader*>(region);
  if (header->magic != kUpstreamTableMagic || header->version != kUpstreamTableVersion ||
      header->capacity == 0 || header->capacity > (1u << 20) ||
      header->row_words != row_words(header->capacity) ||
      header->bytes != bytes_for(header->capacity) || header->bytes > bytes) {
    return std::nullopt;
  }
  std::atomic_thread_fence(std::memory_order_acquire);
  auto* slots = reinterpret_cast<UpstreamSlot*>(static_cast<char*>(region) + sizeof(*header));
  return UpstreamTable(header, slots,
                       reinterpret_cast<std::atomic<uint32_t>*>(slots + header->capacity));
}

std::atomic<uint32_t>* UpstreamTable::row(int stats_slot, uint32_t i) const {
  if (stats_slot < 0 || static_cast<size_t>(stats_slot) >= kStatsSlots || i >= capacity()) {
    return nullptr;
  }
  return rows_ + static_cast<size_t>(stats_slot) * header_->row_words + i;
}

uint64_t UpstreamTable::clear_owner(uint32_t stats_slot) {
  uint64_t left = 0;
  for (uint32_t i = 0; i < capacity(); ++i) {
    std::atomic<uint32_t>* word = row(static_cast<int>(stats_slot), i);
    if (word == nullptr) break;
    const uint32_t n = word->load(std::memory_order_acquire);
    if (n == 0) continue;
    std::atomic<int64_t>& total = slots_[i].traffic.in_flight;
    const int64_t now = total.fetch_sub(n, std::memory_order_acq_rel) - n;
    if (now < 0) raise_to_zero(total, now);
    word->store(0, std::memory_order_relaxed);
    left += n;
  }
  uint64_t holder = header_->checker.load(std::memory_order_acquire);
  if ((holder & 0xffff'ffff) == stats_slot + 1) {
    header_->checker.compare_exchange_strong(holder, 0, std::memory_order_acq_rel);
  }
  return left;
}

bool UpstreamTable::claim_checker(uint32_t stats_slot, uint32_t generation) {
  const uint64_t mine = uint64_t{generation} << 32 | (uint64_t{stats_slot} + 1);
  uint64_t holder = header_->checker.load(std::memory_order_acquire);
  if (holder == mine) return true;
  if (holder != 0 && (holder >> 32) >= generation) return false;
  return header_->checker.compare_exchange_strong(holder, mine, std::memory_order_acq_rel);
}

int32_t UpstreamTable::find(std::string_view group, std::string_view address,
                            uint32_t ordinal) const {
  const uint64_t key = upstream_key(group, address, ordinal);
  for (uint32_t i = 0; i < capacity(); ++i) {
    const UpstreamIdentity& id = slots_[i].id;
    if (id.use.load(std::memory_order_acquire) == static_cast<uint32_t>(SlotUse::kLive) &&
        id.key.load(std::memory_order_relaxed) == key && same_text(id.group, group) &&
        same_text(id.address, address)) {
      return static_cast<int32_t>(i);
    }
  }
  return -1;
}

size_t UpstreamTable::match(std::span<const UpstreamSpec> servers, int32_t* out) const {
  const std::vector<uint32_t> ordinal = ordinals(servers);
  std::vector<bool> taken(capacity(), false);
  size_t need = 0;
  for (size_t s = 0; s < servers.size(); ++s) {
    const uint64_t key = upstream_key(servers[s].group, servers[s].address, ordinal[s]);
    out[s] = -1;
    for (uint32_t i = 0; i < capacity() && out[s] < 0; ++i) {
      const UpstreamIdentity& id = slots_[i].id;
      if (!taken[i] && id.use.load(std::memory_order_relaxed) != 0 &&
          id.key.load(std::memory_order_relaxed) == key && same_text(id.group, servers[s].group) &&
          same_text(id.address, servers[s].address)) {
        out[s] = static_cast<int32_t>(i);
        taken[i] = true;
      }
    }
    need += out[s] < 0;
  }
  return need;
}

bool UpstreamTable::fits(std::span<const UpstreamSpec> servers, std::string* error) const {
  std::vector<int32_t> matched(servers.size());
  const size_t need = match(servers, matched.data());
  // New servers take slots no live server holds now: a slot retired by this very map may still
  // serve the draining generation.
  size_t room = 0;
  for (uint32_t i = 0; i < capacity(); ++i) {
    const uint32_t use = slots_[i].id.use.load(std::memory_order_relaxed);
    room += use != static_cast<uint32_t>(SlotUse::kLive) &&
            std::find(matched.begin(), matched.end(), static_cast<int32_t>(i)) == matched.end();
  }
  if (need <= room) return true;
  *error = "the upstream table has room for " + std::to_string(capacity()) + " servers, and " +
           std::to_string(need) + " new ones do not fit beside the " +
           std::to_string(capacity() - room) + " kept; restart the server to make it larger";
  return false;
}

bool UpstreamTable::map(std::span<const UpstreamSpec> servers, std::string* error) {
  if (!fits(servers, error)) return false;
  std::vector<int32_t> matched(servers.size());
  match(servers, matched.data());
  const std::vector<uint32_t> ordinal = ordinals(servers);
  std::vector<bool> keep(capacity(), false);
  std::vector<bool> was_live(capacity(), false);
  for (uint32_t i = 0; i < capacity(); ++i) {
    was_live[i] =
        slots_[i].id.use.load(std::memory_order_relaxed) == static_cast<uint32_t>(SlotUse::kLive);
  }
  for (int32_t m : matched) {
    if (m >= 0) keep[static_cast<size_t>(m)] = true;
  }
  auto begin_write = [](UpstreamIdentity& id) {
    id.sequence.fetch_add(1, std::memory_order_acq_rel);  // odd: readers retry
  };
  auto end_write = [](UpstreamIdentity& id) {
    id.sequence.fetch_add(1, std::memory_order_release);
  };
  // Live slots no server keeps are retired (a draining worker may still use them).
  for (uint32_t i = 0; i < capacity(); ++i) {
    UpstreamIdentity& id = slots_[i].id;
    if (!keep[i] &&
        id.use.load(std::memory_order_relaxed) == static_cast<uint32_t>(SlotUse::kLive)) {
      begin_write(id);
      id.use.store(static_cast<uint32_t>(SlotUse::kRetired), std::memory_order_release);
      end_write(id);
    }
  }
  // The slot for a new server: never used first, then retired ones with nothing in flight; never
  // one live until now (fits() counted without them).
  auto free_slot = [&]() -> int32_t {
    for (uint32_t pass = 0; pass < 3; ++pass) {
      for (uint32_t i = 0; i < capacity(); ++i) {
        const UpstreamSlot& s = slots_[i];
        const uint32_t use = s.id.use.load(std::memory_order_relaxed);
        if (keep[i] || was_live[i]) continue;
        if ((pass == 0 && use == static_cast<uint32_t>(SlotUse::kFree)) ||
            (pass == 1 && in_flight(s) == 0) || pass == 2) {
          return static_cast<int32_t>(i);
        }
      }
    }
    return -1;
  };
  for (size_t s = 0; s < servers.size(); ++s) {
    const UpstreamSpec& spec = servers[s];
    int32_t index = matched[s];
    const bool fresh = index < 0;
    if (fresh) index = free_slot();
    if (index < 0) continue;  // fits() said there was room: cannot happen
    keep[static_cast<size_t>(index)] = true;
    UpstreamSlot& slot = slots_[index];
    UpstreamIdentity& id = slot.id;
    begin_write(id);
    if (fresh) {
      // Another server's slot before: its counters and health start over (its in-flight count
      // is left to the workers still using it).
      UpstreamHealth& h = slot.health;
      for (auto* a :
           {&h.down_until_ms, &h.fail_word, &h.last_check_ms, &h.checks_passed, &h.checks_failed}) {
        a->store(0, std::memory_order_relaxed);
      }
      for (auto* a : {&h.check_state, &h.check_passes, &h.check_fails, &h.last_check_ok}) {
        a->store(0, std::memory_order_relaxed);
      }
      UpstreamTraffic& t = slot.traffic;
      t.requests.store(0, std::memory_order_relaxed);
      for (auto& r : t.responses) r.store(0, std::memory_order_relaxed);
      t.reused_connections.store(0, std::memory_order_relaxed);
      UpstreamEvents& e = slot.events;
      for (auto* a : {&e.new_connections, &e.connect_errors, &e.errors, &e.timeouts, &e.retries,
                      &e.abandoned, &e.fails, &e.downs}) {
        a->store(0, std::memory_order_relaxed);
      }
      put_text(id.group, spec.group);
      put_text(id.address, spec.address);
      id.ordinal.store(ordinal[s], std::memory_order_relaxed);
      id.key.store(upstream_key(spec.group, spec.address, ordinal[s]), std::memory_order_relaxed);
    }
    id.weight.store(spec.weight, std::memory_order_relaxed);
    id.max_conns.store(spec.max_conns, std::memory_order_relaxed);
    id.backup.store(spec.backup ? 1 : 0, std::memory_order_relaxed);
    std::atomic<uint32_t>& check = slot.health.check_state;
    if (!spec.checked) {
      check.store(static_cast<uint32_t>(CheckState::kNone), std::memory_order_release);
    } else if (check.load(std::memory_order_relaxed) == static_cast<uint32_t>(CheckState::kNone)) {
      slot.health.check_passes.store(0, std::memory_order_relaxed);
      slot.health.check_fails.store(0, std::memory_order_relaxed);
      check.store(static_cast<uint32_t>(CheckState::kChecking), std::memory_order_release);
    }
    id.use.store(static_cast<uint32_t>(SlotUse::kLive), std::memory_order_release);
    end_write(id);
  }
  header_->map_generation.fetch_add(1, std::memory_order_acq_rel);
  return true;
}

size_t read_upstreams(const UpstreamTable& table, uint64_t now_ms, UpstreamRow* rows, size_t max) {
  size_t n = 0;
  for (uint32_t i = 0; i < table.capacity() && n < max; ++i) {
    const UpstreamSlot& s = table.slot(i);
    UpstreamRow& r = rows[n];
    bool live = false;
    bool read = false;
    for (int attempt = 0; attempt < 1000 && !read; ++attempt) {
      const uint32_t before = s.id.sequence.load(std::memory_order_acquire);
      if (before & 1) continue;
      live = s.id.use.load(std::memory_order_relaxed) == static_cast<uint32_t>(SlotUse::kLive);
      std::memcpy(r.group, s.id.group, sizeof r.group);
      std::memcpy(r.server, s.id.address, sizeof r.server);
      r.group[sizeof r.group - 1] = '\0';
      r.server[sizeof r.server - 1] = '\0';
      r.weight = s.id.weight.load(std::memory_order_relaxed);
      r.max_conns = s.id.max_conns.load(std::memory_order_relaxed);
      r.backup = s.id.backup.load(std::memory_order_relaxed) != 0;
      std::atomic_thread_fence(std::memory_order_acquire);
      read = s.id.sequence.load(std::memory_order_relaxed) == before;
    }
    if (!read || !live) continue;
    r.state = state_of(s, now_ms);
    r.in_flight = in_flight(s);
    r.requests = s.traffic.requests.load(std::memory_order_relaxed);
    for (size_t c = 0; c < 5; ++c)
      r.responses[c] = s.traffic.responses[c].load(std::memory_order_relaxed);
    r.reused_connections = s.traffic.reused_connections.load(std::memory_order_relaxed);
    r.new_connections = s.events.new_connections.load(std::memory_order_relaxed);
    r.connect_errors = s.events.connect_errors.load(std::memory_order_relaxed);
    r.errors = s.events.errors.load(std::memory_order_relaxed);
    r.timeouts = s.events.timeouts.load(std::memory_order_relaxed);
    r.retries = s.events.retries.load(std::memory_order_relaxed);
    r.abandoned = s.events.abandoned.load(std::memory_order_relaxed);
    r.fails = s.events.fails.load(std::memory_order_relaxed);
    r.downs = s.events.downs.load(std::memory_order_relaxed);
    r.checks_passed = s.health.checks_passed.load(std::memory_order_relaxed);
    r.checks_failed = s.health.checks_failed.load(std::memory_order_relaxed);
    r.last_check_ok = s.health.last_check_ok.load(std::memory_order_relaxed) != 0;
    r.last_check_ms = s.health.last_check_ms.load(std::memory_order_relaxed);
    ++n;
  }
  return n;
}

}  // namespace zhttp::shm
