// libFuzzer target for the chunked decoder: the input decoded in one piece, in two pieces (cut
// chosen by the input) and byte by byte must give the same body bytes, status and end position;
// data spans must lie inside the bytes given. The first byte picks small limits sometimes.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "zhttp/chunked.hpp"

namespace {

struct Outcome {
  zhttp::ChunkStatus status = zhttp::ChunkStatus::kNeedMore;
  zhttp::ChunkError error = zhttp::ChunkError::kNone;
  std::string body;
  size_t end = 0;
};

void check(bool ok) {
  if (!ok) std::abort();
}

// Decodes input[0, size) fed in pieces of at most `step` bytes after a first piece of `first`.
Outcome run(std::string_view input, size_t first, size_t step, zhttp::ChunkedLimits limits) {
  zhttp::ChunkedDecoder decoder(limits);
  Outcome out;
  size_t start = 0;
  size_t piece_len = first;
  while (start < input.size()) {
    size_t len = std::min(piece_len, input.size() - start);
    std::string piece(input.substr(start, len));  // only these bytes are readable
    size_t off = 0;
    while (off < len) {
      zhttp::ChunkResult r = decoder.decode(piece.data() + off, len - off);
      check(r.consumed <= len - off);
      if (r.status == zhttp::ChunkStatus::kData) {
        check(uint64_t{r.data.off} + r.data.len <= r.consumed && r.data.len > 0);
        out.body.append(piece.data() + off + r.data.off, r.data.len);
      }
      off += r.consumed;
      if (r.status == zhttp::ChunkStatus::kDone || r.status == zhttp::ChunkStatus::kError) {
        out.status = r.status;
        out.error = r.error;
        out.end = start + off;
        check(r.status != zhttp::ChunkStatus::kError || r.http_status >= 400);
        return out;
      }
      check(r.status == zhttp::ChunkStatus::kData || off == len);
    }
    start += len;
    piece_len = step;
  }
  out.end = input.size();
  check(decoder.body_bytes() == out.body.size());
  return out;
}

bool same(const Outcome& a, const Outcome& b) {
  return a.status == b.status && a.error == b.error && a.body == b.body && a.end == b.end;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  zhttp::ChunkedLimits limits;
  if (data[0] & 1) {
    limits.max_chunk_line_bytes = 1 + data[0] % 32;
    limits.max_trailer_bytes = 1 + data[1] % 64;
  }
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);
  if (input.empty()) return 0;
  Outcome whole = run(input, input.size(), input.size(), limits);
  size_t cut = 1 + data[1] % input.size();
  check(same(whole, run(input, cut, input.size(), limits)));
  check(same(whole, run(input, 1, 1, limits)));
  return 0;
}
