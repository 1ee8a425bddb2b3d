#pragma once
// An anonymous MAP_SHARED mapping for the tests of the segment's tables: forked children share
// it with the parent, as workers share the segment.
#include <sys/mman.h>

#include <cstddef>

namespace zhttp::test {

class SharedMapping {
 public:
  explicit SharedMapping(size_t bytes) : bytes_(bytes) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    base_ = p == MAP_FAILED ? nullptr : p;
  }
  ~SharedMapping() {
    if (base_ != nullptr) munmap(base_, bytes_);
  }
  SharedMapping(const SharedMapping&) = delete;
  SharedMapping& operator=(const SharedMapping&) = delete;
  void* get() const { return base_; }
  size_t size() const { return bytes_; }

 private:
  size_t bytes_;
  void* base_;
};

}  // namespace zhttp::test
