// Graceful shutdown of tinychat-server.

#include "raw_clients.hpp"
#include "support/chat_user.hpp"
#include "support/server_process.hpp"

#include <doctest/doctest.h>

#include <csignal>

namespace tinychat::test {
namespace {

TEST_CASE("shutdown: SIGTERM closes every WebSocket with 1001 and exits 0") {
  ServerProcess server;
  RawWebSocket alice(server.port());
  RawWebSocket bob(server.port());
  alice.read_text(); // hello: both sessions are registered
  bob.read_text();

  server.signal(SIGTERM);
  CHECK(alice.read_until_closed() == 1001);
  CHECK(bob.read_until_closed() == 1001);
  CHECK(server.wait_for_exit(std::chrono::seconds(20)) == 0);
}

TEST_CASE("shutdown: a WebSocketConnection reports the server's 1001 to its close handler") {
  ServerProcess server;
  ChatUser alice(server.ws_url());
  server.signal(SIGTERM);
  const Closed closed = alice.closed.pop();
  CHECK(closed.code == 1001);
  CHECK(closed.reason == "server shutting down");
  CHECK(server.wait_for_exit(std::chrono::seconds(20)) == 0);
}

TEST_CASE("shutdown: SIGINT with no clients exits 0") {
  ServerProcess server;
  server.signal(SIGINT);
  CHECK(server.wait_for_exit(std::chrono::seconds(20)) == 0);
}

} // namespace
} // namespace tinychat::test
