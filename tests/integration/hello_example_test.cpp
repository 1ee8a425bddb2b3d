// The embedding example as a user runs it: a real process on a loopback port, real requests,
// then SIGTERM and a clean exit.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <string>

#include "server_process.hpp"
#include "socket_util.hpp"

namespace zhttp::test {
namespace {

std::string request(uint16_t port, const std::string& bytes) {
  int c = connect_loopback(port);
  if (c < 0) return "";
  send_all(c, bytes);
  std::string got = read_until(
      c, [](const std::string& s) { return count_responses(s) >= 1; }, 5);
  ::close(c);
  return got;
}

TEST(HelloExample, GreetsRejectsAndStopsOnSigterm) {
  ServerProcess example("zhttp-example");
  ASSERT_NO_FATAL_FAILURE(example.start(ServerOptions::example("hello")))
      << "example did not start listening";
  uint16_t port = example.port();

  std::string hello = request(port, "GET /hello/world HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(hello.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_EQ(hello.substr(hello.size() - 13), "Hello, world!");
  EXPECT_EQ(request(port, "GET /other HTTP/1.1\r\nHost: t\r\n\r\n").rfind("HTTP/1.1 404", 0), 0u);
  std::string post =
      request(port, "POST /hello/x HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(post.rfind("HTTP/1.1 405", 0), 0u);
  EXPECT_NE(post.find("Allow: GET, HEAD\r\n"), std::string::npos);

  int status = example.stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace zhttp::test
