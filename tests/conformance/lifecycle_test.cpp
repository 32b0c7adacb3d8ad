// PROTOCOL.md sections 7 and 11, the lifecycle, over real sockets: idle rooms are deleted,
// old ones closed. Short limits by flag; deadlines checked with a margin for a busy machine
// (the lower bounds, "never before", are exact).

#include "conformance_server.hpp"
#include "wire_client.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>

namespace tinychat::test {
namespace {

// What a late timer, a poll and a reply on a loaded machine may add to a deadline.
constexpr std::int64_t margin_ms = 2500;

} // namespace

TEST_CASE("idle: a room nobody is present in is deleted within 3 s after room_idle_seconds") {
  constexpr std::int64_t idle_ms = 2000;
  ConformanceServer server({"--room-idle-seconds", "2"});
  WireClient alice(server.port());
  WireClient watcher(server.port());

  // A room nobody ever joined is idle from its creation.
  const auto never_asked = now_ms();
  const std::string never_joined = alice.create_room();
  const auto never_created = now_ms();
  // A room alice leaves at once, and one she stays in.
  const std::string left = alice.create_room();
  const std::string kept = alice.create_room();
  const auto kept_created = now_ms();
  alice.joined(left, "alice");
  alice.joined(kept, "alice");
  const auto leave_asked = now_ms();
  REQUIRE(outcome(alice.leave(left)) == "left");
  const auto leave_done = now_ms();

  // history from a connection that never joined: not_member while the room lives (the room
  // is checked first), room_not_found once it is gone. It does not touch the room.
  std::map<std::string, std::int64_t> gone;
  while (gone.size() < 2) {
    for (const auto& room : {never_joined, left}) {
      if (gone.count(room)) continue;
      const auto code = outcome(watcher.history(room));
      if (code == "room_not_found")
        gone[room] = now_ms();
      else
        REQUIRE(code == "not_member");
    }
    REQUIRE(now_ms() < leave_done + idle_ms + 3000 + 10 * margin_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(gone[never_joined] - never_asked >= idle_ms);
  CHECK(gone[never_joined] - never_created <= idle_ms + 3000 + margin_ms);
  CHECK(gone[left] - leave_asked >= idle_ms);
  CHECK(gone[left] - leave_done <= idle_ms + 3000 + margin_ms);

  // Gone for every request.
  for (const auto& room : {never_joined, left}) {
    CHECK(outcome(watcher.join(room, "watcher")) == "room_not_found");
    CHECK(outcome(alice.join(room, "alice")) == "room_not_found");
  }

  // The room alice is present in outlives every idle deadline.
  const auto past_deadline = kept_created + idle_ms + 3000 + 500;
  while (now_ms() < past_deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(alice.sent(kept, 1, "still here").at("seq") == 1);
  CHECK(outcome(watcher.history(kept)) == "not_member");
}

TEST_CASE("ttl: room_closed {reason expired} to every member at expires_at, then room_not_found") {
  ConformanceServer server({"--room-ttl-seconds", "4"});
  WireClient alice(server.port());
  WireClient bob(server.port());
  WireClient alice_tab(server.port(), alice.key());
  const auto created = alice.call({{"type", "create_room"}, {"id", 1}});
  REQUIRE(outcome(created) == "room_created");
  const std::string room(created.at("room_id").as_string());
  const auto expires_at = created.at("expires_at").to_number<std::int64_t>();
  alice.joined(room, "alice");
  bob.joined(room, "bob");
  alice_tab.joined(room, "alice");
  bob.sent(room, 1, "the room is busy, and closes all the same");

  for (WireClient* who : {&alice, &bob, &alice_tab}) {
    const auto closed = who->next_event("room_closed", room);
    const auto at = now_ms();
    CHECK(closed ==
          json::object{{"type", "room_closed"}, {"room_id", room}, {"reason", "expired"}});
    CHECK(at >= expires_at);
    CHECK(at <= expires_at + 5000 + margin_ms);
  }
  for (WireClient* who : {&alice, &bob, &alice_tab}) {
    who->sync();
    CHECK(who->kept("member_left", room).empty());
    CHECK(who->kept("room_closed", room).empty());
    CHECK(outcome(who->history(room)) == "room_not_found");
    CHECK(outcome(who->leave(room)) == "room_not_found");
  }
  CHECK(outcome(bob.send(room, 2, "anyone?")) == "room_not_found");
  CHECK(outcome(alice.join(room, "alice")) == "room_not_found");
  WireClient late(server.port());
  CHECK(outcome(late.join(room, "late")) == "room_not_found");
  // The connections themselves go on.
  const std::string next = alice.create_room();
  CHECK(outcome(alice.join(next, "alice")) == "joined");
}

} // namespace tinychat::test
