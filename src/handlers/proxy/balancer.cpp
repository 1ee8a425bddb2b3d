// The balancer over the upstream table: each server of the configuration is bound, when the
// worker starts, to its slot in the segment (found by group, address and ordinal; a process-local
// slot when there is no table or no slot), and every decision reads that slot: health (down for
// everyone at once), in-flight counts (least_conn, random, max_conns). What stays in this
// process: the smooth weighted round robin's current and effective weights (nginx keeps them per
// worker too), the hash rings, the random generator, and scratch arrays sized here so that
// pick() and finish() allocate nothing.
#include "handlers/proxy/balancer.hpp"

#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "handlers/common/client_address.hpp"
#include "handlers/proxy/hash_ring.hpp"
#include "shm/upstream_table.hpp"

namespace zhttp::handlers::proxy {
namespace {

struct Server {
  shm::UpstreamSlot* slot = nullptr;
  std::atomic<uint32_t>* row = nullptr;  // this worker's in-flight word for it, or null
  int64_t weight = 1;
  int64_t effective = 1;  // the weight, cut after failures and growing back (nginx)
  int64_t current = 0;    // smooth weighted round robin
  uint32_t max_conns = 0;
  bool backup = false;
};

struct Group {
  std::vector<Server> servers;
  Balance balance = Balance::kRoundRobin;
  HashKey hash_key = HashKey::kUri;
  std::string hash_header;
  uint32_t max_fails = 1;
  uint64_t fail_timeout_ms = 0;
  uint32_t rise = 2;
  uint32_t fall = 3;
  bool single = false;  // one server and no backup: failures never take it out (as nginx)
  bool has_backup = false;
  bool reads_load = false;     // least_conn, random: in-flight counts decide (else only max_conns)
  uint32_t tier_size[2] = {};  // servers that are not backups, that are
  HashRing ring[2];            // balance=hash: of the servers, of the backups
  std::vector<int64_t> load;   // in-flight counts seen by this pick
  std::vector<uint32_t> excluded;  // == epoch: lost the last place to another worker
  std::vector<uint32_t> seen;      // == epoch: already visited by this pick's ring walk
};

enum class Avail : uint8_t { kNo, kBusy, kYes };

uint64_t to_ms(double seconds) {
  return seconds <= 0 ? 0 : static_cast<uint64_t>(std::llround(seconds * 1000));
}

uint64_t splitmix(uint64_t& x) {
  uint64_t z = (x += 0x9e37'79b9'7f4a'7c15);
  z = (z ^ (z >> 30)) * 0xbf58'476d'1ce4'e5b9;
  z = (z ^ (z >> 27)) * 0x94d0'49bb'1331'11eb;
  return z ^ (z >> 31);
}

}  // namespace

struct Balancer::State {
  std::vector<Group> groups;
  std::unique_ptr<shm::UpstreamSlot[]> local;  // for servers without a slot in a table
  shm::UpstreamTable* table = nullptr;
  int stats_slot = -1;
  bool shared = true;
  uint32_t pick_epoch = 0;    // of Group::excluded
  uint32_t choice_epoch = 0;  // of Group::seen
  uint64_t random = 0;

  Server* server(uint32_t g, uint32_t s) {
    if (g >= groups.size() || s >= groups[g].servers.size()) return nullptr;
    return &groups[g].servers[s];
  }

  // Marks instead of clearing arrays: a pick's exclusions and a choice's visits are the entries
  // equal to the current epoch of their kind.
  uint32_t next_epoch(uint32_t& epoch, std::vector<uint32_t> Group::*marks) {
    if (++epoch == 0) {  // wrapped: forget every old mark
      for (Group& g : groups) std::fill((g.*marks).begin(), (g.*marks).end(), 0);
      epoch = 1;
    }
    return epoch;
  }

  uint64_t next_random() { return splitmix(random); }

  Avail avail(Group& g, uint32_t i, bool backup, uint64_t tried, uint64_t now_ms) {
    Server& s = g.servers[i];
    if (s.backup != backup || (i < 64 && (tried >> i & 1)) || g.excluded[i] == pick_epoch) {
      return Avail::kNo;
    }
    const bool down = g.single ? s.slot->health.check_state.load(std::memory_order_relaxed) ==
                                     static_cast<uint32_t>(shm::CheckState::kDown)
                               : shm::is_down(*s.slot, now_ms);
    if (down) return Avail::kNo;
    // The traffic line is written by every attempt of every worker: read only when it matters.
    if (s.max_conns == 0 && !g.reads_load) return Avail::kYes;
    g.load[i] = shm::in_flight(*s.slot);
    if (s.max_conns != 0 && g.load[i] >= static_cast<int64_t>(s.max_conns)) return Avail::kBusy;
    return Avail::kYes;
  }

  // Smooth weighted round robin over the servers `among` accepts (nginx's
  // ngx_http_upstream_get_peer): each adds its effective weight to its current weight, the
  // largest current wins and gives back the total.
  template <typename Among>
  int32_t smooth(Group& g, Among among) {
    int64_t total = 0;
    Server* best = nullptr;
    int32_t best_index = -1;
    for (uint32_t i = 0; i < g.servers.size(); ++i) {
      if (!among(i)) continue;
      Server& s = g.servers[i];
      s.current += s.effective;
      total += s.effective;
      if (s.effective < s.weight) ++s.effective;
      if (best == nullptr || s.current > best->current) {
        best = &s;
        best_index = static_cast<int32_t>(i);
      }
    }
    if (best != nullptr) best->current -= total;
    return best_index;
  }

  // One server of the tier (backups or not) that can take an attempt, -1 when none: *busy says
  // whether some were up but at max_conns.
  int32_t choose(Group& g, bool backup, const RequestView& request, uint64_t tried, uint64_t now_ms,
                 bool* busy) {
    const uint32_t n = static_cast<uint32_t>(g.servers.size());
    // Availability once per server per choice (in-flight counts move under us).
    auto& ok = g.seen;
    const uint32_t mark = next_epoch(choice_epoch, &Group::seen);
    uint32_t candidates = 0;
    int32_t only = -1;
    if (g.balance != Balance::kHash) {
      for (uint32_t i = 0; i < n; ++i) {
        const Avail a = avail(g, i, backup, tried, now_ms);
        if (a == Avail::kBusy) *busy = true;
        if (a != Avail::kYes) continue;
        ok[i] = mark;
        ++candidates;
        only = static_cast<int32_t>(i);
      }
      if (candidates <= 1) return only;
    }
    auto is_ok = [&](uint32_t i) { return ok[i] == mark; };
    switch (g.balance) {
      case Balance::kRoundRobin:
        return smooth(g, is_ok);
      case Balance::kLeastConn:
        return least_conn(g, is_ok);
      case Balance::kRandom:
        return two_choices(g, is_ok);
      case Balance::kHash:
        return by_hash(g, backup, request, tried, now_ms, busy);
    }
    return -1;
  }

  // The fewest in flight per unit of weight; ties shared by smooth round robin (as nginx).
  template <typename Among>
  int32_t least_conn(Group& g, Among among) {
    int32_t best = -1;
    uint32_t ties = 0;
    for (uint32_t i = 0; i < g.servers.size(); ++i) {
      if (!among(i)) continue;
      if (best < 0) {
        best = static_cast<int32_t>(i);
        ties = 1;
        continue;
      }
      const Server& b = g.servers[best];
      const int64_t mine = g.load[i] * b.weight;
      const int64_t theirs = g.load[best] * g.servers[i].weight;
      if (mine < theirs) {
        best = static_cast<int32_t>(i);
        ties = 1;
      } else if (mine == theirs) {
        ++ties;
      }
    }
    if (ties <= 1) return best;
    const int64_t best_load = g.load[best];
    const int64_t best_weight = g.servers[best].weight;
    return smooth(g, [&](uint32_t i) {
      return among(i) && g.load[i] * best_weight == best_load * g.servers[i].weight;
    });
  }

  // Power of two choices: two servers drawn at random by weight, the one with fewer in flight
  // per unit of weight wins (nginx's `random two least_conn`).
  template <typename Among>
  int32_t two_choices(Group& g, Among among) {
    int64_t total = 0;
    for (uint32_t i = 0; i < g.servers.size(); ++i) {
      if (among(i)) total += g.servers[i].weight;
    }
    auto draw = [&](int32_t except, int64_t sum) {
      int64_t r = static_cast<int64_t>(next_random() % static_cast<uint64_t>(sum));
      for (uint32_t i = 0; i < g.servers.size(); ++i) {
        if (!among(i) || static_cast<int32_t>(i) == except) continue;
        r -= g.servers[i].weight;
        if (r < 0) return static_cast<int32_t>(i);
      }
      return -1;
    };
    const int32_t a = draw(-1, total);
    const int32_t b = draw(a, total - g.servers[a].weight);
    if (b < 0) return a;
    return g.load[b] * g.servers[a].weight < g.load[a] * g.servers[b].weight ? b : a;
  }

  // The key's point on the ring, then the next servers clockwise when it cannot take it.
  int32_t by_hash(Group& g, bool backup, const RequestView& request, uint64_t tried,
                  uint64_t now_ms, bool* busy) {
    const HashRing& ring = g.ring[backup ? 1 : 0];
    if (ring.empty()) return -1;
    std::string_view key;
    PeerAddress peer;
    switch (g.hash_key) {
      case HashKey::kUri:
        key = request.target();
        break;
      case HashKey::kAddr:
        peer = common::canonical(request.peer());
        key = std::string_view(reinterpret_cast<const char*>(peer.bytes),
                               peer.family == AF_INET ? 4 : 16);
        break;
      case HashKey::kHeader:
        key = request.header(std::string_view(g.hash_header));
        break;
    }
    if (key.empty()) {  // nothing to hash: spread them instead
      const uint32_t mark = choice_epoch;
      bool any = false;
      for (uint32_t i = 0; i < g.servers.size(); ++i) {
        const Avail a = avail(g, i, backup, tried, now_ms);
        if (a == Avail::kBusy) *busy = true;
        if (a == Avail::kYes) {
          g.seen[i] = mark;
          any = true;
        }
      }
      if (!any) return -1;
      return smooth(g, [&](uint32_t i) { return g.seen[i] == mark; });
    }
    uint32_t visited = 0;
    const uint32_t tier = g.tier_size[backup ? 1 : 0];
    size_t at = ring.find(ring_hash(key));
    for (size_t step = 0; step < ring.size() && visited < tier; ++step, at = ring.next(at)) {
      const uint32_t i = ring.server_at(at);
      if (g.seen[i] == choice_epoch) continue;
      g.seen[i] = choice_epoch;
      ++visited;
      const Avail a = avail(g, i, backup, tried, now_ms);
      if (a == Avail::kYes) return static_cast<int32_t>(i);
      if (a == Avail::kBusy) *busy = true;
    }
    return -1;
  }

  Pick pick_tier(Group& g, bool backup, const RequestView& request, uint64_t tried, uint64_t now_ms,
                 uint32_t* out) {
    bool busy = false;
    const uint32_t exclusion = next_epoch(pick_epoch, &Group::excluded);
    for (size_t attempt = 0; attempt <= g.servers.size(); ++attempt) {
      const int32_t chosen = choose(g, backup, request, tried, now_ms, &busy);
      if (chosen < 0) break;
      Server& s = g.servers[chosen];
      if (shm::acquire(*s.slot, s.row, s.max_conns)) {
        *out = static_cast<uint32_t>(chosen);
        return Pick::kPicked;
      }
      busy = true;  // another worker took its last place meanwhile
      g.excluded[chosen] = exclusion;
    }
    return busy ? Pick::kAllBusy : Pick::kNoneUp;
  }
};

Balancer::Balancer(const ProxyConfig& config, shm::UpstreamTable* table, int stats_slot)
    : state_(new State) {
  State& st = *state_;
  st.table = table;
  st.stats_slot = stats_slot;
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  st.random = static_cast<uint64_t>(ts.tv_nsec) ^ static_cast<uint64_t>(ts.tv_sec) << 32 ^
              static_cast<uint64_t>(::getpid()) << 16 ^ reinterpret_cast<uintptr_t>(this);

  // Which servers have a slot in the table, to size the local ones for the others.
  std::vector<std::vector<int32_t>> slots(config.groups.size());
  size_t local = 0;
  for (size_t g = 0; g < config.groups.size(); ++g) {
    const UpstreamGroup& group = config.groups[g];
    for (size_t i = 0; i < group.servers.size(); ++i) {
      uint32_t ordinal = 0;
      for (size_t j = 0; j < i; ++j)
        ordinal += group.servers[j].address == group.servers[i].address;
      const int32_t at =
          table != nullptr ? table->find(group.name, group.servers[i].address, ordinal) : -1;
      slots[g].push_back(at);
      local += at < 0;
    }
  }
  st.shared = table != nullptr && local == 0;
  if (local > 0) st.local = std::make_unique<shm::UpstreamSlot[]>(local);
  size_t next_local = 0;

  st.groups.resize(config.groups.size());
  for (size_t g = 0; g < config.groups.size(); ++g) {
    const UpstreamGroup& from = config.groups[g];
    Group& to = st.groups[g];
    to.balance = from.balance;
    to.hash_key = from.hash_key;
    to.hash_header = from.hash_header;
    to.max_fails = from.max_fails;
    to.fail_timeout_ms = to_ms(from.fail_timeout);
    to.rise = from.rise;
    to.fall = from.fall;
    std::vector<RingServer> ring[2];
    for (size_t i = 0; i < from.servers.size(); ++i) {
      const UpstreamServer& s = from.servers[i];
      Server& server = to.servers.emplace_back();
      if (slots[g][i] >= 0) {
        const auto at = static_cast<uint32_t>(slots[g][i]);
        server.slot = &table->slot(at);
        server.row = table->row(stats_slot, at);
      } else {
        server.slot = &st.local[next_local++];
        if (!from.check.empty()) {
          server.slot->health.check_state.store(static_cast<uint32_t>(shm::CheckState::kChecking),
                                                std::memory_order_relaxed);
        }
      }
      server.weight = server.effective = std::max<uint32_t>(s.weight, 1);
      server.max_conns = s.max_conns;
      server.backup = s.backup;
      to.has_backup = to.has_backup || s.backup;
      ++to.tier_size[s.backup ? 1 : 0];
      uint32_t ordinal = 0;
      for (size_t j = 0; j < i; ++j) ordinal += from.servers[j].address == s.address;
      ring[s.backup ? 1 : 0].push_back(
          {s.address, ordinal, std::max<uint32_t>(s.weight, 1), static_cast<uint32_t>(i)});
    }
    to.single = from.servers.size() == 1;
    to.reads_load = to.balance == Balance::kLeastConn || to.balance == Balance::kRandom;
    if (to.balance == Balance::kHash) {
      for (int t = 0; t < 2; ++t) to.ring[t] = HashRing(ring[t]);
    }
    to.load.assign(to.servers.size(), 0);
    to.excluded.assign(to.servers.size(), 0);
    to.seen.assign(to.servers.size(), 0);
  }
}

Balancer::~Balancer() {
  delete state_;
}

Pick Balancer::pick(uint32_t group, const RequestView& request, uint64_t tried, uint64_t now_ms,
                    uint32_t* server) {
  if (group >= state_->groups.size()) return Pick::kNoneUp;
  Group& g = state_->groups[group];
  const Pick first = state_->pick_tier(g, false, request, tried, now_ms, server);
  // Backups only when no other server can be tried: all down (or tried already). Servers at
  // max_conns are not down: the answer is then a 503 for being busy.
  if (first != Pick::kNoneUp || !g.has_backup) return first;
  return state_->pick_tier(g, true, request, tried, now_ms, server);
}

void Balancer::finish(uint32_t group, uint32_t server, Outcome outcome, uint16_t status,
                      uint64_t now_ms) {
  Server* s = state_->server(group, server);
  if (s == nullptr) return;
  shm::UpstreamSlot& slot = *s->slot;
  shm::release(slot, s->row);
  std::atomic<uint64_t>* failure = nullptr;
  switch (outcome) {
    case Outcome::kResponse:
      if (status >= 100 && status < 600) shm::bump(slot.traffic.responses[status / 100 - 1]);
      shm::record_success(slot);
      return;
    case Outcome::kAbandoned:
      shm::bump(slot.events.abandoned);
      return;
    case Outcome::kConnectError:
      failure = &slot.events.connect_errors;
      break;
    case Outcome::kError:
      failure = &slot.events.errors;
      break;
    case Outcome::kTimeout:
      failure = &slot.events.timeouts;
      break;
  }
  if (failure == nullptr) return;
  shm::bump(*failure);
  shm::bump(slot.events.fails);
  const Group& g = state_->groups[group];
  if (g.single || g.max_fails == 0) return;
  // This worker's round robin backs off at once (nginx: weight / max_fails per failure).
  s->effective = std::max<int64_t>(0, s->effective - s->weight / g.max_fails);
  shm::record_failure(slot, now_ms, g.max_fails, g.fail_timeout_ms);
}

void Balancer::count_retry(uint32_t group, uint32_t server) {
  if (Server* s = state_->server(group, server)) shm::bump(s->slot->events.retries);
}

void Balancer::count_connection(uint32_t group, uint32_t server, bool reused) {
  Server* s = state_->server(group, server);
  if (s == nullptr) return;
  shm::bump(reused ? s->slot->traffic.reused_connections : s->slot->events.new_connections);
}

bool Balancer::claim_checks(uint32_t generation) {
  if (state_->table == nullptr) return true;
  if (state_->stats_slot < 0) return false;  // its lease could not be dropped when it dies
  return state_->table->claim_checker(static_cast<uint32_t>(state_->stats_slot), generation);
}

void Balancer::record_check(uint32_t group, uint32_t server, bool passed, uint64_t now_ms) {
  Server* s = state_->server(group, server);
  if (s == nullptr) return;
  const Group& g = state_->groups[group];
  shm::record_check(*s->slot, passed, now_ms, g.rise, g.fall);
}

ServerState Balancer::state(uint32_t group, uint32_t server, uint64_t now_ms) const {
  const Server* s = state_->server(group, server);
  if (s == nullptr) return ServerState::kDown;
  switch (shm::state_of(*s->slot, now_ms)) {
    case shm::UpstreamState::kUp:
      return ServerState::kUp;
    case shm::UpstreamState::kDown:
      return ServerState::kDown;
    case shm::UpstreamState::kChecking:
      return ServerState::kChecking;
  }
  return ServerState::kUp;
}

uint32_t Balancer::in_flight(uint32_t group, uint32_t server) const {
  const Server* s = state_->server(group, server);
  return s == nullptr ? 0 : static_cast<uint32_t>(shm::in_flight(*s->slot));
}

bool Balancer::shared() const {
  return state_->shared;
}

}  // namespace zhttp::handlers::proxy
