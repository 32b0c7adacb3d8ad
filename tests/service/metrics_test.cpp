// RoomService::metrics(): what a host exports about the core, checked against real traffic
// through the in-process transport.

#include "chat_fixture.hpp"

#include <numeric>

using namespace tinychat::test;
using tinychat::error;
using tinychat::ServiceMetrics;
using tinychat::StoreOperation;

namespace {

// Alice, bob and carol present in one room.
struct ThreeUsers : ChatFixture {
  explicit ThreeUsers(tinychat::ServiceConfig config = {}) : ChatFixture(config) {
    room = alice.create_room();
    REQUIRE(type_of(alice.join(room, "alice")) == "joined");
    REQUIRE(type_of(bob.join(room, "bob")) == "joined");
    REQUIRE(type_of(carol.join(room, "carol")) == "joined");
  }
  ServiceMetrics metrics() { return transport->service().metrics(); }
  Peer& alice = connect();
  Peer& bob = connect();
  Peer& carol = connect();
  std::string room;
};

const tinychat::LatencyHistogram& timing(const ServiceMetrics& m, StoreOperation op) {
  return m.store_latency[static_cast<std::size_t>(op)];
}

std::uint64_t bucket_total(const tinychat::LatencyHistogram& h) {
  return std::accumulate(h.buckets.begin(), h.buckets.end(), std::uint64_t{0});
}

} // namespace

TEST_CASE("metrics: an accepted message counts once, and once per member it reaches") {
  ThreeUsers chat;
  const auto before = chat.metrics();
  REQUIRE(type_of(chat.alice.send(chat.room, "hello")) == "sent");
  const auto after = chat.metrics();
  CHECK(after.messages_accepted == before.messages_accepted + 1);
  CHECK(after.message_deliveries == before.message_deliveries + 3);
  CHECK(after.frames_delivered == before.frames_delivered + 4); // `sent` and three events
  CHECK(chat.bob.events("message").size() == 1u);
}

TEST_CASE("metrics: a forged signature counts as an invalid_signature reject") {
  ThreeUsers chat;
  const auto before = chat.metrics();
  const auto forged = chat.alice.call(
      {{"type", "send"},
       {"room_id", chat.room},
       {"client_seq", 1},
       {"text", "what I say"},
       {"sig", chat.alice.message_sig(chat.room, chat.alice.user_id(chat.room), 1, "other")}});
  REQUIRE(code_of(forged) == "invalid_signature");
  auto after = chat.metrics();
  CHECK(after.rejected(error::invalid_signature) == before.rejected(error::invalid_signature) + 1);
  CHECK(after.signatures_invalid == before.signatures_invalid + 1);
  CHECK(after.messages_accepted == before.messages_accepted);

  // A good one is a valid verification, whether the connection's Ingress or the core did it.
  REQUIRE(type_of(chat.alice.send(chat.room, "what I say")) == "sent");
  CHECK(chat.metrics().signatures_valid == after.signatures_valid + 1);
}

TEST_CASE("metrics: every error reply counts under its own code") {
  ThreeUsers chat;
  const auto before = chat.metrics();
  REQUIRE(code_of(chat.alice.call_raw("{not json")) == "bad_request");
  REQUIRE(code_of(chat.alice.call({{"type", "dance"}})) == "unknown_type");
  REQUIRE(code_of(chat.alice.join(chat.room, "again")) == "already_joined");
  const auto after = chat.metrics();
  CHECK(after.rejected(error::bad_request) == before.rejected(error::bad_request) + 1);
  CHECK(after.rejected(error::unknown_type) == before.rejected(error::unknown_type) + 1);
  CHECK(after.rejected(error::already_joined) == before.rejected(error::already_joined) + 1);
  CHECK(after.rejected(error::room_full) == 0u);
  // The join signature of the refused join was never checked: refusals come first.
  CHECK(after.signatures_valid == before.signatures_valid);
}

TEST_CASE("metrics: gauges follow connections, rooms and present users") {
  ThreeUsers chat;
  auto m = chat.metrics();
  CHECK(m.connections == 3u);
  CHECK(m.rooms == 1u);
  CHECK(m.present_members == 3u);
  CHECK(m.rooms_created == 1u);

  auto& alice_again = chat.connect_as(chat.alice); // a second tab is not a second user
  REQUIRE(type_of(alice_again.join(chat.room, "alice")) == "joined");
  m = chat.metrics();
  CHECK(m.connections == 4u);
  CHECK(m.present_members == 3u);

  REQUIRE(type_of(chat.bob.call({{"type", "leave"}, {"room_id", chat.room}})) == "left");
  chat.carol.close();
  m = chat.metrics();
  CHECK(m.connections == 3u);
  CHECK(m.present_members == 1u);

  chat.advance_seconds(chat.config_.limits.room_ttl_seconds + 1); // the room expires
  m = chat.metrics();
  CHECK(m.rooms == 0u);
  CHECK(m.present_members == 0u);
}

TEST_CASE("metrics: every store operation is timed, under its operation") {
  ThreeUsers chat;
  auto m = chat.metrics();
  CHECK(timing(m, StoreOperation::create_room).count == 1u);
  CHECK(timing(m, StoreOperation::save_user).count == 3u);
  CHECK(timing(m, StoreOperation::append_message).count == 0u);

  for (int i = 0; i < 5; ++i)
    REQUIRE(type_of(chat.bob.send(chat.room, "message " + std::to_string(i))) == "sent");
  m = chat.metrics();
  const auto& appends = timing(m, StoreOperation::append_message);
  CHECK(appends.count == 5u);
  CHECK(bucket_total(appends) == appends.count);
  CHECK(appends.sum.count() > 0);

  chat.advance_seconds(chat.config_.limits.room_ttl_seconds + 1);
  CHECK(timing(chat.metrics(), StoreOperation::delete_room).count == 1u);
}

TEST_CASE("metrics: a store write that fails counts as a store error and an internal reject") {
  ThreeUsers chat;
  const auto before = chat.metrics();
  chat.fail_writes(true);
  REQUIRE(code_of(chat.alice.send(chat.room, "lost")) == "internal");
  chat.fail_writes(false);
  const auto after = chat.metrics();
  CHECK(after.store_errors == before.store_errors + 1);
  CHECK(after.rejected(error::internal) == before.rejected(error::internal) + 1);
  CHECK(after.messages_accepted == before.messages_accepted);
}

TEST_CASE("metrics: a connection closed for flooding counts, and so does each rate_limited") {
  tinychat::ServiceConfig config;
  config.rate_limit = {1, 2, 10};
  ChatFixture chat(config);
  auto& flooder = chat.connect();
  flooder.call({{"type", "ping"}});
  flooder.call({{"type", "ping"}});
  for (int i = 0; i < 9; ++i)
    REQUIRE(code_of(flooder.call({{"type", "ping"}})) == "rate_limited");
  CHECK(chat.transport->service().metrics().flood_closes == 0u);
  flooder.connection().send(R"({"type":"ping"})"); // the 10th refusal in a row
  REQUIRE_FALSE(flooder.connection().is_open());
  const auto m = chat.transport->service().metrics();
  CHECK(m.flood_closes == 1u);
  CHECK(m.rejected(error::rate_limited) == 9u);
}

TEST_CASE("metrics: a latency lands in the first bucket whose bound is not below it") {
  tinychat::LatencyHistogram h;
  h.record(std::chrono::microseconds(50)); // on the first bound: le="5e-05"
  h.record(std::chrono::microseconds(51)); // just above it
  h.record(std::chrono::seconds(60));      // beyond every bound
  CHECK(h.buckets[0] == 1u);
  CHECK(h.buckets[1] == 1u);
  CHECK(h.buckets.back() == 1u);
  CHECK(h.count == 3u);
  CHECK(h.sum == std::chrono::microseconds(101) + std::chrono::seconds(60));
}
