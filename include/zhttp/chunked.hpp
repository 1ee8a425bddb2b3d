#pragma once
// Decoder for the chunked transfer coding (RFC 9112 7.1) of message bodies: requests, and
// responses on the upstream side. Incremental across any split of the input, zero-copy (data
// comes back as spans of the caller's bytes), no allocation.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "zhttp/span.hpp"

namespace zhttp {

struct ChunkedLimits {
  uint32_t max_chunk_line_bytes = 4096;  // size line with extensions, up to its CR: else 400
  uint32_t max_trailer_bytes = 8192;     // whole trailer section: else 431
};

enum class ChunkStatus : uint8_t {
  kNeedMore,  // every given byte was consumed; call again with more
  kData,      // `data` holds body bytes (a span of this call's input)
  kDone,      // last chunk, trailers and final CRLF consumed; the body ends at `consumed`
  kError,     // malformed: answer `http_status` and close
};

enum class ChunkError : uint8_t {
  kNone,
  kBadSize,          // chunk-size missing or not hex
  kSizeOverflow,     // chunk-size above 2^63 - 1
  kBadExtension,     // chunk extension not ;name[=token|quoted-string]
  kLineTooLong,      // size line over max_chunk_line_bytes
  kBareCr,           // CR not followed by LF
  kBareLf,           // LF without CR
  kMissingDataCrlf,  // chunk data not followed by CRLF
  kBadTrailer,       // trailer field with bad syntax (same rules as header fields)
  kTrailerTooLarge,  // trailer section over max_trailer_bytes
};

std::string_view describe(ChunkError e);

struct ChunkResult {
  ChunkStatus status = ChunkStatus::kNeedMore;
  ChunkError error = ChunkError::kNone;
  uint16_t http_status = 0;  // with kError
  uint32_t consumed = 0;     // bytes of this call's input used (framing and data)
  Span data;                 // with kData: offset from this call's input start
};

// Typical use, one body:
//   while (off < len) {
//     ChunkResult r = decoder.decode(p + off, len - off);
//     if (r.status == ChunkStatus::kData) deliver(r.data.in(p + off));
//     off += r.consumed;
//     if (r.status == kDone || r.status == kError) break;
//   }
// Chunk extensions are checked and ignored; trailer fields are checked and discarded. The body's
// total size limit is the caller's (body_bytes()), as it knows its 413 threshold.
class ChunkedDecoder {
 public:
  explicit ChunkedDecoder(ChunkedLimits limits = {}) : limits_(limits) {}

  void reset() { *this = ChunkedDecoder(limits_); }
  ChunkResult decode(const char* data, size_t len);

  bool done() const { return state_ == State::kDone; }
  uint64_t body_bytes() const { return body_bytes_; }

 private:
  enum class State : uint8_t {
    kSizeStart,
    kSize,
    kSizeWhitespace,  // BWS after the size: only ";" may follow
    kExtBeforeName,
    kExtName,
    kExtAfterName,
    kExtBeforeValue,
    kExtToken,
    kExtQuoted,
    kExtQuotedEscape,
    kExtAfterValue,
    kSizeLf,
    kData,
    kDataCr,
    kDataLf,
    kTrailerLineStart,
    kTrailerName,
    kTrailerValue,
    kTrailerLf,
    kFinalLf,
    kDone,
    kError,
  };

  // Consumes one framing byte; returns the error it causes, if any.
  ChunkError step(char c);
  ChunkError after_extension_item(char c, bool after_name);

  ChunkedLimits limits_;
  State state_ = State::kSizeStart;
  ChunkError error_ = ChunkError::kNone;
  uint64_t chunk_size_ = 0;  // size of the chunk being read, then bytes of it still to come
  uint64_t body_bytes_ = 0;
  uint32_t line_bytes_ = 0;
  uint32_t trailer_bytes_ = 0;
};

}  // namespace zhttp
