// Rooms live in Redis, not in a node: a restarted node finds everything, idle rooms expire
// there, and a node that stops cleanly takes its members out of the rooms at once.

#include "cluster.hpp"

#include "support/timeouts.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <memory>
#include <string>

namespace tinychat::test {

namespace {
using namespace std::chrono_literals;
} // namespace

TEST_CASE("cluster: a node restart loses no room, history or counter") {
  Cluster cluster(1);
  const KeyPair key = KeyPair::generate();
  std::string room;
  std::vector<ChatMessage> before;
  {
    ChatUser ann(cluster.node(0).ws_url(), key);
    room = ann.create_room();
    ann.join(room, "ann");
    for (int i = 1; i <= 5; ++i)
      CHECK(ann.send(room, "before the restart " + std::to_string(i)).seq ==
            static_cast<std::uint64_t>(i));
    before = full_history(ann, room);
    REQUIRE(before.size() == 5);
    cluster.node(0).signal(SIGTERM);
    CHECK(ann.closed.pop().code == 1001);
  }
  REQUIRE(cluster.node(0).wait_for_exit(event_timeout) == 0);

  // A fresh node, with nothing of its own: the room, its history and ann's counter are there.
  ServerProcess& fresh = cluster.add_node();
  ChatUser ann(fresh.ws_url(), key);
  const Joined joined = ann.join(room, "ann");
  CHECK(joined.last_seq == 5);
  CHECK(joined.last_client_seq == 5);
  CHECK(joined.members.size() == 1);
  CHECK(full_history(ann, room) == before);
  // The counter goes on from the stored one, and the seq from the stored last one.
  const Sent sent = ann.send(room, "after the restart");
  CHECK(sent.client_seq == 6);
  CHECK(sent.seq == 6);
  ChatUser other(fresh.ws_url(), key);
  CHECK(other.join(room, "ann").last_client_seq == 6);
  CHECK(full_history(other, room).size() == 6);
}

TEST_CASE("cluster: an idle room expires in Redis, whichever node served it") {
  Cluster cluster(2, {"--room-idle-seconds", "2"});
  ChatUser owner(cluster.node(0).ws_url());
  ChatUser asker(cluster.node(1).ws_url());
  const std::string room = owner.create_room();
  owner.join(room, "owner");
  owner.send(room, "soon gone");
  owner.leave(room);
  const auto left_at = std::chrono::steady_clock::now();
  // The room still exists for node B (asker is no member of it).
  CHECK(error_code(try_history(asker, room)) == error::not_member);
  // Node A goes away: the idle deadline is kept by Redis, not by A.
  cluster.node(0).signal(SIGTERM);
  REQUIRE(cluster.node(0).wait_for_exit(event_timeout) == 0);

  std::int64_t gone_after = -1;
  CHECK(eventually(
      [&] {
        const auto outcome = error_code(try_history(asker, room));
        if (outcome != error::room_not_found) return false;
        gone_after = ms_since(left_at);
        return true;
      },
      15s));
  MESSAGE("the idle room was gone " << gone_after << " ms after its last member left");
  CHECK(gone_after >= 1800); // not before room_idle_seconds (the leave reached Redis after `left`)
  CHECK(gone_after < 2000 + 3000 + 3000);
  CHECK(error_code(try_join(asker, room, "asker")) == error::room_not_found);
}

TEST_CASE("cluster: a node stopped with SIGTERM removes its members at once") {
  // A long node timeout: member_left must come from the stopping node, not from a sweep.
  constexpr auto long_timeout = 10s;
  Cluster cluster(2, {"--redis-node-timeout-ms",
                      std::to_string(std::chrono::milliseconds(long_timeout).count())});
  ChatUser a1(cluster.node(0).ws_url());
  ChatUser a2(cluster.node(0).ws_url());
  ChatUser b1(cluster.node(1).ws_url());
  const std::string room = b1.create_room();
  const Joined j1 = a1.join(room, "a1");
  const Joined j2 = a2.join(room, "a2");
  b1.join(room, "b1");
  b1.wait_for_member(room, "a2");
  a1.wait_for_member(room, "b1");

  const auto stopped_at = std::chrono::steady_clock::now();
  cluster.node(0).signal(SIGTERM);
  const auto left = b1.member_left.wait_for(2);
  const auto after = ms_since(stopped_at);
  MESSAGE("member_left after SIGTERM: " << after << " ms");
  CHECK(after < std::chrono::milliseconds(long_timeout).count() / 2);
  CHECK(((left[0].user_id == j1.user_id && left[1].user_id == j2.user_id) ||
         (left[0].user_id == j2.user_id && left[1].user_id == j1.user_id)));
  CHECK(a1.closed.pop().code == 1001);
  CHECK(a2.closed.pop().code == 1001);
  CHECK(cluster.node(0).wait_for_exit(event_timeout) == 0);

  // The room goes on on node B alone.
  CHECK(b1.send(room, "still here").seq == 1);
  CHECK(wait_for_seq(b1, room, 1).size() == 1);
}

} // namespace tinychat::test
