// The streamed-upload example: the checksum handler (examples/checksum_handler.hpp) run by the
// whole server (every zhttpd option works, see --help):
//   build/examples/checksum --listen 127.0.0.1:8080 --workers 2
// POST or PUT a body of any size: answers "crc32=<hex> bytes=<n>".
#include <zhttp/app.hpp>

#include <memory>

#include "checksum_handler.hpp"

class ChecksumApp : public zhttp::App {
  std::unique_ptr<zhttp::Handler> make_handler(const zhttp::AppContext&) override {
    return std::make_unique<zhttp::examples::Checksum>();
  }
};

int main(int argc, char** argv) {
  ChecksumApp app;
  return zhttp::run(argc, argv, app);
}
