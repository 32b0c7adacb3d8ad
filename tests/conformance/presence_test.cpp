// PROTOCOL.md sections 4, 5 and 11 over real sockets: member_joined, member_left, several
// connections of one key, and a closed connection leaving its rooms.

#include "conformance_server.hpp"
#include "wire_client.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <set>
#include <string>

namespace tinychat::test {
namespace {

// True when `who` kept a `type` event about `user_id` in `room`.
bool heard_about(const WireClient& who, std::string_view type, const std::string& room,
                 const json::value& user_id) {
  for (const auto& e : who.kept(type, room))
    if (e.at("user_id") == user_id) return true;
  return false;
}

std::set<std::string> member_ids(const json::object& joined) {
  std::set<std::string> ids;
  for (const auto& m : joined.at("members").as_array())
    ids.emplace(m.at("user_id").as_string());
  return ids;
}

// `sender` sends a message and `who` waits for it: every event of the room sent to `who`
// before it is then kept (a barrier in the room's order).
void barrier(WireClient& sender, std::uint64_t client_seq, WireClient& who,
             const std::string& room) {
  const auto seq = sender.sent(room, client_seq, "barrier").at("seq");
  for (;;)
    if (who.next_event("message", room).at("seq") == seq) return;
}

} // namespace

TEST_CASE("presence: member_joined and member_left to the others, never about oneself") {
  ConformanceServer server;
  WireClient alice(server.port());
  WireClient bob(server.port());
  const std::string room = alice.create_room();
  alice.joined(room, "alice");
  alice.sync();
  CHECK(alice.kept("member_joined", room).empty());

  const auto b = bob.joined(room, "bob");
  CHECK(alice.next_event("member_joined", room) == json::object{{"type", "member_joined"},
                                                                {"room_id", room},
                                                                {"user_id", b.at("user_id")},
                                                                {"user_name", "bob"},
                                                                {"pub_key", bob.pub_key()}});
  barrier(alice, 1, bob, room);
  bob.sync();
  CHECK(bob.kept("member_joined", room).empty());

  const auto left = bob.leave(room);
  CHECK(keys(left) == std::set<std::string>{"type", "id", "room_id"});
  CHECK(outcome(left) == "left");
  CHECK(left.at("room_id") == str(room));
  CHECK(alice.next_event("member_left", room) ==
        json::object{{"type", "member_left"}, {"room_id", room}, {"user_id", b.at("user_id")}});
  bob.sync();
  CHECK(bob.kept("member_left", room).empty());
  // A leaver gets no more of the room's events.
  alice.sent(room, 2, "bob has gone");
  bob.sync();
  CHECK(bob.kept("message", room).empty());
  CHECK(outcome(bob.history(room)) == "not_member");
}

TEST_CASE("presence: a closed connection leaves its rooms (member_left, the name free again)") {
  ConformanceServer server({"--max-room-members", "2"});
  WireClient alice(server.port());
  auto bob = std::make_unique<WireClient>(server.port());
  const std::string room = alice.create_room();
  const std::string other = alice.create_room();
  alice.joined(room, "alice");
  alice.joined(other, "alice");
  const auto b = bob->joined(room, "bob");
  const auto b_other = bob->joined(other, "bob");
  alice.next_event("member_joined", room);
  alice.next_event("member_joined", other);
  bob.reset();

  CHECK(alice.next_event("member_left", room) ==
        json::object{{"type", "member_left"}, {"room_id", room}, {"user_id", b.at("user_id")}});
  CHECK(alice.next_event("member_left", other) == json::object{{"type", "member_left"},
                                                               {"room_id", other},
                                                               {"user_id", b_other.at("user_id")}});
  // The seat and the name are free: another key may now be "bob" in a room of two.
  WireClient carol(server.port());
  const auto c = carol.joined(room, "bob");
  CHECK(member_ids(c) == std::set<std::string>{alice.user_id(room), carol.user_id(room)});
}

TEST_CASE("presence: several connections of one key are one user, announced once") {
  ConformanceServer server;
  WireClient alice(server.port());
  WireClient bob(server.port());
  WireClient carol(server.port());
  const std::string room = alice.create_room();
  bob.joined(room, "bob");
  carol.joined(room, "carol");
  const auto a1 = alice.joined(room, "alice");
  CHECK(outcome(bob.next_event("member_joined", room)) == "member_joined"); // carol
  CHECK(bob.next_event("member_joined", room).at("user_id") == a1.at("user_id"));

  // A second connection: same user_id, the member list shows the user once, nobody hears of
  // it (not bob, not alice's first connection).
  auto tab = std::make_unique<WireClient>(server.port(), alice.key());
  const auto a2 = tab->joined(room, "alice");
  CHECK(a2.at("user_id") == a1.at("user_id"));
  CHECK(a2.at("members").as_array().size() == 3);
  CHECK(member_ids(a2) ==
        std::set<std::string>{bob.user_id(room), carol.user_id(room), alice.user_id(room)});
  barrier(carol, 1, bob, room);
  barrier(carol, 2, alice, room);
  CHECK_FALSE(heard_about(bob, "member_joined", room, a1.at("user_id")));
  CHECK(alice.kept("member_joined", room).empty());

  // Both connections receive the room's messages, and either may send as alice.
  tab->sent(room, 1, "from the tab");
  alice.sent(room, 2, "from the first window");
  for (WireClient* conn : {&alice, tab.get()}) {
    json::object m;
    do
      m = conn->next_event("message", room);
    while (m.at("client_seq") != 2 || m.at("user_id") != a1.at("user_id"));
    CHECK(m.at("user_name") == "alice");
  }

  // One connection leaves: alice is still present, nobody hears of it.
  REQUIRE(outcome(alice.leave(room)) == "left");
  barrier(carol, 3, bob, room);
  CHECK_FALSE(heard_about(bob, "member_left", room, a1.at("user_id")));
  WireClient dave(server.port());
  CHECK(dave.joined(room, "dave").at("members").as_array().size() == 4);

  // The last one closes: now she leaves, once.
  tab.reset();
  CHECK(bob.next_event("member_left", room) ==
        json::object{{"type", "member_left"}, {"room_id", room}, {"user_id", a1.at("user_id")}});
  barrier(carol, 4, bob, room);
  CHECK_FALSE(heard_about(bob, "member_left", room, a1.at("user_id")));
}

TEST_CASE("presence: a user present from several connections keeps the name it is present under") {
  ConformanceServer server;
  WireClient alice(server.port());
  WireClient bob(server.port());
  const std::string room = alice.create_room();
  bob.joined(room, "bob");
  alice.joined(room, "alice");
  bob.next_event("member_joined", room);

  auto tab = std::make_unique<WireClient>(server.port(), alice.key());
  const auto a2 = tab->joined(room, "alicia");
  CHECK(a2.at("user_name") == "alice");
  std::size_t listed = 0;
  for (const auto& m : a2.at("members").as_array())
    if (m.at("user_id") == a2.at("user_id")) {
      CHECK(m.at("user_name") == "alice");
      ++listed;
    }
  CHECK(listed == 1);
  // Messages from the tab carry the present name.
  tab->sent(room, 1, "who am I?");
  CHECK(bob.next_event("message", room).at("user_name") == "alice");

  // Once she is gone, the key may come back under another name.
  REQUIRE(outcome(alice.leave(room)) == "left");
  tab.reset();
  bob.next_event("member_left", room);
  WireClient later(server.port(), alice.key());
  CHECK(later.joined(room, "alicia").at("user_name") == "alicia");
  CHECK(bob.next_event("member_joined", room).at("user_name") == "alicia");
}

} // namespace tinychat::test
