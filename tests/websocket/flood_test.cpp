// Floods over real sockets: every request still gets its answer, in order, and the server
// keeps serving everyone else.

#include "raw_clients.hpp"
#include "support/chat_user.hpp"
#include "support/server_process.hpp"

#include <tinychat/encoding.hpp>
#include <tinychat/signature_verifier.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace tinychat::test {
namespace {

namespace json = boost::json;

constexpr int flood_size = 500;

} // namespace

TEST_CASE("flood: pipelined requests over the rate limit are answered rate_limited, in order") {
  ServerProcess server({"--rate-limit-per-second", "10", "--rate-limit-burst", "20"});
  RawWebSocket flooder(server.port());
  flooder.read_text(); // hello
  for (int id = 1; id <= flood_size; ++id)
    REQUIRE_FALSE(flooder.write(R"({"type":"ping","id":)" + std::to_string(id) + "}"));

  int pongs = 0, limited = 0;
  for (int id = 1; id <= flood_size; ++id) {
    const auto reply = json::parse(flooder.read_text()).as_object();
    REQUIRE(reply.at("id") == id);
    if (reply.at("type") == "pong") {
      ++pongs;
    } else {
      CHECK(reply.at("code") == "rate_limited");
      CHECK(reply.at("retry_after_ms").to_number<std::int64_t>() > 0);
      ++limited;
    }
  }
  CHECK(pongs >= 20);
  CHECK(limited > 0);

  RawWebSocket other(server.port()); // a polite client is not affected
  other.read_text();
  REQUIRE_FALSE(other.write(R"({"type":"ping","id":"still here"})"));
  CHECK(json::parse(other.read_text()).at("type") == "pong");
}

TEST_CASE("flood: a connection that keeps flooding is closed with 1008; others are served") {
  ServerProcess server({"--rate-limit-per-second", "10", "--rate-limit-burst", "20",
                        "--rate-limit-close-after", "100"});
  RawWebSocket flooder(server.port());
  flooder.read_text(); // hello
  for (int id = 1; id <= 300; ++id)
    if (flooder.write(R"({"type":"ping","id":)" + std::to_string(id) + "}")) break;
  CHECK(flooder.read_until_closed() == 1008);

  RawWebSocket other(server.port());
  other.read_text();
  REQUIRE_FALSE(other.write(R"({"type":"ping","id":1})"));
  CHECK(json::parse(other.read_text()).at("type") == "pong");
}

TEST_CASE("flood: a stream of malformed frames gets one error each and the connection stays") {
  ServerProcess server({"--rate-limit-per-second", "0"});
  RawWebSocket flooder(server.port());
  flooder.read_text(); // hello
  for (int i = 0; i < flood_size; ++i)
    REQUIRE_FALSE(flooder.write("{not json"));
  for (int i = 0; i < flood_size; ++i) {
    const auto reply = json::parse(flooder.read_text()).as_object();
    REQUIRE(reply.at("code") == "bad_request");
    CHECK(reply.at("id").is_null());
  }
  REQUIRE_FALSE(flooder.write(R"({"type":"ping","id":1})"));
  CHECK(json::parse(flooder.read_text()).at("type") == "pong");
}

// Alice sends to a room where `sleeper` never reads: the server must close the sleeper with
// 4008 and still deliver everything to bob. `bound` are the flags that set the queue's bound.
static void sleeper_closed_4008(std::vector<std::string> bound) {
  bound.insert(bound.end(), {"--rate-limit-per-second", "0"});
  ServerProcess server(bound);
  ChatUser alice(server.ws_url());
  ChatUser bob(server.ws_url());
  const auto room = alice.create_room();
  alice.join(room, "alice");
  bob.join(room, "bob");

  RawWebSocket sleeper(server.port());
  CHECK(join_with_fresh_key(sleeper, room, "sleeper") == "joined");
  alice.wait_for_member(room, "sleeper");

  // The server drops the sleeper from the room the moment its queue overflows; that takes a
  // few MB, more than the kernel's socket buffers and the 64 KiB queue together hold.
  const std::string text(1000, 'z');
  std::size_t sent = 0;
  while (bob.member_left.size() == 0) {
    REQUIRE(sent < 30000);
    alice.send(room, text);
    ++sent;
  }
  CHECK(bob.member_left.pop().room_id == room);
  CHECK(sleeper.read_until_closed() == 4008);
  const auto received = bob.wait_for_messages_from("alice", sent);
  for (std::size_t i = 0; i < sent; ++i)
    REQUIRE(received[i].seq == i + 1);
}

TEST_CASE("flood: a member that stops reading is closed with 4008; the others get everything") {
  sleeper_closed_4008({"--max-queued-bytes", "65536"});
}

TEST_CASE("flood: the outbound queue is bounded in messages too") {
  sleeper_closed_4008({"--max-queued-bytes", "1073741824", "--max-queued-frames", "16"});
}

} // namespace tinychat::test
