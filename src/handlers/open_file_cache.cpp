#include "handlers/open_file_cache.hpp"

#include <unistd.h>

#include <cstring>

namespace zhttp::handlers {

OpenFileCache::OpenFileCache(const OpenFileCacheOptions& options)
    : valid_seconds_(options.valid_seconds) {
  if (options.entries == 0 || options.valid_seconds == 0) return;
  uint32_t sets = 1;
  while (sets * kWays < options.entries) sets *= 2;
  slots_.resize(static_cast<size_t>(sets) * kWays);
  set_mask_ = sets - 1;
}

OpenFileCache::~OpenFileCache() {
  for (Slot& s : slots_) {
    if (s.used) ::close(s.file.fd);
  }
}

// FNV-1a: request paths are short, and this is a few cycles a byte. A tagged key hashes as
// its bytes: the path, a NUL, the tag.
OpenFileCache::Key OpenFileCache::key_of(std::string_view path, char tag) {
  uint32_t h = 2166136261u;
  for (unsigned char c : path) h = (h ^ c) * 16777619u;
  if (tag != kNoTag) h = (((h ^ 0u) * 16777619u) ^ static_cast<unsigned char>(tag)) * 16777619u;
  return {path, tag, h};
}

bool OpenFileCache::matches(const Slot& s, const Key& key) {
  const size_t n = key.path.size();
  return s.used && s.hash == key.hash && s.key_len == key.size() &&
         std::memcmp(s.key, key.path.data(), n) == 0 &&
         (key.tag == kNoTag || (s.key[n] == '\0' && s.key[n + 1] == key.tag));
}

const CachedFile* OpenFileCache::find(std::string_view path, char tag, time_t now) {
  if (slots_.empty() || key_size(path, tag) > kMaxKeyBytes) return nullptr;
  const Key key = key_of(path, tag);
  Slot* set = set_of(key.hash);
  for (uint32_t i = 0; i < kWays; ++i) {
    Slot& s = set[i];
    if (!matches(s, key)) continue;
    // A clock stepping back also ends the entry's life.
    if (now < s.opened || now - s.opened >= static_cast<time_t>(valid_seconds_)) return nullptr;
    s.last_use = ++clock_;
    return &s.file;
  }
  return nullptr;
}

const CachedFile* OpenFileCache::store(std::string_view path, char tag, const CachedFile& file,
                                       time_t now) {
  if (slots_.empty() || key_size(path, tag) > kMaxKeyBytes) return nullptr;
  const Key key = key_of(path, tag);
  Slot* set = set_of(key.hash);
  // The key's own entry, else a free one, else the least recently used.
  Slot* victim = nullptr;
  for (uint32_t i = 0; i < kWays && victim == nullptr; ++i) {
    if (matches(set[i], key)) victim = &set[i];
  }
  for (uint32_t i = 0; i < kWays && victim == nullptr; ++i) {
    if (!set[i].used) victim = &set[i];
  }
  if (victim == nullptr) {
    victim = &set[0];
    for (uint32_t i = 1; i < kWays; ++i) {
      if (set[i].last_use < victim->last_use) victim = &set[i];
    }
  }
  // Safe to close: readers copy small files at once and send large ones from a dup().
  if (victim->used) ::close(victim->file.fd);
  victim->file = file;
  victim->opened = now;
  victim->last_use = ++clock_;
  victim->hash = key.hash;
  victim->key_len = static_cast<uint8_t>(key.size());
  victim->used = true;
  std::memcpy(victim->key, path.data(), path.size());
  if (tag != kNoTag) {
    victim->key[path.size()] = '\0';
    victim->key[path.size() + 1] = tag;
  }
  return &victim->file;
}

}  // namespace zhttp::handlers
