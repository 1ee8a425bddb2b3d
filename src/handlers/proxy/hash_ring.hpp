#pragma once
// The consistent hash ring of balance=hash (ketama, as nginx's `hash ... consistent`): each
// server gets 160 points per unit of weight, placed by hashing its address, so adding or
// removing a server moves only the keys of the arcs it gains or loses (about 1/n of them).
// Built once when a worker starts; a lookup is a binary search and allocates nothing.
#include <cstdint>
#include <string_view>
#include <vector>

namespace zhttp::handlers::proxy {

inline constexpr uint32_t kPointsPerWeight = 160;
// Rings larger than this get fewer points per weight unit (all servers alike).
inline constexpr uint32_t kMaxRingPoints = 1u << 20;

struct RingServer {
  std::string_view address;  // what places its points: the same address, the same points
  uint32_t ordinal = 0;      // tells twins (one address twice in a group) apart
  uint32_t weight = 1;
  uint32_t index = 0;  // what a lookup returns for it
};

class HashRing {
 public:
  HashRing() = default;
  explicit HashRing(const std::vector<RingServer>& servers);

  bool empty() const { return points_.empty(); }
  size_t size() const { return points_.size(); }
  // The position of the first point at or after `hash` (wrapping): walk on with next().
  size_t find(uint32_t hash) const;
  size_t next(size_t position) const { return position + 1 == points_.size() ? 0 : position + 1; }
  uint32_t server_at(size_t position) const { return points_[position].server; }

 private:
  struct Point {
    uint32_t hash;
    uint32_t server;
  };
  std::vector<Point> points_;
};

// The 32-bit hash of a key (uri, client address, field value): where it falls on the ring.
uint32_t ring_hash(std::string_view key);

}  // namespace zhttp::handlers::proxy
