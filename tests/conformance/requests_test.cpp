// PROTOCOL.md sections 4, 5 and 11 over real sockets: ids, the order of replies, ping.

#include "conformance_server.hpp"
#include "wire_client.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

namespace tinychat::test {

TEST_CASE("ping: pong is exactly {type, id}, and {type} for a ping without id") {
  ConformanceServer server;
  WireClient a(server.port());
  CHECK(a.call({{"type", "ping"}, {"id", 3}}) == json::object{{"type", "pong"}, {"id", 3}});
  CHECK(a.call({{"type", "ping"}, {"id", "abc"}}) == json::object{{"type", "pong"}, {"id", "abc"}});
  CHECK(a.call({{"type", "ping"}}) == json::object{{"type", "pong"}});
  CHECK(a.call({{"type", "ping"}, {"id", nullptr}}) == json::object{{"type", "pong"}});
}

TEST_CASE("requests: replies come in request order and echo integer and string ids") {
  ConformanceServer server;
  WireClient alice(server.port());
  const std::string room = alice.create_room();
  alice.joined(room, "alice");
  const std::string unjoined = alice.create_room();

  std::string e64;
  for (int i = 0; i < 64; ++i)
    e64 += "\xC3\xA9"; // 64 code points, 128 bytes
  const std::vector<json::object> requests{
      {{"type", "ping"}, {"id", 0}},
      {{"type", "create_room"}, {"id", "create"}},
      {{"type", "history"}, {"id", max_integer}, {"room_id", unjoined}},
      alice.send_request(room, 1, "first"),
      {{"type", "frobnicate"}, {"id", std::string(64, 'x')}},
      {{"type", "history"}, {"id", e64}, {"room_id", room}},
      {{"type", "leave"}, {"id", ""}, {"room_id", unjoined}},
      alice.send_request(room, 2, "second"),
      {{"type", "ping"}, {"id", "last"}},
  };
  const std::vector<std::string> expected{"pong",       "room_created", "not_member",
                                          "sent",       "unknown_type", "history",
                                          "not_member", "sent",         "pong"};
  for (const auto& r : requests)
    alice.write(r);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto reply = alice.reply();
    CAPTURE(json::serialize(reply));
    CHECK(outcome(reply) == expected[i]);
    CHECK(reply.at("id") == requests[i].at("id"));
  }
}

TEST_CASE("requests: unknown fields are ignored, and null is the same as an absent optional") {
  ConformanceServer server;
  WireClient alice(server.port());
  const auto created =
      alice.call({{"type", "create_room"}, {"id", 1}, {"name", "ignored"}, {"x", {1, 2}}});
  CHECK(keys(created) == std::set<std::string>{"type", "id", "room_id", "expires_at"});
  const std::string room(created.at("room_id").as_string());
  auto join = alice.join_request(room, "alice");
  join["colour"] = "blue";
  const auto joined = alice.call(join);
  REQUIRE(outcome(joined) == "joined");
  const std::string user_id(joined.at("user_id").as_string());

  auto send = alice.send_request(room, 1, "hi", user_id);
  send["reply_to"] = 17;
  send["id"] = nullptr;
  const auto sent = alice.call(send);
  CHECK(keys(sent) == std::set<std::string>{"type", "room_id", "seq", "client_seq", "ts"});
  CHECK(outcome(sent) == "sent");

  const auto page = alice.call({{"type", "history"},
                                {"id", 2},
                                {"room_id", room},
                                {"after_seq", nullptr},
                                {"limit", nullptr},
                                {"cursor", "ignored"}});
  CHECK(outcome(page) == "history");
  CHECK(page.at("messages").as_array().size() == 1);
  CHECK(alice.call({{"type", "ping"}, {"id", 3}, {"payload", {{"a", 1}}}}) ==
        json::object{{"type", "pong"}, {"id", 3}});
  const auto left = alice.call({{"type", "leave"}, {"id", 4}, {"room_id", room}, {"why", "bye"}});
  CHECK(outcome(left) == "left");
}

} // namespace tinychat::test
