// The streamed-upload example: serves the checksum handler (examples/checksum_handler.hpp).
//   build/examples/checksum [--listen HOST:PORT]...     (default 127.0.0.1:8080)
#include "checksum_handler.hpp"
#include "example_options.hpp"

int main(int argc, char** argv) {
  zhttp::examples::Checksum checksum;
  return zhttp::examples::run_example(
      checksum, argc, argv,
      {"checksum", "POST or PUT a body of any size: answers \"crc32=<hex> bytes=<n>\".\n"});
}
