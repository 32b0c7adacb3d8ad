// RFC 6455 conformance of tinychat-server, frame by frame: framing, pings, reserved bits and
// opcodes, fragmentation. Cases are named after the Autobahn|Testsuite cases they mirror
// (Autobahn itself cannot run here). UTF-8, closing and limits follow in
// ws_conformance_close_test.cpp.

#include "raw_frames.hpp"
#include "support/server_process.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <string>

namespace tinychat::test {
namespace {

namespace json = boost::json;

// A ping request of exactly `size` bytes (padded with an ignored field), answered by a pong
// with `id`.
std::string padded_ping(std::size_t size, int id) {
  std::string req = R"({"type":"ping","id":)" + std::to_string(id) + R"(,"pad":")";
  REQUIRE(size >= req.size() + 2);
  req.append(size - req.size() - 2, 'x');
  return req + "\"}";
}

std::string ping_request(std::string_view id) {
  return R"({"type":"ping","id":")" + std::string(id) + "\"}";
}

json::object reply(FrameClient& client) { return json::parse(client.read_text()).as_object(); }

void check_pong(FrameClient& client, const json::value& id) {
  const auto pong = reply(client);
  CHECK(pong.at("type") == "pong");
  CHECK(pong.at("id") == id);
}

// The server fails the connection with `code`: its close frame, then its TCP close.
void check_closes_with(FrameClient& client, std::uint16_t code) {
  const auto seen = client.read_close();
  CHECK(seen.code == code);
  CHECK(seen.tcp_closed);
}

// ---- 1. Framing -------------------------------------------------------------------------

TEST_CASE("autobahn 1.1.1: an empty text message is answered bad_request; the connection stays") {
  ServerProcess server;
  FrameClient client(server.port(), FrameClient::served);
  REQUIRE_FALSE(client.send(frame(opcode::text, "")));
  const auto error = reply(client);
  CHECK(error.at("code") == "bad_request");
  CHECK(error.at("id").is_null());
  REQUIRE_FALSE(client.send(frame(opcode::text, ping_request("after"))));
  check_pong(client, "after");
}

TEST_CASE("autobahn 1.1.2-1.1.7: text messages of 125 to 65536 bytes, in all three length "
          "encodings, are served") {
  ServerProcess server; // max-frame-bytes 65536
  FrameClient client(server.port(), FrameClient::served);
  int id = 0;
  for (const std::size_t size : {125u, 126u, 127u, 128u, 65535u, 65536u}) {
    CAPTURE(size);
    REQUIRE_FALSE(client.send(frame(opcode::text, padded_ping(size, ++id))));
    check_pong(client, id);
  }
}

TEST_CASE("autobahn 1.1.8: a 65536-byte text message written in pieces of 997 bytes is served") {
  ServerProcess server;
  FrameClient client(server.port(), FrameClient::served);
  REQUIRE_FALSE(client.send(frame(opcode::text, padded_ping(65536, 8)), 997));
  check_pong(client, 8);
}

TEST_CASE("autobahn 1.2.1-1.2.8: a binary message of any size up to the limit closes with 1003") {
  ServerProcess server;
  for (const std::size_t size : {0u, 125u, 126u, 65536u}) {
    CAPTURE(size);
    FrameClient client(server.port(), FrameClient::served);
    REQUIRE_FALSE(client.send(frame(opcode::binary, std::string(size, '\xfe'))));
    check_closes_with(client, 1003);
  }
  check_served(server.port());
}

TEST_CASE("autobahn 1.2 and 9.2: a binary message over max-frame-bytes closes with 1009") {
  ServerProcess server;
  FrameClient client(server.port(), FrameClient::served);
  (void)client.send(frame(opcode::binary, std::string(65537, '\x01')));
  check_closes_with(client, 1009);
  check_served(server.port());
}

TEST_CASE("rfc 6455 5.1: an unmasked client frame closes with 1002") {
  ServerProcess server;
  FrameClient client(server.port(), FrameClient::served);
  REQUIRE_FALSE(client.send(encode({opcode::text, ping_request("bare"), true, 0, false})));
  check_closes_with(client, 1002);
  check_served(server.port());
}

// ---- 2. Pings and pongs -----------------------------------------------------------------

TEST_CASE("autobahn 2.1-2.4: a ping's payload (none, text, binary, 125 bytes) comes back in "
          "its pong") {
  ServerProcess server;
  FrameClient client(server.port(), FrameClient::served);
  for (const std::string& payload :
       {std::string(), std::string("Hello, world!"), std::string("\x00\xff\xfe\xfd\xfc", 5),
        std::string(125, '\xfe')}) {
    CAPTURE(payload.size());
    REQUIRE_FALSE(client.send(frame(opcode::ping, payload)));
    const auto pong = client.read_frame();
    REQUIRE(pong);
    CHECK(pong->opcode == opcode::pong);
    CHECK_FALSE(pong->masked);
    CHECK(pong->payload == payload);
  }
}

TEST_CASE("autobahn 2.5: a ping with 126 bytes of payload closes with 1002") {
  ServerProcess server;
  FrameClient client(server.port(), FrameClient::served);
  REQUIRE_FALSE(client.send(frame(opcode::ping, std::string(126, 'p'))));
  check_closes_with(client, 1002);
  check_served(server.port());
}

TEST_CASE("autobahn 2.6: a ping written one byte at a time is answered") {
  ServerProcess server;
  FrameClient client(server.port(), FrameClient::served);
  REQUIRE_FALSE(client.send(frame(opcode::ping, std::string(125, 'c')), 1));
  const auto pong = client.read_frame();
  REQUIRE(pong);
  CHECK(pong->opcode == opcode::pong);
  CHECK(pong->payload == std::string(125, 'c'));
}

TEST_CASE("autobahn 2.7-2.9: unsolicited pongs are ignored") {
  ServerProcess server;
  FrameClient client(server.port(), FrameClient::served);
  REQUIRE_FALSE(client.send(frame(opcode::pong, "") + frame(opcode::pong, "unsolicited") +
                            frame(opcode::ping, "solicited")));
  // The first thing back answers the ping: nothing answered the pongs.
  const auto pong = client.read_frame();
  REQUIRE(pong);
  CHECK(pong->opcode == opcode::pong);
  CHECK(pong->payload == "solicited");
  REQUIRE_FALSE(client.send(frame(opcode::text, ping_request("still"))));
  check_pong(client, "still");
}

TEST_CASE("autobahn 2.10-2.11: ten pings, in one write or chopped, get ten pongs in order") {
  ServerProcess server;
  FrameClient client(server.port(), FrameClient::served);
  for (const std::size_t chop : {0u, 1u}) {
    std::string pings;
    for (int i = 0; i < 10; ++i)
      pings += frame(opcode::ping, "payload-" + std::to_string(i));
    REQUIRE_FALSE(client.send(pings, chop));
    for (int i = 0; i < 10; ++i) {
      const auto pong = client.read_frame();
      REQUIRE(pong);
      CHECK(pong->opcode == opcode::pong);
      CHECK(pong->payload == "payload-" + std::to_string(i));
    }
  }
}

// ---- 3. Reserved bits, 4. reserved opcodes ---------------------------------------------

TEST_CASE("autobahn 3.1-3.7: a frame with any RSV bit set closes with 1002 (no extension was "
          "agreed)") {
  ServerProcess server;
  // 3.1 text, 3.2-3.4 text after a served message, 3.5 binary, 3.6 ping, 3.7 close.
  const std::uint8_t ops[] = {opcode::text,   opcode::text, opcode::text, opcode::text,
                              opcode::binary, opcode::ping, opcode::close};
  for (std::uint8_t rsv = 1; rsv <= 7; ++rsv) {
    CAPTURE(int{rsv});
    FrameClient client(server.port(), FrameClient::served);
    if (rsv >= 2 && rsv <= 4) {
      REQUIRE_FALSE(client.send(frame(opcode::text, ping_request("before"))));
      check_pong(client, "before");
    }
    const std::string payload = ops[rsv - 1] == opcode::close ? close_payload(1000) : "x";
    REQUIRE_FALSE(client.send(encode({ops[rsv - 1], payload, true, rsv})));
    check_closes_with(client, 1002);
  }
  check_served(server.port());
}

TEST_CASE("autobahn 4.1.1-4.2.5: reserved opcodes (data 3-7, control 11-15) close with 1002") {
  ServerProcess server;
  for (const std::uint8_t op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
    CAPTURE(int{op});
    FrameClient client(server.port(), FrameClient::served);
    REQUIRE_FALSE(client.send(frame(op, "reserved")));
    check_closes_with(client, 1002);
  }
  check_served(server.port());
}

// ---- 5. Fragmentation -------------------------------------------------------------------

TEST_CASE("autobahn 5.1-5.2: a fragmented ping or pong closes with 1002") {
  ServerProcess server;
  for (const std::uint8_t op : {opcode::ping, opcode::pong}) {
    CAPTURE(int{op});
    FrameClient client(server.port(), FrameClient::served);
    REQUIRE_FALSE(client.send(frame(op, "frag", false) + frame(opcode::continuation, "ment")));
    check_closes_with(client, 1002);
  }
  check_served(server.port());
}

TEST_CASE("autobahn 5.3-5.5: a request in two fragments, in one write or chopped, is served") {
  ServerProcess server;
  FrameClient client(server.port(), FrameClient::served);
  const std::string request = ping_request("two");
  const std::string fragments = frame(opcode::text, request.substr(0, 9), false) +
                                frame(opcode::continuation, request.substr(9), true);
  REQUIRE_FALSE(client.send(fragments));
  check_pong(client, "two");
  REQUIRE_FALSE(client.send(fragments, 1));
  check_pong(client, "two");
}

TEST_CASE("autobahn 5.6-5.8 and 5.19-5.20: pings between fragments are answered first, then "
          "the reassembled request") {
  ServerProcess server;
  FrameClient client(server.port(), FrameClient::served);
  const std::string request = ping_request("split");
  for (const std::size_t chop : {0u, 1u}) {
    CAPTURE(chop);
    // Five fragments, a ping after the first and the third.
    std::string bytes =
        frame(opcode::text, request.substr(0, 5), false) + frame(opcode::ping, "one") +
        frame(opcode::continuation, request.substr(5, 5), false) +
        frame(opcode::continuation, request.substr(10, 5), false) + frame(opcode::ping, "two") +
        frame(opcode::continuation, request.substr(15, 5), false) +
        frame(opcode::continuation, request.substr(20), true);
    REQUIRE_FALSE(client.send(bytes, chop));
    for (const char* payload : {"one", "two"}) {
      const auto pong = client.read_frame();
      REQUIRE(pong);
      CHECK(pong->opcode == opcode::pong);
      CHECK(pong->payload == payload);
    }
    check_pong(client, "split");
  }
}

TEST_CASE("autobahn 5.9-5.14: a continuation frame with no message to continue closes with "
          "1002") {
  ServerProcess server;
  for (const bool fin : {true, false}) {
    CAPTURE(fin);
    FrameClient client(server.port(), FrameClient::served);
    REQUIRE_FALSE(client.send(frame(opcode::continuation, "orphan", fin) +
                              frame(opcode::text, ping_request("never"))));
    check_closes_with(client, 1002);
  }
  check_served(server.port());
}

TEST_CASE("autobahn 5.15-5.18: a new text frame inside an unfinished message closes with 1002") {
  ServerProcess server;
  FrameClient client(server.port(), FrameClient::served);
  REQUIRE_FALSE(client.send(frame(opcode::text, R"({"type":)", false) +
                            frame(opcode::text, R"("ping"})", true)));
  check_closes_with(client, 1002);
  check_served(server.port());
}

} // namespace
} // namespace tinychat::test
