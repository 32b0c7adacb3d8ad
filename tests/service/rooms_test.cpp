// Rooms and presence (PROTOCOL.md sections 4, 5 and 11): who is there and who hears about it.

#include "chat_fixture.hpp"

#include <set>

using namespace tinychat::test;

namespace {

std::set<std::string> member_names(const json::object& joined) {
  std::set<std::string> names;
  for (const auto& m : joined.at("members").as_array())
    names.insert(std::string(m.at("user_name").as_string()));
  return names;
}

} // namespace

TEST_CASE("create_room: the room id is 26 lowercase base32 characters and expires after the TTL") {
  ChatFixture chat;
  auto& alice = chat.connect();
  auto reply = alice.call({{"type", "create_room"}, {"id", 7}});
  CHECK(type_of(reply) == "room_created");
  CHECK(num_of(reply, "id") == 7);
  auto room_id = std::string(reply.at("room_id").as_string());
  CHECK(tinychat::is_valid_room_id(room_id));
  CHECK(reply.at("expires_at").to_number<std::int64_t>() == chat.clock.now() + 43'200'000);
  CHECK(reply.size() == 4);
}

TEST_CASE("create_room: every room gets a new id") {
  ChatFixture chat;
  auto& alice = chat.connect();
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i)
    ids.insert(alice.create_room());
  CHECK(ids.size() == 50);
}

TEST_CASE("join: the joiner sees everyone present, the others see the joiner") {
  ChatFixture chat;
  auto& alice = chat.connect();
  auto& bob = chat.connect();
  auto room = alice.create_room();

  auto a = alice.join(room, "alice");
  REQUIRE(type_of(a) == "joined");
  CHECK(str_of(a, "room_id") == room);
  CHECK(str_of(a, "user_name") == "alice");
  CHECK(num_of(a, "last_seq") == 0);
  CHECK(num_of(a, "last_client_seq") == 0);
  CHECK(member_names(a) == std::set<std::string>{"alice"});
  CHECK_FALSE(alice.has_event("member_joined")); // no event about oneself

  auto b = bob.join(room, "bob");
  REQUIRE(type_of(b) == "joined");
  CHECK(member_names(b) == std::set<std::string>{"alice", "bob"});
  auto event = alice.event("member_joined");
  CHECK(str_of(event, "room_id") == room);
  CHECK(event.at("user_id") == b.at("user_id"));
  CHECK(str_of(event, "user_name") == "bob");
  CHECK(str_of(event, "pub_key") == bob.pub_key_hex());
  CHECK(event.size() == 5);
  CHECK_FALSE(bob.has_event("member_joined"));
}

TEST_CASE("join: user ids are unique in a room and stable for a key") {
  ChatFixture chat;
  auto& alice = chat.connect();
  auto& bob = chat.connect();
  auto room = alice.create_room();
  auto first = alice.join(room, "alice").at("user_id");
  auto other = bob.join(room, "bob").at("user_id");
  CHECK(first != other);
  std::string id(first.as_string());
  CHECK(id.size() >= 1);
  CHECK(id.size() <= 64);
  CHECK(
      id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:#-") ==
      std::string::npos);

  alice.call({{"type", "leave"}, {"room_id", room}});
  CHECK(alice.join(room, "alice again").at("user_id") == first);
}

TEST_CASE("join: a name is trimmed of spaces and tabs, and the signature covers the trimmed name") {
  ChatFixture chat;
  auto& alice = chat.connect();
  auto room = alice.create_room();
  auto reply = alice.call({{"type", "join"},
                           {"room_id", room},
                           {"user_name", " \talice\t "},
                           {"pub_key", alice.pub_key_hex()},
                           {"sig", alice.join_sig(room, "alice")}});
  REQUIRE(type_of(reply) == "joined");
  CHECK(str_of(reply, "user_name") == "alice");
}

TEST_CASE("join: several connections of one key share one user, listed once, announced once") {
  ChatFixture chat;
  auto& bob = chat.connect();
  auto& alice_phone = chat.connect();
  auto room = bob.create_room();
  bob.join(room, "bob");
  auto phone = alice_phone.join(room, "alice");
  CHECK(bob.events("member_joined").size() == 1);

  auto& alice_laptop = chat.connect_as(alice_phone);
  auto laptop = alice_laptop.join(room, "alice on laptop");
  REQUIRE(type_of(laptop) == "joined");
  CHECK(laptop.at("user_id") == phone.at("user_id"));
  CHECK(str_of(laptop, "user_name") == "alice"); // keeps the name it is present under
  CHECK(laptop.at("members").as_array().size() == 2);
  CHECK_FALSE(bob.has_event("member_joined"));

  SUBCASE("the user stays present until its last connection leaves") {
    alice_phone.call({{"type", "leave"}, {"room_id", room}});
    CHECK_FALSE(bob.has_event("member_left"));
    alice_laptop.close();
    auto left = bob.event("member_left");
    CHECK(left.at("user_id") == phone.at("user_id"));
    CHECK(str_of(left, "room_id") == room);
    CHECK(left.size() == 3);
  }
  SUBCASE("both connections receive the user's messages") {
    alice_phone.send(room, "from the phone");
    CHECK(str_of(alice_laptop.event("message"), "text") == "from the phone");
    CHECK(str_of(alice_phone.event("message"), "text") == "from the phone");
  }
}

TEST_CASE("leave: the leaver gets left, the others get member_left") {
  ChatFixture chat;
  auto& alice = chat.connect();
  auto& bob = chat.connect();
  auto room = alice.create_room();
  alice.join(room, "alice");
  auto bob_id = bob.join(room, "bob").at("user_id");

  auto reply = bob.call({{"type", "leave"}, {"room_id", room}, {"id", "bye"}});
  CHECK(type_of(reply) == "left");
  CHECK(str_of(reply, "id") == "bye");
  CHECK(str_of(reply, "room_id") == room);
  CHECK(reply.size() == 3);
  CHECK(alice.event("member_left").at("user_id") == bob_id);
  CHECK_FALSE(bob.has_event("member_left"));

  // Bob hears nothing more from the room.
  alice.send(room, "anyone?");
  CHECK_FALSE(bob.has_event("message"));
  CHECK(code_of(bob.send(room, "hello?")) == "not_member");
}

TEST_CASE("leave: a closed connection leaves all its rooms") {
  ChatFixture chat;
  auto& alice = chat.connect();
  auto& bob = chat.connect();
  auto room1 = alice.create_room();
  auto room2 = alice.create_room();
  alice.join(room1, "alice");
  alice.join(room2, "alice");
  bob.join(room1, "bob");
  bob.join(room2, "bob");
  bob.close();
  auto left = alice.events("member_left");
  REQUIRE(left.size() == 2);
  std::set<std::string> rooms{std::string(left[0].at("room_id").as_string()),
                              std::string(left[1].at("room_id").as_string())};
  CHECK(rooms == std::set<std::string>{room1, room2});
}

TEST_CASE("join: a name freed by a leaving user can be taken by another key") {
  ChatFixture chat;
  auto& alice = chat.connect();
  auto& impostor = chat.connect();
  auto room = alice.create_room();
  alice.join(room, "alice");
  CHECK(code_of(impostor.join(room, "alice")) == "name_taken");
  alice.call({{"type", "leave"}, {"room_id", room}});
  CHECK(type_of(impostor.join(room, "alice")) == "joined");
}

TEST_CASE("join: a full room still admits another connection of a present user") {
  tinychat::ServiceConfig config;
  config.limits.max_room_members = 2;
  ChatFixture chat(config);
  auto& alice = chat.connect();
  auto& bob = chat.connect();
  auto& carol = chat.connect();
  auto room = alice.create_room();
  alice.join(room, "alice");
  bob.join(room, "bob");
  CHECK(code_of(carol.join(room, "carol")) == "room_full");
  auto& bob_again = chat.connect_as(bob);
  CHECK(type_of(bob_again.join(room, "bob")) == "joined");
  bob.close();
  bob_again.close();
  CHECK(type_of(carol.join(room, "carol")) == "joined");
}

TEST_CASE("join: one connection joins up to max_rooms_per_connection rooms") {
  tinychat::ServiceConfig config;
  config.limits.max_rooms_per_connection = 3;
  ChatFixture chat(config);
  auto& alice = chat.connect();
  std::vector<std::string> rooms;
  for (int i = 0; i < 4; ++i)
    rooms.push_back(alice.create_room());
  for (int i = 0; i < 3; ++i)
    CHECK(type_of(alice.join(rooms[i], "alice")) == "joined");
  CHECK(code_of(alice.join(rooms[3], "alice")) == "too_many_rooms");
  alice.call({{"type", "leave"}, {"room_id", rooms[0]}});
  CHECK(type_of(alice.join(rooms[3], "alice")) == "joined");
}
