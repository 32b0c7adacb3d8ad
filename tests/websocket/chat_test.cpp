// Whole conversations over real sockets: tinychat::Client on WebSocketConnection against
// tinychat-server.

#include "support/chat_user.hpp"
#include "support/server_process.hpp"
#include "support/timeouts.hpp"

#include <tinychat/websocket_client.hpp>

#include <doctest/doctest.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace tinychat::test {
namespace {

std::vector<ChatMessage> whole_history(ChatUser& user, const std::string& room_id,
                                       std::uint32_t page) {
  std::vector<ChatMessage> all;
  for (;;) {
    const auto h = user.history(room_id, all.empty() ? 0 : all.back().seq, page);
    all.insert(all.end(), h.messages.begin(), h.messages.end());
    if (!h.has_more) return all;
    REQUIRE(!h.messages.empty());
  }
}

TEST_CASE("chat: two users create, join and talk, and history matches what they saw") {
  ServerProcess server;
  ChatUser alice(server.ws_url());
  ChatUser bob(server.ws_url());

  const std::string room = alice.create_room();
  CHECK(is_valid_room_id(room));
  const Joined alice_joined = alice.join(room, "alice");
  CHECK(alice_joined.members.size() == 1);
  CHECK(alice_joined.last_seq == 0);
  const Joined bob_joined = bob.join(room, "  bob ");
  CHECK(bob_joined.user_name == "bob");
  CHECK(bob_joined.members.size() == 2);

  const MemberJoined seen = alice.member_joined.pop();
  CHECK(seen.room_id == room);
  CHECK(seen.member.user_id == bob_joined.user_id);
  CHECK(seen.member.user_name == "bob");
  CHECK(seen.member.pub_key == bob.client().key().public_key());

  CHECK(alice.send(room, "hello bob").seq == 1);
  CHECK(bob.send(room, "hi alice\nhow are you?").seq == 2);
  CHECK(alice.send(room, "fine, thanks \xF0\x9F\x99\x82").seq == 3);

  const auto at_alice = alice.messages.wait_for(3);
  const auto at_bob = bob.messages.wait_for(3);
  REQUIRE(at_alice.size() == 3);
  CHECK(at_alice == at_bob);
  CHECK(at_alice[0].text == "hello bob");
  CHECK(at_alice[1].text == "hi alice\nhow are you?");
  CHECK(at_alice[1].user_id == bob_joined.user_id);
  CHECK(at_alice[2].user_name == "alice");
  for (std::size_t i = 0; i < at_alice.size(); ++i) {
    CHECK(at_alice[i].seq == i + 1);
    CHECK(at_alice[i].room_id == room);
    CHECK(Client::verify(at_alice[i]));
  }

  const HistoryPage page = bob.history(room, 0, 100);
  CHECK(page.messages == at_alice);
  CHECK(page.first_seq == 1);
  CHECK(page.last_seq == 3);
  CHECK_FALSE(page.has_more);
  CHECK_FALSE(page.truncated);
  CHECK(bob.history(room, 2, 100).messages == std::vector<ChatMessage>{at_alice[2]});

  bob.leave(room);
  const MemberLeft left = alice.member_left.pop();
  CHECK(left.user_id == bob_joined.user_id);
}

TEST_CASE("chat: concurrent senders over real sockets all see one gapless order") {
  constexpr std::size_t user_count = 4;
  constexpr std::size_t per_user = 50;
  constexpr std::size_t total = user_count * per_user;
  ServerProcess server({"--rate-limit-per-second", "0", "--threads", "2"});

  std::vector<std::unique_ptr<ChatUser>> users;
  for (std::size_t i = 0; i < user_count; ++i)
    users.push_back(std::make_unique<ChatUser>(server.ws_url()));
  const std::string room = users[0]->create_room();
  std::map<std::string, std::size_t> index_of_user;
  for (std::size_t i = 0; i < user_count; ++i)
    index_of_user[users[i]->join(room, "user" + std::to_string(i)).user_id] = i;

  std::vector<Mailbox<ServerFrame>> replies(user_count);
  std::vector<std::thread> senders;
  for (std::size_t i = 0; i < user_count; ++i)
    senders.emplace_back([&, i] {
      for (std::size_t n = 0; n < per_user; ++n)
        users[i]->client().send(room, "user" + std::to_string(i) + " #" + std::to_string(n),
                                [&, i](const ServerFrame& f) { replies[i].push(f); });
    });
  for (auto& t : senders)
    t.join();

  for (std::size_t i = 0; i < user_count; ++i) {
    const auto mine = replies[i].wait_for(per_user);
    for (const auto& reply : mine)
      CHECK(std::holds_alternative<Sent>(reply));
  }

  const auto reference = users[0]->messages.wait_for(total);
  REQUIRE(reference.size() == total);
  std::vector<std::size_t> next_of_user(user_count, 0);
  for (std::size_t k = 0; k < total; ++k) {
    const ChatMessage& m = reference[k];
    CHECK(m.seq == k + 1);
    // Each sender's messages keep the order it sent them in.
    const std::size_t u = index_of_user.at(m.user_id);
    const std::size_t n = next_of_user[u]++;
    CHECK(m.text == "user" + std::to_string(u) + " #" + std::to_string(n));
    CHECK(m.client_seq == n + 1);
  }
  for (std::size_t i = 1; i < user_count; ++i)
    CHECK(users[i]->messages.wait_for(total) == reference);

  CHECK(whole_history(*users[user_count - 1], room, 64) == reference);
}

TEST_CASE("chat: one Client sending from several threads keeps its counter in order") {
  ServerProcess server({"--rate-limit-per-second", "0"});
  ChatUser alice(server.ws_url());
  const auto room = alice.create_room();
  alice.join(room, "alice");
  constexpr int threads = 4, per_thread = 50;
  std::mutex mutex;
  std::condition_variable done;
  int replies = 0;
  std::vector<std::string> errors;
  std::vector<std::thread> senders;
  for (int t = 0; t < threads; ++t)
    senders.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i)
        alice.client().send(room, std::to_string(t) + "/" + std::to_string(i),
                            [&](const ServerFrame& f) {
                              std::lock_guard lock(mutex);
                              if (auto* e = std::get_if<ErrorFrame>(&f))
                                errors.push_back(e->message);
                              ++replies;
                              done.notify_all();
                            });
    });
  for (auto& s : senders)
    s.join();
  std::unique_lock lock(mutex);
  REQUIRE(done.wait_for(lock, event_timeout, [&] { return replies == threads * per_thread; }));
  CHECK(errors.empty());
}

TEST_CASE("chat: a connection that closes leaves its rooms") {
  ServerProcess server;
  ChatUser alice(server.ws_url());
  auto bob = std::make_unique<ChatUser>(server.ws_url());
  const std::string room = alice.create_room();
  alice.join(room, "alice");
  const std::string bob_id = bob->join(room, "bob").user_id;
  alice.member_joined.pop();

  bob.reset(); // closes with 1000
  CHECK(alice.member_left.pop().user_id == bob_id);
}

TEST_CASE("chat: WebSocketConnection::connect throws std::system_error when nobody listens") {
  std::uint16_t port = 0;
  {
    ServerProcess server;
    port = server.port();
  }
  const std::string url = "ws://127.0.0.1:" + std::to_string(port) + "/v1/ws";
  CHECK_THROWS_AS(WebSocketConnection::connect(url, [](std::string_view) {}), std::system_error);
  CHECK_THROWS_AS(WebSocketConnection::connect("http://127.0.0.1/", [](std::string_view) {}),
                  std::system_error);
}

} // namespace
} // namespace tinychat::test
