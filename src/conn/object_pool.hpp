#pragma once
// Objects of one type made on first need up to a limit, then reused: a warm worker allocates
// nothing. take() hands out an object as it was given back; the caller re-initialises it.
#include <cstddef>
#include <memory>
#include <vector>

namespace zhttp::conn {

template <class T>
class ObjectPool {
 public:
  explicit ObjectPool(size_t max_objects) : max_(max_objects) {
    objects_.reserve(max_objects);
    free_.reserve(max_objects);
  }

  T* take() {
    if (!free_.empty()) {
      T* t = free_.back();
      free_.pop_back();
      return t;
    }
    if (objects_.size() == max_) return nullptr;
    objects_.push_back(std::make_unique<T>());  // warm-up only
    return objects_.back().get();
  }
  void give(T* t) {
    if (t) free_.push_back(t);  // capacity reserved: never reallocates
  }
  size_t available() const { return max_ - objects_.size() + free_.size(); }

 private:
  size_t max_;
  std::vector<std::unique_ptr<T>> objects_;
  std::vector<T*> free_;
};

}  // namespace zhttp::conn
