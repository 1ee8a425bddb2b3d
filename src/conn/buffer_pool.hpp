#pragma once
// Fixed-size buffers for connections: taken when a request starts, given back when the
// connection goes idle, so an idle keep-alive connection holds no buffer. Blocks are allocated on
// first need up to a limit and then reused: a warm worker allocates nothing.
#include <cstddef>
#include <memory>
#include <vector>

namespace zhttp::conn {

class BufferPool {
 public:
  BufferPool(size_t block_size, size_t max_blocks) : block_size_(block_size), max_(max_blocks) {
    free_.reserve(max_blocks);
    blocks_.reserve(max_blocks);
  }

  size_t block_size() const { return block_size_; }
  size_t in_use() const { return blocks_.size() - free_.size(); }
  size_t available() const { return max_ - in_use(); }

  // A block of block_size() bytes, or nullptr when max_blocks are all in use.
  char* take() {
    if (!free_.empty()) {
      char* b = free_.back();
      free_.pop_back();
      return b;
    }
    if (blocks_.size() == max_) return nullptr;
    blocks_.push_back(std::make_unique<char[]>(block_size_));  // warm-up only
    return blocks_.back().get();
  }
  void give(char* block) {
    if (block) free_.push_back(block);  // capacity reserved: never reallocates
  }

 private:
  size_t block_size_;
  size_t max_;
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::vector<char*> free_;
};

}  // namespace zhttp::conn
