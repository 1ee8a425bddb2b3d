#include "handlers/proxy/request_head.hpp"

#include <cstring>

#include "handlers/common/ascii_case.hpp"

namespace zhttp::handlers::proxy {
namespace {

// Appends to a fixed buffer; once something does not fit, every later append is refused too.
class HeadWriter {
 public:
  explicit HeadWriter(std::span<char> out) : p_(out.data()), end_(out.data() + out.size()) {}

  HeadWriter& add(std::string_view s) {
    if (p_ == nullptr || static_cast<size_t>(end_ - p_) < s.size()) {
      p_ = nullptr;
      return *this;
    }
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
    return *this;
  }
  HeadWriter& number(uint64_t v) {
    char digits[20];
    size_t n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    char text[20];
    for (size_t i = 0; i < n; ++i) text[i] = digits[n - 1 - i];
    return add({text, n});
  }
  HeadWriter& field(std::string_view name, std::string_view value) {
    return add(name).add(": ").add(value).add("\r\n");
  }
  char* position() const { return p_; }

 private:
  char* p_;
  char* end_;
};

// Calls visit(token) for each comma-separated token of a Connection field value until it
// returns true; returns whether one did.
template <class Visit>
bool any_token(std::string_view connection, Visit visit) {
  while (!connection.empty()) {
    size_t comma = connection.find(',');
    std::string_view token = connection.substr(0, comma);
    while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
      token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
    if (!token.empty() && visit(token)) return true;
    if (comma == std::string_view::npos) break;
    connection.remove_prefix(comma + 1);
  }
  return false;
}

// Whether any Connection field of the request (there may be several) has a token visit() likes.
template <class Visit>
bool any_connection_token(const RequestView& r, Visit visit) {
  for (uint32_t i = 0; i < r.header_count(); ++i) {
    if (r.request().headers[i].id == HeaderId::kConnection && any_token(r.header_value(i), visit))
      return true;
  }
  return false;
}

// Whether the Connection fields name fields besides their own options (close, keep-alive,
// upgrade): only then is each field's name looked up in them.
bool names_other_fields(const RequestView& r) {
  return any_connection_token(r, [](std::string_view t) {
    return !common::equal_nocase(t, "close") && !common::equal_nocase(t, "keep-alive") &&
           !common::equal_nocase(t, "upgrade");
  });
}

// Dropped from every forwarded request: hop-by-hop (RFC 9110 7.6.1), the client's framing and
// Expect (the proxy frames the body and answers 100-continue itself), and the fields the proxy
// writes itself.
bool dropped(HeaderId id) {
  switch (id) {
    case HeaderId::kConnection:
    case HeaderId::kKeepAlive:
    case HeaderId::kProxyConnection:
    case HeaderId::kTe:
    case HeaderId::kTransferEncoding:
    case HeaderId::kUpgrade:
    case HeaderId::kContentLength:
    case HeaderId::kExpect:
    case HeaderId::kHost:
    case HeaderId::kXForwardedFor:
    case HeaderId::kXForwardedProto:
    case HeaderId::kXForwardedHost:
    case HeaderId::kVia:
      return true;
    default:
      return false;
  }
}

// Every value of the fields with this id, joined with ", " (a field may come several times).
HeadWriter& joined_values(HeadWriter& w, const RequestView& r, HeaderId id, bool* any) {
  for (uint32_t i = 0; i < r.header_count(); ++i) {
    if (r.request().headers[i].id != id) continue;
    if (*any) w.add(", ");
    w.add(r.header_value(i));
    *any = true;
  }
  return w;
}

}  // namespace

bool idempotent(Method method) {
  switch (method) {
    case Method::kGet:
    case Method::kHead:
    case Method::kOptions:
    case Method::kTrace:
    case Method::kPut:
    case Method::kDelete:
      return true;
    default:
      return false;
  }
}

size_t write_request_head(std::span<char> out, const RequestView& r, const ProxyRoute& route,
                          const ForwardFacts& facts, BodyPlan body) {
  HeadWriter w(out);
  w.add(r.method_name()).add(" ");
  std::string_view target = r.target();
  if (r.request().target_form == TargetForm::kAsterisk) {
    w.add("*");
  } else {
    std::string_view path = r.path();
    if (route.rewrite) {
      w.add(route.replacement).add(path.substr(route.prefix.size()));
    } else {
      w.add(path);
    }
    size_t question = target.find('?');
    if (question != std::string_view::npos) w.add(target.substr(question));
  }
  w.add(" HTTP/1.1\r\n");

  std::string_view host = r.header(HeaderId::kHost);
  w.field("Host", host.data() != nullptr ? host : facts.default_host);

  const bool connection_names = names_other_fields(r);
  for (uint32_t i = 0; i < r.header_count(); ++i) {
    HeaderId id = r.request().headers[i].id;
    if (dropped(id) && !(facts.upgrade && id == HeaderId::kUpgrade)) continue;
    std::string_view name = r.header_name(i);
    if (connection_names && any_connection_token(r, [name](std::string_view t) {
          return common::equal_nocase(t, name);
        })) {
      continue;
    }
    w.add(name).add(": ").add(r.header_value(i)).add("\r\n");
  }

  bool any = false;
  w.add("X-Forwarded-For: ");
  joined_values(w, r, HeaderId::kXForwardedFor, &any);
  if (any) w.add(", ");
  w.add(facts.client_address).add("\r\n");
  w.field("X-Forwarded-Proto", facts.proto);
  if (host.data() != nullptr) w.field("X-Forwarded-Host", host);
  any = false;
  w.add("Via: ");
  joined_values(w, r, HeaderId::kVia, &any);
  if (any) w.add(", ");
  w.add(r.version_minor() == 0 ? "1.0 zhttpd\r\n" : "1.1 zhttpd\r\n");

  if (facts.upgrade) w.add("Connection: upgrade\r\n");
  if (body.kind == BodyPlan::Kind::kLength) {
    w.add("Content-Length: ").number(body.length).add("\r\n");
  } else if (body.kind == BodyPlan::Kind::kChunked) {
    w.add("Transfer-Encoding: chunked\r\n");
  }
  w.add("\r\n");
  return w.position() == nullptr ? 0 : static_cast<size_t>(w.position() - out.data());
}

}  // namespace zhttp::handlers::proxy
