// Presence is one state for every node: member lists, member_joined and member_left, names and
// the member limit count users wherever they are connected (PROTOCOL.md 4, 5 and 11).

#include "cluster.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>

namespace tinychat::test {

namespace {

std::set<std::string> names(const Joined& joined) {
  std::set<std::string> out;
  for (const auto& m : joined.members)
    out.insert(m.user_name);
  return out;
}

} // namespace

TEST_CASE("cluster: member lists, member_joined, member_left and name_taken across nodes") {
  Cluster cluster(3);
  ChatUser alice(cluster.node(0).ws_url());
  ChatUser bob(cluster.node(1).ws_url());
  ChatUser carol(cluster.node(2).ws_url());
  ChatUser mallory(cluster.node(2).ws_url());
  const std::string room = alice.create_room();

  const Joined a = alice.join(room, "alice");
  CHECK(names(a) == std::set<std::string>{"alice"});
  const Joined b = bob.join(room, "bob");
  CHECK(names(b) == std::set<std::string>{"alice", "bob"});
  const Joined c = carol.join(room, "carol");
  CHECK(names(c) == std::set<std::string>{"alice", "bob", "carol"});
  // The lists carry the same ids and keys on every node.
  for (const auto& m : c.members) {
    if (m.user_name == "alice")
      CHECK((m.user_id == a.user_id && m.pub_key == alice.client().key().public_key()));
    if (m.user_name == "bob")
      CHECK((m.user_id == b.user_id && m.pub_key == bob.client().key().public_key()));
  }

  // member_joined reaches the other nodes, in the order of the joins.
  const auto alice_heard = alice.member_joined.wait_for(2);
  CHECK(alice_heard[0].member == Member{b.user_id, "bob", bob.client().key().public_key()});
  CHECK(alice_heard[1].member == Member{c.user_id, "carol", carol.client().key().public_key()});
  const auto bob_heard = bob.member_joined.wait_for(1);
  CHECK(bob_heard[0].member.user_id == c.user_id);

  // A name present on another node is taken, for another key.
  CHECK(error_code(try_join(mallory, room, "alice")) == error::name_taken);
  CHECK(error_code(try_join(mallory, room, " bob ")) == error::name_taken);

  // member_left reaches the other nodes: a leave on node 1, a closed connection on node 0.
  bob.leave(room);
  for (ChatUser* u : {&alice, &carol}) {
    const MemberLeft left = u->member_left.pop();
    CHECK(left.room_id == room);
    CHECK(left.user_id == b.user_id);
  }
  // The name is free again, on any node.
  const Joined m = mallory.join(room, "bob");
  CHECK(names(m) == std::set<std::string>{"alice", "bob", "carol"});
  {
    ChatUser dave(cluster.node(0).ws_url());
    dave.join(room, "dave");
    carol.wait_for_member(room, "dave");
  }
  // dave's connection closed on node 0: carol on node 2 hears of it.
  const MemberLeft dave_left = carol.member_left.pop();
  CHECK(dave_left.room_id == room);
  CHECK(dave_left.user_id != b.user_id);
  CHECK(alice.member_left.pop().user_id == dave_left.user_id);
  // Nobody heard about itself, nor twice about anyone.
  CHECK(alice.member_left.size() == 0);
  CHECK(carol.member_left.size() == 0);
  CHECK(mallory.member_left.pop().user_id == dave_left.user_id);
}

TEST_CASE("cluster: room_full counts the members on other nodes") {
  Cluster cluster(3, {"--max-room-members", "2"});
  ChatUser first(cluster.node(0).ws_url());
  ChatUser second(cluster.node(1).ws_url());
  ChatUser third(cluster.node(2).ws_url());
  const std::string room = first.create_room();
  first.join(room, "first");
  second.join(room, "second");
  CHECK(error_code(try_join(third, room, "third")) == error::room_full);

  // A present user still joins from another connection, on another node.
  ChatUser first_again(cluster.node(2).ws_url(), first.client().key());
  const Joined again = first_again.join(room, "first");
  CHECK(again.members.size() == 2);

  // Once a member left on node 1, node 2 admits a new one.
  second.leave(room);
  first.member_left.pop();
  const Joined third_joined = third.join(room, "third");
  CHECK(names(third_joined) == std::set<std::string>{"first", "third"});
}

TEST_CASE("cluster: one key on two nodes is one member until its last connection leaves") {
  Cluster cluster(3);
  ChatUser watcher(cluster.node(2).ws_url());
  const std::string room = watcher.create_room();
  watcher.join(room, "watcher");

  const KeyPair key = KeyPair::generate();
  auto on_a = std::make_unique<ChatUser>(cluster.node(0).ws_url(), key);
  auto on_b = std::make_unique<ChatUser>(cluster.node(1).ws_url(), key);
  const Joined first = on_a->join(room, "kim");
  // The second connection keeps the name the user is present under.
  const Joined second = on_b->join(room, "kimberly");
  CHECK(second.user_id == first.user_id);
  CHECK(second.user_name == "kim");
  CHECK(names(second) == std::set<std::string>{"kim", "watcher"});
  CHECK(second.members.size() == 2);

  // A later joiner on a third node lists kim once.
  ChatUser late(cluster.node(2).ws_url());
  const Joined l = late.join(room, "late");
  CHECK(l.members.size() == 3);
  CHECK(std::count_if(l.members.begin(), l.members.end(),
                      [&](const Member& m) { return m.user_id == first.user_id; }) == 1);
  watcher.wait_for_member(room, "late");

  // The connection on node 0 closes: kim is still present on node 1. A join on node 0 after
  // it is ordered after it in the room's presence, so a member_left for kim would come first.
  on_a.reset();
  ChatUser zed(cluster.node(0).ws_url());
  zed.join(room, "zed");
  watcher.wait_for_member(room, "zed");
  late.wait_for_member(room, "zed");
  CHECK(watcher.member_left.size() == 0);
  CHECK(late.member_left.size() == 0);
  // Exactly one member_joined about kim reached the watcher.
  const auto heard = watcher.member_joined.wait_for(3);
  CHECK(heard.size() == 3);
  CHECK(std::count_if(heard.begin(), heard.end(), [&](const MemberJoined& m) {
          return m.member.user_id == first.user_id;
        }) == 1);

  // The last connection, on node 1, leaves: now kim is gone, for everyone.
  on_b->leave(room);
  for (ChatUser* u : {&watcher, &late, &zed}) {
    const MemberLeft left = u->member_left.pop();
    CHECK(left.user_id == first.user_id);
  }
}

} // namespace tinychat::test
