// The embedding example: serves the hello handler (examples/hello_handler.hpp).
//   build/examples/hello [--listen HOST:PORT]... [HOST:PORT]     (default 127.0.0.1:8080)
#include "example_options.hpp"
#include "hello_handler.hpp"

int main(int argc, char** argv) {
  zhttp::examples::Hello hello;
  return zhttp::examples::run_example(
      hello, argc, argv,
      {"hello", "GET /hello/<who> answers \"Hello, <who>!\".\n", /*positional_listen=*/true});
}
