// The rate table's request path allocates nothing: hashing a key, checking, charging several
// rules all-or-none, refunding, and inserting and evicting keys in a full table.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstdio>
#include <string_view>

#include "alloc_counter.hpp"
#include "shm/rate_table.hpp"

namespace zhttp::shm {
namespace {

TEST(RateTableAllocations, CheckChargeRefundAndEvictAllocateNothing) {
  constexpr uint32_t kSlots = 64;  // small: most inserts below evict
  const size_t bytes = RateTable::bytes_for(kSlots);
  void* region = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(region, MAP_FAILED);
  auto table = RateTable::create(region, bytes, kSlots, SipKey{1, 2}, 0);
  ASSERT_TRUE(table.has_value());
  const RateRule fast = RateRule::nodelay(100, 1'000'000, 5);
  const RateRule slow = RateRule::per(1, 1'000'000, 2, 0);
  char key[32];
  const uint64_t hot = table->hash("203.0.113.1");
  RateStats stats;
  long checks = 0;
  long allocations = 0;
  {
    test::AllocationWindow window;
    uint64_t now = 1'000'000;
    for (int i = 0; i < 100000; ++i, now += 37) {
      int n = std::snprintf(key, sizeof key, "10.0.%d.%d", (i / 256) % 256, i % 256);
      uint64_t h = table->hash(std::string_view(key, static_cast<size_t>(n)));
      table->check(h, fast, now, &stats);
      table->check(hot, slow, now, &stats);  // one key over its budget: the refusal path
      RateLimitRef limits[2] = {{&*table, h, &fast, {}}, {&*table, h ^ 1, &slow, {}}};
      charge_all(limits, now, &stats);
      RateCharge c;
      if (table->charge(h, slow, now, &stats, &c).outcome != RateDecision::kRefuse) {
        table->refund(c, now, &stats);
      }
      checks += 5;
    }
    table->sweep(now);
    allocations = window.allocations();
  }
  std::printf("checks: %ld, evictions: %lu, allocations: %ld\n", checks,
              static_cast<unsigned long>(stats.evictions), allocations);
  EXPECT_GT(stats.evictions, 0u);
  EXPECT_GT(stats.refused, 0u);
  EXPECT_EQ(allocations, 0);
  ::munmap(region, bytes);
}

}  // namespace
}  // namespace zhttp::shm
