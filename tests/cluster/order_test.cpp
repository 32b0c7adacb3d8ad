// One room served by three nodes: every message gets one seq for all of them, and every
// connection and every node's history sees the same sequence (PROTOCOL.md 6).

#include "cluster.hpp"

#include "support/mailbox.hpp"

#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace tinychat::test {

namespace {

struct SendOutcome {
  std::string text;
  ServerFrame reply;
};

} // namespace

TEST_CASE("cluster: concurrent senders on three nodes get one gap-free order everywhere") {
  constexpr std::size_t per_sender = 40;
  Cluster cluster(3, {"--rate-limit-per-second", "0"});

  std::vector<std::unique_ptr<ChatUser>> users;
  for (std::size_t i = 0; i < 6; ++i)
    users.push_back(std::make_unique<ChatUser>(cluster.node(i / 2).ws_url()));
  const std::string room = users[0]->create_room();
  for (std::size_t i = 0; i < users.size(); ++i)
    users[i]->join(room, "user" + std::to_string(i));
  // Every join is known everywhere before the first message.
  for (auto& u : users)
    u->wait_for_member(room, "user5");

  // Each user sends its messages back to back, without waiting for replies, on its own thread.
  Mailbox<SendOutcome> outcomes;
  {
    std::vector<std::jthread> senders;
    for (std::size_t i = 0; i < users.size(); ++i)
      senders.emplace_back([&, i] {
        for (std::size_t n = 1; n <= per_sender; ++n) {
          std::string text = "user" + std::to_string(i) + " #" + std::to_string(n);
          users[i]->client().send(room, text, [&outcomes, text](const ServerFrame& reply) {
            outcomes.push({text, reply});
          });
        }
      });
  }
  const std::size_t total = per_sender * users.size();
  const auto replies = outcomes.wait_for(total);

  // The reference: what user 0 received, which must be 1..total.
  const auto reference = users[0]->messages.wait_for(total);
  std::string why;
  REQUIRE_MESSAGE(is_run(reference, 1, total, &why), why);
  std::map<std::string, const ChatMessage*> by_text;
  for (const auto& m : reference) {
    CHECK(Client::verify(m));
    by_text.emplace(m.text, &m);
  }
  REQUIRE(by_text.size() == total);

  // Every `sent` names the seq its text got, and the client_seq it was signed with.
  for (const auto& [text, reply] : replies) {
    const auto* sent = std::get_if<Sent>(&reply);
    REQUIRE_MESSAGE(sent, "the send of '" << text << "' failed");
    const auto m = by_text.find(text);
    REQUIRE(m != by_text.end());
    CHECK(sent->seq == m->second->seq);
    CHECK(sent->client_seq == m->second->client_seq);
    CHECK(sent->ts == m->second->ts);
  }
  // Each sender's messages are in its own order.
  for (std::size_t i = 0; i < users.size(); ++i) {
    std::uint64_t last_client_seq = 0;
    for (const auto& m : reference)
      if (m.user_name == "user" + std::to_string(i)) {
        CHECK(m.client_seq > last_client_seq);
        last_client_seq = m.client_seq;
      }
  }

  // Every connection, on every node, received exactly the same messages in the same order.
  for (std::size_t i = 1; i < users.size(); ++i) {
    CAPTURE(i);
    const auto got = users[i]->messages.wait_for(total);
    CHECK(got.size() == total);
    CHECK(got == reference);
  }

  // And every node's history is that sequence.
  for (std::size_t node = 0; node < 3; ++node) {
    CAPTURE(node);
    CHECK(full_history(*users[node * 2], room) == reference);
  }
  // Nothing arrived beyond the total.
  for (auto& u : users)
    CHECK(u->messages.size() == total);
}

} // namespace tinychat::test
