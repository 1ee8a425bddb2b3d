#pragma once
// Where a gathered request body lives when it does not fit in the connection's input block:
// per-worker blocks of max_body_bytes, mapped on first need and reused (a warm worker maps
// nothing), and when every block is taken a spill file (memfd) mapped for that one body. Never a
// heap allocation per request. Pages a large body touched are given back to the kernel when its
// block returns, so one big upload does not keep the worker's memory high.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace zhttp::conn {

struct BodyBlock {
  char* data = nullptr;
  size_t capacity = 0;
  int spill_fd = -1;  // >= 0: a spill file's mapping, unmapped and closed when given back
  explicit operator bool() const { return data != nullptr; }
};

class BodyBuffers {
 public:
  // Blocks of block_bytes, at most kMaxBlockBytes: a larger gathered body gets 413.
  BodyBuffers(uint64_t block_bytes, size_t max_blocks);
  BodyBuffers(const BodyBuffers&) = delete;
  BodyBuffers& operator=(const BodyBuffers&) = delete;
  ~BodyBuffers();

  size_t block_bytes() const { return block_bytes_; }
  // A block of block_bytes(); empty when neither a block nor a spill file can be had.
  BodyBlock take();
  // `used`: how many bytes of it were written (their pages are released).
  void give(BodyBlock block, size_t used);

  static constexpr size_t kKeepResident = 64 * 1024;  // pages of a returned block kept mapped
  static constexpr uint64_t kMaxBlockBytes = uint64_t{4} << 30;

 private:
  size_t block_bytes_;
  size_t max_;
  std::vector<char*> blocks_;
  std::vector<char*> free_;
};

}  // namespace zhttp::conn
