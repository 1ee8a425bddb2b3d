// The balancer, first cut: smooth weighted round robin over each group's servers with the state
// in this process only (the shared upstream table comes next). Enough for the proxy to link and
// to spread requests; every balance= mode picks round robin for now.
#include "handlers/proxy/balancer.hpp"

#include <vector>

namespace zhttp::handlers::proxy {

struct Balancer::State {
  struct Server {
    int64_t weight = 1;
    int64_t current = 0;
    bool backup = false;
  };
  std::vector<std::vector<Server>> groups;
};

Balancer::Balancer(const ProxyConfig& config, shm::UpstreamTable*, int) : state_(new State) {
  state_->groups.resize(config.groups.size());
  for (size_t g = 0; g < config.groups.size(); ++g) {
    for (const UpstreamServer& s : config.groups[g].servers) {
      state_->groups[g].push_back({static_cast<int64_t>(s.weight), 0, s.backup});
    }
  }
}

Balancer::~Balancer() {
  delete state_;
}

Pick Balancer::pick(uint32_t group, const RequestView&, uint64_t tried, uint64_t,
                    uint32_t* server) {
  if (group >= state_->groups.size()) return Pick::kNoneUp;
  auto& servers = state_->groups[group];
  for (bool backup : {false, true}) {
    int64_t total = 0;
    State::Server* best = nullptr;
    for (size_t i = 0; i < servers.size(); ++i) {
      State::Server& s = servers[i];
      if (s.backup != backup || (i < 64 && (tried >> i) & 1)) continue;
      s.current += s.weight;
      total += s.weight;
      if (best == nullptr || s.current > best->current) best = &s;
    }
    if (best != nullptr) {
      best->current -= total;
      *server = static_cast<uint32_t>(best - servers.data());
      return Pick::kPicked;
    }
  }
  return Pick::kNoneUp;
}

void Balancer::finish(uint32_t, uint32_t, Outcome, uint16_t, uint64_t) {}
void Balancer::count_retry(uint32_t, uint32_t) {}
void Balancer::count_connection(uint32_t, uint32_t, bool) {}

}  // namespace zhttp::handlers::proxy
