#include "handlers/static_site/open_file_cache.hpp"

#include <unistd.h>

#include <cstring>

namespace zhttp::handlers::static_site {

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
    if (s.used && s.file.fd >= 0) ::close(s.file.fd);
  }
}

// FNV-1a: request paths are short, and this is a few cycles a byte. A tagged key hashes as
// its bytes: the path, a NUL, the tag.
OpenFileCache::Key OpenFileCache::key_of(std::string_view path, char tag) {
  uint32_t h = 2166136261u;
  for (unsigned char c : path) h = (h ^ c) * 16777619u;
  if (tag != kNoTag) {
    h *= 16777619u;  // the NUL: h ^ 0 is h
    h = (h ^ static_cast<unsigned char>(tag)) * 16777619u;
  }
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

template <typename MayEvict>
OpenFileCache::Slot* OpenFileCache::victim_for(const Key& key, MayEvict may_evict) {
  Slot* set = set_of(key.hash);
  for (uint32_t i = 0; i < kWays; ++i) {
    if (matches(set[i], key)) return &set[i];
  }
  for (uint32_t i = 0; i < kWays; ++i) {
    if (!set[i].used) return &set[i];
  }
  Slot* victim = nullptr;
  for (uint32_t i = 0; i < kWays; ++i) {
    if (may_evict(set[i].file) && (victim == nullptr || set[i].last_use < victim->last_use)) {
      victim = &set[i];
    }
  }
  return victim;
}

void OpenFileCache::fill(Slot* slot, const Key& key, const CachedFile& file, time_t now) {
  // Safe to close: readers copy small files at once and send large ones from a dup().
  if (slot->used && slot->file.fd >= 0) ::close(slot->file.fd);
  slot->file = file;
  slot->opened = now;
  slot->last_use = ++clock_;
  slot->hash = key.hash;
  slot->key_len = static_cast<uint8_t>(key.size());
  slot->used = true;
  std::memcpy(slot->key, key.path.data(), key.path.size());
  if (key.tag != kNoTag) {
    slot->key[key.path.size()] = '\0';
    slot->key[key.path.size() + 1] = key.tag;
  }
}

const CachedFile* OpenFileCache::store(std::string_view path, char tag, const CachedFile& file,
                                       time_t now) {
  if (slots_.empty() || key_size(path, tag) > kMaxKeyBytes) return nullptr;
  const Key key = key_of(path, tag);
  Slot* slot = victim_for(key, [](const CachedFile&) { return true; });
  fill(slot, key, file, now);
  return &slot->file;
}

bool OpenFileCache::store_missing(std::string_view path, bool fallback_route, time_t now) {
  if (slots_.empty() || key_size(path, kNoTag) > kMaxKeyBytes) return false;
  const Key key = key_of(path, kNoTag);
  Slot* slot = victim_for(key, [](const CachedFile& f) { return f.missing; });
  if (slot == nullptr) return false;
  CachedFile missing;
  missing.missing = true;
  missing.fallback_route = fallback_route;
  fill(slot, key, missing, now);
  return true;
}

}  // namespace zhttp::handlers::static_site
