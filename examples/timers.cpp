// The timers example: the timers handler (examples/timers_handler.hpp) run by the whole server
// (every zhttpd option works, see --help):
//   build/examples/timers --listen 127.0.0.1:8080 --workers 2
// GET /delay?ms=N answers "ok" N ms later; GET /ticks?n=K&ms=M streams K lines, M ms apart.
#include <zhttp/app.hpp>

#include <memory>

#include "timers_handler.hpp"

class TimersApp : public zhttp::App {
  std::unique_ptr<zhttp::Handler> make_handler(const zhttp::AppContext&) override {
    return std::make_unique<zhttp::examples::Timers>();
  }
};

int main(int argc, char** argv) {
  TimersApp app;
  return zhttp::run(argc, argv, app);
}
