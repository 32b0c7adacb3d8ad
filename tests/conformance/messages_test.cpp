// PROTOCOL.md sections 4 to 6 over real sockets: seq, message events, sent, client_seq.

#include "conformance_server.hpp"
#include "wire_client.hpp"

#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace tinychat::test {
namespace {

const std::set<std::string> message_fields{"type",    "room_id",    "seq",  "user_id", "user_name",
                                           "pub_key", "client_seq", "text", "sig",     "ts"};

// The `message` events of `room` that `who` receives, `count` of them, in arrival order.
std::vector<json::object> messages(WireClient& who, const std::string& room, std::size_t count) {
  std::vector<json::object> got;
  while (got.size() < count)
    got.push_back(who.next_event("message", room));
  return got;
}

std::uint64_t seq_of(const json::object& o) { return o.at("seq").to_number<std::uint64_t>(); }

} // namespace

TEST_CASE("seq: 1, 2, 3 without gaps across several senders; refused sends take none") {
  ConformanceServer server({"--max-text-chars", "10"});
  WireClient alice(server.port());
  WireClient bob(server.port());
  WireClient carol(server.port());
  const std::string room = alice.create_room();
  alice.joined(room, "alice");
  bob.joined(room, "bob");
  carol.joined(room, "carol");

  CHECK(alice.sent(room, 1, "a1").at("seq") == 1);
  CHECK(bob.sent(room, 1, "b1").at("seq") == 2);
  // Refused: stale, wrongly signed, too long, empty. None of them is given a seq.
  CHECK(outcome(alice.send(room, 1, "again")) == "stale_client_seq");
  auto forged = bob.send_request(room, 2, "b2");
  forged["text"] = "b2 forged";
  CHECK(outcome(bob.call(forged)) == "invalid_signature");
  CHECK(outcome(carol.send(room, 1, "far too long for ten")) == "text_too_long");
  CHECK(outcome(carol.send(room, 1, "")) == "invalid_text");
  CHECK(carol.sent(room, 1, "c1").at("seq") == 3);
  CHECK(bob.sent(room, 2, "b2").at("seq") == 4);
  CHECK(alice.sent(room, 2, "a2").at("seq") == 5);

  const auto h = alice.history(room);
  std::vector<std::uint64_t> seqs;
  for (const auto& m : h.at("messages").as_array())
    seqs.push_back(seq_of(m.as_object()));
  CHECK(seqs == std::vector<std::uint64_t>{1, 2, 3, 4, 5});
}

TEST_CASE("message: every member, the sender included, gets each message in seq order") {
  ConformanceServer server;
  const std::string names[] = {"alice", "bob", "carol"};
  std::vector<std::unique_ptr<WireClient>> users;
  for (int i = 0; i < 3; ++i)
    users.push_back(std::make_unique<WireClient>(server.port()));
  const std::string room = users[0]->create_room();
  std::map<std::string, std::string> name_of_key;
  for (int i = 0; i < 3; ++i) {
    users[i]->joined(room, names[i]);
    name_of_key[users[i]->pub_key()] = names[i];
  }
  for (auto& u : users)
    u->sync(); // the member_joined events are out of the way

  // Everyone writes five sends at once, without waiting for the replies.
  constexpr int per_user = 5;
  for (int n = 1; n <= per_user; ++n)
    for (int i = 0; i < 3; ++i)
      users[i]->write(
          users[i]->send_request(room, n, names[i] + " #" + std::to_string(n) + "\n\tok"));

  for (int i = 0; i < 3; ++i) {
    auto& u = *users[i];
    std::vector<json::object> replies;
    for (int n = 0; n < per_user; ++n)
      replies.push_back(u.reply());
    const auto got = messages(u, room, 3 * per_user);
    CAPTURE(names[i]);
    std::map<std::string, std::uint64_t> last_client_seq;
    for (std::size_t k = 0; k < got.size(); ++k) {
      const auto& m = got[k];
      CHECK(keys(m) == message_fields);
      CHECK(seq_of(m) == k + 1);
      CHECK(m.at("room_id") == str(room));
      const std::string key(m.at("pub_key").as_string());
      REQUIRE(name_of_key.count(key) == 1);
      CHECK(m.at("user_name") == str(name_of_key[key]));
      // Each sender's messages keep the order it sent them in.
      const auto cs = m.at("client_seq").to_number<std::uint64_t>();
      CHECK(cs == last_client_seq[key] + 1);
      last_client_seq[key] = cs;
      CHECK(m.at("text") == str(name_of_key[key] + " #" + std::to_string(cs) + "\n\tok"));
      CHECK(signature_verifies(m));
      CHECK(m.at("ts").is_number());
    }
    // The sender's own messages come with its user_id, and its replies in order.
    for (int n = 0; n < per_user; ++n) {
      CHECK(outcome(replies[n]) == "sent");
      CHECK(replies[n].at("client_seq") == n + 1);
    }
    for (const auto& m : got)
      if (is_string(m.at("pub_key"), u.pub_key())) CHECK(m.at("user_id") == str(u.user_id(room)));
  }
}

TEST_CASE("sent: room_id, seq, client_seq and ts, and sent.ts equals the message's ts") {
  ConformanceServer server;
  WireClient alice(server.port());
  WireClient bob(server.port());
  const std::string room = alice.create_room();
  alice.joined(room, "alice");
  bob.joined(room, "bob");

  const auto before = now_ms();
  const auto request = alice.send_request(room, 41, "hello");
  const auto sent = alice.call(request);
  const auto after = now_ms();
  CHECK(keys(sent) == std::set<std::string>{"type", "id", "room_id", "seq", "client_seq", "ts"});
  CHECK(outcome(sent) == "sent");
  CHECK(sent.at("id") == request.at("id"));
  CHECK(sent.at("room_id") == str(room));
  CHECK(sent.at("seq") == 1);
  CHECK(sent.at("client_seq") == 41);
  const auto ts = sent.at("ts").to_number<std::int64_t>();
  CHECK(ts >= before - 1000);
  CHECK(ts <= after + 1000);

  const auto own = alice.next_event("message", room);
  const auto at_bob = bob.next_event("message", room);
  CHECK(own.at("ts") == sent.at("ts"));
  CHECK(own == at_bob);
  CHECK(own == json::object{{"type", "message"},
                            {"room_id", room},
                            {"seq", 1},
                            {"user_id", alice.user_id(room)},
                            {"user_name", "alice"},
                            {"pub_key", alice.pub_key()},
                            {"client_seq", 41},
                            {"text", "hello"},
                            {"sig", request.at("sig")},
                            {"ts", ts}});
}

TEST_CASE("client_seq: above the last accepted from the key; joined.last_client_seq after rejoin") {
  ConformanceServer server;
  WireClient alice(server.port());
  const std::string room = alice.create_room();
  alice.joined(room, "alice");
  CHECK(outcome(alice.send(room, 0, "zero is never above")) == "stale_client_seq");
  alice.sent(room, 3, "gaps are fine");
  alice.sent(room, 7, "gaps are fine");
  CHECK(outcome(alice.send(room, 7, "equal")) == "stale_client_seq");
  CHECK(outcome(alice.send(room, 5, "lower")) == "stale_client_seq");

  // Another connection of the key shares the counter.
  WireClient tab(server.port(), alice.key());
  CHECK(tab.joined(room, "alice").at("last_client_seq") == 7);
  CHECK(outcome(tab.send(room, 7, "stale here too")) == "stale_client_seq");
  tab.sent(room, 8, "from the tab");
  CHECK(outcome(alice.send(room, 8, "the tab took 8")) == "stale_client_seq");

  // Leave (and disconnect) everywhere, come back: the room still knows the counter.
  REQUIRE(outcome(alice.leave(room)) == "left");
  REQUIRE(outcome(tab.leave(room)) == "left");
  WireClient later(server.port(), alice.key());
  const auto rejoined = later.joined(room, "alice");
  CHECK(rejoined.at("last_client_seq") == 8);
  CHECK(rejoined.at("last_seq") == 3);
  CHECK(outcome(later.send(room, 8, "replayed counter")) == "stale_client_seq");
  CHECK(later.sent(room, 9, "next").at("seq") == 4);

  // A counter is per room: the key starts afresh in another.
  const std::string other = later.create_room();
  CHECK(later.joined(other, "alice").at("last_client_seq") == 0);
  CHECK(later.sent(other, 1, "first here").at("seq") == 1);
}

} // namespace tinychat::test
