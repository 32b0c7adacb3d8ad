// Room lifecycle on a manual clock: idle deletion, TTL expiry, restart over the same store,
// and the rate limit (PROTOCOL.md sections 6, 7 and 11).

#include "chat_fixture.hpp"

using namespace tinychat::test;

namespace {

tinychat::ServiceConfig short_lived(std::uint32_t idle_seconds, std::uint32_t ttl_seconds) {
  tinychat::ServiceConfig config;
  config.limits.room_idle_seconds = idle_seconds;
  config.limits.room_ttl_seconds = ttl_seconds;
  return config;
}

json::object history_request(const std::string& room) {
  return {{"type", "history"}, {"room_id", room}};
}

} // namespace

TEST_CASE("idle: a room nobody joined is deleted after room_idle_seconds, not before") {
  ChatFixture chat(short_lived(10, 3600));
  auto& alice = chat.connect();
  auto room = alice.create_room();
  chat.advance_seconds(9);
  CHECK(chat.transport->service().room_count() == 1);
  chat.advance_seconds(1);
  CHECK(chat.transport->service().room_count() == 0);
  CHECK(code_of(alice.join(room, "alice")) == "room_not_found");
}

TEST_CASE("idle: the idle time starts when the last member leaves") {
  ChatFixture chat(short_lived(10, 3600));
  auto& alice = chat.connect();
  auto room = alice.create_room();
  alice.join(room, "alice");
  chat.advance_seconds(60); // present members keep the room
  CHECK(chat.transport->service().room_count() == 1);
  alice.close();
  chat.advance_seconds(9);
  auto& bob = chat.connect();
  CHECK(type_of(bob.join(room, "bob")) == "joined"); // joining stops the countdown
  bob.call({{"type", "leave"}, {"room_id", room}});
  chat.advance_seconds(9);
  CHECK(chat.transport->service().room_count() == 1);
  chat.advance_seconds(1);
  CHECK(chat.transport->service().room_count() == 0);
}

TEST_CASE("idle: a request after the idle deadline finds no room even before the next tick") {
  ChatFixture chat(short_lived(10, 3600));
  auto& alice = chat.connect();
  auto room = alice.create_room();
  chat.clock.advance_seconds(11);
  CHECK(code_of(alice.join(room, "alice")) == "room_not_found");
}

TEST_CASE("ttl: at expires_at every member gets room_closed and the room is gone") {
  ChatFixture chat(short_lived(300, 60));
  auto& alice = chat.connect();
  auto& bob = chat.connect();
  auto room = alice.create_room();
  auto expires_at = num_of(alice.join(room, "alice"), "expires_at");
  CHECK(expires_at == chat.clock.now() + 60'000);
  bob.join(room, "bob");
  alice.events("member_joined");

  chat.clock.advance_ms(59'999);
  chat.transport->tick();
  CHECK_FALSE(alice.has_event("room_closed")); // never before expires_at
  CHECK(type_of(alice.send(room, "still here")) == "sent");

  chat.advance_seconds(1);
  for (Peer* p : {&alice, &bob}) {
    auto closed = p->event("room_closed");
    CHECK(closed ==
          json::object{{"type", "room_closed"}, {"room_id", room}, {"reason", "expired"}});
    CHECK_FALSE(p->has_event("member_left"));
    CHECK(code_of(p->call(history_request(room))) == "room_not_found");
    CHECK(code_of(p->send(room, "hello?")) == "room_not_found");
    CHECK(code_of(p->call({{"type", "leave"}, {"room_id", room}})) == "room_not_found");
  }
  CHECK(chat.transport->service().room_count() == 0);
}

TEST_CASE("ttl: an expired room is closed when a request reaches it before the next tick") {
  ChatFixture chat(short_lived(300, 60));
  auto& alice = chat.connect();
  auto room = alice.create_room();
  alice.join(room, "alice");
  chat.clock.advance_seconds(60);
  CHECK(code_of(alice.send(room, "late")) == "room_not_found");
  CHECK(alice.has_event("room_closed"));
}

TEST_CASE("ttl: a closed room no longer counts toward max_rooms_per_connection") {
  auto config = short_lived(300, 60);
  config.limits.max_rooms_per_connection = 1;
  ChatFixture chat(config);
  auto& alice = chat.connect();
  auto room = alice.create_room();
  alice.join(room, "alice");
  chat.advance_seconds(60);
  auto next = alice.create_room();
  CHECK(type_of(alice.join(next, "alice")) == "joined");
}

TEST_CASE("restart: rooms, history, counters and user ids survive; presence does not") {
  ChatFixture chat(short_lived(300, 3600));
  auto& alice = chat.connect();
  auto& bob = chat.connect();
  auto created_at = chat.clock.now();
  auto room = alice.create_room();
  auto alice_id = str_of(alice.join(room, "alice"), "user_id");
  bob.join(room, "bob");
  alice.send_with_seq(room, 10, "one");
  bob.send(room, "two");
  auto before = alice.history(room);
  auto alice_key = alice.key();

  chat.clock.advance_seconds(100);
  chat.restart();
  auto& alice2 = chat.connect(alice_key);
  auto joined = alice2.join(room, "alice");
  REQUIRE(type_of(joined) == "joined");
  CHECK(str_of(joined, "user_id") == alice_id);
  CHECK(num_of(joined, "last_seq") == 2);
  CHECK(num_of(joined, "last_client_seq") == 10);
  CHECK(joined.at("members").as_array().size() == 1); // bob is not present any more
  CHECK(alice2.history(room).at("messages") == before.at("messages"));
  CHECK(num_of(alice2.send_with_seq(room, 11, "three"), "seq") == 3);

  // The TTL counts from creation, across the restart.
  CHECK(num_of(joined, "expires_at") == created_at + 3'600'000);
}

TEST_CASE("restart: the history cap holds in the store too") {
  auto config = short_lived(300, 3600);
  config.limits.max_history = 3;
  ChatFixture chat(config);
  auto& alice = chat.connect();
  auto room = alice.create_room();
  alice.join(room, "alice");
  for (int i = 1; i <= 5; ++i)
    alice.send(room, "message " + std::to_string(i));
  auto before = alice.history(room);
  CHECK(num_of(before, "first_seq") == 3);
  auto alice_key = alice.key();

  chat.restart();
  auto& alice2 = chat.connect(alice_key);
  alice2.join(room, "alice");
  auto after = alice2.history(room);
  CHECK(after.at("messages") == before.at("messages"));
  CHECK(num_of(after, "first_seq") == 3);
  CHECK(after.at("truncated") == true);
}

TEST_CASE("restart: the idle window starts fresh when the service starts") {
  ChatFixture chat(short_lived(10, 3600));
  auto& alice = chat.connect();
  auto room = alice.create_room();
  chat.clock.advance_seconds(8);
  chat.restart();
  chat.advance_seconds(8);
  CHECK(chat.transport->service().room_count() == 1);
  chat.advance_seconds(2);
  CHECK(chat.transport->service().room_count() == 0);
}

TEST_CASE("internal: a write the store refuses is answered internal and changes nothing") {
  ChatFixture chat;
  auto& alice = chat.connect();
  auto room = alice.create_room();
  alice.join(room, "alice");
  alice.send_with_seq(room, 1, "stored");
  alice.events("message");

  chat.fail_writes(true);
  CHECK(code_of(alice.send_with_seq(room, 2, "lost")) == "internal");
  CHECK_FALSE(alice.has_event("message"));
  CHECK(code_of(alice.call({{"type", "create_room"}})) == "internal");
  CHECK(chat.transport->service().room_count() == 1);
  auto& bob = chat.connect();
  CHECK(code_of(bob.join(room, "bob")) == "internal");
  CHECK_FALSE(alice.has_event("member_joined"));

  chat.fail_writes(false);
  auto sent = alice.send_with_seq(room, 2, "stored again"); // neither seq nor counter was used
  CHECK(num_of(sent, "seq") == 2);
  CHECK(type_of(bob.join(room, "bob")) == "joined");
  CHECK(alice.history(room).at("messages").as_array().size() == 2);
}

TEST_CASE("rate_limited: a connection over its budget is told when to retry") {
  tinychat::ServiceConfig config;
  config.rate_limit = {2, 3}; // 2 per second, bursts of 3
  ChatFixture chat(config);
  auto& alice = chat.connect();
  for (int i = 0; i < 3; ++i)
    CHECK(type_of(alice.call({{"type", "ping"}})) == "pong");
  auto limited = alice.call({{"type", "ping"}, {"id", 9}});
  CHECK(code_of(limited) == "rate_limited");
  CHECK(num_of(limited, "id") == 9);
  CHECK(num_of(limited, "retry_after_ms") == 500);
  CHECK(limited.size() == 5);

  auto& bob = chat.connect(); // other connections are not affected
  CHECK(type_of(bob.call({{"type", "ping"}})) == "pong");

  chat.clock.advance_ms(500);
  CHECK(type_of(alice.call({{"type", "ping"}})) == "pong");
}
