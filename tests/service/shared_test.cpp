// Several nodes sharing their rooms through one SharedStore: the node logic (ordering by seq
// and presence version, holding early events, re-reading after lost ones), on FakeSharedStore.

#include "chat_fixture.hpp"
#include "fake_shared_store.hpp"

#include <sodium.h>

#include <doctest/doctest.h>

#include <set>

using namespace tinychat;
using namespace tinychat::test;

namespace {

/// Nodes on one FakeSharedStore, each an InProcessTransport, all on one manual clock.
struct Cluster {
  explicit Cluster(std::size_t n = 2, ServiceConfig config = roomy()) {
    for (std::size_t i = 0; i < n; ++i) {
      auto& shared = store.add_node();
      auto& t =
          *transports.emplace_back(std::make_unique<InProcessTransport>(shared, clock, config));
      shared.set_runner([&t](const std::function<void()>& work) { t.run(work); });
      nodes.push_back(&shared);
    }
  }
  Peer& connect(std::size_t node, std::optional<KeyPair> key = std::nullopt) {
    peers.push_back(std::make_unique<Peer>(*transports[node], key ? *key : KeyPair::generate(),
                                           [this] { store.settle(); }));
    return *peers.back();
  }
  FakeSharedStore::Node& node(std::size_t i) { return *nodes[i]; }
  /// One tick of every node.
  void tick() {
    for (auto& t : transports)
      t->tick();
    store.settle();
  }
  const FakeSharedStore::Room& room(std::string_view id) {
    auto* r = store.room(id);
    REQUIRE(r);
    return *r;
  }

  ManualClock clock;
  FakeSharedStore store{clock};
  std::vector<FakeSharedStore::Node*> nodes;
  std::vector<std::unique_ptr<InProcessTransport>> transports;
  std::vector<std::unique_ptr<Peer>> peers;
};

json::object parse(std::string_view text) { return json::parse(text).as_object(); }

/// Every frame waiting for `p`, taken, oldest first.
std::vector<json::object> take_all(Peer& p) {
  std::vector<json::object> out;
  while (auto f = p.connection().take())
    out.push_back(parse(*f));
  return out;
}

std::vector<std::uint64_t> seqs(const std::vector<json::object>& messages) {
  std::vector<std::uint64_t> out;
  for (const auto& m : messages)
    out.push_back(static_cast<std::uint64_t>(num_of(m, "seq")));
  return out;
}

std::vector<std::uint64_t> upto(std::uint64_t n) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t i = 1; i <= n; ++i)
    out.push_back(i);
  return out;
}

std::set<std::string> names_of(const json::object& joined) {
  std::set<std::string> out;
  for (const auto& m : joined.at("members").as_array())
    out.insert(str_of(m.as_object(), "user_name"));
  return out;
}

// The id the server derives from a key (PROTOCOL.md: "u" + base32 of a 15-byte BLAKE2b hash),
// for signing a send before the joined reply told it.
std::string user_id_of(const KeyPair& key) {
  std::array<std::uint8_t, 15> digest{};
  const PublicKey pk = key.public_key();
  crypto_generichash(digest.data(), digest.size(), pk.data(), pk.size(), nullptr, 0);
  return "u" + to_base32(digest);
}

std::string join_frame(const Peer& p, std::string_view room, std::string_view name, int id) {
  return json::serialize(json::object{{"id", id},
                                      {"type", "join"},
                                      {"room_id", room},
                                      {"user_name", name},
                                      {"pub_key", p.pub_key_hex()},
                                      {"sig", p.join_sig(room, name)}});
}

std::string send_frame(const Peer& p, std::string_view room, std::string_view user_id,
                       std::uint64_t client_seq, std::string_view text, int id) {
  return json::serialize(json::object{{"id", id},
                                      {"type", "send"},
                                      {"room_id", room},
                                      {"client_seq", client_seq},
                                      {"text", text},
                                      {"sig", p.message_sig(room, user_id, client_seq, text)}});
}

/// The history's messages, as `message` events carry them (without `type`).
json::array history_of(Peer& p, std::string_view room) {
  auto h = p.history(room);
  REQUIRE(type_of(h) == "history");
  return h.at("messages").as_array();
}

json::array without_type(const std::vector<json::object>& events) {
  json::array out;
  for (auto e : events) {
    e.erase("type");
    out.push_back(std::move(e));
  }
  return out;
}

} // namespace

TEST_CASE("two nodes, interleaved senders: every peer gets seq 1..N once, history agrees") {
  Cluster c;
  Peer& alice = c.connect(0);
  Peer& bob = c.connect(1);
  Peer& carol = c.connect(0);
  Peer& dave = c.connect(1);
  const std::string room = alice.create_room();
  std::vector<Peer*> all{&alice, &bob, &carol, &dave};
  const char* names[] = {"alice", "bob", "carol", "dave"};
  for (std::size_t i = 0; i < all.size(); ++i)
    REQUIRE(type_of(all[i]->join(room, names[i])) == "joined");
  for (Peer* p : all)
    p->events("member_joined");

  // Each round, all four send before the store runs anything: their appends race.
  const int rounds = 3;
  for (int r = 1; r <= rounds; ++r) {
    for (std::size_t i = 0; i < all.size(); ++i)
      all[i]->connection().send(send_frame(*all[i], room, all[i]->user_id(room),
                                           static_cast<std::uint64_t>(r),
                                           std::string(names[i]) + " " + std::to_string(r), r));
    c.store.settle();
  }
  const std::uint64_t n = rounds * all.size();
  std::vector<json::object> first;
  for (Peer* p : all) {
    CAPTURE(p->connection().id());
    auto sent = p->events("sent");
    CHECK(sent.size() == rounds);
    auto messages = p->events("message");
    CHECK(seqs(messages) == upto(n));
    if (first.empty())
      first = messages;
    else
      CHECK(without_type(messages) == without_type(first));
  }
  CHECK(c.room(room).seq == n);
  CHECK(history_of(alice, room) == without_type(first));
  CHECK(history_of(bob, room) == without_type(first));
}

TEST_CASE("a lost message publication: later ones are held until the re-read fills the hole") {
  Cluster c;
  Peer& alice = c.connect(0);
  Peer& bob = c.connect(1);
  Peer& carol = c.connect(1);
  const std::string room = alice.create_room();
  REQUIRE(type_of(alice.join(room, "alice")) == "joined");
  REQUIRE(type_of(bob.join(room, "bob")) == "joined");
  REQUIRE(type_of(carol.join(room, "carol")) == "joined");
  for (Peer* p : {&alice, &bob, &carol})
    p->events("member_joined");

  c.node(1).hold(true);
  for (int i = 1; i <= 3; ++i)
    REQUIRE(type_of(alice.send(room, "m" + std::to_string(i))) == "sent");
  REQUIRE(c.node(1).drop_message(room, 2));
  c.node(1).hold(false);
  c.store.settle();
  for (Peer* p : {&bob, &carol})
    CHECK(seqs(p->events("message")) == std::vector<std::uint64_t>{1});

  c.tick(); // message 3 has waited one tick: still held
  for (Peer* p : {&bob, &carol})
    CHECK(p->queued() == 0);

  c.tick(); // two ticks: the node reads the room again
  for (Peer* p : {&bob, &carol}) {
    auto messages = p->events("message");
    CHECK(seqs(messages) == std::vector<std::uint64_t>{2, 3});
    REQUIRE(messages.size() == 2);
    CHECK(str_of(messages[0], "text") == "m2");
    CHECK(str_of(messages[1], "text") == "m3");
  }
  REQUIRE(type_of(alice.send(room, "m4")) == "sent");
  c.tick();
  c.tick();
  for (Peer* p : {&alice, &bob, &carol})
    CHECK(seqs(p->events("message")) == (p == &alice ? upto(4) : std::vector<std::uint64_t>{4}));
  CHECK(history_of(bob, room) == history_of(alice, room));
}

TEST_CASE("presence crosses nodes: member lists, member_joined and member_left") {
  Cluster c;
  Peer& alice = c.connect(0);
  Peer& bob = c.connect(1);
  Peer& carol = c.connect(0);
  const std::string room = alice.create_room();
  REQUIRE(type_of(alice.join(room, "alice")) == "joined");

  auto joined = bob.join(room, "bob");
  REQUIRE(type_of(joined) == "joined");
  CHECK(names_of(joined) == std::set<std::string>{"alice", "bob"});
  auto event = alice.event("member_joined");
  CHECK(str_of(event, "user_name") == "bob");
  CHECK(str_of(event, "pub_key") == bob.pub_key_hex());

  joined = carol.join(room, "carol");
  CHECK(names_of(joined) == std::set<std::string>{"alice", "bob", "carol"});
  CHECK(str_of(bob.event("member_joined"), "user_name") == "carol");

  const std::string bob_id = bob.user_id(room);
  bob.close();
  for (Peer* p : {&alice, &carol})
    CHECK(str_of(p->event("member_left"), "user_id") == bob_id);
  CHECK(c.room(room).present.size() == 2);
}

TEST_CASE("room_full and name_taken are decided across nodes") {
  ServiceConfig config = roomy();
  config.limits.max_room_members = 2;
  Cluster c(2, config);
  Peer& bob = c.connect(1);
  const std::string room = bob.create_room();
  REQUIRE(type_of(bob.join(room, "bob")) == "joined");

  c.node(1).hold(true); // node 2 does not yet know alice joined on node 1
  Peer& alice = c.connect(0);
  REQUIRE(type_of(alice.join(room, "alice")) == "joined");
  Peer& impostor = c.connect(1);
  CHECK(code_of(impostor.join(room, "alice")) == "room_full");
  c.node(1).hold(false);
  c.store.settle();

  Peer& second_tab = c.connect(1, alice.key()); // a present key is not refused when full
  auto joined = second_tab.join(room, "whatever");
  REQUIRE(type_of(joined) == "joined");
  CHECK(str_of(joined, "user_name") == "alice");

  alice.close(); // alice is still present through her second tab
  Peer& dave = c.connect(0);
  CHECK(code_of(dave.join(room, "dave")) == "room_full");
  bob.close();
  CHECK(code_of(dave.join(room, "alice")) == "name_taken");
  CHECK(type_of(dave.join(room, "dave")) == "joined");
  CHECK(c.room(room).present.size() == 2);
}

TEST_CASE("a lost member_joined publication is made good by the re-read") {
  Cluster c;
  Peer& alice = c.connect(0);
  const std::string room = alice.create_room();
  REQUIRE(type_of(alice.join(room, "alice")) == "joined");

  c.node(0).hold(true);
  Peer& bob = c.connect(1);
  Peer& carol = c.connect(1);
  REQUIRE(type_of(bob.join(room, "bob")) == "joined");
  REQUIRE(type_of(carol.join(room, "carol")) == "joined");
  REQUIRE(c.node(0).drop_presence(room, 2)); // bob's
  c.node(0).hold(false);
  c.store.settle();
  CHECK(alice.queued() == 0); // carol's (version 3) waits for version 2
  c.tick();
  CHECK(alice.queued() == 0);
  c.tick();
  std::set<std::string> joined;
  for (const auto& e : alice.events("member_joined"))
    joined.insert(str_of(e, "user_name"));
  CHECK(joined == std::set<std::string>{"bob", "carol"});
  CHECK(alice.queued() == 0);

  bob.close(); // version 4 follows on at once
  CHECK(str_of(alice.event("member_left"), "user_id") == bob.user_id(room));
}

TEST_CASE("joined waits until the node's view includes the join; later requests follow it") {
  Cluster c;
  Peer& alice = c.connect(0);
  const std::string room = alice.create_room();
  REQUIRE(type_of(alice.join(room, "alice")) == "joined");

  c.node(0).hold(true);
  Peer& carol = c.connect(0);
  carol.connection().send(join_frame(carol, room, "carol", 1));
  carol.connection().send(send_frame(carol, room, user_id_of(carol.key()), 1, "hi", 2));
  carol.connection().send(R"({"id":3,"type":"history","room_id":")" + room + R"("})");
  c.store.settle();
  CHECK(c.room(room).present.size() == 2); // the store took the join
  CHECK(carol.queued() == 0);              // the node's view does not have it yet
  CHECK(c.room(room).seq == 0);            // and the send waits behind it

  c.node(0).hold(false);
  c.store.settle();
  auto frames = take_all(carol);
  std::vector<std::string> replies;
  for (const auto& f : frames)
    if (f.contains("id")) replies.push_back(type_of(f));
  CHECK(replies == std::vector<std::string>{"joined", "sent", "history"});
  REQUIRE(!frames.empty());
  CHECK(type_of(frames.front()) == "joined");
  CHECK(names_of(frames.front()) == std::set<std::string>{"alice", "carol"});
  CHECK(str_of(alice.event("member_joined"), "user_name") == "carol");
  CHECK(seqs(alice.events("message")) == std::vector<std::uint64_t>{1});
}

TEST_CASE("a join whose own publication is lost is answered after the re-read") {
  Cluster c;
  Peer& alice = c.connect(0);
  const std::string room = alice.create_room();
  REQUIRE(type_of(alice.join(room, "alice")) == "joined");

  c.node(0).hold(true);
  Peer& carol = c.connect(0);
  carol.connection().send(join_frame(carol, room, "carol", 1));
  c.store.settle();
  REQUIRE(c.node(0).drop_presence(room, 2));
  c.node(0).hold(false);
  c.tick();
  CHECK(carol.queued() == 0);
  c.tick();
  auto frames = take_all(carol);
  REQUIRE(frames.size() == 1);
  CHECK(type_of(frames[0]) == "joined");
  CHECK(names_of(frames[0]) == std::set<std::string>{"alice", "carol"});
  CHECK(str_of(alice.event("member_joined"), "user_name") == "carol");
}

TEST_CASE("stale_client_seq across nodes for one key joined on both") {
  Cluster c;
  Peer& a1 = c.connect(0);
  Peer& a2 = c.connect(1, a1.key());
  const std::string room = a1.create_room();
  REQUIRE(type_of(a1.join(room, "alice")) == "joined");
  REQUIRE(type_of(a2.join(room, "alice")) == "joined");

  c.node(1).hold(true); // node 2 has not seen client_seq 1 yet: the store refuses
  REQUIRE(type_of(a1.send_with_seq(room, 1, "one")) == "sent");
  auto refused = a2.send_with_seq(room, 1, "again");
  CHECK(code_of(refused) == "stale_client_seq");
  CHECK(str_of(refused, "message").find("above 1") != std::string::npos);
  CHECK(c.room(room).seq == 1);
  c.node(1).hold(false);
  c.store.settle();
  CHECK(seqs(a2.events("message")) == std::vector<std::uint64_t>{1});

  CHECK(code_of(a2.send_with_seq(room, 1, "again")) == "stale_client_seq");
  auto sent = a2.send_with_seq(room, 2, "two");
  REQUIRE(type_of(sent) == "sent");
  CHECK(num_of(sent, "seq") == 2);
  CHECK(code_of(a1.send_with_seq(room, 2, "two again")) == "stale_client_seq");
  CHECK(seqs(a1.events("message")) == upto(2));
  CHECK(c.room(room).last_client_seq.at(a1.key().public_key()) == 2);
}

TEST_CASE("resync: a node reads its rooms again and its peers get what they missed") {
  Cluster c;
  Peer& alice = c.connect(0);
  Peer& bob = c.connect(1);
  const std::string room = alice.create_room();
  REQUIRE(type_of(alice.join(room, "alice")) == "joined");
  REQUIRE(type_of(bob.join(room, "bob")) == "joined");
  alice.events("member_joined");

  c.node(1).hold(true);
  REQUIRE(type_of(alice.send(room, "one")) == "sent");
  REQUIRE(type_of(alice.send(room, "two")) == "sent");
  Peer& carol = c.connect(0);
  REQUIRE(type_of(carol.join(room, "carol")) == "joined");
  c.node(1).drop_all(); // lost while the feed was down
  c.node(1).hold(false);
  c.store.settle();
  CHECK(bob.queued() == 0); // nothing tells the node it missed anything

  c.node(1).resync();
  c.store.settle();
  CHECK(seqs(bob.events("message")) == upto(2));
  CHECK(str_of(bob.event("member_joined"), "user_name") == "carol");
  CHECK(bob.queued() == 0);
}

TEST_CASE("evicted: every joined connection of the node is closed with 1012") {
  Cluster c;
  Peer& alice = c.connect(0);
  Peer& bob = c.connect(1);
  Peer& carol = c.connect(1);
  Peer& idle = c.connect(1); // joined nothing
  const std::string room = alice.create_room();
  REQUIRE(type_of(alice.join(room, "alice")) == "joined");
  REQUIRE(type_of(bob.join(room, "bob")) == "joined");
  REQUIRE(type_of(carol.join(room, "carol")) == "joined");
  alice.events("member_joined");

  c.store.evict(c.node(1));
  c.store.settle();
  for (Peer* p : {&bob, &carol}) {
    REQUIRE(!p->connection().is_open());
    CHECK(p->connection().close_info()->code == 1012);
  }
  CHECK(idle.connection().is_open());
  CHECK(alice.events("member_left").size() == 2);
  const auto& r = c.room(room);
  CHECK(r.present.size() == 1);
  CHECK(r.connections.size() == 1);
  CHECK(!c.node(1).watches(room));

  auto joined = idle.join(room, "bob"); // the node serves the room again
  REQUIRE(type_of(joined) == "joined");
  CHECK(names_of(joined) == std::set<std::string>{"alice", "bob"});
}

TEST_CASE("store unreachable: join and send answer internal; nothing is stored or delivered") {
  Cluster c;
  Peer& alice = c.connect(0);
  Peer& bob = c.connect(1);
  const std::string room = alice.create_room();
  REQUIRE(type_of(alice.join(room, "alice")) == "joined");
  REQUIRE(type_of(bob.join(room, "bob")) == "joined");
  alice.events("member_joined");

  c.store.set_failing(true);
  CHECK(code_of(alice.send(room, "lost")) == "internal");
  Peer& carol = c.connect(1);
  CHECK(code_of(carol.join(room, "carol")) == "internal");
  CHECK(code_of(carol.call({{"type", "create_room"}})) == "internal");
  c.store.set_failing(false);
  c.store.settle();

  const auto& r = c.room(room);
  CHECK(r.seq == 0);
  CHECK(r.messages.empty());
  CHECK(r.present.size() == 2);
  CHECK(r.connections.size() == 2);
  for (Peer* p : {&alice, &bob})
    CHECK(p->queued() == 0);

  auto sent = alice.send_with_seq(room, 1, "found");
  REQUIRE(type_of(sent) == "sent");
  CHECK(num_of(sent, "seq") == 1);
  CHECK(seqs(bob.events("message")) == upto(1));
}

TEST_CASE("a join the store took but could not answer is taken back") {
  Cluster c;
  Peer& alice = c.connect(0);
  Peer& carol = c.connect(1);
  const std::string room = alice.create_room();
  REQUIRE(type_of(alice.join(room, "alice")) == "joined");

  c.store.set_failing(true, true);
  CHECK(code_of(carol.join(room, "carol")) == "internal");
  CHECK(c.room(room).present.size() == 2); // taken; the leave waits for the store
  c.store.set_failing(false);
  c.store.settle();
  CHECK(c.room(room).present.size() == 1);
  CHECK(c.room(room).connections.size() == 1);
  CHECK(str_of(alice.event("member_joined"), "user_name") == "carol");
  CHECK(alice.events("member_left").size() == 1);

  auto joined = carol.join(room, "carol");
  REQUIRE(type_of(joined) == "joined");
  CHECK(names_of(joined) == std::set<std::string>{"alice", "carol"});
}

TEST_CASE("a connection that closes while its join is in flight leaves no member behind") {
  Cluster c;
  Peer& alice = c.connect(0);
  const std::string room = alice.create_room();
  REQUIRE(type_of(alice.join(room, "alice")) == "joined");

  SUBCASE("before the store ran the join") {
    Peer& carol = c.connect(1);
    carol.connection().send(join_frame(carol, room, "carol", 1));
    carol.connection().close();
    c.store.settle();
  }
  SUBCASE("while the join waits for the node's view") {
    c.node(0).hold(true);
    Peer& carol = c.connect(0);
    carol.connection().send(join_frame(carol, room, "carol", 1));
    c.store.settle();
    REQUIRE(c.room(room).present.size() == 2);
    carol.connection().close();
    c.node(0).hold(false);
    c.store.settle();
  }
  const auto& r = c.room(room);
  CHECK(r.present.size() == 1);
  CHECK(r.connections.size() == 1);
  CHECK(r.names.contains("alice"));
  // The store had taken the join: the others saw carol come and go.
  CHECK(str_of(alice.event("member_joined"), "user_name") == "carol");
  CHECK(alice.events("member_left").size() == 1);
}
