// The WebSocket transport of tinychat-server: hello, close codes, malformed frames.

#include "raw_clients.hpp"
#include "support/server_process.hpp"

#include <tinychat/encoding.hpp>
#include <tinychat/protocol.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <string>

namespace tinychat::test {
namespace {

namespace json = boost::json;

bool is_lower_hex(std::string_view s) {
  return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// The server still greets and answers a new client.
void check_still_serving(std::uint16_t port) {
  RawWebSocket ws(port);
  const auto hello = json::parse(ws.read_text()).as_object();
  CHECK(hello.at("type") == "hello");
  REQUIRE_FALSE(ws.write(R"({"type":"ping","id":1})"));
  const auto pong = json::parse(ws.read_text()).as_object();
  CHECK(pong.at("type") == "pong");
  CHECK(pong.at("id") == 1);
}

std::uint16_t close_code_after(std::uint16_t port, std::string_view data, bool binary) {
  RawWebSocket ws(port);
  ws.read_text(); // hello: the session is fully set up
  // The server may close before the whole message is written; that is not a test failure.
  (void)ws.write(data, binary);
  return ws.read_until_closed();
}

TEST_CASE("websocket: the first frame is hello with a fresh challenge and the limits in force") {
  ServerProcess server({"--max-text-chars", "500", "--max-name-chars=20", "--max-room-members", "7",
                        "--max-history", "50", "--max-frame-bytes", "4096",
                        "--max-rooms-per-connection", "3", "--room-idle-seconds", "120",
                        "--room-ttl-seconds=3600"});
  RawWebSocket first(server.port());
  const std::string text = first.read_text();

  const auto raw = json::parse(text).as_object();
  CHECK(raw.at("type") == "hello");
  CHECK(raw.at("protocol") == 1);
  const std::string challenge(raw.at("challenge").as_string());
  CHECK(challenge.size() == 64);
  CHECK(is_lower_hex(challenge));
  const auto& limits = raw.at("limits").as_object();
  CHECK(limits.at("max_text_chars") == 500);
  CHECK(limits.at("max_name_chars") == 20);
  CHECK(limits.at("max_room_members") == 7);
  CHECK(limits.at("max_history") == 50);
  CHECK(limits.at("max_frame_bytes") == 4096);
  CHECK(limits.at("max_rooms_per_connection") == 3);
  CHECK(limits.at("room_idle_seconds") == 120);
  CHECK(limits.at("room_ttl_seconds") == 3600);

  const auto decoded = Protocol::decode_server_frame(text);
  REQUIRE(decoded);
  REQUIRE(std::holds_alternative<Hello>(*decoded));
  CHECK(std::get<Hello>(*decoded).protocol == 1);

  RawWebSocket second(server.port());
  const auto other = json::parse(second.read_text()).as_object();
  CHECK(other.at("challenge").as_string() != challenge);
}

TEST_CASE("websocket: a binary message closes the connection with 1003") {
  ServerProcess server({"--max-frame-bytes", "1024"});
  CHECK(close_code_after(server.port(), R"({"type":"ping"})", true) == 1003);
  check_still_serving(server.port());
}

TEST_CASE("websocket: a text message larger than max-frame-bytes closes with 1009") {
  ServerProcess server({"--max-frame-bytes", "1024"});
  CHECK(close_code_after(server.port(), std::string(4000, 'x'), false) == 1009);
  check_still_serving(server.port());
}

TEST_CASE("websocket: a binary message that is too large closes with 1009, not 1003") {
  ServerProcess server({"--max-frame-bytes", "1024"});
  CHECK(close_code_after(server.port(), std::string(4000, 'x'), true) == 1009);
  check_still_serving(server.port());
}

TEST_CASE("websocket: max-frame-bytes bounds a whole fragmented message") {
  ServerProcess server({"--max-frame-bytes", "1024"});
  {
    RawWebSocket ws(server.port());
    ws.read_text();
    ws.write_fragment(std::string(700, ' '), false);
    ws.write_fragment(std::string(700, ' '), true);
    CHECK(ws.read_until_closed() == 1009);
  }
  {
    // Fragments of a message within the limit are reassembled and served.
    RawWebSocket ws(server.port());
    ws.read_text();
    ws.write_fragment(R"({"type":"ping",)", false);
    ws.write_fragment(R"("id":"frag"})", true);
    const auto pong = json::parse(ws.read_text()).as_object();
    CHECK(pong.at("type") == "pong");
    CHECK(pong.at("id") == "frag");
  }
}

TEST_CASE("websocket: a message of exactly max-frame-bytes is accepted") {
  ServerProcess server({"--max-frame-bytes", "1024"});
  RawWebSocket ws(server.port());
  ws.read_text();
  std::string ping = R"({"type":"ping","id":2,"pad":")";
  ping += std::string(1024 - ping.size() - 2, 'a') + "\"}";
  REQUIRE(ping.size() == 1024);
  REQUIRE_FALSE(ws.write(ping));
  const auto pong = json::parse(ws.read_text()).as_object();
  CHECK(pong.at("type") == "pong");
}

TEST_CASE("websocket: invalid UTF-8 in a text message closes with 1007") {
  ServerProcess server;
  CHECK(close_code_after(server.port(), "{\"type\":\"ping\",\"id\":\"\xc3\x28\"}", false) == 1007);
  CHECK(close_code_after(server.port(), "\xed\xa0\x80", false) == 1007); // a lone surrogate
  check_still_serving(server.port());
}

TEST_CASE("websocket: a malformed JSON frame gets bad_request with id null and the "
          "connection stays open") {
  ServerProcess server;
  RawWebSocket ws(server.port());
  ws.read_text();
  REQUIRE_FALSE(ws.write("{not json"));
  const std::string text = ws.read_text();
  const auto frame = json::parse(text).as_object();
  CHECK(frame.at("type") == "error");
  CHECK(frame.at("code") == "bad_request");
  REQUIRE(frame.contains("id"));
  CHECK(frame.at("id").is_null());
  const auto decoded = Protocol::decode_server_frame(text);
  REQUIRE(decoded);
  REQUIRE(std::holds_alternative<ErrorFrame>(*decoded));
  CHECK(std::get<ErrorFrame>(*decoded).code == error::bad_request);

  REQUIRE_FALSE(ws.write(R"({"type":"ping","id":7})"));
  const auto pong = json::parse(ws.read_text()).as_object();
  CHECK(pong.at("type") == "pong");
  CHECK(pong.at("id") == 7);
}

TEST_CASE("websocket: the endpoint path ignores the query string") {
  ServerProcess server;
  RawWebSocket ws(server.port(), "/v1/ws?client=test");
  CHECK(json::parse(ws.read_text()).as_object().at("type") == "hello");
}

} // namespace
} // namespace tinychat::test
