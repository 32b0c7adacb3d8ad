// The opening handshake of tinychat-server byte by byte: RFC 6455 section 4, requests that must
// not be upgraded, and a first frame that arrives together with the request.

#include "raw_frames.hpp"
#include "support/server_process.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <string>

namespace tinychat::test {
namespace {

namespace json = boost::json;

constexpr std::string_view headers_but_key = "Host: 127.0.0.1\r\nUpgrade: websocket\r\n"
                                             "Connection: Upgrade\r\n";

TEST_CASE("handshake: 101 with the RFC 6455 accept value, no extension and no subprotocol") {
  ServerProcess server;
  FrameClient client(server.port());
  const auto head = client.handshake(
      FrameClient::upgrade_request("/v1/ws", "Sec-WebSocket-Protocol: chat, superchat\r\n"));
  CHECK(head.status == 101);
  // RFC 6455 1.3: the accept value for the sample nonce.
  CHECK(head.header("sec-websocket-accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  CHECK(head.header("sec-websocket-extensions").empty());
  CHECK(head.header("sec-websocket-protocol").empty());
  CHECK(json::parse(client.read_text()).at("type") == "hello");
}

TEST_CASE("handshake: an upgrade without Sec-WebSocket-Key is answered 400") {
  ServerProcess server;
  FrameClient client(server.port());
  const auto head =
      client.handshake(std::string("GET /v1/ws HTTP/1.1\r\n") + std::string(headers_but_key) +
                       "Sec-WebSocket-Version: 13\r\n\r\n");
  CHECK(head.status == 400);
  check_served(server.port());
}

TEST_CASE("handshake: Sec-WebSocket-Version 8 is answered 426 with Sec-WebSocket-Version: 13") {
  ServerProcess server;
  FrameClient client(server.port());
  const auto head =
      client.handshake(std::string("GET /v1/ws HTTP/1.1\r\n") + std::string(headers_but_key) +
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 8\r\n\r\n");
  CHECK(head.status == 426); // RFC 6455 4.4
  CHECK(head.header("sec-websocket-version") == "13");
  check_served(server.port());
}

TEST_CASE("handshake: POST, HTTP/1.0 and a GET without Upgrade or Connection: Upgrade are not "
          "upgraded but answered as plain HTTP (404)") {
  ServerProcess server;
  const std::string key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n";
  const std::string requests[] = {
      "POST /v1/ws HTTP/1.1\r\n" + std::string(headers_but_key) + key + "Content-Length: 0\r\n\r\n",
      "GET /v1/ws HTTP/1.0\r\n" + std::string(headers_but_key) + key + "\r\n",
      "GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n" + key + "\r\n",
      "GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n" + key + "\r\n",
  };
  for (const auto& request : requests) {
    CAPTURE(request);
    FrameClient client(server.port());
    CHECK(client.handshake(request).status == 404);
  }
  // An upgrade on another path: `http: any other path answers 404, also for a WebSocket
  // upgrade` (http_test.cpp).
  check_served(server.port());
}

TEST_CASE("handshake: a first frame sent in the same write as the upgrade request is served") {
  ServerProcess server;
  FrameClient client(server.port());
  // Both arrive in one read of the server's HTTP session.
  const auto head = client.handshake(FrameClient::upgrade_request() +
                                     frame(opcode::text, R"({"type":"ping","id":"early"})"));
  REQUIRE(head.status == 101);
  CHECK(json::parse(client.read_text()).at("type") == "hello");
  const auto pong = json::parse(client.read_text());
  CHECK(pong.at("type") == "pong");
  CHECK(pong.at("id") == "early");
}

} // namespace
} // namespace tinychat::test
