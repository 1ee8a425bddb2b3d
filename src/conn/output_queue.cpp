#include "conn/output_queue.hpp"

#include <unistd.h>

#include <cstring>
#include <type_traits>

namespace zhttp::conn {

void OutputQueue::attach(char* block, size_t block_size) {
  // Segment is an implicit-lifetime type (an aggregate, trivially destructible) and pool blocks
  // are max-aligned, so the ring needs no construction: push() writes each entry before it is
  // read. (Constructing all 64 on every attach cost more than formatting a small response.)
  static_assert(alignof(Segment) <= alignof(std::max_align_t));
  static_assert(std::is_aggregate_v<Segment> && std::is_trivially_destructible_v<Segment>);
  ring_ = reinterpret_cast<Segment*>(block);
  buffer_ = block + kRingBytes;
  capacity_ = static_cast<uint32_t>(block_size - kRingBytes);
  used_ = 0;
  head_ = count_ = 0;
}

char* OutputQueue::detach() {
  char* block = reinterpret_cast<char*>(ring_);
  ring_ = nullptr;
  buffer_ = nullptr;
  capacity_ = used_ = 0;
  return block;
}

bool OutputQueue::push(const Segment& s) {
  if (full()) return false;
  ring_[(head_ + count_) % kMaxSegments] = s;
  ++count_;
  return true;
}

bool OutputQueue::commit(size_t n) {
  if (n > room()) return false;
  if (n == 0) return true;
  const char* start = buffer_ + used_;
  // Bytes right after the previous byte segment's end extend it: one iovec, not two.
  if (count_ > 0) {
    Segment& last = at(count_ - 1);
    if (last.kind == Segment::Kind::kBytes && last.data + last.length == start) {
      last.length += n;
      used_ += static_cast<uint32_t>(n);
      return true;
    }
  }
  if (!push(Segment{Segment::Kind::kBytes, start, -1, 0, n})) return false;
  used_ += static_cast<uint32_t>(n);
  return true;
}

bool OutputQueue::append(const char* data, size_t n) {
  if (n > room()) return false;
  std::memcpy(tail(), data, n);
  return commit(n);
}

bool OutputQueue::push_external(const char* data, size_t n) {
  if (n == 0) return true;
  return push(Segment{Segment::Kind::kBytes, data, -1, 0, n});
}

bool OutputQueue::push_file(int fd, uint64_t offset, uint64_t length) {
  if (length == 0) {
    ::close(fd);
    return true;
  }
  return push(Segment{Segment::Kind::kFile, nullptr, fd, offset, length});
}

uint64_t OutputQueue::pending_bytes() const {
  uint64_t total = 0;
  for (size_t i = 0; i < count_; ++i) total += at(i).length;
  return total;
}

size_t OutputQueue::gather(iovec* iov, size_t max, bool* file_next) const {
  size_t n = 0;
  for (size_t i = 0; i < count_ && n < max; ++i) {
    const Segment& s = at(i);
    if (s.kind != Segment::Kind::kBytes) break;
    iov[n++] = iovec{const_cast<char*>(s.data), static_cast<size_t>(s.length)};
  }
  if (file_next) *file_next = n < count_ && at(n).kind == Segment::Kind::kFile;
  return n;
}

const Segment* OutputQueue::front_file() const {
  return count_ > 0 && at(0).kind == Segment::Kind::kFile ? &at(0) : nullptr;
}

void OutputQueue::pop_front() {
  Segment& s = at(0);
  if (s.kind == Segment::Kind::kFile && s.fd >= 0) ::close(s.fd);
  s = Segment{};
  head_ = static_cast<uint8_t>((head_ + 1) % kMaxSegments);
  if (--count_ == 0) {
    head_ = 0;
    used_ = 0;  // nothing refers to the buffer any more: start from its beginning again
  }
}

void OutputQueue::consume(size_t n) {
  while (n > 0 && count_ > 0) {
    Segment& s = at(0);
    size_t step = n < s.length ? n : static_cast<size_t>(s.length);
    s.length -= step;
    if (s.kind == Segment::Kind::kBytes) {
      s.data += step;
    } else {
      s.offset += step;
    }
    n -= step;
    if (s.length == 0) pop_front();
  }
}

void OutputQueue::clear() {
  while (count_ > 0) pop_front();
  used_ = 0;
}

}  // namespace zhttp::conn
