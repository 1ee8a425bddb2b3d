#pragma once
// Which vector instruction set the parser scans with. parse_request picks the best one the CPU
// has, once; tests and fuzzers call parse_request_with to run both and compare.
#include "zhttp/parser.hpp"

namespace zhttp::http {

enum class ScanIsa : uint8_t { kSse2, kAvx2 };

// True when this build has an AVX2 path and the CPU runs it.
bool cpu_has_avx2();

ParseResult parse_request_with(ScanIsa isa, std::string_view input, const ParserLimits& limits,
                               Request& out, std::span<Header> headers, size_t scanned_before = 0);

}  // namespace zhttp::http
