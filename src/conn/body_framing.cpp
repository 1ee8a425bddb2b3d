#include "conn/body_framing.hpp"

#include <algorithm>

namespace zhttp::conn {

BodyStep BodyFraming::step(const char* data, size_t len) {
  BodyStep s;
  if (!chunked_) {
    if (left_ == 0) {
      s.kind = BodyStep::Kind::kDone;
      return s;
    }
    if (len == 0) return s;
    uint32_t n = static_cast<uint32_t>(std::min<uint64_t>({left_, len, UINT32_MAX}));
    left_ -= n;
    s.kind = BodyStep::Kind::kData;
    s.consumed = s.data_length = n;
    return s;
  }
  ChunkResult r = decoder_.decode(data, len);
  s.consumed = r.consumed;
  switch (r.status) {
    case ChunkStatus::kNeedMore:
      break;
    case ChunkStatus::kData:
      s.kind = BodyStep::Kind::kData;
      s.data_offset = r.data.off;
      s.data_length = r.data.len;
      break;
    case ChunkStatus::kDone:
      s.kind = BodyStep::Kind::kDone;
      break;
    case ChunkStatus::kError:
      s.kind = BodyStep::Kind::kError;
      s.http_status = r.http_status;
      break;
  }
  return s;
}

}  // namespace zhttp::conn
