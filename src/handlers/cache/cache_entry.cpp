#include "handlers/cache/cache_entry.hpp"

#include <cstring>
#include "handlers/common/ascii_case.hpp"
#include "http/field_lines.hpp"

namespace zhttp::handlers::cache {
namespace {

using http::for_each_line;

struct Writer {
  std::span<char> out;
  size_t n = 0;
  bool ok = true;
  void put(std::string_view s) {
    if (!ok || s.size() > out.size() - n) {
      ok = false;
      return;
    }
    std::memcpy(out.data() + n, s.data(), s.size());
    n += s.size();
  }
};

}  // namespace

size_t cache_key(const RequestView& request, std::span<char> out) {
  std::string_view host = request.header(HeaderId::kHost);
  std::string_view target = request.target();
  if (host.size() + 1 + target.size() > out.size()) return 0;
  for (size_t i = 0; i < host.size(); ++i) out[i] = common::ascii_lower(host[i]);
  out[host.size()] = '\n';
  std::memcpy(out.data() + host.size() + 1, target.data(), target.size());
  return host.size() + 1 + target.size();
}

ResponseFields scan_fields(std::string_view lines) {
  ResponseFields f;
  auto first = [](std::string_view* slot, std::string_view value) {
    if (slot->data() == nullptr) *slot = value;
  };
  for_each_line(lines, [&](std::string_view name, std::string_view value, std::string_view) {
    if (common::equal_nocase(name, "cache-control")) {
      first(&f.cache_control, value);
    } else if (common::equal_nocase(name, "vary")) {
      first(&f.vary, value);
    } else if (common::equal_nocase(name, "etag")) {
      first(&f.etag, value);
    } else if (common::equal_nocase(name, "last-modified")) {
      first(&f.last_modified, value);
    } else if (common::equal_nocase(name, "age")) {
      first(&f.age, value);
    } else if (common::equal_nocase(name, "set-cookie")) {
      f.set_cookie = true;
    }
  });
  return f;
}

size_t build_entry_head(EntryPreamble preamble, std::span<const std::string_view> vary_names,
                        const RequestView& request, std::string_view fields, std::span<char> out) {
  Writer w{out};
  w.put({reinterpret_cast<const char*>(&preamble), sizeof preamble});
  for (std::string_view name : vary_names) {
    w.put(name);
    w.put(":");
    w.put(request.header(name));
    w.put("\n");
  }
  if (!w.ok || w.n - sizeof preamble > UINT16_MAX) return 0;
  uint16_t vary_bytes = static_cast<uint16_t>(w.n - sizeof preamble);
  std::memcpy(out.data() + offsetof(EntryPreamble, vary_bytes), &vary_bytes, sizeof vary_bytes);
  for_each_line(fields, [&](std::string_view name, std::string_view, std::string_view line) {
    if (!common::equal_nocase(name, "age")) w.put(line);
  });
  return w.ok ? w.n : 0;
}

bool parse_entry_head(std::string_view head, StoredHead* out) {
  if (head.size() < sizeof(EntryPreamble)) return false;
  std::memcpy(&out->preamble, head.data(), sizeof(EntryPreamble));
  head.remove_prefix(sizeof(EntryPreamble));
  if (out->preamble.vary_bytes > head.size()) return false;
  out->vary = head.substr(0, out->preamble.vary_bytes);
  out->fields = head.substr(out->preamble.vary_bytes);
  return true;
}

bool vary_matches(std::string_view vary, const RequestView& request) {
  while (!vary.empty()) {
    size_t end = vary.find('\n');
    if (end == vary.npos) return false;
    std::string_view line = vary.substr(0, end);
    size_t colon = line.find(':');
    if (colon == line.npos) return false;
    if (request.header(line.substr(0, colon)) != line.substr(colon + 1)) return false;
    vary.remove_prefix(end + 1);
  }
  return true;
}

size_t not_modified_fields(std::string_view fields, std::span<char> out) {
  static constexpr std::string_view kKept[] = {"etag", "cache-control",    "expires",
                                               "vary", "content-location", "last-modified"};
  size_t n = 0;
  for_each_line(fields, [&](std::string_view name, std::string_view, std::string_view line) {
    bool kept = false;
    for (std::string_view k : kKept) kept = kept || common::equal_nocase(name, k);
    if (!kept || line.size() > out.size() - n) return;
    std::memcpy(out.data() + n, line.data(), line.size());
    n += line.size();
  });
  return n;
}

}  // namespace zhttp::handlers::cache
