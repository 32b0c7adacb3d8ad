// Signature edge cases over real sockets: a raw client tries every weak or tampered signature
// on join and on send, each is answered `invalid_signature`, and the server goes on serving
// that client and the others. The case-by-case coverage is in tests/service.

#include "forged_signatures.hpp"
#include "raw_clients.hpp"
#include "support/chat_user.hpp"
#include "support/server_process.hpp"

#include <tinychat/encoding.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <string>

namespace tinychat::test {
namespace {

namespace json = boost::json;

// A client speaking raw frames with its own key; replies are read in order.
struct RawMember {
  explicit RawMember(std::uint16_t port) : ws(port) {
    auto hello = json::parse(ws.read_text()).as_object();
    REQUIRE(from_hex(hello.at("challenge").as_string(), challenge));
  }

  json::object call(json::object frame) {
    frame["id"] = ++last_id;
    REQUIRE_FALSE(ws.write(json::serialize(frame)));
    for (;;) { // events (other members' messages) carry no id; the reply does
      auto reply = json::parse(ws.read_text()).as_object();
      if (!reply.contains("id")) continue;
      CHECK(reply.at("id") == last_id);
      return reply;
    }
  }

  json::object join_frame(std::string_view room, std::string_view name, const PublicKey& pub,
                          const Signature& sig) const {
    return {{"type", "join"},
            {"room_id", room},
            {"user_name", name},
            {"pub_key", to_hex(pub)},
            {"sig", to_hex(sig)}};
  }

  RawWebSocket ws;
  KeyPair key = KeyPair::generate();
  Challenge challenge{};
  std::int64_t last_id = 0;
};

std::string code_of(const json::object& reply) {
  auto* code = reply.if_contains("code");
  return code && code->is_string() ? std::string(code->get_string()) : "";
}

json::object send_frame(std::string_view room, std::uint64_t client_seq, std::string_view text,
                        const Signature& sig) {
  return {{"type", "send"},
          {"room_id", room},
          {"client_seq", client_seq},
          {"text", text},
          {"sig", to_hex(sig)}};
}

} // namespace

TEST_CASE("signatures: weak and tampered signatures are refused over sockets, and the server "
          "keeps serving") {
  ServerProcess server;
  ChatUser alice(server.ws_url());
  ChatUser bob(server.ws_url());
  const std::string room = alice.create_room();
  alice.join(room, "alice");
  bob.join(room, "bob");
  RawMember mallory(server.port());

  // Joins: small-order keys with a signature the plain equation accepts, the all-zero key,
  // a flipped bit, S + L, an R of small order, another key's signature.
  for (const auto& weak : small_order_points()) {
    for (int n = 0;; ++n) {
      REQUIRE(n < 1000);
      const std::string name = "mallory" + std::to_string(n);
      auto sig = forge_for_small_order_key(weak, join_payload(mallory.challenge, room, name, weak));
      if (!sig) continue;
      CHECK(code_of(mallory.call(mallory.join_frame(room, name, weak, *sig))) ==
            "invalid_signature");
      break;
    }
  }
  const auto& pub = mallory.key.public_key();
  const auto payload = join_payload(mallory.challenge, room, "mallory", pub);
  const auto genuine = mallory.key.sign(payload);
  for (const auto& bad : {flip_bit(genuine, 3), flip_bit(genuine, 300), add_group_order(genuine),
                          sign_with_small_order_r(mallory.key, small_order_points()[0], payload),
                          KeyPair::generate().sign(payload)})
    CHECK(code_of(mallory.call(mallory.join_frame(room, "mallory", pub, bad))) ==
          "invalid_signature");
  auto joined = mallory.call(mallory.join_frame(room, "mallory", pub, genuine));
  REQUIRE(joined.at("type") == "joined");
  const std::string user_id(joined.at("user_id").as_string());

  // Sends, as a member.
  const auto msg = message_payload(room, user_id, 1, "hi");
  const auto msg_sig = mallory.key.sign(msg);
  for (const auto& bad : {flip_bit(msg_sig, 7), flip_bit(msg_sig, 400), add_group_order(msg_sig),
                          sign_with_small_order_r(mallory.key, small_order_points()[0], msg),
                          sign_with_small_order_r(mallory.key, small_order_points()[7], msg),
                          KeyPair::generate().sign(msg)})
    CHECK(code_of(mallory.call(send_frame(room, 1, "hi", bad))) == "invalid_signature");
  CHECK(code_of(mallory.call(send_frame(room, 1, "hI", msg_sig))) == "invalid_signature");

  // Nothing of that reached anyone; the genuine message does, and so does everyone else's.
  CHECK(alice.send(room, "still here").seq == 1);
  auto sent = mallory.call(send_frame(room, 1, "hi", msg_sig));
  CHECK(sent.at("type") == "sent");
  CHECK(sent.at("seq") == 2);
  const auto seen = bob.messages.wait_for(2);
  CHECK(seen[0].text == "still here");
  CHECK(seen[1].text == "hi");
  CHECK(seen[1].user_id == user_id);
}

} // namespace tinychat::test
