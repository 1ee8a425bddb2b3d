#include "conn/body_buffers.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

namespace zhttp::conn {
namespace {

size_t page_round_up(size_t n) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return (n + page - 1) / page * page;
}

}  // namespace

BodyBuffers::BodyBuffers(uint64_t block_bytes, size_t max_blocks)
    : block_bytes_(page_round_up(std::clamp<uint64_t>(block_bytes, 1, kMaxBlockBytes))),
      max_(max_blocks) {
  blocks_.reserve(max_blocks);
  free_.reserve(max_blocks);
}

BodyBuffers::~BodyBuffers() {
  for (char* b : blocks_) ::munmap(b, block_bytes_);
}

BodyBlock BodyBuffers::take() {
  if (!free_.empty()) {
    char* b = free_.back();
    free_.pop_back();
    return {b, block_bytes_, -1};
  }
  if (blocks_.size() < max_) {
    void* p = ::mmap(nullptr, block_bytes_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p != MAP_FAILED) {
      blocks_.push_back(static_cast<char*>(p));  // capacity reserved: never reallocates
      return {static_cast<char*>(p), block_bytes_, -1};
    }
  }
  // Every block is in use: a spill file of its own, sparse until written.
  int fd = ::memfd_create("zhttpd-body", MFD_CLOEXEC);
  if (fd < 0) return {};
  if (::ftruncate(fd, static_cast<off_t>(block_bytes_)) != 0) {
    ::close(fd);
    return {};
  }
  void* p = ::mmap(nullptr, block_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    ::close(fd);
    return {};
  }
  return {static_cast<char*>(p), block_bytes_, fd};
}

void BodyBuffers::give(BodyBlock block, size_t used) {
  if (!block) return;
  if (block.spill_fd >= 0) {
    ::munmap(block.data, block.capacity);
    ::close(block.spill_fd);
    return;
  }
  if (used > kKeepResident) {
    size_t keep = page_round_up(kKeepResident);
    ::madvise(block.data + keep, page_round_up(used) - keep, MADV_DONTNEED);
  }
  free_.push_back(block.data);
}

}  // namespace zhttp::conn
