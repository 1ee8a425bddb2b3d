// The embedding example: the hello handler (examples/hello_handler.hpp) run by the whole server:
//   build/examples/hello --listen 127.0.0.1:8080 --workers 3 --greeting Hi
// Every zhttpd option works (--help), plus --greeting; zhttpstat shows the greetings counter.
#include <zhttp/app.hpp>

#include <memory>

#include "hello_handler.hpp"

class HelloApp : public zhttp::App {
  void declare(zhttp::AppDeclarations& d) override {
    d.option("greeting", "Hello", "the word GET /hello/<who> greets with",
             [](const std::string& v) {
               return v.empty() || v.size() > 64 ? std::string("a greeting of 1-64 bytes")
                                                 : std::string();
             });
    d.counter("greetings", "Greetings sent.");
  }
  std::unique_ptr<zhttp::Handler> make_handler(const zhttp::AppContext& c) override {
    return std::make_unique<zhttp::examples::Hello>(c.option("greeting"), c.counter("greetings"));
  }
};

int main(int argc, char** argv) {
  HelloApp app;
  return zhttp::run(argc, argv, app);
}
