#include "handlers/proxy/hash_ring.hpp"

#include <algorithm>
#include <string>

#include "shm/siphash.hpp"

namespace zhttp::handlers::proxy {
namespace {

// Fixed: every worker (and every restart) must place the same key on the same point.
constexpr shm::SipKey kRingKey{0x6b65'7461'6d61'2d72, 0x696e'672d'706f'696e};

}  // namespace

uint32_t ring_hash(std::string_view key) {
  return static_cast<uint32_t>(shm::siphash13(kRingKey, key) >> 32);
}

HashRing::HashRing(const std::vector<RingServer>& servers) {
  uint64_t weights = 0;
  for (const RingServer& s : servers) weights += s.weight;
  const uint64_t per_weight =
      weights * kPointsPerWeight <= kMaxRingPoints
          ? kPointsPerWeight
          : std::max<uint64_t>(2, kMaxRingPoints / std::max<uint64_t>(weights, 1));
  std::string text;
  for (const RingServer& s : servers) {
    const uint64_t points = per_weight * s.weight;
    // Two points per 64-bit hash of "address#ordinal-j".
    for (uint64_t j = 0; j < (points + 1) / 2; ++j) {
      text.assign(s.address);
      text += '#';
      text += std::to_string(s.ordinal);
      text += '-';
      text += std::to_string(j);
      const uint64_t h = shm::siphash13(kRingKey, text);
      points_.push_back({static_cast<uint32_t>(h), s.index});
      if (2 * j + 1 < points) points_.push_back({static_cast<uint32_t>(h >> 32), s.index});
    }
  }
  std::sort(points_.begin(), points_.end(), [](const Point& a, const Point& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.server < b.server;
  });
}

size_t HashRing::find(uint32_t hash) const {
  auto it = std::lower_bound(points_.begin(), points_.end(), hash,
                             [](const Point& p, uint32_t h) { return p.hash < h; });
  return it == points_.end() ? 0 : static_cast<size_t>(it - points_.begin());
}

}  // namespace zhttp::handlers::proxy
