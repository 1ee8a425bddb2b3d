#include "handlers/static_site/static_files.hpp"

#include <unistd.h>

#include <cstring>

#include "handlers/autoindex/autoindex.hpp"
#include "handlers/common/conditional.hpp"
#include "handlers/static_site/etag.hpp"
#include "handlers/static_site/path_encoding.hpp"
#include "handlers/static_site/range.hpp"
#include "zhttp/target.hpp"

namespace zhttp::handlers::static_site {
namespace {

constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";
constexpr ConstField kVaryAcceptEncoding{"Vary", "Accept-Encoding"};
constexpr ConstField kAcceptRanges{"Accept-Ranges", "bytes"};

// Whole seconds: compressors that copy the original's mtime (brotli -k) keep only its seconds.
bool is_older(const timespec& variant, const timespec& file) {
  return variant.tv_sec < file.tv_sec;
}

// An open file's facts: its descriptor, stat, ETag and, when small, its bytes.
void describe(int fd, const struct stat& st, CachedFile* file) {
  file->fd = fd;
  file->st = st;
  file->etag_len = static_cast<uint8_t>(format_etag(FileVersion::of(st), file->etag));
  const size_t size = static_cast<size_t>(st.st_size);
  if (size <= CachedFile::kMaxContentBytes) {
    // Read now; the size is checked so a file changing meanwhile falls back to the descriptor.
    ssize_t n = ::pread(fd, file->content, CachedFile::kMaxContentBytes, 0);
    file->has_content = n == static_cast<ssize_t>(size);
  }
}

// The body: `length` bytes of `file` from `offset`, copied when it kept them, else sent from its
// descriptor (`owned`: this request's, closed once used).
void send_bytes(Response& response, const CachedFile& file, bool owned, uint64_t offset,
                uint64_t length) {
  if (file.has_content) {
    response.body({file.content + offset, length});
    if (owned) ::close(file.fd);
  } else if (owned) {
    response.file(file.fd, offset, length);
  } else {
    response.file_shared(file.fd, offset, length);
  }
}

// What says which representation `file` is: its type, its coding, and whether its file has
// others (so that the answer depends on Accept-Encoding).
void representation_fields(Response& response, const CachedFile& file, bool vary) {
  response.header("Content-Type", file.content_type);
  if (file.coding >= 0) {
    response.header(content_encoding_field(static_cast<ContentCoding>(file.coding)));
  }
  if (vary) response.header(kVaryAcceptEncoding);
}

// The open file cache key tag of a path's variant in `coding`.
char variant_tag(int coding) {
  return static_cast<char>('0' + coding);
}

}  // namespace

StaticFiles::StaticFiles(const StaticFilesOptions& options)
    : resolver_(options.root, options.index, options.autoindex),
      mime_(options.mime_types),
      cache_(options.open_file_cache),
      index_(options.index),
      headers_(options.headers),
      precompressed_(options.precompressed),
      error_pages_(options.error_pages),
      fallback_(options.fallback) {}

void StaticFiles::handle(const RequestView& request, Response& response) {
  if (request.method() != Method::kGet && request.method() != Method::kHead) {
    send_error(request, response, 405, "method not allowed\n");
    return;
  }
  if (request.path().empty()) {  // authority- or asterisk-form: nothing to serve
    send_error(request, response, 400, "bad request target\n");
    return;
  }
  serve_path(request, response, request.path(), !fallback_.empty());
}

void StaticFiles::serve_path(const RequestView& request, Response& response, std::string_view path,
                             bool may_fall_back) {
  const Found found = find(request, path, response.now());
  switch (found.kind) {
    case Found::Kind::kFile:
      serve_file(request, response, *found.file, found.owned, rules_path(path), found.vary);
      return;
    case Found::Kind::kMissing:
      not_found(request, response, may_fall_back && found.fallback_route);
      return;
    case Found::Kind::kOther:
      answer_other(request, response, *found.resolved);
      return;
  }
}

StaticFiles::Found StaticFiles::find(const RequestView& request, std::string_view path,
                                     time_t now) {
  Found found;
  if (const CachedFile* file = cache_.find(path, now)) {
    if (file->missing) {
      found.kind = Found::Kind::kMissing;
      found.fallback_route = file->fallback_route;
      return found;
    }
    const int coding = file->has_variants ? representation(request, *file) : -1;
    found.vary = file->has_variants;
    found.file = coding < 0 ? file : cache_.find(path, variant_tag(coding), now);
    if (found.file != nullptr) return found;
    // The variant left the cache before its file did: open them all again.
  }
  // resolved_ and opened_ are the caller's until it looks anything else up.
  resolved_ = resolver_.resolve(path, path_scratch_.data(), path_scratch_.size());
  using Outcome = ResolvedFile::Outcome;
  if (resolved_.outcome == Outcome::kNotFound) {
    found.kind = Found::Kind::kMissing;
    found.fallback_route = is_fallback_route(resolved_.path);
    cache_.store_missing(path, found.fallback_route, now);
    return found;
  }
  if (resolved_.outcome != Outcome::kFile) {
    found.kind = Found::Kind::kOther;
    found.resolved = &resolved_;
    return found;
  }
  OpenedFiles& opened = opened_;
  open_files(resolved_, &opened);
  const int coding = opened.file.has_variants ? representation(request, opened.file) : -1;
  // The cache takes over each descriptor it stores. The representation chosen is served from
  // the copy in opened_ either way; what the cache could not take is closed once used.
  const bool file_cached = cache_.store(path, opened.file, now) != nullptr;
  bool served_cached = file_cached;
  for (size_t i = 0; i < kContentCodings; ++i) {
    const CachedFile& variant = opened.variants[i];
    if (variant.fd < 0) continue;
    const bool cached = file_cached && cache_.store(path, variant_tag(static_cast<int>(i)), variant,
                                                    now) != nullptr;
    if (static_cast<int>(i) == coding) {
      served_cached = cached;
    } else if (!cached) {
      ::close(variant.fd);
    }
  }
  if (coding >= 0 && !file_cached) ::close(opened.file.fd);
  found.file = coding < 0 ? &opened.file : &opened.variants[coding];
  found.owned = !served_cached;
  found.vary = opened.file.has_variants;
  return found;
}

void StaticFiles::answer_other(const RequestView& request, Response& response,
                               const ResolvedFile& resolved) {
  using Outcome = ResolvedFile::Outcome;
  switch (resolved.outcome) {
    case Outcome::kAddSlash:
      redirect_to_directory(request, response, resolved.path);
      return;
    case Outcome::kBadPath:
      send_error(request, response, 400, "bad path\n");
      return;
    case Outcome::kForbidden:
      send_error(request, response, 403, "forbidden\n");
      return;
    case Outcome::kDirectory:
      autoindex::send_directory_listing(request, response, resolved.fd, resolver_.root_fd(),
                                        resolved.path, headers_);
      return;
    case Outcome::kFile:
    case Outcome::kNotFound:
      return;  // never here: find() makes these a file or a missing path
  }
}

void StaticFiles::send_error(const RequestView& request, Response& response, uint16_t status,
                             std::string_view text) {
  response.status(status);
  if (status == 405) response.header("Allow", "GET, HEAD");
  const std::string_view page = error_page_for(error_pages_, status);
  if (page.empty() || !send_page(request, response, page)) {
    response.header("Content-Type", kTextPlain).body(text);
  }
}

bool StaticFiles::send_page(const RequestView& request, Response& response, std::string_view page) {
  // The page as a request for it gets it (its variants too), but without its validators or
  // ranges, which describe the page and not this answer.
  const Found found = find(request, page, response.now());
  if (found.kind != Found::Kind::kFile) {
    if (found.resolved && found.resolved->outcome == ResolvedFile::Outcome::kDirectory) {
      ::close(found.resolved->fd);
    }
    return false;
  }
  const CachedFile& file = *found.file;
  representation_fields(response, file, found.vary);
  if (!headers_.empty()) headers_.apply(rules_path(page), response);
  send_bytes(response, file, found.owned, 0, static_cast<uint64_t>(file.st.st_size));
  return true;
}

int StaticFiles::representation(const RequestView& request, const CachedFile& file) {
  const AcceptedCodings& accepted =
      accept_encoding_.parse(request.header(HeaderId::kAcceptEncoding));
  return choose_representation(accepted, precompressed_, file.variant_sizes,
                               static_cast<uint64_t>(file.st.st_size));
}

void StaticFiles::not_found(const RequestView& request, Response& response, bool fall_back) {
  if (fall_back) {
    serve_path(request, response, fallback_, false);  // a single-page app's route
  } else {
    send_error(request, response, 404, "not found\n");
  }
}

void StaticFiles::open_files(const ResolvedFile& resolved, OpenedFiles* opened) {
  *opened = OpenedFiles{};
  CachedFile& file = opened->file;
  describe(resolved.fd, resolved.st, &file);
  std::string_view name = resolved.path;
  if (!name.empty() && name.back() == '/') name = index_;
  file.content_type = mime_.lookup(name);
  for (uint8_t i = 0; i < precompressed_.count; ++i) {
    const ContentCoding coding = precompressed_.codings[i];
    struct stat st;
    const int fd = resolver_.open_variant(resolved, coding_suffix(coding), &st);
    if (fd < 0) continue;
    if (is_older(st.st_mtim, resolved.st.st_mtim)) {  // left behind by an edit: not the file
      ::close(fd);
      continue;
    }
    const auto index = static_cast<size_t>(coding);
    CachedFile& variant = opened->variants[index];
    describe(fd, st, &variant);
    variant.content_type = file.content_type;
    variant.coding = static_cast<int8_t>(index);
    file.variant_sizes[index] = static_cast<uint64_t>(st.st_size);
    file.has_variants = true;
  }
}

void StaticFiles::redirect_to_directory(const RequestView& request, Response& response,
                                        std::string_view normalized_path) {
  char* out = location_scratch_.data();
  const size_t cap = location_scratch_.size();
  size_t n = encode_path(normalized_path, out, cap);
  // The query survives the redirect as it came (it was valid in the request target).
  std::string_view query = request.query();
  if (n == 0 || n + 2 + query.size() > cap) {
    send_error(request, response, 414, "path too long to redirect\n");
    return;
  }
  out[n++] = '/';
  if (query.data() != nullptr) {
    out[n++] = '?';
    for (char c : query) out[n++] = c;
  }
  response.status(301).header("Location", std::string_view(out, n));
  response.header("Content-Type", kTextPlain).body("moved permanently\n");
}

std::string_view StaticFiles::decode_rules_path(std::string_view encoded_path) {
  char* out = decoded_scratch_.data();
  const size_t cap = decoded_scratch_.size();
  PathResult decoded = normalize_path(encoded_path, out, cap);
  if (!decoded.ok()) return "";
  size_t n = decoded.length;
  // A directory's path that names a file is served from its index file: the rules see that.
  if (n > 0 && out[n - 1] == '/') {
    if (n + index_.size() > cap) return "";
    std::memcpy(out + n, index_.data(), index_.size());
    n += index_.size();
  }
  return {out, n};
}

void StaticFiles::serve_file(const RequestView& request, Response& response, const CachedFile& file,
                             bool owned, std::string_view rules_path, bool vary) {
  auto release = [&] {
    if (owned) ::close(file.fd);
  };
  const time_t now = response.now();
  const time_t modified = last_modified_time(file.st.st_mtim.tv_sec, now);
  std::string_view etag = file.etag_view();
  char date_buf[kImfFixdateLen];
  std::string_view last_modified;
  if (format_imf_fixdate(modified, date_buf)) last_modified = {date_buf, kImfFixdateLen};

  common::ConditionalHeaders conditions{
      request.header(HeaderId::kIfMatch), request.header(HeaderId::kIfUnmodifiedSince),
      request.header(HeaderId::kIfNoneMatch), request.header(HeaderId::kIfModifiedSince)};
  common::Precondition precondition = evaluate_preconditions(conditions, etag, modified, now);
  if (precondition != common::Precondition::kProceed) {
    release();
    if (precondition == common::Precondition::kPreconditionFailed) {
      response.status(412);
      if (vary) response.header(kVaryAcceptEncoding);  // the validators were this variant's
      response.header("Content-Type", kTextPlain).body("precondition failed\n");
      return;
    }
    response.status(304).header("ETag", etag);
    if (!last_modified.empty()) response.header("Last-Modified", last_modified);
    if (vary) response.header(kVaryAcceptEncoding);
    if (!headers_.empty())
      headers_.apply(rules_path, response);  // RFC 9110 15.4.5: a 304 carries Cache-Control too
    response.no_body();
    return;
  }

  const uint64_t size = static_cast<uint64_t>(file.st.st_size);
  ByteRange range;  // Range is defined for GET only
  if (request.method() == Method::kGet) {
    range = evaluate_range(request.header(HeaderId::kRange), request.header(HeaderId::kIfRange),
                           size, etag, modified, now);
  }
  char content_range[kMaxContentRangeLen];
  std::string_view content_range_value(content_range, format_content_range(range, content_range));
  if (range.kind == RangeKind::kUnsatisfiable) {
    release();
    response.status(416).header("Content-Range", content_range_value);
    if (vary) response.header(kVaryAcceptEncoding);  // the size was this variant's
    response.header("Content-Type", kTextPlain).body("range not satisfiable\n");
    return;
  }

  response.status(range.kind == RangeKind::kSatisfiable ? 206 : 200);
  representation_fields(response, file, vary);
  response.header("ETag", etag);
  if (!last_modified.empty()) response.header("Last-Modified", last_modified);
  response.header(kAcceptRanges);
  if (!headers_.empty()) headers_.apply(rules_path, response);
  uint64_t offset = 0;
  uint64_t length = size;
  if (range.kind == RangeKind::kSatisfiable) {
    response.header("Content-Range", content_range_value);
    offset = range.first;
    length = range.length();
  }
  send_bytes(response, file, owned, offset, length);
}

}  // namespace zhttp::handlers::static_site
