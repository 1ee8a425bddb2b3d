#pragma once
// What a connection has to send, in order: bytes formatted into its output buffer, bytes the
// embedding program keeps alive (no copy), and file ranges for sendfile. Fixed capacity, no
// allocation; the io layer turns the front into one writev (all byte segments up to the first
// file) or one sendfile. The segment ring lives at the start of the attached (pooled) block, so
// a connection without pending output carries only a few words.
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <new>

namespace zhttp::conn {

struct Segment {
  enum class Kind : uint8_t { kBytes, kFile };
  Kind kind = Kind::kBytes;
  const char* data = nullptr;  // kBytes
  int fd = -1;                 // kFile: closed once sent (or dropped)
  uint64_t offset = 0;         // kFile: file offset of the next byte
  uint64_t length = 0;         // bytes still to send
};

class OutputQueue {
 public:
  static constexpr size_t kMaxSegments = 64;

  OutputQueue() = default;
  OutputQueue(const OutputQueue&) = delete;
  OutputQueue& operator=(const OutputQueue&) = delete;
  ~OutputQueue() { clear(); }

  // A pooled block: its start holds the segment ring, the rest is the buffer responses are
  // formatted into. Only while the queue is empty.
  void attach(char* block, size_t block_size);
  char* detach();  // gives the block back; the queue must be empty
  static constexpr size_t kRingBytes = kMaxSegments * sizeof(Segment);
  bool attached() const { return buffer_ != nullptr; }

  // Free space at the end of the buffer, for formatting the next response in place.
  char* tail() { return buffer_ + used_; }
  size_t room() const { return capacity_ - used_; }
  // The first n bytes at tail() become queued output.
  bool commit(size_t n);
  bool append(const char* data, size_t n);  // copies into the buffer
  bool push_external(const char* data, size_t n);
  bool push_file(int fd, uint64_t offset, uint64_t length);
  bool full() const { return count_ == kMaxSegments; }

  bool empty() const { return count_ == 0; }
  size_t segment_count() const { return count_; }
  uint64_t pending_bytes() const;

  // iovecs for the byte segments at the front (stops at a file segment). Returns how many;
  // *file_next tells whether a file segment comes right after them.
  size_t gather(iovec* iov, size_t max, bool* file_next = nullptr) const;
  // The front segment when it is a file, else nullptr.
  const Segment* front_file() const;
  // n bytes of the front were sent (byte segments via writev, or the front file via sendfile).
  void consume(size_t n);
  // Drops everything (closing files) and rewinds the buffer.
  void clear();

 private:
  Segment& at(size_t i) { return ring_[(head_ + i) % kMaxSegments]; }
  const Segment& at(size_t i) const { return ring_[(head_ + i) % kMaxSegments]; }
  bool push(const Segment& s);
  void pop_front();

  Segment* ring_ = nullptr;
  char* buffer_ = nullptr;
  uint32_t capacity_ = 0;
  uint32_t used_ = 0;  // bytes of the buffer given to segments; rewinds when the queue empties
  uint8_t head_ = 0;
  uint8_t count_ = 0;
};

}  // namespace zhttp::conn
