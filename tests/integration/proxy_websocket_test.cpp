// WebSocket through the proxy (issue 18, "WebSocket and other upgrades"): a python3-websockets
// echo server behind zhttpd (--proxy '/ws=http://127.0.0.1:PORT'), a client written here on a raw
// socket (the RFC 6455 handshake, masked frames): the 101 comes back with the server's
// Sec-WebSocket-Accept, text and binary messages (7-bit, 16-bit and 64-bit lengths) are echoed,
// the close handshake ends both connections, a tunnel kept busy outlives --proxy-tunnel-timeout
// and an idle one is closed after it.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "proxy_fixture.hpp"

namespace zhttp::test::proxy {
namespace {

constexpr double kTunnelTimeout = 1;  // --proxy-tunnel-timeout, seconds

// The RFC 6455 example key and the accept value the server must answer with.
constexpr std::string_view kKey = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr std::string_view kAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

struct Frame {
  bool fin = false;
  int opcode = -1;  // -1: none came
  std::string payload;
};

// A client frame: FIN, the opcode, masked as RFC 6455 5.3 requires.
std::string client_frame(int opcode, std::string_view payload, uint32_t seed) {
  std::string f;
  f += static_cast<char>(0x80 | opcode);
  const size_t n = payload.size();
  if (n < 126) {
    f += static_cast<char>(0x80 | n);
  } else if (n <= 0xffff) {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xff);
  } else {
    f += static_cast<char>(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8) f += static_cast<char>((n >> shift) & 0xff);
  }
  std::mt19937 gen(seed);
  char mask[4];
  for (char& m : mask) m = static_cast<char>(gen() & 0xff);
  f.append(mask, 4);
  for (size_t i = 0; i < n; ++i) f += static_cast<char>(payload[i] ^ mask[i % 4]);
  return f;
}

// A WebSocket client over a raw connection to zhttpd.
class WsClient {
 public:
  explicit WsClient(uint16_t port) : conn_(port) {}

  // The handshake: the 101's head ("" when none came).
  Answer handshake(const std::string& path) {
    const std::string request = "GET " + path +
                                " HTTP/1.1\r\nHost: ws.example\r\nUpgrade: websocket\r\n"
                                "Connection: Upgrade\r\nSec-WebSocket-Key: " +
                                std::string(kKey) + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    if (!conn_.send(request)) return {};
    // A 101 has no body: read as an answer to HEAD (the bytes after it stay in the client).
    Answer a = conn_.read(true, 10);
    in_ = conn_.take_buffered();
    return a;
  }

  bool send(int opcode, std::string_view payload) {
    return conn_.send(client_frame(opcode, payload, seed_++));
  }

  // The next frame from the server (unmasked), at most `seconds`.
  Frame next(double seconds = 10) {
    Frame f;
    if (!fill(2, seconds)) return f;
    const auto b0 = static_cast<unsigned char>(in_[0]);
    const auto b1 = static_cast<unsigned char>(in_[1]);
    size_t at = 2;
    uint64_t len = b1 & 0x7f;
    if (len == 126) {
      if (!fill(4, seconds)) return f;
      len = (static_cast<unsigned char>(in_[2]) << 8) | static_cast<unsigned char>(in_[3]);
      at = 4;
    } else if (len == 127) {
      if (!fill(10, seconds)) return f;
      len = 0;
      for (int i = 2; i < 10; ++i) len = (len << 8) | static_cast<unsigned char>(in_[i]);
      at = 10;
    }
    if ((b1 & 0x80) != 0) return f;  // a server must not mask
    if (!fill(at + len, seconds)) return f;
    f.fin = (b0 & 0x80) != 0;
    f.opcode = b0 & 0x0f;
    f.payload = in_.substr(at, len);
    in_.erase(0, at + len);
    return f;
  }

  Client& connection() { return conn_; }

 private:
  // Reads until `n` bytes are buffered.
  bool fill(size_t n, double seconds) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (in_.size() < n) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{conn_.fd(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char buf[65536];
      ssize_t got = ::recv(conn_.fd(), buf, sizeof buf, 0);
      if (got <= 0) return false;
      in_.append(buf, static_cast<size_t>(got));
    }
    return true;
  }

  Client conn_;
  std::string in_;
  uint32_t seed_ = 1;
};

class ProxyWebSocket : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions o;
    o.program = kPython;
    o.args = {backends_dir() + "/ws_echo.py", "--port", "{port}"};
    o.banner = "ws-echo listening on ";
    o.ready = ServerOptions::Ready::kConnect;
    o.port_taken = "Address already in use";
    ASSERT_NO_FATAL_FAILURE(echo_.start(o));
    ASSERT_NO_FATAL_FAILURE(proxy_.start({
        "--proxy",
        "/ws=http://" + echo_.address(),
        "--proxy-tunnel-timeout",
        std::to_string(kTunnelTimeout),
    }));
  }

  // A client whose handshake succeeded (fatal failures otherwise).
  void open(WsClient* ws, const std::string& path = "/ws/chat") {
    Answer a = ws->handshake(path);
    ASSERT_TRUE(a.complete) << a.raw << "\n" << proxy_.diagnostics() << echo_.diagnostics();
    ASSERT_EQ(a.status, 101) << a.raw;
    EXPECT_EQ(a.field("Sec-WebSocket-Accept"), std::string(kAccept)) << a.head;
    auto upgrade = a.field("Upgrade");
    ASSERT_TRUE(upgrade.has_value()) << a.head;
    EXPECT_TRUE(upgrade == "websocket" || upgrade == "WebSocket") << a.head;
  }

  ServerProcess echo_{"zhttp-ws-echo"};
  Proxy proxy_;
};

TEST_F(ProxyWebSocket, MessagesOfEverySizeAreEchoedThroughTheTunnel) {
  WsClient ws(proxy_.port());
  ASSERT_NO_FATAL_FAILURE(open(&ws));
  std::string binary(70000, '\0');
  for (size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>(i * 7 + 3);
  const std::vector<std::pair<int, std::string>> messages = {
      {1, "hello"}, {1, std::string(200, 'x')}, {2, binary}, {1, "déjà vu ✓"}, {1, ""}};
  for (const auto& [opcode, payload] : messages) {
    SCOPED_TRACE("opcode " + std::to_string(opcode) + ", " + std::to_string(payload.size()) +
                 " bytes");
    ASSERT_TRUE(ws.send(opcode, payload));
    Frame f = ws.next();
    ASSERT_EQ(f.opcode, opcode) << proxy_.diagnostics();
    EXPECT_TRUE(f.fin);
    EXPECT_EQ(f.payload.size(), payload.size());
    EXPECT_TRUE(f.payload == payload);
  }
  // Several at once, answered in order.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(ws.send(1, "burst " + std::to_string(i)));
  for (int i = 0; i < 10; ++i) {
    Frame f = ws.next();
    EXPECT_EQ(f.payload, "burst " + std::to_string(i));
  }
  // The path the echo server saw: as the client asked it.
  ASSERT_TRUE(ws.send(1, "path?"));
  EXPECT_EQ(ws.next().payload, "/ws/chat");
}

TEST_F(ProxyWebSocket, TheCloseHandshakeEndsBothConnections) {
  WsClient ws(proxy_.port());
  ASSERT_NO_FATAL_FAILURE(open(&ws));
  ASSERT_TRUE(ws.send(1, "before closing"));
  EXPECT_EQ(ws.next().payload, "before closing");
  const std::string code_1000("\x03\xe8", 2);
  ASSERT_TRUE(ws.send(8, code_1000 + "bye"));
  Frame f = ws.next();
  EXPECT_EQ(f.opcode, 8);
  EXPECT_EQ(f.payload.substr(0, 2), code_1000);
  EXPECT_TRUE(ws.connection().closed_within(5)) << "the tunnel outlived the WebSocket";
}

TEST_F(ProxyWebSocket, ABusyTunnelOutlivesTheTunnelTimeoutAndAnIdleOneIsClosed) {
  WsClient ws(proxy_.port());
  ASSERT_NO_FATAL_FAILURE(open(&ws));
  // A message every 0.3 s for 2.4 s: more than twice the idle timeout, never idle for it.
  for (int i = 0; i < 8; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ASSERT_TRUE(ws.send(1, "tick " + std::to_string(i)));
    Frame f = ws.next(5);
    ASSERT_EQ(f.payload, "tick " + std::to_string(i)) << "the busy tunnel was cut\n"
                                                      << proxy_.diagnostics();
  }
  // Then nothing either way: closed (bounded wait, not a measure of the timeout).
  EXPECT_TRUE(ws.connection().closed_within(kTunnelTimeout + 5))
      << "the idle tunnel was not closed\n"
      << proxy_.diagnostics();
  // A new tunnel works as the first did.
  WsClient again(proxy_.port());
  ASSERT_NO_FATAL_FAILURE(open(&again));
  ASSERT_TRUE(again.send(1, "again"));
  EXPECT_EQ(again.next().payload, "again");
}

// A request for a proxied WebSocket path without an upgrade is an ordinary request: the echo
// server refuses it (426 from websockets), and zhttpd forwards that answer, not a tunnel.
TEST_F(ProxyWebSocket, APlainGetToTheWebSocketPathIsAnsweredAsAnOrdinaryRequest) {
  Answer a = exchange(proxy_.port(), get_request("/ws/chat"));
  EXPECT_TRUE(a.complete) << a.raw;
  EXPECT_GE(a.status, 400) << a.raw;
  EXPECT_LT(a.status, 500) << a.raw;
}

}  // namespace
}  // namespace zhttp::test::proxy
