// Signature edge cases (PROTOCOL.md 2 and 11): every tampered or weak signature a lax Ed25519
// verifier would let through is answered `invalid_signature`, stores nothing, tells nobody,
// and the room goes on serving its members. The single bit flips of R and S, S + L, and
// signatures for another room, user or counter are in errors_test.cpp.

#include "chat_fixture.hpp"
#include "forged_signatures.hpp"

#include <tinychat/encoding.hpp>

#include <string>

using namespace tinychat::test;
using tinychat::from_hex;
using tinychat::to_hex;

namespace {

// Alice and Bob present in one room, nothing queued, and a way to see they still talk.
struct Served : AliceAndBob {
  // Nothing reached the members, and they still talk: the server keeps serving.
  void still_serving() {
    CHECK(alice.queued() == 0);
    CHECK(bob.queued() == 0);
    auto page = alice.history(room);
    CHECK(page.at("messages").as_array().empty());
    REQUIRE(type_of(alice.send(room, "still here")) == "sent");
    CHECK(str_of(bob.event("message"), "text") == "still here");
  }
};

tinychat::Challenge challenge_of(const Peer& p) {
  tinychat::Challenge c{};
  REQUIRE(from_hex(p.hello().at("challenge").as_string(), c));
  return c;
}

json::object join_frame(std::string_view room, std::string_view name,
                        const tinychat::PublicKey& key, const tinychat::Signature& sig) {
  return {{"type", "join"},
          {"room_id", room},
          {"user_name", name},
          {"pub_key", to_hex(key)},
          {"sig", to_hex(sig)}};
}

json::object send_frame(std::string_view room, std::uint64_t client_seq, std::string_view text,
                        const tinychat::Signature& sig) {
  return {{"type", "send"},
          {"room_id", room},
          {"client_seq", client_seq},
          {"text", text},
          {"sig", to_hex(sig)}};
}

// The name, pub_key and payload of a signature that only a verifier skipping the small-order
// key check accepts; names are tried until the hash of the payload allows one.
struct ForgedJoin {
  std::string name;
  tinychat::Signature sig{};
};

ForgedJoin forge_join(const Peer& p, std::string_view room, const tinychat::PublicKey& key) {
  for (int n = 0; n < 1000; ++n) {
    std::string name = "mallory" + std::to_string(n);
    auto payload = tinychat::join_payload(challenge_of(p), room, name, key);
    if (auto sig = forge_for_small_order_key(key, payload)) return {name, *sig};
  }
  FAIL("no payload with k divisible by 8 among 1000");
  return {};
}

// A flip that makes a control character is refused as invalid_name or invalid_text first.
bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

} // namespace

TEST_CASE("invalid_signature: a join with one bit of the signed name or of pub_key flipped") {
  Served room;
  auto& carol = room.chat.connect();
  const std::string name = "carol";
  const auto genuine = carol.key().sign(
      tinychat::join_payload(challenge_of(carol), room.room, name, carol.key().public_key()));
  for (std::size_t i = 0; i < name.size(); ++i)
    for (int bit = 0; bit < 7; ++bit) { // the eighth would make invalid UTF-8
      std::string flipped = name;
      flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
      if (is_control(flipped[i])) continue;
      CAPTURE(flipped);
      CHECK(code_of(carol.call(join_frame(room.room, flipped, carol.key().public_key(),
                                          genuine))) == "invalid_signature");
    }
  for (std::size_t bit = 0; bit < 256; ++bit) {
    CAPTURE(bit);
    auto key = carol.key().public_key();
    key[bit / 8] = static_cast<std::uint8_t>(key[bit / 8] ^ (1u << (bit % 8)));
    CHECK(code_of(carol.call(join_frame(room.room, name, key, genuine))) == "invalid_signature");
  }
  room.still_serving();
  CHECK(type_of(carol.call(join_frame(room.room, name, carol.key().public_key(), genuine))) ==
        "joined");
}

TEST_CASE("invalid_signature: a send with one bit of the text or of client_seq flipped") {
  Served room;
  auto& alice = room.alice;
  const std::string text = "hi there";
  const auto sig =
      alice.key().sign(tinychat::message_payload(room.room, alice.user_id(room.room), 1, text));
  for (std::size_t i = 0; i < text.size(); ++i)
    for (int bit = 0; bit < 7; ++bit) {
      std::string flipped = text;
      flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
      if (is_control(flipped[i])) continue;
      CAPTURE(flipped);
      CHECK(code_of(alice.call(send_frame(room.room, 1, flipped, sig))) == "invalid_signature");
    }
  for (int bit = 1; bit < 53; ++bit) { // bit 0 would make it 0, refused for that alone
    CAPTURE(bit);
    CHECK(code_of(alice.call(send_frame(room.room, 1 ^ (std::uint64_t{1} << bit), text, sig))) ==
          "invalid_signature");
  }
  CHECK(room.bob.queued() == 0);
  auto sent = alice.call(send_frame(room.room, 1, text, sig));
  REQUIRE(type_of(sent) == "sent");
  CHECK(sent.at("seq") == 1);
  CHECK(str_of(room.bob.event("message"), "text") == text);
}

TEST_CASE("invalid_signature: every small-order key, canonical or not, with a signature that "
          "satisfies the plain equation") {
  Served room;
  auto& mallory = room.chat.connect();
  auto keys = small_order_points();
  keys.insert(keys.end(), non_canonical_small_order_points().begin(),
              non_canonical_small_order_points().end());
  for (const auto& key : keys) {
    CAPTURE(to_hex(key));
    auto forged = forge_join(mallory, room.room, key);
    CHECK(code_of(mallory.call(join_frame(room.room, forged.name, key, forged.sig))) ==
          "invalid_signature");
  }
  // Never a member, so nothing it signs counts: R = identity, S = 0 fits any small-order key.
  tinychat::Signature identity_r{};
  identity_r[0] = 1;
  CHECK(code_of(mallory.call(send_frame(room.room, 1, "hi", identity_r))) == "not_member");
  room.still_serving();
}

TEST_CASE("invalid_signature: public keys with y >= p are refused however they decode") {
  Served room;
  auto& mallory = room.chat.connect();
  const auto sig = mallory.key().sign(std::vector<std::uint8_t>{1});
  for (const auto& key : other_non_canonical_encodings()) {
    CAPTURE(to_hex(key));
    CHECK(code_of(mallory.call(join_frame(room.room, "mallory", key, sig))) == "invalid_signature");
  }
  room.still_serving();
}

TEST_CASE("invalid_signature: an R of small order, though the cofactored equation holds") {
  Served room;
  auto& carol = room.chat.connect();
  auto& alice = room.alice;
  const auto join_payload =
      tinychat::join_payload(challenge_of(carol), room.room, "carol", carol.key().public_key());
  const auto send_payload = tinychat::message_payload(room.room, alice.user_id(room.room), 1, "hi");
  for (const auto& r : small_order_points()) {
    CAPTURE(to_hex(r));
    auto join_sig = sign_with_small_order_r(carol.key(), r, join_payload);
    CHECK(cofactored_equation_holds(carol.key().public_key(), join_payload, join_sig));
    CHECK(code_of(carol.call(join_frame(room.room, "carol", carol.key().public_key(), join_sig))) ==
          "invalid_signature");
    auto send_sig = sign_with_small_order_r(alice.key(), r, send_payload);
    CHECK(cofactored_equation_holds(alice.key().public_key(), send_payload, send_sig));
    CHECK(code_of(alice.call(send_frame(room.room, 1, "hi", send_sig))) == "invalid_signature");
  }
  for (const auto& r : non_canonical_small_order_points()) {
    CAPTURE(to_hex(r));
    CHECK(code_of(carol.call(join_frame(room.room, "carol", carol.key().public_key(),
                                        sign_with_small_order_r(carol.key(), r, join_payload)))) ==
          "invalid_signature");
    CHECK(code_of(alice.call(send_frame(room.room, 1, "hi",
                                        sign_with_small_order_r(alice.key(), r, send_payload)))) ==
          "invalid_signature");
  }
  room.still_serving();
  CHECK(type_of(carol.join(room.room, "carol")) == "joined");
}

TEST_CASE("invalid_signature: a join signed over the right payload by another key") {
  Served room;
  auto& carol = room.chat.connect();
  const auto mallory = tinychat::KeyPair::generate();
  // Carol's key on the wire, the payload naming it, Mallory's signature.
  const auto payload =
      tinychat::join_payload(challenge_of(carol), room.room, "carol", carol.key().public_key());
  CHECK(code_of(carol.call(join_frame(room.room, "carol", carol.key().public_key(),
                                      mallory.sign(payload)))) == "invalid_signature");
  // Mallory's key on the wire, signed by Carol over a payload naming Mallory's key.
  const auto theirs =
      tinychat::join_payload(challenge_of(carol), room.room, "carol", mallory.public_key());
  CHECK(code_of(carol.call(join_frame(room.room, "carol", mallory.public_key(),
                                      carol.key().sign(theirs)))) == "invalid_signature");
  room.still_serving();
  CHECK(type_of(carol.join(room.room, "carol")) == "joined");
}
