// The application's counters and gauges (shm/app_counters.hpp) in a real segment: the layout of
// the declared values, the words a worker may write (never the retired row), the writer handle,
// sums over the retired row and the workers in use (a free slot's words and the retired row of a
// gauge never count), a fold that keeps a counter's total and drops an exited worker's gauge, and
// totals that never go back while workers come and go under a concurrent reader.
#include "shm/app_counters.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "shm/segment.hpp"

namespace zhttp::shm {
namespace {

std::string unique_name() {
  static int n = 0;
  return "zhttpd-app-test-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

class AppCountersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    segment_ = Segment::create(
        unique_name(), static_cast<uint64_t>(::getpid()),
        {{RegionKind::kAppCounters, kAppCountersVersion, AppCountersRegion::bytes_for(2), ""}});
    region_ = static_cast<AppCountersRegion*>(segment_->region(RegionKind::kAppCounters));
    ASSERT_NE(region_, nullptr);
    const AppValueDecl values[] = {{"greetings", "Greetings sent.", kAppCounter},
                                   {"busy", "Handlers running.", kAppGauge}};
    ASSERT_TRUE(lay_out_app_values(*region_, values));
  }

  StatsRegion& stats() { return segment_->stats(); }

  AppValueWriter writer(int slot, uint32_t value) {
    std::atomic<uint64_t>* word = worker_word(*region_, slot, value);
    EXPECT_NE(word, nullptr);
    return AppValueWriter(word);
  }

  // What the master does for an exited worker (on_worker_exit does it with everything else).
  void exit_worker(int slot) {
    stats().fold_sequence.fetch_add(1, std::memory_order_acq_rel);
    fold_app_values(*region_, slot);
    stats().slots[slot].in_use.store(0, std::memory_order_relaxed);
    stats().fold_sequence.fetch_add(1, std::memory_order_release);
  }

  AppValuesSnapshot read() {
    AppValuesSnapshot s;
    EXPECT_TRUE(read_app_values(*region_, stats(), &s));
    return s;
  }

  std::unique_ptr<Segment> segment_;
  AppCountersRegion* region_ = nullptr;
};

TEST_F(AppCountersTest, LayOutWritesNamesHelpAndKinds) {
  EXPECT_EQ(region_->value_count, 2u);
  EXPECT_EQ(region_->name(0), "greetings");
  EXPECT_EQ(region_->help(1), "Handlers running.");
  EXPECT_EQ(region_->values[1].kind, kAppGauge);

  const std::string long_help(kAppHelpBytes + 10, 'h');
  const AppValueDecl one[] = {{"x", long_help, kAppCounter}};
  ASSERT_TRUE(lay_out_app_values(*region_, one));
  EXPECT_EQ(region_->help(0), long_help.substr(0, kAppHelpBytes - 1));

  std::vector<AppValueDecl> too_many(kMaxAppValues + 1, AppValueDecl{"x", "", kAppCounter});
  EXPECT_FALSE(lay_out_app_values(*region_, too_many));
  EXPECT_EQ(region_->value_count, 1u);  // untouched
}

TEST_F(AppCountersTest, WorkerWordIsTheWorkersOwnAndNeverTheRetiredRow) {
  EXPECT_EQ(worker_word(*region_, 3, 1), &region_->word(3, 1));
  EXPECT_EQ(worker_word(*region_, -1, 0), nullptr);  // no stats slot
  EXPECT_EQ(worker_word(*region_, static_cast<int>(kStatsSlots), 0), nullptr);
  EXPECT_EQ(worker_word(*region_, 0, 2), nullptr);  // no such value
}

TEST_F(AppCountersTest, WriterAddsAndSets) {
  AppValueWriter counter = writer(0, 0);
  counter.add(2);
  counter.add(3);
  EXPECT_EQ(counter.get(), 5);
  AppValueWriter gauge = writer(0, 1);
  gauge.add(1);
  gauge.add(-3);
  EXPECT_EQ(gauge.get(), -2);
  gauge.set(7);
  EXPECT_EQ(region_->word(0, 1).load(), 7u);
}

TEST_F(AppCountersTest, ReadSumsTheRetiredRowAndTheWorkersInUse) {
  stats().slots[0].in_use.store(1);
  stats().slots[2].in_use.store(1);
  region_->word(-1, 0).store(5);
  writer(0, 0).add(3);
  writer(2, 0).add(4);
  writer(1, 0).add(100);            // slot 1 is free: not counted
  region_->word(-1, 1).store(999);  // a gauge's retired word is not counted
  writer(0, 1).set(2);
  writer(2, 1).set(-1);

  AppValuesSnapshot s = read();
  ASSERT_EQ(s.count, 2u);
  EXPECT_EQ(s.values[0].name, "greetings");
  EXPECT_EQ(s.values[0].help, "Greetings sent.");
  EXPECT_EQ(s.values[0].kind, kAppCounter);
  EXPECT_EQ(s.values[0].total, 12);
  EXPECT_EQ(s.values[1].name, "busy");
  EXPECT_EQ(s.values[1].kind, kAppGauge);
  EXPECT_EQ(s.values[1].total, 1);
}

TEST_F(AppCountersTest, FoldKeepsTheCountersAndDropsTheGaugesOfAnExitedWorker) {
  stats().slots[0].in_use.store(1);
  stats().slots[2].in_use.store(1);
  writer(0, 0).add(3);
  writer(2, 0).add(4);
  writer(0, 1).set(2);
  writer(2, 1).set(5);
  exit_worker(0);

  EXPECT_EQ(region_->word(-1, 0).load(), 3u);
  EXPECT_EQ(region_->word(0, 0).load(), 0u);
  EXPECT_EQ(region_->word(0, 1).load(), 0u);
  EXPECT_EQ(region_->word(-1, 1).load(), 0u);  // gauges are not folded
  AppValuesSnapshot s = read();
  EXPECT_EQ(s.values[0].total, 7);
  EXPECT_EQ(s.values[1].total, 5);  // only the worker still running

  // The slot given to a new worker starts from zero.
  stats().slots[0].in_use.store(1);
  EXPECT_EQ(read().values[0].total, 7);
}

TEST_F(AppCountersTest, ReadRetriesWhileTheMasterFolds) {
  stats().fold_sequence.store(1);  // a master stuck mid-fold
  AppValuesSnapshot s;
  EXPECT_FALSE(read_app_values(*region_, stats(), &s));
}

// Workers take slots round-robin, count, exit and are folded while another thread reads: the
// counter's total it sees never goes back, and ends exact.
TEST_F(AppCountersTest, TotalsNeverGoBackWhileWorkersComeAndGo) {
  std::atomic<bool> done{false};
  std::atomic<int> went_back{0};
  std::thread reader([&] {
    int64_t last = 0;
    while (!done.load()) {
      AppValuesSnapshot s;
      if (!read_app_values(*region_, stats(), &s)) continue;
      if (s.values[0].total < last) went_back.fetch_add(1);
      last = s.values[0].total;
    }
  });
  int64_t expected = 0;
  for (int round = 0; round < 200000; ++round) {
    const int slot = round % 8;
    stats().slots[slot].in_use.store(1, std::memory_order_release);
    AppValueWriter w = writer(slot, 0);
    for (int i = 0; i <= round % 5; ++i) {
      w.add(1);
      ++expected;
    }
    exit_worker(slot);
  }
  done.store(true);
  reader.join();
  EXPECT_EQ(went_back.load(), 0);
  EXPECT_EQ(read().values[0].total, expected);
}

}  // namespace
}  // namespace zhttp::shm
