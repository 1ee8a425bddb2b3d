#pragma once
// The validators of a static file (RFC 9110 8.8): its ETag and Last-Modified, from fstat facts.
// Pure formatting into caller buffers; no allocation.
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <ctime>

#include "zhttp/date_cache.hpp"

namespace zhttp::handlers::static_site {

// What identifies one version of a file's bytes.
struct FileVersion {
  uint64_t size = 0;
  int64_t mtime_sec = 0;
  uint32_t mtime_nsec = 0;
  uint64_t inode = 0;

  static FileVersion of(const struct stat& st) {
    return {static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtim.tv_sec),
            static_cast<uint32_t>(st.st_mtim.tv_nsec), static_cast<uint64_t>(st.st_ino)};
  }
};

// Quotes, four hex fields of at most 16 digits, three dashes.
inline constexpr size_t kMaxEtagLen = 2 + 4 * 16 + 3;

// Writes the ETag "<mtime sec>-<size>-<mtime nsec>-<inode>" (quotes included, lower-case hex,
// no leading zeros) into out[0..kMaxEtagLen) and returns its length, e.g. "\"5e1f3c2a-1f4-0-2a\"".
// The first two fields are nginx's whole tag, so it reads familiar. The nanoseconds catch a
// same-size rewrite within the same second, and the inode a file replaced by rename (deploys,
// editors) that kept its size and mtime (rsync -t, tar, cp -p). It is sent as a strong tag: it
// changes whenever the bytes could have, short of two same-size writes within one kernel clock
// tick, the same trade nginx and Apache make. A negative mtime is written as its two's
// complement; the tag only has to differ, not to be read back.
size_t format_etag(const FileVersion& v, char out[kMaxEtagLen]);

// The Last-Modified time to send and to compare conditionals with: the mtime, or `now` when the
// mtime lies in the future (clock skew, touch -d), as RFC 9110 8.8.2.1 requires.
inline time_t last_modified_time(time_t mtime, time_t now) {
  return mtime > now ? now : mtime;
}

// Writes last_modified_time(mtime, now) as an IMF-fixdate. False (nothing written) when the
// year is outside 0000..9999; the caller then omits the header.
inline bool format_last_modified(time_t mtime, time_t now, char out[kImfFixdateLen]) {
  return format_imf_fixdate(last_modified_time(mtime, now), out);
}

}  // namespace zhttp::handlers::static_site
