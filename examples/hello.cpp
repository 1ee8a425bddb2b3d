// The embedding example: serves the hello handler (examples/hello_handler.hpp).
//   build/examples/hello [HOST:PORT]     (default 127.0.0.1:8080)
#include <zhttp/server.hpp>

#include "hello_handler.hpp"

int main(int argc, char** argv) {
  zhttp::examples::Hello hello;
  zhttp::ServeOptions options;
  if (argc > 1) options.listen = {argv[1]};
  return zhttp::serve(hello, options);
}
