// PROTOCOL.md sections 4 and 6 over real sockets: history pages, and resuming after a
// reconnect.

#include "conformance_server.hpp"
#include "wire_client.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

namespace tinychat::test {
namespace {

const std::set<std::string> history_fields{"type",      "id",       "room_id",  "messages",
                                           "first_seq", "last_seq", "has_more", "truncated"};

std::vector<std::uint64_t> seqs(const json::object& page) {
  std::vector<std::uint64_t> out;
  for (const auto& m : page.at("messages").as_array())
    out.push_back(m.at("seq").to_number<std::uint64_t>());
  return out;
}

// A live event as history carries it: without `type`.
json::object without_type(json::object event) {
  event.erase("type");
  return event;
}

// `count` messages sent by `who` with client_seq from `first`, written at once; the replies
// must all be `sent`.
void send_many(WireClient& who, const std::string& room, std::uint64_t first, int count) {
  for (int i = 0; i < count; ++i)
    who.write(who.send_request(room, first + i, "message " + std::to_string(first + i)));
  for (int i = 0; i < count; ++i)
    REQUIRE(outcome(who.reply()) == "sent");
}

} // namespace

TEST_CASE("history: the very message objects the live events carried") {
  ConformanceServer server;
  WireClient alice(server.port());
  WireClient bob(server.port());
  const std::string room = alice.create_room();
  alice.joined(room, "alice");
  bob.joined(room, "bob");
  alice.sent(room, 1, "plain");
  bob.sent(room, 4, "line one\nline two\tand a tab");
  alice.sent(room, 2, "\xC3\xA9t\xC3\xA9 \xF0\x9F\x8C\x9E \"quoted\" \\ back");
  bob.sent(room, 5, "\xE2\x80\xAE right-to-left override is no control character");

  std::vector<json::object> live;
  for (int i = 0; i < 4; ++i)
    live.push_back(without_type(bob.next_event("message", room)));

  for (WireClient* who : {&alice, &bob}) {
    const auto page = who->history(room);
    CHECK(keys(page) == history_fields);
    const auto& messages = page.at("messages").as_array();
    REQUIRE(messages.size() == live.size());
    for (std::size_t i = 0; i < live.size(); ++i)
      CHECK(messages[i].as_object() == live[i]);
  }
  // Also for a member that joined after the messages were sent.
  WireClient carol(server.port());
  carol.joined(room, "carol");
  const auto page = carol.history(room, 1, 2);
  REQUIRE(page.at("messages").as_array().size() == 2);
  CHECK(page.at("messages").as_array()[0].as_object() == live[1]);
  CHECK(page.at("messages").as_array()[1].as_object() == live[2]);
}

TEST_CASE("history: after_seq, limit, has_more, first_seq and last_seq") {
  ConformanceServer server;
  WireClient alice(server.port());
  const std::string room = alice.create_room();
  alice.joined(room, "alice");

  const auto empty = alice.history(room);
  CHECK(empty == json::object{{"type", "history"},
                              {"id", empty.at("id")},
                              {"room_id", room},
                              {"messages", json::array{}},
                              {"first_seq", 0},
                              {"last_seq", 0},
                              {"has_more", false},
                              {"truncated", false}});

  send_many(alice, room, 1, 7);
  auto page = alice.history(room, 0, 3);
  CHECK(keys(page) == history_fields);
  CHECK(page.at("room_id") == str(room));
  CHECK(seqs(page) == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(page.at("first_seq") == 1);
  CHECK(page.at("last_seq") == 7);
  CHECK(page.at("has_more") == true);
  CHECK(page.at("truncated") == false);

  page = alice.history(room, 3, 3);
  CHECK(seqs(page) == std::vector<std::uint64_t>{4, 5, 6});
  CHECK(page.at("has_more") == true);
  page = alice.history(room, 6, 3);
  CHECK(seqs(page) == std::vector<std::uint64_t>{7});
  CHECK(page.at("has_more") == false);
  page = alice.history(room, 4, 3);
  CHECK(seqs(page) == std::vector<std::uint64_t>{5, 6, 7});
  CHECK(page.at("has_more") == false);
  page = alice.history(room, 7);
  CHECK(seqs(page).empty());
  CHECK(page.at("has_more") == false);
  CHECK(page.at("first_seq") == 1);
  CHECK(page.at("last_seq") == 7);
  page = alice.history(room, 1000);
  CHECK(seqs(page).empty());
  CHECK(page.at("has_more") == false);
  page = alice.history(room, 2, 1);
  CHECK(seqs(page) == std::vector<std::uint64_t>{3});
  CHECK(page.at("has_more") == true);
}

TEST_CASE("history: after_seq 0 and limit 100 by default, null the same as absent, 200 at most") {
  ConformanceServer server;
  WireClient alice(server.port());
  const std::string room = alice.create_room();
  alice.joined(room, "alice");
  send_many(alice, room, 1, 205);

  auto page = alice.history(room);
  REQUIRE(seqs(page).size() == 100);
  CHECK(seqs(page).front() == 1);
  CHECK(seqs(page).back() == 100);
  CHECK(page.at("has_more") == true);
  CHECK(page.at("last_seq") == 205);

  const auto with_nulls = alice.call({{"type", "history"},
                                      {"id", 5},
                                      {"room_id", room},
                                      {"after_seq", nullptr},
                                      {"limit", nullptr}});
  CHECK(with_nulls.at("messages") == page.at("messages"));

  page = alice.history(room, 0, 200);
  REQUIRE(seqs(page).size() == 200);
  CHECK(seqs(page).back() == 200);
  CHECK(page.at("has_more") == true);
  page = alice.history(room, 200, 200);
  CHECK(seqs(page) == std::vector<std::uint64_t>{201, 202, 203, 204, 205});
  CHECK(page.at("has_more") == false);
}

TEST_CASE("history: truncated when messages after after_seq were dropped by max_history") {
  ConformanceServer server({"--max-history", "3"});
  WireClient alice(server.port());
  const std::string room = alice.create_room();
  alice.joined(room, "alice");
  send_many(alice, room, 1, 5);

  auto page = alice.history(room);
  CHECK(seqs(page) == std::vector<std::uint64_t>{3, 4, 5});
  CHECK(page.at("first_seq") == 3);
  CHECK(page.at("last_seq") == 5);
  CHECK(page.at("truncated") == true);
  CHECK(page.at("has_more") == false);

  page = alice.history(room, 1);
  CHECK(seqs(page) == std::vector<std::uint64_t>{3, 4, 5});
  CHECK(page.at("truncated") == true);
  page = alice.history(room, 2);
  CHECK(seqs(page) == std::vector<std::uint64_t>{3, 4, 5});
  CHECK(page.at("truncated") == false);
  page = alice.history(room, 2, 1);
  CHECK(seqs(page) == std::vector<std::uint64_t>{3});
  CHECK(page.at("truncated") == false);
  CHECK(page.at("has_more") == true);
  page = alice.history(room, 4);
  CHECK(seqs(page) == std::vector<std::uint64_t>{5});
  CHECK(page.at("truncated") == false);

  WireClient bob(server.port());
  const auto joined = bob.joined(room, "bob");
  CHECK(joined.at("last_seq") == 5);
}

TEST_CASE("resume: a client that reconnects asks history after its last seq and misses nothing") {
  ConformanceServer server;
  auto alice = std::make_unique<WireClient>(server.port());
  WireClient bob(server.port());
  WireClient carol(server.port());
  const std::string room = alice->create_room();
  alice->joined(room, "alice");
  bob.joined(room, "bob");
  carol.joined(room, "carol");
  alice->sent(room, 1, "before the break");
  bob.sent(room, 1, "still here");
  std::uint64_t last_seen = 0;
  for (int i = 0; i < 2; ++i)
    last_seen = alice->next_event("message", room).at("seq").to_number<std::uint64_t>();
  REQUIRE(last_seen == 2);
  const KeyPair key = alice->key();
  alice.reset(); // the connection drops

  bob.next_event("member_left", room);
  bob.sent(room, 2, "while alice is away");
  carol.sent(room, 1, "me too");
  bob.sent(room, 3, "and again");
  std::vector<json::object> live_at_bob;
  for (int i = 0; i < 5; ++i)
    live_at_bob.push_back(without_type(bob.next_event("message", room)));

  WireClient back(server.port(), key);
  const auto joined = back.joined(room, "alice");
  CHECK(joined.at("last_seq") == 5);
  CHECK(joined.at("last_client_seq") == 1);
  const auto page = back.history(room, last_seen);
  CHECK(seqs(page) == std::vector<std::uint64_t>{3, 4, 5});
  CHECK(page.at("has_more") == false);
  CHECK(page.at("truncated") == false);
  const auto& missed = page.at("messages").as_array();
  REQUIRE(missed.size() == 3);
  for (std::size_t i = 0; i < 3; ++i)
    CHECK(missed[i].as_object() == live_at_bob[i + 2]);

  // And live from there on: the next message is seq 6.
  carol.sent(room, 2, "welcome back");
  CHECK(back.next_event("message", room).at("seq") == 6);
}

} // namespace tinychat::test
