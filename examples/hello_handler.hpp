#pragma once
// The handler of the embedding example (http/af's hello world): GET /hello/<who> answers
// "Hello, <who>!", other paths 404, other methods 405. Allocates nothing per request.
#include <zhttp/handler.hpp>

#include <string_view>

namespace zhttp::examples {

class Hello : public zhttp::Handler {
 public:
  void handle(const zhttp::RequestView& request, zhttp::Response& response) override {
    constexpr std::string_view kPrefix = "/hello/";
    if (request.method() != zhttp::Method::kGet && request.method() != zhttp::Method::kHead) {
      response.status(405).header("Allow", "GET, HEAD").body("method not allowed\n");
      return;
    }
    std::string_view path = request.path();
    if (path.substr(0, kPrefix.size()) != kPrefix || path.size() == kPrefix.size()) {
      response.send(404, "text/plain", "not found\n");
      return;
    }
    // "Hello, <who>!" formatted into a stack buffer: no allocation per request.
    char text[256];
    std::string_view who = path.substr(kPrefix.size());
    if (who.size() > sizeof text - 8) who = who.substr(0, sizeof text - 8);
    size_t n = 0;
    for (std::string_view part : {std::string_view("Hello, "), who, std::string_view("!")}) {
      part.copy(text + n, part.size());
      n += part.size();
    }
    response.send(200, "text/plain", {text, n});
  }
};

}  // namespace zhttp::examples
