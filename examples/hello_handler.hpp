#pragma once
// The handler of the embedding example (http/af's hello world): GET /hello/<who> answers
// "<greeting>, <who>!" and counts it, other paths 404, other methods 405. Nothing allocated per
// request: the answer is formatted on the stack.
#include <zhttp/app.hpp>

#include <string>
#include <string_view>

namespace zhttp::examples {

class Hello : public zhttp::Handler {
 public:
  explicit Hello(std::string greeting = "Hello", zhttp::AppCounter greetings = {})
      : greeting_(std::move(greeting)), greetings_(greetings) {}

  void handle(const zhttp::RequestView& request, zhttp::Response& response) override {
    constexpr std::string_view kPrefix = "/hello/";
    if (request.method() != zhttp::Method::kGet && request.method() != zhttp::Method::kHead) {
      response.status(405).header("Allow", "GET, HEAD").body("method not allowed\n");
      return;
    }
    std::string_view path = request.path();
    if (!path.starts_with(kPrefix) || path.size() == kPrefix.size()) {
      response.send(404, "text/plain", "not found\n");
      return;
    }
    char text[512];
    std::string_view who = path.substr(kPrefix.size()).substr(0, 256);
    size_t n = 0;
    for (std::string_view part :
         {std::string_view(greeting_), std::string_view(", "), who, std::string_view("!")}) {
      n += part.copy(text + n, sizeof text - n);
    }
    response.send(200, "text/plain", {text, n});
    greetings_.add();
  }

 private:
  std::string greeting_;
  zhttp::AppCounter greetings_;
};

}  // namespace zhttp::examples
