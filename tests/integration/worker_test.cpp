// The libev worker over real loopback sockets: serving, keep-alive, pipelining, the header
// timeout against a slow client, a client that does not read, drain and stop.
#include "io/worker.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "socket_util.hpp"

namespace zhttp::test {
namespace {

class TextHandler : public Handler {
 public:
  void handle(const RequestView& r, Response& response) override {
    if (r.path() == "/big") {
      response.status(200).body_static(big);
      return;
    }
    response.send(200, "text/plain", "you asked for " + std::string(r.path()));
  }
  std::string big = std::string(8 << 20, 'x');
};

class WorkerTest : public ::testing::Test {
 protected:
  void start(io::WorkerConfig config = {}) {
    listener_ = listen_loopback(&port_);
    ASSERT_GE(listener_, 0);
    int fds[] = {listener_};
    worker_ = std::make_unique<io::Worker>(config, handler_, fds);
    thread_ = std::thread([this] { worker_->run(); });
  }
  void TearDown() override {
    if (thread_.joinable()) {
      worker_->stop();
      thread_.join();
    }
    worker_.reset();
    if (listener_ >= 0) ::close(listener_);
  }
  static bool has_response(const std::string& s) { return count_responses(s) >= 1; }

  TextHandler handler_;
  std::unique_ptr<io::Worker> worker_;
  std::thread thread_;
  int listener_ = -1;
  uint16_t port_ = 0;
};

TEST_F(WorkerTest, ServesAndKeepsTheConnection) {
  start();
  int c = connect_loopback(port_);
  ASSERT_TRUE(send_all(c, "GET /one HTTP/1.1\r\nHost: t\r\n\r\n"));
  std::string first = read_until(c, has_response, 5);
  EXPECT_EQ(first.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(first.find("you asked for /one"), std::string::npos);
  ASSERT_TRUE(send_all(c, "GET /two HTTP/1.1\r\nHost: t\r\n\r\n"));  // same socket
  std::string second = read_until(c, has_response, 5);
  EXPECT_NE(second.find("you asked for /two"), std::string::npos);
  ::close(c);
}

TEST_F(WorkerTest, PipelinedRequestsAnsweredInOrder) {
  start();
  int c = connect_loopback(port_);
  std::string batch;
  for (int i = 0; i < 16; ++i)
    batch += "GET /p" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\n\r\n";
  ASSERT_TRUE(send_all(c, batch));
  std::string got = read_until(
      c, [](const std::string& s) { return count_responses(s) >= 16; }, 5);
  ASSERT_EQ(count_responses(got), 16);
  size_t last = 0;
  for (int i = 0; i < 16; ++i) {
    size_t at = got.find("you asked for /p" + std::to_string(i), last);
    ASSERT_NE(at, std::string::npos) << i;
    last = at;
  }
  ::close(c);
}

TEST_F(WorkerTest, BadRequestGets400AndClose) {
  start();
  int c = connect_loopback(port_);
  ASSERT_TRUE(send_all(c, "GET / HTTP/1.1\r\nHost : t\r\n\r\n"));
  bool closed = false;
  std::string got = read_until(
      c, [](const std::string&) { return false; }, 5, &closed);
  EXPECT_EQ(got.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
  EXPECT_NE(got.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(closed);
  ::close(c);
}

TEST_F(WorkerTest, SlowClientGets408WhileOthersAreServed) {
  io::WorkerConfig config;
  config.header_timeout = 1;
  start(config);
  int slow = connect_loopback(port_);
  ASSERT_TRUE(send_all(slow, "GET /slow HTTP/1.1\r\nHo"));
  // A normal client is answered while the slow one is still waiting.
  int fast = connect_loopback(port_);
  ASSERT_TRUE(send_all(fast, "GET /fast HTTP/1.1\r\nHost: t\r\n\r\n"));
  std::string fast_got = read_until(fast, has_response, 5);
  EXPECT_NE(fast_got.find("you asked for /fast"), std::string::npos);
  bool closed = false;
  std::string slow_got = read_until(
      slow, [](const std::string&) { return false; }, 10, &closed);
  EXPECT_EQ(slow_got.rfind("HTTP/1.1 408 Request Timeout\r\n", 0), 0u);
  EXPECT_TRUE(closed);
  ::close(slow);
  ::close(fast);
}

TEST_F(WorkerTest, ClientThatDoesNotReadDoesNotBlockOthers) {
  start();
  int hog = connect_loopback(port_);
  std::string many;
  for (int i = 0; i < 8; ++i) many += "GET /big HTTP/1.1\r\nHost: t\r\n\r\n";
  ASSERT_TRUE(send_all(hog, many));  // 64 MiB of answers it never reads
  for (int i = 0; i < 3; ++i) {
    int c = connect_loopback(port_);
    ASSERT_TRUE(send_all(c, "GET /other HTTP/1.1\r\nHost: t\r\n\r\n"));
    std::string got = read_until(c, has_response, 5);
    EXPECT_NE(got.find("you asked for /other"), std::string::npos) << i;
    ::close(c);
  }
  ::close(hog);
}

TEST_F(WorkerTest, DrainAnswersTheNextRequestWithCloseAndEndsIdleOnesAtTheDeadline) {
  io::WorkerConfig config;
  config.drain_timeout = 1;
  start(config);
  int busy = connect_loopback(port_);
  int idle = connect_loopback(port_);
  for (int c : {busy, idle}) {
    ASSERT_TRUE(send_all(c, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n"));
    ASSERT_TRUE(has_response(read_until(c, has_response, 5)));
  }
  worker_->drain();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // Still open: its next request is answered, with "Connection: close", then it closes.
  ASSERT_TRUE(send_all(busy, "GET /y HTTP/1.1\r\nHost: t\r\n\r\n"));
  bool closed = false;
  std::string got = read_until(
      busy, [](const std::string&) { return false; }, 5, &closed);
  EXPECT_NE(got.find("you asked for /y"), std::string::npos) << got;
  EXPECT_NE(got.find("Connection: close\r\n"), std::string::npos) << got;
  EXPECT_TRUE(closed);
  // The idle one is closed only when the drain time (1 s) is over; then run() returns.
  read_until(
      idle, [](const std::string&) { return false; }, 0.3, &closed);
  EXPECT_FALSE(closed);
  thread_.join();
  read_until(
      idle, [](const std::string&) { return false; }, 5, &closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(worker_->open_connections(), 0u);
  ::close(busy);
  ::close(idle);
}

TEST_F(WorkerTest, ManyIdleConnectionsAreHeld) {
  start();
  std::vector<int> idle;
  for (int i = 0; i < 500; ++i) {
    int c = connect_loopback(port_);
    ASSERT_GE(c, 0);
    ASSERT_TRUE(send_all(c, "GET /k HTTP/1.1\r\nHost: t\r\n\r\n"));
    idle.push_back(c);
  }
  for (int c : idle) ASSERT_TRUE(has_response(read_until(c, has_response, 5)));
  EXPECT_EQ(worker_->open_connections(), 500u);
  int c = connect_loopback(port_);
  ASSERT_TRUE(send_all(c, "GET /still HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_NE(read_until(c, has_response, 5).find("you asked for /still"), std::string::npos);
  ::close(c);
  for (int fd : idle) ::close(fd);
}

}  // namespace
}  // namespace zhttp::test
