// The embedding example as a user runs it: a real process on a loopback port, real requests,
// then SIGTERM and a clean exit.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <string>
#include <thread>

#include "socket_util.hpp"

namespace zhttp::test {
namespace {

// A port that was free a moment ago.
uint16_t free_port() {
  uint16_t port = 0;
  int fd = listen_loopback(&port);
  ::close(fd);
  return port;
}

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
  uint16_t port = free_port();
  std::string address = "127.0.0.1:" + std::to_string(port);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execl(ZHTTP_BUILD_DIR "/examples/hello", "hello", address.c_str(), nullptr);
    ::_exit(127);
  }
  ASSERT_GT(pid, 0);
  int probe = -1;
  for (int i = 0; i < 200 && probe < 0; ++i) {
    probe = connect_loopback(port);
    if (probe < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GE(probe, 0) << "example did not start listening";
  ::close(probe);

  std::string hello = request(port, "GET /hello/world HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(hello.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_EQ(hello.substr(hello.size() - 13), "Hello, world!");
  EXPECT_EQ(request(port, "GET /other HTTP/1.1\r\nHost: t\r\n\r\n").rfind("HTTP/1.1 404", 0), 0u);
  std::string post =
      request(port, "POST /hello/x HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(post.rfind("HTTP/1.1 405", 0), 0u);
  EXPECT_NE(post.find("Allow: GET, HEAD\r\n"), std::string::npos);

  ::kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace zhttp::test
