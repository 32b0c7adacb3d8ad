// PROTOCOL.md section 11, error precedence, over real sockets: the frame, then id and type,
// then fields, then the room, then membership, then limits, signature and counters.

#include "conformance_server.hpp"
#include "wire_client.hpp"

#include <doctest/doctest.h>

#include <string>
#include <type_traits>

namespace tinychat::test {
namespace {

std::string code_of(WireClient& who, const json::object& request) {
  return outcome(who.call(request));
}

const std::string missing_room = "zyxwvutsrqponmlkjihgfedcba";
const std::string bad_sig(128, '0');

} // namespace

TEST_CASE("precedence: frame and id before type, type before fields, fields before the room") {
  ConformanceServer server;
  WireClient a(server.port());
  // An invalid id wins over an unknown type and over missing fields.
  auto reply = a.call_raw(R"({"type":"frobnicate","id":-1})");
  CHECK(outcome(reply) == "bad_request");
  CHECK(reply.at("id") == nullptr);
  reply = a.call_raw(R"({"type":"send","id":1.5})");
  CHECK(outcome(reply) == "bad_request");
  CHECK(reply.at("id") == nullptr);
  // A type that is not a string wins over everything after it.
  reply = a.call_raw(R"({"type":5,"id":2,"room_id":")" + missing_room + "\"}");
  CHECK(outcome(reply) == "bad_request");
  CHECK(reply.at("id") == 2);
  // An unknown type wins over missing or malformed fields.
  CHECK(code_of(a, {{"type", "frobnicate"}, {"id", 3}, {"room_id", 5}}) == "unknown_type");
  // Malformed fields win over a missing room.
  const json::object send{{"type", "send"},  {"id", 4},         {"room_id", missing_room},
                          {"client_seq", 1}, {"text", "hello"}, {"sig", bad_sig}};
  CHECK(code_of(a, without(send, "text")) == "bad_request");
  CHECK(code_of(a, with(send, "client_seq", "1")) == "bad_request");
  CHECK(code_of(a, with(send, "room_id", "ZYXWVUTSRQPONMLKJIHGFEDCBA")) == "bad_request");
  const json::object join{{"type", "join"},          {"id", 5},
                          {"room_id", missing_room}, {"user_name", "alice"},
                          {"pub_key", a.pub_key()},  {"sig", bad_sig}};
  CHECK(code_of(a, without(join, "pub_key")) == "bad_request");
  CHECK(code_of(a, with(join, "user_name", 7)) == "bad_request");
  CHECK(code_of(a, {{"type", "history"}, {"id", 6}, {"room_id", missing_room}, {"limit", 0}}) ==
        "bad_request");
}

TEST_CASE("precedence: the room before membership, limits and signature") {
  ConformanceServer server({"--max-text-chars", "5"});
  WireClient a(server.port());
  const std::string room = a.create_room();
  a.joined(room, "alice");
  const json::object send{{"type", "send"},  {"id", 1},         {"room_id", missing_room},
                          {"client_seq", 1}, {"text", "hello"}, {"sig", bad_sig}};
  // A bad signature, a missing one, a too long or invalid text, a stale counter, and no
  // membership: the missing room answers.
  CHECK(code_of(a, send) == "room_not_found");
  CHECK(code_of(a, without(send, "sig")) == "room_not_found");
  CHECK(code_of(a, with(send, "text", "far too long")) == "room_not_found");
  CHECK(code_of(a, with(send, "text", "")) == "room_not_found");
  CHECK(code_of(a, with(send, "client_seq", 0)) == "room_not_found");
  const json::object join{{"type", "join"},          {"id", 2},
                          {"room_id", missing_room}, {"user_name", "alice"},
                          {"pub_key", a.pub_key()},  {"sig", bad_sig}};
  CHECK(code_of(a, join) == "room_not_found");
  CHECK(code_of(a, with(join, "user_name", "")) == "room_not_found");
  CHECK(code_of(a, with(join, "user_name", "a\x01")) == "room_not_found");
  CHECK(code_of(a, without(join, "sig")) == "room_not_found");
  CHECK(code_of(a, {{"type", "history"}, {"id", 3}, {"room_id", missing_room}}) ==
        "room_not_found");
  CHECK(code_of(a, {{"type", "leave"}, {"id", 4}, {"room_id", missing_room}}) == "room_not_found");
}

TEST_CASE("precedence: membership before limits, signature and counters") {
  ConformanceServer server({"--max-text-chars", "5"});
  WireClient alice(server.port());
  WireClient bob(server.port());
  const std::string room = alice.create_room();
  alice.joined(room, "alice");
  alice.sent(room, 1, "one");
  // Bob never joined: not_member, whatever else is wrong with the send.
  auto send = alice.send_request(room, 1, "far too long");
  CHECK(code_of(bob, send) == "not_member");
  CHECK(code_of(bob, with(send, "sig", bad_sig)) == "not_member");
  CHECK(code_of(bob, without(send, "sig")) == "not_member");
  CHECK(code_of(bob, with(send, "text", "")) == "not_member");
  CHECK(code_of(bob, with(send, "client_seq", 0)) == "not_member");
  // Alice joined already: already_joined wins over a bad name, the room cap and a bad sig.
  auto join = alice.join_request(room, "");
  CHECK(code_of(alice, join) == "already_joined");
  CHECK(code_of(alice, with(join, "sig", bad_sig)) == "already_joined");
  CHECK(code_of(alice, with(alice.join_request(room, "bob"), "sig", bad_sig)) == "already_joined");
}

TEST_CASE("precedence: limits before the signature, the signature before the counter") {
  ConformanceServer server({"--max-text-chars", "5", "--max-room-members", "2"});
  WireClient alice(server.port());
  WireClient bob(server.port());
  WireClient carol(server.port());
  const std::string room = alice.create_room();
  alice.joined(room, "alice");
  alice.sent(room, 3, "three");

  // send: text checks, then the signature, then client_seq.
  CHECK(code_of(alice, with(alice.send_request(room, 4, "ok"), "text", "far too long")) ==
        "text_too_long");
  CHECK(code_of(alice, with(alice.send_request(room, 4, "ok"), "text", "a\rb")) == "invalid_text");
  CHECK(code_of(alice, with(alice.send_request(room, 4, "ok"), "text", "")) == "invalid_text");
  CHECK(code_of(alice, with(alice.send_request(room, 2, "ok"), "sig", bad_sig)) ==
        "invalid_signature");
  CHECK(code_of(alice, without(alice.send_request(room, 3, "ok"), "sig")) == "invalid_signature");
  CHECK(code_of(alice, alice.send_request(room, 3, "ok")) == "stale_client_seq");

  // join: name, room cap and name_taken before the signature.
  CHECK(code_of(bob, with(bob.join_request(room, ""), "sig", bad_sig)) == "invalid_name");
  CHECK(code_of(bob, with(bob.join_request(room, "alice"), "sig", bad_sig)) == "name_taken");
  CHECK(code_of(bob, without(bob.join_request(room, "alice"), "sig")) == "name_taken");
  bob.joined(room, "bob");
  CHECK(code_of(carol, with(carol.join_request(room, "carol"), "sig", bad_sig)) == "room_full");
  CHECK(code_of(carol, without(carol.join_request(room, "carol"), "sig")) == "room_full");
  // tinychat's order within the limits: the name, the room cap, then name_taken.
  CHECK(code_of(carol, carol.join_request(room, "a\x01")) == "invalid_name");
  CHECK(code_of(carol, carol.join_request(room, "alice")) == "room_full");
}

} // namespace tinychat::test
