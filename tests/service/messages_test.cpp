// Messages, ordering and history (PROTOCOL.md sections 4, 5, 6).

#include "chat_fixture.hpp"

#include <tinychat/client.hpp>

#include <tuple>

using namespace tinychat::test;

namespace {

// A room with alice and bob present.
struct TwoUsers : ChatFixture {
  explicit TwoUsers(tinychat::ServiceConfig config = {}) : ChatFixture(config) {
    room = alice.create_room();
    alice.join(room, "alice");
    bob.join(room, "bob");
    alice.events("member_joined");
  }
  Peer& alice = connect();
  Peer& bob = connect();
  std::string room;
};

std::vector<std::int64_t> seqs_of(const json::array& messages) {
  std::vector<std::int64_t> out;
  for (const auto& m : messages)
    out.push_back(num_of(m.as_object(), "seq"));
  return out;
}

std::vector<std::int64_t> range(std::int64_t first, std::int64_t last) {
  std::vector<std::int64_t> out;
  for (auto i = first; i <= last; ++i)
    out.push_back(i);
  return out;
}

// A message frame as the library's own types read it, to re-verify its signature.
tinychat::ChatMessage as_message(const json::object& frame) {
  auto decoded = tinychat::Protocol::decode_server_frame(json::serialize(frame));
  REQUIRE(decoded);
  auto* event = std::get_if<tinychat::MessageEvent>(&*decoded);
  REQUIRE(event);
  return event->message;
}

} // namespace

TEST_CASE("send: the sender gets sent, every member gets the same message event") {
  TwoUsers chat;
  auto sent = chat.alice.call(
      {{"type", "send"},
       {"id", "m1"},
       {"room_id", chat.room},
       {"client_seq", 1},
       {"text", "hello"},
       {"sig", chat.alice.message_sig(chat.room, chat.alice.user_id(chat.room), 1, "hello")}});
  REQUIRE(type_of(sent) == "sent");
  CHECK(str_of(sent, "id") == "m1");
  CHECK(str_of(sent, "room_id") == chat.room);
  CHECK(num_of(sent, "seq") == 1);
  CHECK(num_of(sent, "client_seq") == 1);
  CHECK(num_of(sent, "ts") == chat.clock.now());
  CHECK(sent.size() == 6);

  auto mine = chat.alice.event("message");
  auto theirs = chat.bob.event("message");
  CHECK(mine == theirs);
  CHECK(mine.size() == 10);
  CHECK(str_of(mine, "room_id") == chat.room);
  CHECK(num_of(mine, "seq") == 1);
  CHECK(str_of(mine, "user_id") == chat.alice.user_id(chat.room));
  CHECK(str_of(mine, "user_name") == "alice");
  CHECK(str_of(mine, "pub_key") == chat.alice.pub_key_hex());
  CHECK(num_of(mine, "client_seq") == 1);
  CHECK(str_of(mine, "text") == "hello");
  CHECK(num_of(mine, "ts") == num_of(sent, "ts"));
  CHECK(tinychat::Client::verify(as_message(theirs)));
}

TEST_CASE("send: messages of several senders get seq 1, 2, 3, ... in acceptance order") {
  TwoUsers chat;
  auto& carol = chat.connect();
  carol.join(chat.room, "carol");
  Peer* senders[] = {&chat.alice, &chat.bob, &carol};
  for (int i = 0; i < 30; ++i) {
    auto reply = senders[i % 3]->send(chat.room, "message " + std::to_string(i));
    CHECK(num_of(reply, "seq") == i + 1);
  }
  for (Peer* p : senders) {
    auto events = p->events("message");
    REQUIRE(events.size() == 30);
    for (int i = 0; i < 30; ++i) {
      CHECK(num_of(events[i], "seq") == i + 1);
      CHECK(str_of(events[i], "text") == "message " + std::to_string(i));
    }
  }
}

TEST_CASE("send: text may hold newlines, tabs and any script, counted in code points") {
  TwoUsers chat;
  std::string text = "line 1\nline\t2 — 名前 🚀";
  CHECK(type_of(chat.alice.send(chat.room, text)) == "sent");
  CHECK(str_of(chat.bob.event("message"), "text") == text);
}

TEST_CASE("send: client_seq may skip values but never go back") {
  TwoUsers chat;
  CHECK(type_of(chat.alice.send_with_seq(chat.room, 5, "five")) == "sent");
  CHECK(code_of(chat.alice.send_with_seq(chat.room, 5, "five again")) == "stale_client_seq");
  CHECK(code_of(chat.alice.send_with_seq(chat.room, 3, "three")) == "stale_client_seq");
  CHECK(type_of(chat.alice.send_with_seq(chat.room, 9, "nine")) == "sent");
}

TEST_CASE("join: last_seq and last_client_seq let a returning user continue") {
  TwoUsers chat;
  chat.alice.send_with_seq(chat.room, 41, "one");
  chat.alice.send_with_seq(chat.room, 42, "two");
  chat.bob.send(chat.room, "three");
  chat.alice.close();

  auto& alice_again = chat.connect_as(chat.alice);
  auto joined = alice_again.join(chat.room, "alice");
  CHECK(num_of(joined, "last_seq") == 3);
  CHECK(num_of(joined, "last_client_seq") == 42);
  CHECK(code_of(alice_again.send_with_seq(chat.room, 42, "replay")) == "stale_client_seq");
  CHECK(type_of(alice_again.send_with_seq(chat.room, 43, "four")) == "sent");
}

TEST_CASE("send: one key's counter is shared by all its connections") {
  TwoUsers chat;
  auto& alice_laptop = chat.connect_as(chat.alice);
  alice_laptop.join(chat.room, "alice");
  CHECK(type_of(chat.alice.send_with_seq(chat.room, 1, "from phone")) == "sent");
  CHECK(code_of(alice_laptop.send_with_seq(chat.room, 1, "from laptop")) == "stale_client_seq");
  CHECK(type_of(alice_laptop.send_with_seq(chat.room, 2, "from laptop")) == "sent");
}

TEST_CASE("history: returns exactly the live message objects, oldest first") {
  TwoUsers chat;
  for (int i = 1; i <= 5; ++i)
    chat.alice.send(chat.room, "m" + std::to_string(i));
  auto live = chat.bob.events("message");
  REQUIRE(live.size() == 5);

  auto page = chat.bob.call({{"type", "history"}, {"room_id", chat.room}, {"id", 1}});
  REQUIRE(type_of(page) == "history");
  CHECK(page.size() == 8);
  CHECK(num_of(page, "first_seq") == 1);
  CHECK(num_of(page, "last_seq") == 5);
  CHECK(page.at("has_more") == false);
  CHECK(page.at("truncated") == false);
  const auto& messages = page.at("messages").as_array();
  REQUIRE(messages.size() == 5);
  for (std::size_t i = 0; i < 5; ++i) {
    auto expected = live[i];
    expected.erase("type");
    CHECK(messages[i].as_object() == expected);
  }
}

TEST_CASE("history: pages with after_seq and limit, has_more tells when to go on") {
  TwoUsers chat;
  for (int i = 1; i <= 7; ++i)
    chat.alice.send(chat.room, "m" + std::to_string(i));

  auto first = chat.bob.history(chat.room, 0, 3);
  CHECK(seqs_of(first.at("messages").as_array()) == range(1, 3));
  CHECK(first.at("has_more") == true);
  auto second = chat.bob.history(chat.room, 3, 3);
  CHECK(seqs_of(second.at("messages").as_array()) == range(4, 6));
  CHECK(second.at("has_more") == true);
  auto last = chat.bob.history(chat.room, 6, 3);
  CHECK(seqs_of(last.at("messages").as_array()) == range(7, 7));
  CHECK(last.at("has_more") == false);
  auto beyond = chat.bob.history(chat.room, 7, 3);
  CHECK(beyond.at("messages").as_array().empty());
  CHECK(beyond.at("has_more") == false);
  CHECK(num_of(beyond, "last_seq") == 7);
}

TEST_CASE("history: defaults to after_seq 0 and at most 100 messages; limit goes to 200") {
  tinychat::ServiceConfig config;
  config.rate_limit.per_second = 0; // more requests than one burst
  TwoUsers chat(config);
  for (int i = 1; i <= 210; ++i)
    chat.alice.send(chat.room, "m");
  auto page = chat.bob.call({{"type", "history"}, {"room_id", chat.room}});
  CHECK(seqs_of(page.at("messages").as_array()) == range(1, 100));
  CHECK(page.at("has_more") == true);
  auto big = chat.bob.history(chat.room, 0, 200);
  CHECK(big.at("messages").as_array().size() == 200);
  auto nulls = chat.bob.call(
      {{"type", "history"}, {"room_id", chat.room}, {"after_seq", nullptr}, {"limit", nullptr}});
  CHECK(nulls.at("messages").as_array().size() == 100);
}

TEST_CASE("history: the cap keeps the newest max_history messages and reports truncation") {
  tinychat::ServiceConfig config;
  config.limits.max_history = 20;
  TwoUsers chat(config);
  for (int i = 1; i <= 25; ++i)
    chat.alice.send(chat.room, "m" + std::to_string(i));

  auto all = chat.bob.history(chat.room, 0, 200);
  CHECK(seqs_of(all.at("messages").as_array()) == range(6, 25));
  CHECK(num_of(all, "first_seq") == 6);
  CHECK(num_of(all, "last_seq") == 25);
  CHECK(all.at("truncated") == true);

  CHECK(chat.bob.history(chat.room, 4, 200).at("truncated") == true);
  CHECK(chat.bob.history(chat.room, 5, 200).at("truncated") == false);
  CHECK(seqs_of(chat.bob.history(chat.room, 5, 200).at("messages").as_array()) == range(6, 25));
  CHECK(chat.bob.history(chat.room, 20, 200).at("truncated") == false);
}

TEST_CASE("history: an empty room has first_seq 0 and last_seq 0") {
  TwoUsers chat;
  auto page = chat.alice.history(chat.room);
  CHECK(page.at("messages").as_array().empty());
  CHECK(num_of(page, "first_seq") == 0);
  CHECK(num_of(page, "last_seq") == 0);
  CHECK(page.at("has_more") == false);
  CHECK(page.at("truncated") == false);
}

TEST_CASE("reconnect: a client that rejoins and asks history after its last seq misses nothing") {
  TwoUsers chat;
  chat.alice.send(chat.room, "before");
  auto seen = num_of(chat.bob.event("message"), "seq");
  chat.bob.close();
  for (int i = 0; i < 4; ++i)
    chat.alice.send(chat.room, "while away " + std::to_string(i));

  auto& bob = chat.connect_as(chat.bob);
  CHECK(num_of(bob.join(chat.room, "bob"), "last_seq") == 5);
  auto missed = bob.history(chat.room, static_cast<std::uint64_t>(seen));
  CHECK(seqs_of(missed.at("messages").as_array()) == range(2, 5));
  chat.alice.send(chat.room, "after");
  CHECK(num_of(bob.event("message"), "seq") == 6);
}

TEST_CASE("send: a replayed message is refused in its room, and under another room or user") {
  TwoUsers chat;
  auto other_room = chat.alice.create_room();
  chat.alice.join(other_room, "alice");
  chat.alice.send(chat.room, "pay bob 5");
  auto original = chat.bob.event("message");
  auto replay = [&](std::string_view room) {
    return chat.alice.call({{"type", "send"},
                            {"room_id", room},
                            {"client_seq", original.at("client_seq")},
                            {"text", original.at("text")},
                            {"sig", original.at("sig")}});
  };
  CHECK(code_of(replay(chat.room)) == "stale_client_seq");
  CHECK(code_of(replay(other_room)) == "invalid_signature");
  // Bob re-sending alice's signed text as his own.
  CHECK(code_of(chat.bob.call({{"type", "send"},
                               {"room_id", chat.room},
                               {"client_seq", 7},
                               {"text", original.at("text")},
                               {"sig", original.at("sig")}})) == "invalid_signature");
  auto page = chat.bob.history(chat.room);
  CHECK(page.at("messages").as_array().size() == 1);
}

TEST_CASE("replies to one connection's requests come in request order") {
  TwoUsers chat;
  auto& conn = chat.alice.connection();
  conn.send(R"({"type":"ping","id":1})");
  conn.send(R"({"type":"nope","id":2})");
  conn.send(R"({"type":"ping","id":3})");
  std::vector<std::int64_t> ids;
  while (auto frame = conn.take()) {
    auto o = json::parse(*frame).as_object();
    if (o.contains("id")) ids.push_back(num_of(o, "id"));
  }
  CHECK(ids == std::vector<std::int64_t>{1, 2, 3});
}

TEST_CASE("ping: pong carries only type and id") {
  ChatFixture chat;
  auto& alice = chat.connect();
  auto pong = alice.call({{"type", "ping"}, {"id", "p"}});
  CHECK(pong == json::object{{"type", "pong"}, {"id", "p"}});
  alice.connection().send(R"({"type":"ping"})");
  CHECK(json::parse(*alice.connection().take()) == json::parse(R"({"type":"pong"})"));
}

TEST_CASE("send: a refused join with another key does not change whose signature counts") {
  TwoUsers chat;
  // On alice's connection, a second join to the same room, signed with another key. It is
  // refused, and alice's membership stays bound to her own key.
  auto other = tinychat::KeyPair::generate();
  tinychat::Challenge challenge{};
  REQUIRE(tinychat::from_hex(chat.alice.hello().at("challenge").as_string(), challenge));
  auto join_sig =
      other.sign(tinychat::join_payload(challenge, chat.room, "mallory", other.public_key()));
  CHECK(code_of(chat.alice.call({{"type", "join"},
                                 {"room_id", chat.room},
                                 {"user_name", "mallory"},
                                 {"pub_key", tinychat::to_hex(other.public_key())},
                                 {"sig", tinychat::to_hex(join_sig)}})) == "already_joined");

  CHECK(type_of(chat.alice.send(chat.room, "still me")) == "sent");
  CHECK(chat.bob.event("message").at("text") == "still me");

  // The other key's user id, as any room would give it.
  auto& mallory = chat.connect(other);
  auto elsewhere = mallory.create_room();
  mallory.join(elsewhere, "mallory");
  auto uid = mallory.user_id(elsewhere);
  // Signed correctly for the other key, so only the key alice joined with can refuse it.
  auto forged = other.sign(tinychat::message_payload(chat.room, uid, 99, "not alice"));
  auto reply = chat.alice.call({{"type", "send"},
                                {"room_id", chat.room},
                                {"client_seq", 99},
                                {"text", "not alice"},
                                {"sig", tinychat::to_hex(forged)}});
  CHECK(code_of(reply) == "invalid_signature");
}

namespace {

// A MemoryStore that answers only when the test says so, in the order the test wants, as a
// store with several connections to its database may.
class HeldStore final : public tinychat::Store {
public:
  void create_room(const tinychat::RoomRecord& room, Completion done) override {
    inner_.create_room(room, std::move(done));
  }
  void save_user(const tinychat::UserRecord& user, Completion done) override {
    held_.push_back([this, user, done = std::move(done)] { inner_.save_user(user, done); });
  }
  void append_message(const tinychat::ChatMessage& message, std::uint32_t keep,
                      Completion done) override {
    held_.push_back([this, message, keep, done = std::move(done)] {
      inner_.append_message(message, keep, done);
    });
  }
  void delete_room(std::string_view room_id, Completion done) override {
    inner_.delete_room(room_id, std::move(done));
  }
  std::vector<tinychat::RoomSnapshot> load_rooms() override { return inner_.load_rooms(); }

  /// Takes the operations waiting, oldest first.
  std::vector<std::function<void()>> take() { return std::exchange(held_, {}); }

private:
  tinychat::MemoryStore inner_;
  std::vector<std::function<void()>> held_;
};

// alice present in a room over a HeldStore; bob connected, not joined.
struct HeldRoom {
  HeldRoom() { alice.join(room, "alice"); }
  void settle() {
    for (auto& work : store.take())
      transport.run(work);
  }
  auto parts() { return std::tie(store, transport, alice, bob, room); }

  HeldStore store;
  tinychat::ManualClock clock;
  tinychat::InProcessTransport transport{store, clock};
  Peer alice{transport, tinychat::KeyPair::generate(), [this] { settle(); }};
  Peer bob{transport, tinychat::KeyPair::generate(), [this] { settle(); }};
  std::string room = alice.create_room();
};

std::string join_text(const Peer& peer, std::string_view room, std::string_view name) {
  return json::serialize(json::object{{"type", "join"},
                                      {"id", "j"},
                                      {"room_id", room},
                                      {"user_name", name},
                                      {"pub_key", peer.pub_key_hex()},
                                      {"sig", peer.join_sig(room, name)}});
}

} // namespace

TEST_CASE("join: a message stored while the join is being stored is in last_seq, not an event") {
  HeldRoom chat;
  auto [store, transport, alice, bob, room] = chat.parts();

  bob.connection().send(join_text(bob, room, "bob"));
  const auto uid = alice.user_id(room);
  alice.connection().send(
      json::serialize(json::object{{"type", "send"},
                                   {"id", "s"},
                                   {"room_id", room},
                                   {"client_seq", 1},
                                   {"text", "first"},
                                   {"sig", alice.message_sig(room, uid, 1, "first")}}));
  // The message is confirmed before the join.
  auto held = store.take();
  REQUIRE(held.size() == 2u);
  transport.run(held[1]);
  transport.run(held[0]);

  auto& inbox = bob.connection().inbox();
  REQUIRE(inbox.size() == 1u);
  const auto joined = json::parse(inbox.front()).as_object();
  inbox.pop_front();
  CHECK(type_of(joined) == "joined");
  CHECK(num_of(joined, "last_seq") == 1);
  CHECK(alice.event("message").at("seq") == 1);
  CHECK(alice.event("member_joined").at("user_name") == "bob");

  CHECK(type_of(alice.send_with_seq(room, 2, "second")) == "sent");
  CHECK(bob.event("message").at("seq") == 2);
  CHECK(bob.queued() == 0u);
}

TEST_CASE("join: a join left before the store confirmed it is never announced") {
  HeldRoom chat;
  auto [store, transport, alice, bob, room] = chat.parts();

  bob.connection().send(join_text(bob, room, "bob"));
  bob.connection().send(R"({"type":"leave","id":"l","room_id":")" + room + R"("})");
  chat.settle();

  REQUIRE(bob.queued() == 2u);
  CHECK(type_of(json::parse(bob.connection().inbox()[0]).as_object()) == "joined");
  CHECK(type_of(json::parse(bob.connection().inbox()[1]).as_object()) == "left");
  CHECK(alice.queued() == 0u); // neither member_joined nor member_left
  // The name is free again.
  Peer carol(transport, tinychat::KeyPair::generate(), [&] { chat.settle(); });
  CHECK(type_of(carol.join(room, "bob")) == "joined");
  CHECK(alice.event("member_joined").at("user_name") == "bob");
}

TEST_CASE("send: a message its Ingress left unchecked, being over the rate, is checked by "
          "the service") {
  TwoUsers chat; // the service's own rate limit is far away
  const std::string user_id = chat.alice.user_id(chat.room);
  const std::string join =
      json::serialize(json::object{{"type", "join"},
                                   {"room_id", chat.room},
                                   {"user_name", "alice"},
                                   {"pub_key", chat.alice.pub_key_hex()},
                                   {"sig", chat.alice.join_sig(chat.room, "alice")}});
  const auto send = [&](std::uint64_t seq, const std::string& sig) {
    return json::serialize(json::object{{"type", "send"},
                                        {"id", seq},
                                        {"room_id", chat.room},
                                        {"client_seq", seq},
                                        {"text", "hi"},
                                        {"sig", sig}});
  };
  const auto reply_to = [&](tinychat::PreparedRequest prepared) {
    chat.transport->run([&] {
      chat.transport->service().receive(chat.alice.connection().id(), std::move(prepared));
    });
    chat.settle();
    auto& inbox = chat.alice.connection().inbox();
    for (auto it = inbox.begin(); it != inbox.end(); ++it)
      if (auto frame = json::parse(*it).as_object(); frame.contains("id")) {
        inbox.erase(it);
        return frame;
      }
    FAIL("no reply");
    return json::object{};
  };

  tinychat::Ingress unlimited(tinychat::Limits{});
  unlimited.prepare(join);
  CHECK(unlimited.prepare(send(1, chat.alice.message_sig(chat.room, user_id, 1, "hi")))
            .signature.has_value());

  tinychat::Ingress limited(tinychat::Limits{}, tinychat::RateLimit{1, 1, 0});
  limited.prepare(join); // takes the one token
  auto good = limited.prepare(send(1, chat.alice.message_sig(chat.room, user_id, 1, "hi")));
  auto forged = limited.prepare(send(2, chat.alice.message_sig(chat.room, user_id, 1, "hi")));
  REQUIRE_FALSE(good.signature.has_value());
  REQUIRE_FALSE(forged.signature.has_value());
  CHECK(type_of(reply_to(std::move(good))) == "sent");
  CHECK(code_of(reply_to(std::move(forged))) == "invalid_signature");
}
