#include "zhttp/chunked.hpp"

#include <algorithm>
#include <limits>

#include "http/char_class.hpp"

namespace zhttp {
namespace {

using http::is_ows;
using http::is_token;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// qdtext and quoted-pair characters (RFC 9110 5.6.4).
bool is_qdtext(char c) {
  auto u = static_cast<unsigned char>(c);
  return c == '\t' || c == ' ' || u == 0x21 || (u >= 0x23 && u <= 0x5b) ||
         (u >= 0x5d && u <= 0x7e) || u >= 0x80;
}
bool is_quotable(char c) {
  auto u = static_cast<unsigned char>(c);
  return c == '\t' || c == ' ' || (u >= 0x21 && u != 0x7f);
}

uint16_t status_of(ChunkError e) {
  return e == ChunkError::kTrailerTooLarge ? 431 : 400;
}

}  // namespace

std::string_view describe(ChunkError e) {
  switch (e) {
    case ChunkError::kNone:
      return "none";
    case ChunkError::kBadSize:
      return "invalid chunk size";
    case ChunkError::kSizeOverflow:
      return "chunk size too large";
    case ChunkError::kBadExtension:
      return "invalid chunk extension";
    case ChunkError::kLineTooLong:
      return "chunk size line too long";
    case ChunkError::kBareCr:
      return "bare CR in chunked framing";
    case ChunkError::kBareLf:
      return "bare LF in chunked framing";
    case ChunkError::kMissingDataCrlf:
      return "chunk data not followed by CRLF";
    case ChunkError::kBadTrailer:
      return "invalid trailer field";
    case ChunkError::kTrailerTooLarge:
      return "trailer section too large";
  }
  return "unknown";
}

// After an extension's name or value, or whitespace following it: another extension, the value
// (after a name only), or the end of the size line.
ChunkError ChunkedDecoder::after_extension_item(char c, bool after_name) {
  if (is_ows(c)) {
    state_ = after_name ? State::kExtAfterName : State::kExtAfterValue;
  } else if (c == '=' && after_name) {
    state_ = State::kExtBeforeValue;
  } else if (c == ';') {
    state_ = State::kExtBeforeName;
  } else if (c == '\r') {
    state_ = State::kSizeLf;
  } else {
    return c == '\n' ? ChunkError::kBareLf : ChunkError::kBadExtension;
  }
  return ChunkError::kNone;
}

ChunkError ChunkedDecoder::step(char c) {
  // Bytes of the size line, extensions included, count against its limit.
  if (state_ <= State::kExtAfterValue && ++line_bytes_ > limits_.max_chunk_line_bytes) {
    return ChunkError::kLineTooLong;
  }
  if (state_ >= State::kTrailerLineStart && ++trailer_bytes_ > limits_.max_trailer_bytes) {
    return ChunkError::kTrailerTooLarge;
  }
  switch (state_) {
    case State::kSizeStart:
    case State::kSize: {
      int v = hex_value(c);
      if (v >= 0) {
        if (chunk_size_ > (std::numeric_limits<int64_t>::max() >> 4)) {
          return ChunkError::kSizeOverflow;
        }
        chunk_size_ = chunk_size_ << 4 | static_cast<uint64_t>(v);
        state_ = State::kSize;
        return ChunkError::kNone;
      }
      if (state_ == State::kSizeStart) return ChunkError::kBadSize;
      if (c == '\r') {
        state_ = State::kSizeLf;
        return ChunkError::kNone;
      }
      if (c == ';') {
        state_ = State::kExtBeforeName;
        return ChunkError::kNone;
      }
      if (is_ows(c)) {
        state_ = State::kSizeWhitespace;
        return ChunkError::kNone;
      }
      return c == '\n' ? ChunkError::kBareLf : ChunkError::kBadSize;
    }
    case State::kSizeWhitespace:
      if (is_ows(c)) return ChunkError::kNone;
      if (c == ';') {
        state_ = State::kExtBeforeName;
        return ChunkError::kNone;
      }
      return ChunkError::kBadSize;
    case State::kExtBeforeName:
      if (is_ows(c)) return ChunkError::kNone;
      if (!is_token(c)) return ChunkError::kBadExtension;
      state_ = State::kExtName;
      return ChunkError::kNone;
    case State::kExtName:
    case State::kExtAfterName:
      if (state_ == State::kExtName && is_token(c)) return ChunkError::kNone;
      return after_extension_item(c, /*after_name=*/true);
    case State::kExtBeforeValue:
      if (is_ows(c)) return ChunkError::kNone;
      if (c == '"') {
        state_ = State::kExtQuoted;
      } else if (is_token(c)) {
        state_ = State::kExtToken;
      } else {
        return ChunkError::kBadExtension;
      }
      return ChunkError::kNone;
    case State::kExtToken:
    case State::kExtAfterValue:
      if (state_ == State::kExtToken && is_token(c)) return ChunkError::kNone;
      return after_extension_item(c, /*after_name=*/false);
    case State::kExtQuoted:
      if (c == '"') {
        state_ = State::kExtAfterValue;
      } else if (c == '\\') {
        state_ = State::kExtQuotedEscape;
      } else if (!is_qdtext(c)) {
        return ChunkError::kBadExtension;
      }
      return ChunkError::kNone;
    case State::kExtQuotedEscape:
      if (!is_quotable(c)) return ChunkError::kBadExtension;
      state_ = State::kExtQuoted;
      return ChunkError::kNone;
    case State::kSizeLf:
      if (c != '\n') return ChunkError::kBareCr;
      state_ = chunk_size_ == 0 ? State::kTrailerLineStart : State::kData;
      return ChunkError::kNone;
    case State::kDataCr:
      if (c != '\r') return ChunkError::kMissingDataCrlf;
      state_ = State::kDataLf;
      return ChunkError::kNone;
    case State::kDataLf:
      if (c != '\n') return ChunkError::kBareCr;
      state_ = State::kSizeStart;
      chunk_size_ = 0;
      line_bytes_ = 0;
      return ChunkError::kNone;
    case State::kTrailerLineStart:
      if (c == '\r') {
        state_ = State::kFinalLf;
      } else if (is_token(c)) {
        state_ = State::kTrailerName;
      } else {
        // Whitespace here is obs-fold or whitespace before a name; LF is bare.
        return c == '\n' ? ChunkError::kBareLf : ChunkError::kBadTrailer;
      }
      return ChunkError::kNone;
    case State::kTrailerName:
      if (is_token(c)) return ChunkError::kNone;
      if (c != ':') return ChunkError::kBadTrailer;
      state_ = State::kTrailerValue;
      return ChunkError::kNone;
    case State::kTrailerValue:
      if (c == '\r') {
        state_ = State::kTrailerLf;
        return ChunkError::kNone;
      }
      if (c == '\n') return ChunkError::kBareLf;
      return http::kValueChar[static_cast<unsigned char>(c)] ? ChunkError::kNone
                                                             : ChunkError::kBadTrailer;
    case State::kTrailerLf:
      if (c != '\n') return ChunkError::kBareCr;
      state_ = State::kTrailerLineStart;
      return ChunkError::kNone;
    case State::kFinalLf:
      if (c != '\n') return ChunkError::kBareCr;
      state_ = State::kDone;
      return ChunkError::kNone;
    case State::kData:
    case State::kDone:
    case State::kError:
      break;
  }
  return ChunkError::kNone;
}

ChunkResult ChunkedDecoder::decode(const char* data, size_t len) {
  if (state_ == State::kDone) return {ChunkStatus::kDone, ChunkError::kNone, 0, 0, {}};
  if (state_ == State::kError) return {ChunkStatus::kError, error_, status_of(error_), 0, {}};
  size_t i = 0;
  while (i < len) {
    if (state_ == State::kData) {
      // Hand out as much of this chunk as is here, straight from the caller's bytes.
      size_t n = static_cast<size_t>(std::min<uint64_t>(chunk_size_, len - i));
      chunk_size_ -= n;
      body_bytes_ += n;
      if (chunk_size_ == 0) state_ = State::kDataCr;
      return {ChunkStatus::kData, ChunkError::kNone, 0, static_cast<uint32_t>(i + n),
              Span{static_cast<uint32_t>(i), static_cast<uint32_t>(n)}};
    }
    ChunkError e = step(data[i++]);
    if (e != ChunkError::kNone) {
      state_ = State::kError;
      error_ = e;
      return {ChunkStatus::kError, e, status_of(e), static_cast<uint32_t>(i), {}};
    }
    if (state_ == State::kDone) {
      return {ChunkStatus::kDone, ChunkError::kNone, 0, static_cast<uint32_t>(i), {}};
    }
  }
  return {ChunkStatus::kNeedMore, ChunkError::kNone, 0, static_cast<uint32_t>(len), {}};
}

}  // namespace zhttp
