#pragma once
// A counter in shared memory with one writer (the process that owns it) and any number of
// readers in other processes: relaxed atomic loads and stores, no read-modify-write (a locked
// instruction would cost ~20 cycles on every request for nothing).
#include <atomic>
#include <cstdint>

namespace zhttp::shm {

class Tally {
 public:
  Tally() = default;
  Tally(const Tally&) = delete;
  Tally& operator=(const Tally&) = delete;

  void add(uint64_t n) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  Tally& operator++() {
    add(1);
    return *this;
  }
  void reset() { v_.store(0, std::memory_order_relaxed); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }
  operator uint64_t() const { return get(); }  // NOLINT: reads like the number it is

 private:
  std::atomic<uint64_t> v_{0};
};
static_assert(sizeof(Tally) == 8);

}  // namespace zhttp::shm
