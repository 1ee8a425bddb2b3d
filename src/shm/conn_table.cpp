#include "shm/conn_table.hpp"

#include <new>

namespace zhttp::shm {
namespace {

constexpr int kCountBits = 16;
constexpr int kOwnerBits = 12;
constexpr uint64_t kCountMask = (uint64_t{1} << kCountBits) - 1;
constexpr uint64_t kOwnerMask = (uint64_t{1} << kOwnerBits) - 1;

constexpr uint64_t tag_of(uint64_t key_hash) {
  return key_hash >> (kCountBits + kOwnerBits);  // the top 36 bits
}
constexpr uint64_t word_tag(uint64_t w) {
  return w >> (kCountBits + kOwnerBits);
}
constexpr uint32_t word_owner(uint64_t w) {
  return static_cast<uint32_t>(w >> kCountBits & kOwnerMask);
}
constexpr uint64_t make_word(uint64_t tag, uint32_t owner, uint64_t count) {
  return tag << (kCountBits + kOwnerBits) | uint64_t{owner} << kCountBits | count;
}

}  // namespace

size_t ConnTable::bytes_for(uint32_t slots) {
  uint64_t words =
      (static_cast<uint64_t>(slots) + kConnBucketWords - 1) / kConnBucketWords * kConnBucketWords;
  return sizeof(ConnTableHeader) + words * sizeof(uint64_t);
}

std::optional<ConnTable> ConnTable::create(void* region, size_t bytes, uint32_t slots,
                                           SipKey secret) {
  if (region == nullptr || reinterpret_cast<uintptr_t>(region) % alignof(ConnBucket) != 0 ||
      slots == 0 || slots > UINT32_MAX - kConnBucketWords || bytes < bytes_for(slots)) {
    return std::nullopt;
  }
  const uint32_t rounded = (slots + kConnBucketWords - 1) / kConnBucketWords * kConnBucketWords;
  auto* header = new (region) ConnTableHeader{};
  header->magic = kConnTableMagic;
  header->version = kConnTableVersion;
  header->slots = rounded;
  header->bytes = bytes_for(rounded);
  header->secret = secret;
  auto* buckets = reinterpret_cast<ConnBucket*>(static_cast<char*>(region) + sizeof(*header));
  for (uint32_t i = 0; i < rounded / kConnBucketWords; ++i) new (buckets + i) ConnBucket();
  std::atomic_thread_fence(std::memory_order_release);
  return ConnTable(header, buckets);
}

std::optional<ConnTable> ConnTable::attach(void* region, size_t bytes) {
  if (region == nullptr || reinterpret_cast<uintptr_t>(region) % alignof(ConnBucket) != 0 ||
      bytes < sizeof(ConnTableHeader)) {
    return std::nullopt;
  }
  auto* header = static_cast<ConnTableHeader*>(region);
  if (header->magic != kConnTableMagic || header->version != kConnTableVersion ||
      header->slots == 0 || header->slots % kConnBucketWords != 0 ||
      header->bytes != bytes_for(header->slots) || header->bytes > bytes) {
    return std::nullopt;
  }
  std::atomic_thread_fence(std::memory_order_acquire);
  return ConnTable(header,
                   reinterpret_cast<ConnBucket*>(static_cast<char*>(region) + sizeof(*header)));
}

ConnTable::Outcome ConnTable::acquire(uint64_t key_hash, uint32_t owner, uint32_t max,
                                      ConnHandle* handle) {
  const uint32_t me = owner + 1;
  const uint64_t tag = tag_of(key_hash);
  const uint32_t bucket =
      static_cast<uint32_t>((key_hash & 0xffff'ffff) % (header_->slots / kConnBucketWords));
  const uint32_t first = bucket * kConnBucketWords;
  // This worker's word for the key, or an empty one claimed for it.
  uint32_t mine = UINT32_MAX;
  for (uint32_t i = first; i < first + kConnBucketWords && mine == UINT32_MAX; ++i) {
    uint64_t w = word(i).load(std::memory_order_relaxed);
    if (w != 0 && word_tag(w) == tag && word_owner(w) == me) mine = i;
  }
  if (mine != UINT32_MAX) {
    if ((word(mine).load(std::memory_order_relaxed) & kCountMask) >= kConnMaxPerWorker) {
      return Outcome::kOverLimit;
    }
    word(mine).fetch_add(1, std::memory_order_seq_cst);
  } else {
    for (uint32_t i = first; i < first + kConnBucketWords && mine == UINT32_MAX; ++i) {
      uint64_t expected = 0;
      if (word(i).compare_exchange_strong(expected, make_word(tag, me, 1),
                                          std::memory_order_seq_cst)) {
        mine = i;
      }
    }
    if (mine == UINT32_MAX) return Outcome::kFull;
  }
  // Added first, then summed (seq_cst): of two racing for the last place, one sees the other.
  uint64_t total = 0;
  for (uint32_t i = first; i < first + kConnBucketWords; ++i) {
    uint64_t w = word(i).load(std::memory_order_seq_cst);
    if (w != 0 && word_tag(w) == tag) total += w & kCountMask;
  }
  *handle = mine + 1;
  if (total > max) {
    release(*handle);
    return Outcome::kOverLimit;
  }
  return Outcome::kAdmitted;
}

void ConnTable::release(ConnHandle handle) {
  if (handle == 0 || handle > header_->slots) return;
  std::atomic<uint64_t>& w = word(handle - 1);
  uint64_t now = w.load(std::memory_order_relaxed);
  if ((now & kCountMask) <= 1) {
    w.store(0, std::memory_order_seq_cst);  // the last one: the word is free again
  } else {
    w.fetch_sub(1, std::memory_order_seq_cst);
  }
}

size_t ConnTable::clear_owner(uint32_t owner) {
  size_t cleared = 0;
  for (uint32_t i = 0; i < header_->slots; ++i) {
    uint64_t w = word(i).load(std::memory_order_relaxed);
    if (w != 0 && word_owner(w) == owner + 1) {
      word(i).store(0, std::memory_order_seq_cst);
      ++cleared;
    }
  }
  return cleared;
}

uint64_t ConnTable::count(uint64_t key_hash) const {
  const uint64_t tag = tag_of(key_hash);
  const uint32_t first =
      static_cast<uint32_t>((key_hash & 0xffff'ffff) % (header_->slots / kConnBucketWords)) *
      kConnBucketWords;
  uint64_t total = 0;
  for (uint32_t i = first; i < first + kConnBucketWords; ++i) {
    uint64_t w = word(i).load(std::memory_order_relaxed);
    if (w != 0 && word_tag(w) == tag) total += w & kCountMask;
  }
  return total;
}

size_t ConnTable::words_in_use() const {
  size_t n = 0;
  for (uint32_t i = 0; i < header_->slots; ++i) n += word(i).load(std::memory_order_relaxed) != 0;
  return n;
}

}  // namespace zhttp::shm
