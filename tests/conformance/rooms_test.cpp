// PROTOCOL.md sections 2, 4 and 5 over real sockets: hello, create_room and joined, field by
// field.

#include "conformance_server.hpp"
#include "wire_client.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>

namespace tinychat::test {
namespace {

bool lower_hex(const json::value& v, std::size_t length) {
  if (!v.is_string() || v.get_string().size() != length) return false;
  const auto& s = v.get_string();
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool room_id_spelling(const json::value& v) {
  if (!v.is_string() || v.get_string().size() != 26) return false;
  const auto& s = v.get_string();
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'); });
}

bool user_id_spelling(const json::value& v) {
  if (!v.is_string() || v.get_string().empty() || v.get_string().size() > 64) return false;
  const auto& s = v.get_string();
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '#' || c == '-';
  });
}

// A member list as a set of "user_id|user_name|pub_key": its order is not specified.
std::multiset<std::string> member_set(const json::value& members) {
  std::multiset<std::string> set;
  for (const auto& m : members.as_array()) {
    const auto& o = m.as_object();
    CHECK(keys(o) == std::set<std::string>{"user_id", "user_name", "pub_key"});
    set.insert(std::string(o.at("user_id").as_string()) + "|" +
               std::string(o.at("user_name").as_string()) + "|" +
               std::string(o.at("pub_key").as_string()));
  }
  return set;
}

std::string member(const json::object& joined, const WireClient& who) {
  return std::string(joined.at("user_id").as_string()) + "|" +
         std::string(joined.at("user_name").as_string()) + "|" + who.pub_key();
}

} // namespace

TEST_CASE("hello: the first frame, protocol 1, a fresh challenge and the default limits") {
  ConformanceServer server;
  WireClient a(server.port());
  WireClient b(server.port());
  const auto& hello = a.hello();
  CHECK(keys(hello) == std::set<std::string>{"type", "protocol", "challenge", "limits"});
  CHECK(hello.at("protocol") == 1);
  CHECK(lower_hex(hello.at("challenge"), 64));
  CHECK(lower_hex(b.hello().at("challenge"), 64));
  CHECK(hello.at("challenge") != b.hello().at("challenge"));

  const auto& limits = hello.at("limits").as_object();
  CHECK(keys(limits) == std::set<std::string>{"max_text_chars", "max_name_chars",
                                              "max_room_members", "max_history", "max_frame_bytes",
                                              "max_rooms_per_connection", "room_idle_seconds",
                                              "room_ttl_seconds", "auth_required"});
  CHECK(limits.at("max_text_chars") == 1000);
  CHECK(limits.at("max_name_chars") == 32);
  CHECK(limits.at("max_room_members") == 500);
  CHECK(limits.at("max_history") == 1000);
  CHECK(limits.at("max_frame_bytes") == 65536);
  CHECK(limits.at("max_rooms_per_connection") == 16);
  CHECK(limits.at("room_idle_seconds") == 300);
  CHECK(limits.at("room_ttl_seconds") == 43200);
  CHECK(limits.at("auth_required") == false);
}

TEST_CASE("hello: limits announce the values in force") {
  ConformanceServer server({"--max-text-chars", "7", "--max-name-chars", "5", "--max-room-members",
                            "3", "--max-history", "4", "--max-frame-bytes", "4096",
                            "--max-rooms-per-connection", "2", "--room-idle-seconds", "11",
                            "--room-ttl-seconds", "13"});
  WireClient a(server.port());
  CHECK(a.hello().at("limits") == json::object{{"max_text_chars", 7},
                                               {"max_name_chars", 5},
                                               {"max_room_members", 3},
                                               {"max_history", 4},
                                               {"max_frame_bytes", 4096},
                                               {"max_rooms_per_connection", 2},
                                               {"room_idle_seconds", 11},
                                               {"room_ttl_seconds", 13},
                                               {"auth_required", false}});
}

TEST_CASE("create_room: room_created has a fresh room_id and expires_at = creation + ttl") {
  ConformanceServer server({"--room-ttl-seconds", "1000"});
  WireClient a(server.port());
  const auto before = now_ms();
  const auto reply = a.call({{"type", "create_room"}, {"id", 7}});
  const auto after = now_ms();
  CHECK(keys(reply) == std::set<std::string>{"type", "id", "room_id", "expires_at"});
  CHECK(outcome(reply) == "room_created");
  CHECK(reply.at("id") == 7);
  CHECK(room_id_spelling(reply.at("room_id")));
  const auto expires_at = reply.at("expires_at").to_number<std::int64_t>();
  // The server's and the test's clock are one; a second either way for its granularity.
  CHECK(expires_at >= before + 1'000'000 - 1000);
  CHECK(expires_at <= after + 1'000'000 + 1000);

  std::set<std::string> rooms{std::string(reply.at("room_id").as_string())};
  for (int i = 0; i < 5; ++i)
    rooms.insert(a.create_room());
  CHECK(rooms.size() == 6);
}

TEST_CASE("join: joined has every field; last_seq, last_client_seq and members incl. the joiner") {
  ConformanceServer server;
  WireClient alice(server.port());
  WireClient bob(server.port());
  const auto created = alice.call({{"type", "create_room"}, {"id", 1}});
  const std::string room(created.at("room_id").as_string());

  const auto a = alice.joined(room, "alice");
  CHECK(keys(a) == std::set<std::string>{"type", "id", "room_id", "user_id", "user_name",
                                         "last_seq", "last_client_seq", "expires_at", "members"});
  CHECK(a.at("room_id") == str(room));
  CHECK(user_id_spelling(a.at("user_id")));
  CHECK(a.at("user_name") == "alice");
  CHECK(a.at("last_seq") == 0);
  CHECK(a.at("last_client_seq") == 0);
  CHECK(a.at("expires_at") == created.at("expires_at"));
  CHECK(member_set(a.at("members")) == std::multiset<std::string>{member(a, alice)});

  alice.sent(room, 5, "one");
  alice.sent(room, 9, "two");

  // The name is trimmed of spaces and tabs, and the signature covers the trimmed name.
  const auto b = bob.joined(room, " \tbob  ");
  CHECK(b.at("user_name") == "bob");
  CHECK(b.at("user_id") != a.at("user_id"));
  CHECK(b.at("last_seq") == 2);
  CHECK(b.at("last_client_seq") == 0);
  CHECK(b.at("expires_at") == created.at("expires_at"));
  CHECK(member_set(b.at("members")) ==
        std::multiset<std::string>{member(a, alice), member(b, bob)});

  // Another connection of alice's key: last_client_seq is what the room accepted from it.
  WireClient alice2(server.port(), alice.key());
  const auto a2 = alice2.joined(room, "alice");
  CHECK(a2.at("user_id") == a.at("user_id"));
  CHECK(a2.at("last_seq") == 2);
  CHECK(a2.at("last_client_seq") == 9);
  CHECK(member_set(a2.at("members")) ==
        std::multiset<std::string>{member(a, alice), member(b, bob)});
}

TEST_CASE("user_id: the same for a key each time it joins a room, different for other keys") {
  ConformanceServer server;
  WireClient alice(server.port());
  const std::string room = alice.create_room();
  const auto first = alice.joined(room, "alice");
  REQUIRE(outcome(alice.leave(room)) == "left");
  WireClient again(server.port(), alice.key());
  const auto second = again.joined(room, "alice again");
  CHECK(second.at("user_id") == first.at("user_id"));
  CHECK(second.at("user_name") == "alice again");

  WireClient bob(server.port());
  CHECK(bob.joined(room, "bob").at("user_id") != first.at("user_id"));
}

} // namespace tinychat::test
