#pragma once
// A per-worker cache of open files (nginx's open_file_cache): request path -> open descriptor,
// its stat facts, its ETag and, for a tiny file, its bytes, so a warm request for a file costs
// no open/fstat/close (and no read for a tiny one). Paths that name no file are remembered too
// (open_file_cache_errors), without pushing files out. An entry is trusted for `valid_seconds`
// after it was looked up; then the path is resolved again, so a changed, replaced, deleted or
// created file is seen within that time. Fixed size, allocated at start-up: lookups and stores
// never allocate. One instance per worker thread.
#include <sys/stat.h>

#include <cstdint>
#include <ctime>
#include <string_view>
#include <vector>

#include "handlers/static_site/content_coding.hpp"
#include "handlers/static_site/etag.hpp"

namespace zhttp::handlers::static_site {

struct OpenFileCacheOptions {
  uint32_t entries = 1024;     // 0 disables the cache
  uint32_t valid_seconds = 1;  // how long an entry is served before the path is resolved again
};

struct CachedFile {
  // Files up to this size keep their bytes too: a warm request for one makes no system call.
  static constexpr size_t kMaxContentBytes = 512;

  int fd = -1;
  struct stat st {};
  uint8_t etag_len = 0;
  bool has_content = false;  // content holds all st.st_size bytes, read when it was opened
  char etag[kMaxEtagLen];
  std::string_view content_type;  // from MimeTypes: lives as long as it does
  // A file: the sizes of its precompressed variants (each cached as a file of its own, opened
  // with it), and whether there is any. A variant: its coding's index, else -1.
  VariantSizes variant_sizes = {kNoVariant, kNoVariant, kNoVariant};
  bool has_variants = false;
  int8_t coding = -1;
  // A path that named no file when it was looked up (fd -1): remembered as long as a file is,
  // so a flood of requests for it, or a single-page app's routes, cost no open each. Whether
  // it is a --fallback route (is_fallback_route() of its normalised path).
  bool missing = false;
  bool fallback_route = false;
  char content[kMaxContentBytes];

  std::string_view etag_view() const { return {etag, etag_len}; }
};

class OpenFileCache {
 public:
  static constexpr size_t kMaxKeyBytes = 200;  // longer request paths are not cached
  static constexpr uint32_t kWays = 4;         // entries per set, least recently used evicted

  explicit OpenFileCache(const OpenFileCacheOptions& options);
  OpenFileCache(const OpenFileCache&) = delete;
  OpenFileCache& operator=(const OpenFileCache&) = delete;
  ~OpenFileCache();

  // The file cached for this (still encoded) request path if it is still valid at `now`.
  const CachedFile* find(std::string_view path, time_t now) { return find(path, kNoTag, now); }

  // Caches `file` (taking over its descriptor) under `path` and returns it, replacing an older
  // entry for the path or the set's least recently used one (whose descriptor is closed).
  // nullptr when the cache is disabled or the path too long: the caller keeps the descriptor.
  const CachedFile* store(std::string_view path, const CachedFile& file, time_t now) {
    return store(path, kNoTag, file, now);
  }

  // Remembers that `path` names no file (see CachedFile::missing). It takes a free entry or
  // another missing path's, never a file's: requests for paths that do not exist cannot push
  // the files out. False when it was not kept.
  bool store_missing(std::string_view path, bool fallback_route, time_t now);

  // The same for another entry of the path, told apart by `tag` (a variant's coding, the file
  // sent as an error page): its key is the path, a NUL (which no request path has) and the tag.
  static constexpr char kNoTag = '\0';
  const CachedFile* find(std::string_view path, char tag, time_t now);
  const CachedFile* store(std::string_view path, char tag, const CachedFile& file, time_t now);

  size_t capacity() const { return slots_.size(); }

 private:
  struct Slot {
    CachedFile file;
    time_t opened = 0;      // when `file` was resolved
    uint64_t last_use = 0;  // for LRU within a set
    uint32_t hash = 0;
    uint8_t key_len = 0;
    bool used = false;
    char key[kMaxKeyBytes];
  };

  static size_t key_size(std::string_view path, char tag) {
    return path.size() + (tag == kNoTag ? 0 : 2);
  }
  struct Key {
    std::string_view path;
    char tag;
    uint32_t hash;
    size_t size() const { return key_size(path, tag); }
  };
  static Key key_of(std::string_view path, char tag);
  Slot* set_of(uint32_t hash) { return &slots_[(hash & set_mask_) * kWays]; }
  static bool matches(const Slot& s, const Key& key);
  // The entry to fill for `key` in its set: its own, else a free one, else the least recently
  // used one that `may_evict` allows; nullptr when none does.
  template <typename MayEvict>
  Slot* victim_for(const Key& key, MayEvict may_evict);
  void fill(Slot* slot, const Key& key, const CachedFile& file, time_t now);

  std::vector<Slot> slots_;
  uint32_t set_mask_ = 0;
  uint32_t valid_seconds_;
  uint64_t clock_ = 0;  // counts uses, orders LRU
};

}  // namespace zhttp::handlers::static_site
