// The library's Client, driven through the in-process transport like an app would drive it.

#include <tinychat/client.hpp>
#include <tinychat/in_process_transport.hpp>
#include <tinychat/memory_store.hpp>

#include <doctest/doctest.h>

using namespace tinychat;

namespace {

// A Client on its own in-process connection.
struct App final : ClientTransport {
  explicit App(InProcessTransport& transport, KeyPair key = KeyPair::generate())
      : connection(transport.connect()), client(*this, std::move(key)) {
    client.on_message = [this](const ChatMessage& m) { messages.push_back(m); };
    client.on_member_joined = [this](const MemberJoined& e) {
      joined.push_back(e.member.user_name);
    };
    client.on_member_left = [this](const MemberLeft& e) { left.push_back(e.user_id); };
    client.on_room_closed = [this](const RoomClosed& e) { closed.push_back(e.room_id); };
    connection->on_frame([this](std::string_view text) { client.handle_frame(text); });
  }
  void send_text(std::string text) override { connection->send(text); }

  // Issues a request and returns its reply (the in-process transport answers at once).
  template <class Call>
  ServerFrame call(Call&& issue) {
    std::optional<ServerFrame> reply;
    issue([&](const ServerFrame& f) { reply = f; });
    REQUIRE(reply.has_value());
    return *reply;
  }

  std::unique_ptr<InProcessConnection> connection;
  Client client;
  std::vector<ChatMessage> messages;
  std::vector<std::string> joined, left, closed;
};

} // namespace

TEST_CASE("client: two apps chat through the in-process transport") {
  MemoryStore store;
  ManualClock clock;
  InProcessTransport transport(store, clock);
  App alice(transport), bob(transport);
  REQUIRE(alice.client.hello());
  CHECK(alice.client.hello()->limits.max_text_chars == 1000);

  auto created = alice.call([&](auto done) { alice.client.create_room(done); });
  auto room = std::get<RoomCreated>(created).room_id;
  auto a = alice.call([&](auto done) { alice.client.join(room, "alice", done); });
  REQUIRE(std::holds_alternative<Joined>(a));
  auto b = bob.call([&](auto done) { bob.client.join(room, "  bob ", done); });
  REQUIRE(std::holds_alternative<Joined>(b));
  CHECK(std::get<Joined>(b).user_name == "bob");
  CHECK(std::get<Joined>(b).members.size() == 2);
  CHECK(alice.joined == std::vector<std::string>{"bob"});

  for (int i = 0; i < 3; ++i) {
    auto sent =
        alice.call([&](auto done) { alice.client.send(room, "hi " + std::to_string(i), done); });
    CHECK(std::get<Sent>(sent).client_seq == static_cast<std::uint64_t>(i + 1));
  }
  auto sent = bob.call([&](auto done) { bob.client.send(room, "hello alice", done); });
  CHECK(std::get<Sent>(sent).seq == 4);

  REQUIRE(bob.messages.size() == 4);
  CHECK(bob.messages == alice.messages);
  for (const auto& m : bob.messages)
    CHECK(Client::verify(m));
  auto forged = bob.messages[0];
  forged.text = "hi 9";
  CHECK_FALSE(Client::verify(forged));

  auto page = bob.call([&](auto done) { bob.client.history(room, 0, 100, done); });
  CHECK(std::get<HistoryPage>(page).messages == bob.messages);

  auto left = bob.call([&](auto done) { bob.client.leave(room, done); });
  CHECK(std::holds_alternative<Left>(left));
  CHECK(alice.left == std::vector<std::string>{std::get<Joined>(b).user_id});
  CHECK(std::holds_alternative<Pong>(alice.call([&](auto done) { alice.client.ping(done); })));
}

TEST_CASE("client: a rejoining client continues its counter from last_client_seq") {
  MemoryStore store;
  ManualClock clock;
  InProcessTransport transport(store, clock);
  App alice(transport);
  auto room =
      std::get<RoomCreated>(alice.call([&](auto d) { alice.client.create_room(d); })).room_id;
  alice.call([&](auto d) { alice.client.join(room, "alice", d); });
  alice.call([&](auto d) { alice.client.send(room, "one", d); });
  alice.call([&](auto d) { alice.client.send(room, "two", d); });

  // The same key on a new connection, as after a reconnect.
  App again(transport, alice.client.key());
  auto rejoined = again.call([&](auto d) { again.client.join(room, "alice", d); });
  CHECK(std::get<Joined>(rejoined).last_client_seq == 2);
  auto reply = again.call([&](auto d) { again.client.send(room, "three", d); });
  CHECK(std::get<Sent>(reply).client_seq == 3);
}

TEST_CASE("client: errors reach the request's callback as ErrorFrame") {
  MemoryStore store;
  ManualClock clock;
  InProcessTransport transport(store, clock);
  App alice(transport);
  auto reply =
      alice.call([&](auto d) { alice.client.join("aaaaaaaaaaaaaaaaaaaaaaaaaa", "alice", d); });
  REQUIRE(std::holds_alternative<ErrorFrame>(reply));
  CHECK(std::get<ErrorFrame>(reply).code == error::room_not_found);
  CHECK(make_error_code(std::get<ErrorFrame>(reply).code).message() == "no such room");

  auto early =
      alice.call([&](auto d) { alice.client.send("aaaaaaaaaaaaaaaaaaaaaaaaaa", "hi", d); });
  REQUIRE(std::holds_alternative<ErrorFrame>(early));
  CHECK(std::get<ErrorFrame>(early).code == error::not_member);
}

TEST_CASE("client: room_closed reaches the app when the room expires") {
  MemoryStore store;
  ManualClock clock;
  ServiceConfig config;
  config.limits.room_ttl_seconds = 5;
  InProcessTransport transport(store, clock, config);
  App alice(transport);
  auto room =
      std::get<RoomCreated>(alice.call([&](auto d) { alice.client.create_room(d); })).room_id;
  alice.call([&](auto d) { alice.client.join(room, "alice", d); });
  clock.advance_seconds(5);
  transport.tick();
  CHECK(alice.closed == std::vector<std::string>{room});
}

TEST_CASE("in-process transport: oversized and invalid UTF-8 messages close like WebSocket") {
  MemoryStore store;
  ManualClock clock;
  ServiceConfig config;
  config.limits.max_frame_bytes = 100;
  InProcessTransport transport(store, clock, config);
  auto big = transport.connect();
  big->send(std::string(101, ' '));
  REQUIRE(big->close_info());
  CHECK(big->close_info()->code == 1009);
  auto bad = transport.connect();
  bad->send("{\"type\":\"ping\",\"id\":\"\xff\"}");
  REQUIRE(bad->close_info());
  CHECK(bad->close_info()->code == 1007);
  auto fine = transport.connect();
  fine->send(R"({"type":"ping"})");
  CHECK(fine->is_open());
  CHECK(transport.service().connection_count() == 1);
}
