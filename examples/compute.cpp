// The compute example: the compute handler (examples/compute_handler.hpp) run by the whole server
// (every zhttpd option works, see --help), to put a response cache to work:
//   build/examples/compute --listen 127.0.0.1:8080 --workers 4 --root examples/www
// GET /compute?key=K&ms=N&ttl=T&len=L answers N ms later with L cacheable bytes that end in
// their own CRC-32; other paths are the static files. zhttpstat shows the computations counter.
#include <zhttp/app.hpp>

#include <memory>

#include "compute_handler.hpp"

class ComputeApp : public zhttp::App {
  void declare(zhttp::AppDeclarations& d) override {
    d.counter("computations", "Answers to /compute computed (what a cache in front saves).");
  }
  std::unique_ptr<zhttp::Handler> make_handler(const zhttp::AppContext& c) override {
    return std::make_unique<zhttp::examples::Compute>(c.counter("computations"), c.files());
  }
};

int main(int argc, char** argv) {
  ComputeApp app;
  return zhttp::run(argc, argv, app);
}
