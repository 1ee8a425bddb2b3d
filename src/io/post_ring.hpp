#pragma once
// Completions posted from other threads to a worker (ExchangeRef::post): a fixed ring under a
// mutex, drained on the loop thread after an ev_async wakes it. The mutex is only ever held for
// a copy of four words, by threads that live as long as the worker; nothing allocates.
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "zhttp/handler.hpp"

namespace zhttp::conn {
class Connection;
}

namespace zhttp::io {

struct Post {
  conn::Connection* connection = nullptr;
  uint32_t generation = 0;
  void (*fn)(Response*, void*) = nullptr;
  void* arg = nullptr;
};

class PostRing {
 public:
  explicit PostRing(size_t capacity) : ring_(capacity) {}

  // Any thread. False when the ring is full.
  bool push(const Post& p) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (count_ == ring_.size()) return false;
    ring_[(head_ + count_) % ring_.size()] = p;
    ++count_;
    return true;
  }
  // Loop thread: takes up to max posts, oldest first. Returns how many.
  size_t pop(Post* out, size_t max) {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t n = 0;
    for (; n < max && count_ > 0; ++n, --count_) {
      out[n] = ring_[head_];
      head_ = (head_ + 1) % ring_.size();
    }
    return n;
  }

 private:
  std::mutex mutex_;
  std::vector<Post> ring_;  // sized once
  size_t head_ = 0;
  size_t count_ = 0;
};

}  // namespace zhttp::io
