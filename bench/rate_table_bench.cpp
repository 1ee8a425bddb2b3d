// One rate-limit check (shm/rate_table.hpp): a hit on a live key, the insert of a new key into a
// large table (cache-missing) and into a full bucket (eviction), a refusal, the keyed hash, and
// one hot key shared by 1 and 2 threads, and by 2 processes on a shared mapping. Registered
// statically: parser_bench.cpp's main runs them with the parser cases.
#include <benchmark/benchmark.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

#include "shm/rate_table.hpp"

namespace {

using zhttp::shm::RateRule;
using zhttp::shm::RateStats;
using zhttp::shm::RateTable;
using zhttp::shm::SipKey;

constexpr SipKey kSecret{0x9e3779b97f4a7c15ULL, 0xbf58476d1ce4e5b9ULL};

// A table in a MAP_SHARED anonymous mapping, as the segment will be (never unmapped: a bench).
RateTable make_table(uint32_t slots) {
  const size_t bytes = RateTable::bytes_for(slots);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) std::abort();
  return *RateTable::create(p, bytes, slots, kSecret, 0);
}

void BM_RateHash(benchmark::State& state) {
  RateTable table = make_table(8);
  for (auto _ : state) benchmark::DoNotOptimize(table.hash("2001:db8:85a3::8a2e:370:7334"));
}
BENCHMARK(BM_RateHash);

// A live key charged at its steady rate: TAT stays 100 us ahead, every check passes and writes.
void BM_RateCheckHit(benchmark::State& state) {
  RateTable table = make_table(1 << 16);
  const RateRule rule = RateRule::nodelay(1'000'000, 1'000'000, 1000);  // T = 1 us
  RateStats stats;
  const uint64_t key = table.hash("192.0.2.1");
  uint64_t now = 1'000'000;
  for (int i = 0; i < 100; ++i) table.check(key, rule, now, &stats);
  for (auto _ : state) {
    benchmark::DoNotOptimize(table.check(key, rule, ++now, &stats));
  }
  if (stats.refused != 0) state.SkipWithError("refused");
}
BENCHMARK(BM_RateCheckHit);

// A new key each check into 1M slots (8 MiB): entries expire after 1000 checks, so each new key
// claims an empty or expired word.
void BM_RateCheckInsert(benchmark::State& state) {
  RateTable table = make_table(1 << 20);
  const RateRule rule = RateRule::nodelay(1000, 1'000'000, 0);  // T = 1 ms
  RateStats stats;
  uint64_t now = 1'000'000, n = 0;
  for (auto _ : state) {
    const uint64_t key = (++n) * 0x9e3779b97f4a7c15ULL;
    benchmark::DoNotOptimize(table.check(key, rule, ++now, &stats));
  }
  state.counters["evictions"] =
      benchmark::Counter(static_cast<double>(stats.evictions), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_RateCheckInsert);

// A new key each check into one full bucket: every check evicts the smallest TAT.
void BM_RateCheckEvict(benchmark::State& state) {
  RateTable table = make_table(8);
  const RateRule rule = RateRule::nodelay(1, 1'000'000, 10);
  RateStats stats;
  uint64_t n = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(table.check(++n, rule, 1'000'000, &stats));
  }
  state.counters["evictions"] =
      benchmark::Counter(static_cast<double>(stats.evictions), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_RateCheckEvict);

// An exhausted key: every check is refused and writes nothing.
void BM_RateCheckRefuse(benchmark::State& state) {
  RateTable table = make_table(1 << 16);
  const RateRule rule = RateRule::nodelay(1, 1'000'000, 10);
  RateStats stats;
  const uint64_t key = table.hash("198.51.100.7");
  for (int i = 0; i < 11; ++i) table.check(key, rule, 1'000'000, &stats);
  for (auto _ : state) {
    benchmark::DoNotOptimize(table.check(key, rule, 1'000'000, &stats));
  }
  if (stats.passed != 11) state.SkipWithError("passed");
}
BENCHMARK(BM_RateCheckRefuse);

// One hot key, every thread charging it with the real clock (sped up 64x so that nothing is
// refused: each check is a CAS on one shared cache line).
void BM_RateHotKey(benchmark::State& state) {
  static RateTable table = make_table(1 << 10);
  const RateRule rule = RateRule::nodelay(1'000'000, 1'000'000, 1'000'000);
  RateStats stats;
  const uint64_t key = table.hash("203.0.113.9");
  for (auto _ : state) {
    benchmark::DoNotOptimize(table.check(key, rule, zhttp::shm::monotonic_us() * 64, &stats));
  }
  state.counters["cas_retries"] = benchmark::Counter(static_cast<double>(stats.cas_retries),
                                                     benchmark::Counter::kAvgIterations);
  state.counters["refused"] =
      benchmark::Counter(static_cast<double>(stats.refused), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_RateHotKey)->Threads(1)->Threads(2)->UseRealTime();

// The same hot key with a second process (forked, on the same MAP_SHARED table) charging it
// all the while: two workers of one server on one client.
void BM_RateHotKeyTwoProcesses(benchmark::State& state) {
  static RateTable table = make_table(1 << 10);
  const RateRule rule = RateRule::nodelay(1'000'000, 1'000'000, 1'000'000);
  const uint64_t key = table.hash("203.0.113.9");
  pid_t other = fork();
  if (other < 0) std::abort();
  if (other == 0) {
    RateStats own;
    for (;;) table.check(key, rule, zhttp::shm::monotonic_us() * 64, &own);
  }
  RateStats stats;
  for (auto _ : state) {
    benchmark::DoNotOptimize(table.check(key, rule, zhttp::shm::monotonic_us() * 64, &stats));
  }
  kill(other, SIGKILL);
  waitpid(other, nullptr, 0);
  state.counters["cas_retries"] = benchmark::Counter(static_cast<double>(stats.cas_retries),
                                                     benchmark::Counter::kAvgIterations);
  state.counters["refused"] =
      benchmark::Counter(static_cast<double>(stats.refused), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_RateHotKeyTwoProcesses)->UseRealTime();

}  // namespace
