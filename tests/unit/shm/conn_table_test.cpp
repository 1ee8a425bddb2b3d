// The connection-count table (shm/conn_table.hpp): up to max per key, then over the limit; a
// release frees the place; each worker has its own word; a dead worker's words are emptied by
// clear_owner; a full bucket says so. Then real processes on a MAP_SHARED table racing for the
// places of one key never hold more than max at once, and processes SIGKILLed while holding
// places lose them once the master clears their owner.
#include "shm/conn_table.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "unit/support/shared_mapping.hpp"

namespace zhttp::shm {
namespace {

using Outcome = ConnTable::Outcome;

using SharedBytes = test::SharedMapping;

struct Fixture {
  explicit Fixture(uint32_t slots)
      : map(ConnTable::bytes_for(slots)),
        table(*ConnTable::create(map.get(), map.size(), slots, SipKey{7, 9})) {}
  SharedBytes map;
  ConnTable table;
};

TEST(ConnTable, UpToMaxThenOverTheLimitAndAReleaseFreesAPlace) {
  Fixture f(64);
  const uint64_t key = f.table.hash("10.0.0.1");
  ConnHandle h[4] = {};
  EXPECT_EQ(f.table.acquire(key, 0, 3, &h[0]), Outcome::kAdmitted);
  EXPECT_EQ(f.table.acquire(key, 0, 3, &h[1]), Outcome::kAdmitted);
  EXPECT_EQ(f.table.acquire(key, 1, 3, &h[2]), Outcome::kAdmitted);  // another worker
  EXPECT_EQ(f.table.count(key), 3u);
  EXPECT_EQ(f.table.acquire(key, 1, 3, &h[3]), Outcome::kOverLimit);
  EXPECT_EQ(f.table.count(key), 3u);      // the refused one was undone
  EXPECT_EQ(f.table.words_in_use(), 2u);  // one word per (worker, key)
  f.table.release(h[0]);
  EXPECT_EQ(f.table.count(key), 2u);
  EXPECT_EQ(f.table.acquire(key, 1, 3, &h[3]), Outcome::kAdmitted);
  // Another key has its own budget.
  const uint64_t other = f.table.hash("10.0.0.2");
  ConnHandle o = 0;
  EXPECT_EQ(f.table.acquire(other, 0, 1, &o), Outcome::kAdmitted);
  EXPECT_EQ(f.table.acquire(other, 0, 1, &o), Outcome::kOverLimit);
  for (ConnHandle x : {h[1], h[2], h[3]}) f.table.release(x);
  EXPECT_EQ(f.table.count(key), 0u);
  f.table.release(o);
  EXPECT_EQ(f.table.words_in_use(), 0u);  // the last release empties each word
}

TEST(ConnTable, ClearOwnerEmptiesADeadWorkersWordsOnly) {
  Fixture f(64);
  const uint64_t a = f.table.hash("a"), b = f.table.hash("b");
  ConnHandle h = 0;
  for (int i = 0; i < 5; ++i) ASSERT_EQ(f.table.acquire(a, 3, 10, &h), Outcome::kAdmitted);
  ASSERT_EQ(f.table.acquire(b, 3, 10, &h), Outcome::kAdmitted);
  ASSERT_EQ(f.table.acquire(a, 4, 10, &h), Outcome::kAdmitted);
  EXPECT_EQ(f.table.count(a), 6u);
  EXPECT_EQ(f.table.clear_owner(3), 2u);  // its words for a and b
  EXPECT_EQ(f.table.count(a), 1u);        // worker 4's stays
  EXPECT_EQ(f.table.count(b), 0u);
}

TEST(ConnTable, AFullBucketRefusesWithFull) {
  Fixture f(8);  // one bucket of 8 words
  const uint64_t key = f.table.hash("k");
  ConnHandle h = 0;
  for (uint32_t owner = 0; owner < kConnBucketWords; ++owner) {
    ASSERT_EQ(f.table.acquire(key, owner, 100, &h), Outcome::kAdmitted) << owner;
  }
  EXPECT_EQ(f.table.acquire(key, 8, 100, &h), Outcome::kFull);      // no word left for worker 8
  EXPECT_EQ(f.table.acquire(key, 0, 100, &h), Outcome::kAdmitted);  // worker 0 has its word
  EXPECT_EQ(f.table.count(key), 9u);
}

TEST(ConnTable, AttachChecksTheLayout) {
  Fixture f(16);
  EXPECT_TRUE(ConnTable::attach(f.map.get(), f.map.size()).has_value());
  EXPECT_FALSE(ConnTable::attach(f.map.get(), 32).has_value());
  std::vector<uint64_t> zeros(64, 0);
  EXPECT_FALSE(ConnTable::attach(zeros.data(), zeros.size() * 8).has_value());
}

// Processes take and give back places of one key as fast as they can; each counts what it
// holds in `held` (after an admission, before a release), and the parent checks that the sum
// never exceeds max.
TEST(ConnTableProcesses, RacingWorkersNeverHoldMoreThanMax) {
  constexpr uint32_t kMax = 5;
  constexpr int kProcesses = 4;
  Fixture f(1024);
  SharedBytes counters(4096);
  auto* held = new (counters.get()) std::atomic<int64_t>(0);
  auto* admissions = new (static_cast<char*>(counters.get()) + 64) std::atomic<int64_t>(0);
  const uint64_t key = f.table.hash("hot");
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      std::mt19937 rng(static_cast<uint32_t>(p));
      std::vector<ConnHandle> mine;
      for (;;) {
        ConnHandle h = 0;
        if (mine.size() < 3 &&
            f.table.acquire(key, static_cast<uint32_t>(p), kMax, &h) == Outcome::kAdmitted) {
          held->fetch_add(1);
          admissions->fetch_add(1);
          mine.push_back(h);
        } else if (!mine.empty() && rng() % 2 == 0) {
          held->fetch_sub(1);
          f.table.release(mine.back());
          mine.pop_back();
        }
      }
    }
    children.push_back(pid);
  }
  int64_t most = 0;
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(700);
  while (std::chrono::steady_clock::now() < end) most = std::max(most, held->load());
  for (pid_t c : children) kill(c, SIGKILL);
  for (pid_t c : children) waitpid(c, nullptr, 0);
  std::printf("[ %d processes, max %u: %lld admissions, most held at once %lld ]\n", kProcesses,
              kMax, static_cast<long long>(admissions->load()), static_cast<long long>(most));
  EXPECT_GT(admissions->load(), 1000);
  EXPECT_LE(most, static_cast<int64_t>(kMax));
  // Killed while holding places: clearing their owners gives every place back.
  for (int p = 0; p < kProcesses; ++p) f.table.clear_owner(static_cast<uint32_t>(p));
  EXPECT_EQ(f.table.count(key), 0u);
  ConnHandle h = 0;
  for (uint32_t i = 0; i < kMax; ++i)
    EXPECT_EQ(f.table.acquire(key, 9, kMax, &h), Outcome::kAdmitted);
}

}  // namespace
}  // namespace zhttp::shm
