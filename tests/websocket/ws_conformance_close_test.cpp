// RFC 6455 conformance of tinychat-server, continued: UTF-8, the closing handshake, message
// limits and extensions. Named after the Autobahn|Testsuite cases they mirror.

#include "raw_frames.hpp"
#include "support/server_process.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace tinychat::test {
namespace {

namespace json = boost::json;

std::string ping_request(std::string_view id, std::string_view pad = {}) {
  return R"({"type":"ping","id":")" + std::string(id) + R"(","pad":")" + std::string(pad) + "\"}";
}

void check_pong(FrameClient& client, std::string_view id) {
  const auto pong = json::parse(client.read_text()).as_object();
  CHECK(pong.at("type") == "pong");
  CHECK(pong.at("id").as_string() == id);
}

void check_closes_with(FrameClient& client, std::uint16_t code) {
  const auto seen = client.read_close();
  CHECK(seen.code == code);
  CHECK(seen.tcp_closed);
}

// `text` as a message of one-byte fragments: every code point is split.
std::string one_byte_fragments(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i)
    out += frame(i == 0 ? opcode::text : opcode::continuation, text.substr(i, 1),
                 i + 1 == text.size());
  return out;
}

// ---- 6. UTF-8 ---------------------------------------------------------------------------

TEST_CASE("autobahn 6.2.1-6.2.4: valid UTF-8 split anywhere, inside code points too, is "
          "reassembled and served") {
  ServerProcess server;
  FrameClient client(server.port(), FrameClient::served);
  const std::string id = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5 \xf0\x9d\x84\x9e"; // κόσμε 𝄞
  REQUIRE_FALSE(client.send(one_byte_fragments(ping_request(id))));
  check_pong(client, id);
  // Two fragments, the boundary inside the four-byte code point.
  const std::string request = ping_request(id);
  const auto cut = request.find("\xf0\x9d") + 2;
  REQUIRE_FALSE(client.send(frame(opcode::text, request.substr(0, cut), false) +
                            frame(opcode::continuation, request.substr(cut))));
  check_pong(client, id);
}

TEST_CASE("autobahn 6.9, 6.22-6.23: boundary code points and noncharacters are valid UTF-8") {
  ServerProcess server;
  FrameClient client(server.port(), FrameClient::served);
  // U+007F U+0080 U+07FF U+0800 U+FFFD U+FFFE U+FFFF U+10000 U+10FFFF
  const std::string pad = "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbd\xef\xbf\xbe\xef\xbf\xbf"
                          "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf";
  REQUIRE_FALSE(client.send(frame(opcode::text, ping_request("edges", pad))));
  check_pong(client, "edges");
}

TEST_CASE("autobahn 6.3-6.21: invalid UTF-8 (overlong forms, surrogates, 5- and 6-byte forms, "
          "impossible bytes, truncated sequences) closes with 1007") {
  ServerProcess server;
  const std::vector<std::string> invalid = {
      "\xc0\xaf",                 // 6.17 overlong '/'
      "\xe0\x80\xaf",             // 6.17 overlong '/' in three bytes
      "\xf0\x80\x80\xaf",         // 6.17 overlong '/' in four bytes
      "\xc1\xbf",                 // 6.18 maximum overlong
      "\xc0\x80",                 // 6.19 overlong NUL
      "\xed\xa0\x80",             // 6.20 U+D800
      "\xed\xbf\xbf",             // 6.20 U+DFFF
      "\xed\xa0\x80\xed\xb0\x80", // 6.21 a surrogate pair
      "\xf4\x90\x80\x80",         // 6.3 above U+10FFFF
      "\xf8\x88\x80\x80\x80",     // 6.8 five bytes
      "\xfc\x84\x80\x80\x80\x80", // 6.8 six bytes
      "\xfe",                     // 6.16 impossible byte
      "\xff",                     // 6.16
      "\x80",                     // 6.12 a lone continuation byte
      "\xc2 ",                    // 6.13 a start byte followed by a space
  };
  for (std::size_t i = 0; i < invalid.size(); ++i) {
    CAPTURE(i);
    const auto& bad = invalid[i];
    FrameClient client(server.port(), FrameClient::served);
    REQUIRE_FALSE(client.send(frame(opcode::text, ping_request("x", bad))));
    check_closes_with(client, 1007);
  }
  {
    // 6.14: the message ends inside a code point.
    FrameClient client(server.port(), FrameClient::served);
    REQUIRE_FALSE(client.send(frame(opcode::text, "{\"pad\":\"\xe2\x82")));
    check_closes_with(client, 1007);
  }
  check_served(server.port());
}

TEST_CASE("autobahn 6.4.1-6.4.4: invalid UTF-8 fails the connection as soon as it arrives, "
          "before the message is complete") {
  ServerProcess server;
  FrameClient client(server.port(), FrameClient::served);
  // First fragment valid so far (ends inside a code point), the second makes it invalid; the
  // final fragment is never sent.
  REQUIRE_FALSE(client.send(frame(opcode::text, "{\"pad\":\"\xce\xba\xe1", false)));
  REQUIRE_FALSE(client.send(frame(opcode::continuation, "\xbd\xb9\xf4\x90\x80\x80", false)));
  check_closes_with(client, 1007);
}

TEST_CASE("autobahn 6.6: an invalid sequence split across fragments closes with 1007") {
  ServerProcess server;
  FrameClient client(server.port(), FrameClient::served);
  // A surrogate, U+D800, its first byte at the end of one fragment.
  REQUIRE_FALSE(client.send(frame(opcode::text, "{\"pad\":\"\xed", false) +
                            frame(opcode::continuation, "\xa0\x80\"}", true)));
  check_closes_with(client, 1007);
  check_served(server.port());
}

// ---- 7. Closing -------------------------------------------------------------------------

TEST_CASE("autobahn 7.1.1: a close with 1000 after a served message is echoed with 1000, then "
          "the server closes TCP") {
  ServerProcess server;
  FrameClient client(server.port(), FrameClient::served);
  REQUIRE_FALSE(client.send(frame(opcode::text, ping_request("first"))));
  check_pong(client, "first");
  REQUIRE_FALSE(client.send(frame(opcode::close, close_payload(1000, "bye"))));
  const auto seen = client.read_close();
  CHECK(seen.code == 1000);
  CHECK(seen.before.empty());
  CHECK(seen.tcp_closed);
}

TEST_CASE("autobahn 7.1.2-7.1.5: frames after a close (a close, a ping, a request, the rest of a "
          "message) are ignored") {
  ServerProcess server;
  FrameClient client(server.port(), FrameClient::served);
  REQUIRE_FALSE(client.send(
      frame(opcode::text, R"({"type":"ping",)", false) + frame(opcode::close, close_payload(1000)) +
      frame(opcode::continuation, R"("id":"late"})") + frame(opcode::close, close_payload(1000)) +
      frame(opcode::ping, "late") + frame(opcode::text, ping_request("late"))));
  const auto seen = client.read_close();
  CHECK(seen.code == 1000);
  CHECK(seen.before.empty()); // no pong frame, no pong message
  CHECK(seen.tcp_closed);
}

TEST_CASE("autobahn 7.3.1: a close without payload is answered with a close") {
  ServerProcess server;
  FrameClient client(server.port(), FrameClient::served);
  REQUIRE_FALSE(client.send(frame(opcode::close, "")));
  const auto seen = client.read_close();
  // RFC 6455 7.4.1: no code means 1005 at the receiver; the answer may be empty or 1000.
  REQUIRE(seen.code);
  CHECK((*seen.code == 0 || *seen.code == 1000));
  CHECK(seen.tcp_closed);
}

TEST_CASE("autobahn 7.3.2: a close with a one-byte payload closes with 1002") {
  ServerProcess server;
  FrameClient client(server.port(), FrameClient::served);
  REQUIRE_FALSE(client.send(frame(opcode::close, "\x03")));
  check_closes_with(client, 1002);
}

TEST_CASE("autobahn 7.3.3-7.3.5: a close with a code, a reason, or a 123-byte reason is "
          "echoed with its code") {
  ServerProcess server;
  for (const std::string& reason :
       {std::string(), std::string("Hello World!"), std::string(123, '*')}) {
    CAPTURE(reason.size());
    FrameClient client(server.port(), FrameClient::served);
    REQUIRE_FALSE(client.send(frame(opcode::close, close_payload(1000, reason))));
    check_closes_with(client, 1000);
  }
}

TEST_CASE("autobahn 7.3.6: a close with a 124-byte reason (126 bytes of payload) closes with "
          "1002") {
  ServerProcess server;
  FrameClient client(server.port(), FrameClient::served);
  REQUIRE_FALSE(client.send(frame(opcode::close, close_payload(1000, std::string(124, '*')))));
  check_closes_with(client, 1002);
}

TEST_CASE("autobahn 7.5.1: a close reason that is not UTF-8 fails the connection") {
  ServerProcess server;
  FrameClient client(server.port(), FrameClient::served);
  REQUIRE_FALSE(client.send(frame(opcode::close, close_payload(1000, "\xce\xba\xe1\xbd\xb9\xed"
                                                                     "\xa0\x80\x65\x64"))));
  const auto seen = client.read_close();
  // RFC 6455 8.1 says fail; it names no code for a close frame's reason. Beast sends 1002,
  // Autobahn accepts 1002 or 1007.
  REQUIRE(seen.code);
  CHECK((*seen.code == 1002 || *seen.code == 1007));
  CHECK(seen.tcp_closed);
  check_served(server.port());
}

TEST_CASE("autobahn 7.7.1-7.7.13: a close with a valid code is echoed with that code") {
  ServerProcess server;
  for (const std::uint16_t code :
       {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999}) {
    CAPTURE(code);
    FrameClient client(server.port(), FrameClient::served);
    REQUIRE_FALSE(client.send(frame(opcode::close, close_payload(code))));
    check_closes_with(client, code);
  }
}

TEST_CASE("autobahn 7.9.1-7.9.9: a close with an invalid code closes with 1002") {
  ServerProcess server;
  for (const std::uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999}) {
    CAPTURE(code);
    FrameClient client(server.port(), FrameClient::served);
    REQUIRE_FALSE(client.send(frame(opcode::close, close_payload(code))));
    check_closes_with(client, 1002);
  }
  check_served(server.port());
}

// ---- 9. Limits --------------------------------------------------------------------------

TEST_CASE("autobahn 9.1.1-9.1.6: a text message over max-frame-bytes closes with 1009, also one "
          "that only announces its size") {
  ServerProcess server({"--max-frame-bytes", "4096"});
  {
    FrameClient client(server.port(), FrameClient::served);
    (void)client.send(frame(opcode::text, std::string(4097, ' ')));
    check_closes_with(client, 1009);
  }
  {
    // 16 MiB announced, nothing sent: refused on the header, nothing buffered.
    FrameClient client(server.port(), FrameClient::served);
    std::string header = "\x81\xff";
    header += std::string("\x00\x00\x00\x00\x01\x00\x00\x00", 8) + "abcd";
    REQUIRE_FALSE(client.send(header));
    check_closes_with(client, 1009);
  }
  check_served(server.port());
}

TEST_CASE("autobahn 9.3-9.4: a message over max-frame-bytes in 64-byte fragments closes with "
          "1009; one of max-frame-bytes in one-byte fragments is served") {
  ServerProcess server({"--max-frame-bytes", "4096"});
  {
    FrameClient client(server.port(), FrameClient::served);
    std::string bytes = frame(opcode::text, std::string(64, ' '), false);
    for (int i = 1; i < 64; ++i)
      bytes += frame(opcode::continuation, std::string(64, ' '), false);
    bytes += frame(opcode::continuation, " ", true); // byte 4097
    (void)client.send(bytes);
    check_closes_with(client, 1009);
  }
  {
    FrameClient client(server.port(), FrameClient::served);
    std::string request = ping_request("full");
    request.insert(request.size() - 2, std::string(4096 - request.size(), 'x'));
    REQUIRE(request.size() == 4096);
    REQUIRE_FALSE(client.send(one_byte_fragments(request)));
    check_pong(client, "full");
  }
}

// ---- 12, 13. Compression ----------------------------------------------------------------

TEST_CASE("autobahn 12.x-13.x: permessage-deflate is declined and compressed frames refused") {
  ServerProcess server;
  FrameClient client(server.port());
  const auto head = client.handshake(FrameClient::upgrade_request(
      "/v1/ws", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"));
  REQUIRE(head.status == 101);
  CHECK(head.header("sec-websocket-extensions").empty());
  CHECK(json::parse(client.read_text()).at("type") == "hello");
  // RSV1 marks a compressed message; with no extension agreed it is a protocol error.
  REQUIRE_FALSE(client.send(encode({opcode::text, "\xaa\x56\x2a", true, 4})));
  check_closes_with(client, 1002);
}

} // namespace
} // namespace tinychat::test
