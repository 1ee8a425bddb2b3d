#pragma once
// Replaces the global allocator of a test binary to count heap allocations: operator new/new[]
// (every variant) and malloc/calloc/realloc/aligned allocations, all forwarded to glibc. Include
// in exactly one translation unit per binary (each tests/alloc/*_test.cpp is its own binary).
// Not for ASan builds, which own malloc.
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
}

namespace zhttp::test {

inline std::atomic<long> g_allocations{0};
inline std::atomic<bool> g_counting{false};

inline void note_allocation() {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
  }
}

// Counts allocations made between construction and allocations().
class AllocationWindow {
 public:
  AllocationWindow() {
    g_allocations.store(0);
    g_counting.store(true);
  }
  ~AllocationWindow() { g_counting.store(false); }
  long allocations() {
    g_counting.store(false);
    return g_allocations.load();
  }
};

}  // namespace zhttp::test

extern "C" {
void* malloc(size_t n) {
  zhttp::test::note_allocation();
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) {
  zhttp::test::note_allocation();
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
  zhttp::test::note_allocation();
  return __libc_realloc(p, n);
}
void* aligned_alloc(size_t align, size_t n) {
  zhttp::test::note_allocation();
  return __libc_memalign(align, n);
}
int posix_memalign(void** out, size_t align, size_t n) {
  zhttp::test::note_allocation();
  *out = __libc_memalign(align, n);
  return *out ? 0 : 12;  // ENOMEM
}
void free(void* p) {
  __libc_free(p);
}
}

inline void* counted_new(size_t n) {
  zhttp::test::note_allocation();
  if (void* p = __libc_malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
inline void* counted_new_aligned(size_t n, std::align_val_t a) {
  zhttp::test::note_allocation();
  if (void* p = __libc_memalign(static_cast<size_t>(a), n ? n : 1)) return p;
  throw std::bad_alloc();
}

void* operator new(size_t n) {
  return counted_new(n);
}
void* operator new[](size_t n) {
  return counted_new(n);
}
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  zhttp::test::note_allocation();
  return __libc_malloc(n ? n : 1);
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  zhttp::test::note_allocation();
  return __libc_malloc(n ? n : 1);
}
void* operator new(size_t n, std::align_val_t a) {
  return counted_new_aligned(n, a);
}
void* operator new[](size_t n, std::align_val_t a) {
  return counted_new_aligned(n, a);
}
void operator delete(void* p) noexcept {
  __libc_free(p);
}
void operator delete[](void* p) noexcept {
  __libc_free(p);
}
void operator delete(void* p, size_t) noexcept {
  __libc_free(p);
}
void operator delete[](void* p, size_t) noexcept {
  __libc_free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  __libc_free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  __libc_free(p);
}
void operator delete(void* p, size_t, std::align_val_t) noexcept {
  __libc_free(p);
}
void operator delete[](void* p, size_t, std::align_val_t) noexcept {
  __libc_free(p);
}
