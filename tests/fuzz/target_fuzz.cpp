// libFuzzer target for split_target + normalize_path. Checks the output invariants and compares
// against a slow, obviously-correct reference (decode each segment, then a segment stack).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "zhttp/target.hpp"

namespace {

void check(bool cond, const char* what) {
  if (!cond) {
    std::fprintf(stderr, "invariant failed: %s\n", what);
    std::abort();
  }
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reference: ok and output, or not ok. Same rules, written the slow way: split at raw '/',
// decode each segment, keep a stack. The real code uses its output buffer as working space, so
// an intermediate form longer than cap fails there too; the reference checks that length.
bool reference(std::string_view in, size_t cap, std::string* out) {
  if (in.empty() || in[0] != '/' || cap == 0) return false;
  std::vector<std::string> stack;
  size_t i = 1;
  for (;;) {
    const size_t end = std::min(in.find('/', i), in.size());
    const bool last = end == in.size();
    std::string seg;
    for (size_t k = i; k < end; ++k) {
      auto c = static_cast<unsigned char>(in[k]);
      if (c == '%') {
        if (k + 2 >= in.size()) return false;
        const int hi = hex(in[k + 1]), lo = hex(in[k + 2]);
        if (hi < 0 || lo < 0) return false;
        c = static_cast<unsigned char>(hi * 16 + lo);
        if (c == '/') return false;
        k += 2;
      }
      if (c < 0x20 || c == 0x7f) return false;
      seg.push_back(static_cast<char>(c));
    }
    const bool normal = !seg.empty() && seg != "." && seg != "..";
    if (seg == "..") {
      if (stack.empty()) return false;
      stack.pop_back();
    } else if (normal) {
      stack.push_back(seg);
      size_t len = 1;  // "/" + each segment and its '/', minus the last '/' if none follows
      for (const auto& s : stack) len += s.size() + 1;
      if (len - (last ? 1 : 0) > cap) return false;
    }
    if (last) {
      *out = "/";
      for (size_t k = 0; k < stack.size(); ++k) {
        if (k > 0) *out += '/';
        *out += stack[k];
      }
      if (!stack.empty() && !normal) *out += '/';  // ended in '/', "." or "..": a directory
      return true;
    }
    i = end + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // First byte picks the capacity (0..255 or roomy); the rest is the target.
  const size_t cap = data[0] == 0xff ? 4096 : data[0];
  const std::string_view target(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::string_view path, query;
  zhttp::split_target(target, &path, &query);
  check(path.size() + (query.data() ? query.size() + 1 : 0) <= target.size(), "split sizes");
  check(path.find('?') == std::string_view::npos, "path holds '?'");
  check(path.find('#') == std::string_view::npos, "path holds '#'");

  // Exactly cap bytes on the heap, so ASan flags any write past the end.
  std::vector<char> buf(cap);
  const zhttp::PathResult r = zhttp::normalize_path(target, buf.data(), cap);
  std::string expected;
  const bool ref_ok = reference(target, cap, &expected);
  check(r.ok() == ref_ok, "ok differs from the reference");
  if (!r.ok()) {
    check(r.length == 0, "length on error");
    check(!zhttp::describe(r.error).empty(), "describe");
    return 0;
  }
  const std::string out(buf.data(), r.length);
  check(out == expected, "output differs from the reference");
  check(r.length >= 1 && r.length <= cap, "length within 1..cap");
  check(out[0] == '/', "starts with '/'");
  check(out.find('\0') == std::string::npos, "holds NUL");
  check(out.find("//") == std::string::npos, "holds '//'");
  const std::string slashed = out + "/";
  check(slashed.find("/./") == std::string::npos, "holds a '.' segment");
  check(slashed.find("/../") == std::string::npos, "holds a '..' segment");
  // Normalizing again changes nothing, unless a decoded '%' would now read as an escape.
  if (out.find('%') == std::string::npos) {
    std::vector<char> again(cap);
    const zhttp::PathResult r2 = zhttp::normalize_path(out, again.data(), cap);
    check(r2.ok() && std::string_view(again.data(), r2.length) == out, "not idempotent");
  }
  return 0;
}
