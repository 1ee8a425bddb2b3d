#include "handlers/static_files.hpp"

#include <unistd.h>

#include "handlers/autoindex.hpp"
#include "handlers/conditional.hpp"
#include "handlers/etag.hpp"
#include "handlers/path_encoding.hpp"
#include "handlers/range.hpp"
#include "zhttp/target.hpp"

namespace zhttp::handlers {
namespace {

constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";

void send_error(Response& response, uint16_t status, std::string_view body) {
  response.send(status, kTextPlain, body);
}

}  // namespace

StaticFiles::StaticFiles(const StaticFilesOptions& options)
    : resolver_(options.root, options.index, options.autoindex),
      mime_(options.mime_types),
      cache_(options.open_file_cache),
      index_(options.index),
      headers_(options.headers) {}

void StaticFiles::handle(const RequestView& request, Response& response) {
  if (request.method() != Method::kGet && request.method() != Method::kHead) {
    response.status(405).header("Allow", "GET, HEAD").header("Content-Type", kTextPlain);
    response.body("method not allowed\n");
    return;
  }
  if (request.path().empty()) {  // authority- or asterisk-form: nothing to serve
    send_error(response, 400, "bad request target\n");
    return;
  }
  if (const CachedFile* cached = cache_.find(request.path(), response.now())) {
    serve_file(request, response, *cached, false, rules_path(request.path()));
    return;
  }
  CachedFile file;
  if (!open_file(request, response, &file)) return;
  const std::string_view decoded = rules_path(request.path());
  if (const CachedFile* cached = cache_.store(request.path(), file, response.now())) {
    serve_file(request, response, *cached, false, decoded);
  } else {
    serve_file(request, response, file, true, decoded);
  }
}

bool StaticFiles::open_file(const RequestView& request, Response& response, CachedFile* file) {
  ResolvedFile resolved =
      resolver_.resolve(request.path(), path_scratch_.data(), path_scratch_.size());
  using Outcome = ResolvedFile::Outcome;
  switch (resolved.outcome) {
    case Outcome::kFile:
      break;
    case Outcome::kAddSlash:
      redirect_to_directory(request, response, resolved.path);
      return false;
    case Outcome::kBadPath:
      send_error(response, 400, "bad path\n");
      return false;
    case Outcome::kForbidden:
      send_error(response, 403, "forbidden\n");
      return false;
    case Outcome::kNotFound:
      send_error(response, 404, "not found\n");
      return false;
    case Outcome::kDirectory:
      send_directory_listing(request, response, resolved.fd, resolver_.root_fd(), resolved.path,
                             headers_);
      return false;
  }
  file->fd = resolved.fd;
  file->st = resolved.st;
  file->etag_len = static_cast<uint8_t>(format_etag(FileVersion::of(resolved.st), file->etag));
  const size_t size = static_cast<size_t>(resolved.st.st_size);
  if (size <= CachedFile::kMaxContentBytes) {
    // Read now; the size is checked so a file changing meanwhile falls back to the descriptor.
    ssize_t n = ::pread(resolved.fd, file->content, CachedFile::kMaxContentBytes, 0);
    file->has_content = n == static_cast<ssize_t>(size);
  }
  std::string_view name = resolved.path;
  if (!name.empty() && name.back() == '/') name = index_;
  file->content_type = mime_.lookup(name);
  return true;
}

void StaticFiles::redirect_to_directory(const RequestView& request, Response& response,
                                        std::string_view normalized_path) {
  char* out = location_scratch_.data();
  const size_t cap = location_scratch_.size();
  size_t n = encode_path(normalized_path, out, cap);
  // The query survives the redirect as it came (it was valid in the request target).
  std::string_view query = request.query();
  if (n == 0 || n + 2 + query.size() > cap) {
    send_error(response, 414, "path too long to redirect\n");
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

std::string_view StaticFiles::rules_path(std::string_view encoded_path) {
  if (headers_.empty()) return {};
  PathResult decoded =
      normalize_path(encoded_path, decoded_scratch_.data(), decoded_scratch_.size());
  return decoded.ok() ? std::string_view(decoded_scratch_.data(), decoded.length) : "";
}

void StaticFiles::serve_file(const RequestView& request, Response& response, const CachedFile& file,
                             bool owned, std::string_view rules_path) {
  auto release = [&] {
    if (owned) ::close(file.fd);
  };
  const time_t now = response.now();
  const time_t modified = last_modified_time(file.st.st_mtim.tv_sec, now);
  std::string_view etag = file.etag_view();
  char date_buf[kImfFixdateLen];
  std::string_view last_modified;
  if (format_imf_fixdate(modified, date_buf)) last_modified = {date_buf, kImfFixdateLen};

  ConditionalHeaders conditions{
      request.header(HeaderId::kIfMatch), request.header(HeaderId::kIfUnmodifiedSince),
      request.header(HeaderId::kIfNoneMatch), request.header(HeaderId::kIfModifiedSince)};
  Precondition precondition = evaluate_preconditions(conditions, etag, modified, now);
  if (precondition != Precondition::kProceed) {
    release();
    if (precondition == Precondition::kPreconditionFailed) {
      send_error(response, 412, "precondition failed\n");
      return;
    }
    response.status(304).header("ETag", etag);
    if (!last_modified.empty()) response.header("Last-Modified", last_modified);
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
    response.header("Content-Type", kTextPlain).body("range not satisfiable\n");
    return;
  }

  response.status(range.kind == RangeKind::kSatisfiable ? 206 : 200);
  response.header("Content-Type", file.content_type).header("ETag", etag);
  if (!last_modified.empty()) response.header("Last-Modified", last_modified);
  response.header("Accept-Ranges", "bytes");
  headers_.apply(rules_path, response);
  uint64_t offset = 0;
  uint64_t length = size;
  if (range.kind == RangeKind::kSatisfiable) {
    response.header("Content-Range", content_range_value);
    offset = range.first;
    length = range.length();
  }
  if (file.has_content) {
    release();
    response.body({file.content + offset, length});
  } else if (owned) {
    response.file(file.fd, offset, length);
  } else {
    response.file_shared(file.fd, offset, length);
  }
}

}  // namespace zhttp::handlers
