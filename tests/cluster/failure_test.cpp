// A node killed, and Redis restarted, while messages flow: the other node notices, clients
// that reconnect miss nothing, and nothing acknowledged is lost (PROTOCOL.md 6).

#include "cluster.hpp"

#include "support/timeouts.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace tinychat::test {

namespace {

using namespace std::chrono_literals;

// Every acknowledged attempt of `attempts` is in `history` exactly once, under the seq and
// client_seq its `sent` named.
void check_acknowledged(const std::vector<Attempt>& attempts,
                        const std::vector<ChatMessage>& history) {
  std::multimap<std::string, const ChatMessage*> by_text;
  for (const auto& m : history)
    by_text.emplace(m.text, &m);
  for (const auto& a : attempts) {
    if (!a.sent) continue;
    CAPTURE(a.text);
    CAPTURE(a.sent->seq);
    REQUIRE(by_text.count(a.text) == 1);
    const ChatMessage& m = *by_text.find(a.text)->second;
    CHECK(m.seq == a.sent->seq);
    CHECK(m.client_seq == a.sent->client_seq);
    CHECK(m.ts == a.sent->ts);
  }
}

bool mentions_store(const ErrorFrame& e) {
  return e.message.find("shared store") != std::string::npos;
}

// What a client of a killed node saw: the messages it received live, checked gap-free from
// seq 1, and its key.
struct Survivor {
  KeyPair key;
  std::string name;
  std::vector<ChatMessage> seen;
};

Survivor survivor_of(ChatUser& user, const std::string& room, std::string name) {
  Survivor s{user.client().key(), std::move(name), received(user, room)};
  std::string why;
  CHECK_MESSAGE(is_run(s.seen, 1, s.seen.empty() ? 0 : s.seen.back().seq, &why), why);
  return s;
}

} // namespace

TEST_CASE("cluster: a killed node's members leave in time and its clients reconnect losing "
          "nothing") {
  // Room for every message the senders manage, however long a busy machine makes the test.
  Cluster cluster(2, {"--rate-limit-per-second", "0", "--max-history", "100000"});
  ServerProcess& a = cluster.node(0);
  ServerProcess& b = cluster.node(1);
  auto a1 = std::make_unique<ChatUser>(a.ws_url());
  auto a2 = std::make_unique<ChatUser>(a.ws_url());
  ChatUser b1(b.ws_url());
  ChatUser b2(b.ws_url());
  const std::string room = b1.create_room();
  const Joined a1_joined = a1->join(room, "a1");
  const Joined a2_joined = a2->join(room, "a2");
  b1.join(room, "b1");
  b2.join(room, "b2");
  for (ChatUser* u : {a1.get(), a2.get(), &b1})
    u->wait_for_member(room, "b2");

  auto a_sender = std::make_unique<Sender>(*a1, room, "a1");
  Sender b_sender(b1, room, "b1");
  REQUIRE(
      eventually([&] { return a_sender->acknowledged() >= 20 && b_sender.acknowledged() >= 20; },
                 event_timeout));

  // SIGKILL: node A cannot tell anyone. B's clients hear that A's members left once A missed
  // its heartbeats: within node_timeout + node_timeout / 5 (one beat interval), plus slack.
  const auto killed_at = std::chrono::steady_clock::now();
  a.signal(SIGKILL);
  const auto from_a = [&](const MemberLeft& m) {
    return m.room_id == room && (m.user_id == a1_joined.user_id || m.user_id == a2_joined.user_id);
  };
  b2.member_left.wait_for(2, from_a);
  const auto left_after = ms_since(killed_at);
  b1.member_left.wait_for(2, from_a);
  MESSAGE("member_left for the killed node's users arrived " << left_after << " ms after SIGKILL"
                                                             << " (node timeout "
                                                             << node_timeout.count() << " ms)");
  CHECK(left_after < (node_timeout + node_timeout / 5 + 4500ms).count());
  REQUIRE(a.wait_for_exit(event_timeout) == 128 + SIGKILL);

  // A's clients: what they had, then reconnect to B with the same keys and catch up.
  a_sender->stop();
  const auto a_attempts = a_sender->attempts();
  a_sender.reset();
  std::vector<Survivor> survivors;
  survivors.push_back(survivor_of(*a1, room, "a1"));
  survivors.push_back(survivor_of(*a2, room, "a2"));
  a1.reset();
  a2.reset();

  std::uint64_t a1_last_acked_client_seq = 0;
  for (const auto& attempt : a_attempts)
    if (attempt.sent)
      a1_last_acked_client_seq = std::max(a1_last_acked_client_seq, attempt.sent->client_seq);

  std::vector<std::unique_ptr<ChatUser>> rejoined;
  std::vector<Joined> rejoins;
  std::vector<std::vector<ChatMessage>> caught_up; // seen + history after it
  for (const Survivor& s : survivors) {
    rejoined.push_back(std::make_unique<ChatUser>(b.ws_url(), s.key));
    rejoins.push_back(rejoined.back()->join(room, s.name));
    CHECK(rejoins.back().user_id == (s.name == "a1" ? a1_joined.user_id : a2_joined.user_id));
    const std::uint64_t last_seen = s.seen.empty() ? 0 : s.seen.back().seq;
    auto missed = full_history(*rejoined.back(), room, last_seen);
    CHECK(missed.size() + last_seen >= rejoins.back().last_seq);
    auto all = s.seen;
    all.insert(all.end(), missed.begin(), missed.end());
    caught_up.push_back(std::move(all));
  }
  // The room remembers a1's counter across the nodes: every acknowledged client_seq counts.
  CHECK(rejoins[0].last_client_seq >= a1_last_acked_client_seq);

  // a1 carries on from B; then everyone stops.
  {
    Sender again(*rejoined[0], room, "a1 again");
    REQUIRE(eventually([&] { return again.acknowledged() >= 10; }, event_timeout));
    again.stop();
    b_sender.stop();
    const auto again_attempts = again.attempts();
    for (const auto& attempt : again_attempts)
      CHECK_MESSAGE(attempt.sent,
                    attempt.text << " failed: " << (attempt.error ? attempt.error->message : ""));
    const auto history = full_history(b2, room);
    check_acknowledged(again_attempts, history);
  }
  const auto b_attempts = b_sender.attempts();
  for (const auto& attempt : b_attempts)
    CHECK_MESSAGE(attempt.sent, attempt.text << " failed on the surviving node");

  // The room's whole history, from B: gap-free, holding everything acknowledged on A and B.
  const auto history = full_history(b2, room);
  const std::uint64_t last = history.back().seq;
  std::string why;
  REQUIRE_MESSAGE(is_run(history, 1, last, &why), why);
  check_acknowledged(a_attempts, history);
  check_acknowledged(b_attempts, history);

  // B's clients received exactly that, live.
  for (ChatUser* u : {&b1, &b2}) {
    const auto live = wait_for_seq(*u, room, last);
    CHECK(live == history);
  }
  // A's clients: before the kill, history after it, then live on B: the same sequence.
  for (std::size_t i = 0; i < rejoined.size(); ++i) {
    CAPTURE(survivors[i].name);
    const auto live = wait_for_seq(*rejoined[i], room, last);
    CHECK_MESSAGE(is_run(live, rejoins[i].last_seq + 1, last, &why), why);
    auto all = caught_up[i];
    for (const auto& m : live)
      if (m.seq > all.back().seq)
        all.push_back(m);
      else
        CHECK(m == all.at(m.seq - 1)); // live and history agree where they overlap
    CHECK(all == history);
  }
}

TEST_CASE("cluster: Redis restarted mid-stream: nothing acknowledged is lost, the nodes recover") {
  // Room for every message the senders manage, however long a busy machine makes the test.
  Cluster cluster(2, {"--rate-limit-per-second", "0", "--max-history", "100000"});
  ServerProcess& a = cluster.node(0);
  ServerProcess& b = cluster.node(1);
  ChatUser a1(a.ws_url());
  ChatUser a2(a.ws_url());
  ChatUser b1(b.ws_url());
  ChatUser b2(b.ws_url());
  const std::string room = a1.create_room();
  a1.join(room, "a1");
  a2.join(room, "a2");
  b1.join(room, "b1");
  b2.join(room, "b2");
  for (ChatUser* u : {&a1, &a2, &b1})
    u->wait_for_member(room, "b2");

  // Senders on both nodes. A send answered `internal` is retried with a new text (and, as
  // tinychat::Client counts, a new client_seq): every text is sent once, so a text is in the
  // history at most once, whichever attempts Redis kept.
  Sender a_sender(a1, room, "a1");
  Sender b_sender(b1, room, "b1");
  REQUIRE(eventually([&] { return a_sender.acknowledged() >= 20 && b_sender.acknowledged() >= 20; },
                     event_timeout));

  const auto killed_at = std::chrono::steady_clock::now();
  cluster.redis().kill();
  // While Redis is away: /healthz says so, and requests that need it answer `internal`.
  CHECK(eventually([&] { return healthz_status(a.port()) == 503; }, 10s));
  CHECK(eventually([&] { return healthz_status(b.port()) == 503; }, 10s));
  CHECK(http_get(a.port(), "/metrics").find("\ntinychat_store_up 0\n") != std::string::npos);
  // A send on its way when Redis went waits for its return, which says whether it was
  // stored; new requests are answered at once.
  {
    ChatUser late(b.ws_url());
    const ServerFrame reply =
        request([&](ReplyHandler done) { late.client().create_room(std::move(done)); });
    REQUIRE(error_code(reply) == error::internal);
    CHECK_MESSAGE(mentions_store(std::get<ErrorFrame>(reply)), std::get<ErrorFrame>(reply).message);
  }
  if (const auto waited = ms_since(killed_at); waited < 1000)
    std::this_thread::sleep_for(std::chrono::milliseconds(1000 - waited));
  cluster.redis().restart();
  const auto outage = ms_since(killed_at);
  a.wait_until_healthy();
  b.wait_until_healthy();
  MESSAGE("Redis was away for " << outage << " ms; both nodes healthy again after "
                                << ms_since(killed_at) << " ms");

  // The same senders, on the same connections, get through again on both nodes.
  const auto a_before = a_sender.acknowledged();
  const auto b_before = b_sender.acknowledged();
  REQUIRE(eventually(
      [&] {
        return a_sender.acknowledged() >= a_before + 20 && b_sender.acknowledged() >= b_before + 20;
      },
      event_timeout));
  a_sender.stop();
  b_sender.stop();

  std::vector<Attempt> attempts = a_sender.attempts();
  const auto b_attempts = b_sender.attempts();
  attempts.insert(attempts.end(), b_attempts.begin(), b_attempts.end());
  std::size_t internal = 0;
  for (const auto& attempt : attempts) {
    if (!attempt.error) {
      CHECK_MESSAGE(attempt.sent, attempt.text << " got no answer");
      continue;
    }
    CAPTURE(attempt.text);
    CHECK(attempt.error->code == error::internal);
    CHECK_MESSAGE(mentions_store(*attempt.error), attempt.error->message);
    ++internal;
  }

  // Once every connection has received the newest acknowledged message, both nodes' views
  // are complete: their histories are the room's.
  std::uint64_t last = 0;
  for (const auto& attempt : attempts)
    if (attempt.sent) last = std::max(last, attempt.sent->seq);
  for (ChatUser* u : {&a1, &a2, &b1, &b2})
    wait_for_seq(*u, room, last);
  const auto history = full_history(a2, room);
  std::string why;
  REQUIRE_MESSAGE(is_run(history, 1, last, &why), why);
  CHECK(full_history(b2, room) == history);
  check_acknowledged(attempts, history);
  // `internal` means nothing was accepted, also for a send whose reply Redis took down with
  // it: the node asked Redis, once back, whether it had stored it.
  for (const auto& attempt : attempts)
    if (attempt.error)
      CHECK_MESSAGE(std::none_of(history.begin(), history.end(),
                                 [&](const ChatMessage& m) { return m.text == attempt.text; }),
                    attempt.text << " was answered `internal` but stored");
  MESSAGE(attempts.size() << " sends, " << internal << " answered internal, " << last
                          << " messages in the room");

  // Every connection stayed, and received the whole sequence live: what Pub/Sub lost while
  // Redis was away, the nodes filled in from Redis.
  for (ChatUser* u : {&a1, &a2, &b1, &b2}) {
    const auto live = wait_for_seq(*u, room, last);
    CHECK_MESSAGE(is_run(live, 1, last, &why), why);
    CHECK(live == history);
    CHECK(u->closed.size() == 0);
  }
}

} // namespace tinychat::test
