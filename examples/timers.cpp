// The timers example: serves the timers handler (examples/timers_handler.hpp).
//   build/examples/timers [--listen HOST:PORT]...     (default 127.0.0.1:8080)
#include "example_options.hpp"
#include "timers_handler.hpp"

int main(int argc, char** argv) {
  zhttp::examples::Timers timers;
  return zhttp::examples::run_example(timers, argc, argv,
                                      {"timers",
                                       "GET /delay?ms=N answers \"ok\" N ms later;\n"
                                       "GET /ticks?n=K&ms=M streams K lines, M ms apart.\n"});
}
