#pragma once
// The framing of one request body, by Content-Length or the chunked coding: hands out body bytes
// as spans of the caller's input and says where the body ends, across any split of the input.
// Used for every body, whether the handler gathers it, streams it or refuses it (then it is still
// read through here, so bytes on the wire are never left uninterpreted).
#include <cstddef>
#include <cstdint>

#include "zhttp/chunked.hpp"

namespace zhttp::conn {

struct BodyStep {
  enum class Kind : uint8_t { kNeedMore, kData, kDone, kError };
  Kind kind = Kind::kNeedMore;
  uint16_t http_status = 0;  // with kError
  uint32_t consumed = 0;     // input bytes used (framing and data)
  uint32_t data_offset = 0;  // with kData: body bytes at input + data_offset
  uint32_t data_length = 0;
};

class BodyFraming {
 public:
  void start_length(uint64_t content_length) {
    chunked_ = false;
    left_ = content_length;
  }
  void start_chunked(const ChunkedLimits& limits) {
    chunked_ = true;
    decoder_ = ChunkedDecoder(limits);
  }
  // Decodes from the start of [data, data + len). Call again with the bytes after `consumed`.
  BodyStep step(const char* data, size_t len);
  bool chunked() const { return chunked_; }

 private:
  bool chunked_ = false;
  uint64_t left_ = 0;  // Content-Length: body bytes still to come
  ChunkedDecoder decoder_;
};

}  // namespace zhttp::conn
