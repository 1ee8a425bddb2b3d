#pragma once
#include <cstdint>
#include <string_view>

namespace zhttp {

// A byte range inside a buffer, as offset + length from the buffer's start. Spans stay valid when
// the buffer moves (a span is not a pointer), so a parsed request can be kept while bytes shift.
struct Span {
  uint32_t off = 0;
  uint32_t len = 0;

  constexpr bool empty() const { return len == 0; }
  constexpr std::string_view in(const char* base) const { return {base + off, len}; }
  constexpr bool operator==(const Span&) const = default;
};

}  // namespace zhttp
