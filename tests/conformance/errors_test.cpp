// PROTOCOL.md section 7 over real sockets: every error code, provoked on purpose. Each error
// frame is checked whole: {type, id, code, message} and nothing else (retry_after_ms too for
// rate_limited).

#include "conformance_server.hpp"
#include "support/temp_dir.hpp"
#include "wire_client.hpp"

#include <tinychat/encoding.hpp>

#include <doctest/doctest.h>

#include <fstream>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

namespace tinychat::test {
namespace {

const std::set<std::string> error_fields{"type", "id", "code", "message"};

// Writes `text` and checks the reply: an error frame with `code` and `id`.
void expect_error(WireClient& who, std::string_view text, std::string_view code,
                  const json::value& id) {
  CAPTURE(text);
  const auto reply = who.call_raw(text);
  CAPTURE(json::serialize(reply));
  CHECK(keys(reply) == error_fields);
  CHECK(outcome(reply) == code);
  CHECK(reply.at("id") == id);
  CHECK(reply.at("message").is_string());
}

// Sends `request` and checks the reply: an error frame with `code`, echoing the request's id.
void expect_error(WireClient& who, const json::object& request, std::string_view code) {
  expect_error(who, json::serialize(request), code, request.at("id"));
}

std::string upper(std::string s) {
  for (auto& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

const std::string a_room_nobody_made = "abcdefghijklmnopqrstuvwxyz";

} // namespace

TEST_CASE("bad_request: a frame that is not one JSON object, answered with id null") {
  ConformanceServer server;
  WireClient a(server.port());
  for (const char* text :
       {"", "{", "nope", "[]", "[{\"type\":\"ping\",\"id\":1}]", "\"ping\"", "42", "null",
        "{\"type\":\"ping\",\"id\":1} {}", "{\"type\":\"ping\",\"id\":1,}"})
    expect_error(a, text, "bad_request", nullptr);
  // tinychat: an object with a key twice is ambiguous, so not one readable object.
  expect_error(a, R"({"type":"ping","id":1,"id":2})", "bad_request", nullptr);
  // The connection is still fine.
  a.sync();
}

TEST_CASE("bad_request: an invalid id is answered with id null; type must be a string") {
  ConformanceServer server;
  WireClient a(server.port());
  for (const char* id : {"-1", "1.5", "1.0", "1e2", "9007199254740992", "18446744073709551616",
                         "true", "{}", "[]", "[1]"}) {
    const std::string text = std::string(R"({"type":"ping","id":)") + id + "}";
    expect_error(a, text, "bad_request", nullptr);
  }
  expect_error(a, json::serialize(json::object{{"type", "ping"}, {"id", std::string(65, 'x')}}),
               "bad_request", nullptr);
  std::string e65;
  for (int i = 0; i < 65; ++i)
    e65 += "\xC3\xA9";
  expect_error(a, json::serialize(json::object{{"type", "ping"}, {"id", e65}}), "bad_request",
               nullptr);
  // The largest id and the longest string id are fine.
  CHECK(a.call({{"type", "ping"}, {"id", max_integer}}).at("id") == max_integer);
  CHECK(outcome(a.call({{"type", "ping"}, {"id", std::string(64, 'x')}})) == "pong");

  expect_error(a, R"({"id":4})", "bad_request", 4);
  expect_error(a, R"({"type":null,"id":5})", "bad_request", 5);
  expect_error(a, R"({"type":7,"id":6})", "bad_request", 6);
  expect_error(a, R"({"type":["ping"],"id":"seven"})", "bad_request", "seven");
}

TEST_CASE("unknown_type: a type string that is not one of section 4") {
  ConformanceServer server;
  WireClient a(server.port());
  for (const char* type :
       {"frobnicate", "PING", "Ping", "ping ", "", "hello", "pong", "joined", "message", "error"})
    expect_error(a, {{"type", type}, {"id", 9}}, "unknown_type");
  expect_error(a, R"({"type":"frobnicate"})", "unknown_type", nullptr);
}

TEST_CASE("bad_request: a field missing, of the wrong type or spelling") {
  ConformanceServer server;
  WireClient alice(server.port());
  WireClient bob(server.port());
  const std::string room = alice.create_room();
  alice.joined(room, "alice");
  alice.sent(room, 1, "there is history");

  const auto join = bob.join_request(room, "bob");
  for (const auto& bad :
       {without(join, "room_id"), with(join, "room_id", 5), with(join, "room_id", nullptr),
        with(join, "room_id", upper(room)), with(join, "room_id", room.substr(1)),
        with(join, "room_id", room + "a"), with(join, "room_id", "abcdefghijklmnopqrstuvwx18"),
        with(join, "room_id", "abcdefghijklmnopqrstuvwx-a"), without(join, "user_name"),
        with(join, "user_name", 5), with(join, "user_name", nullptr), without(join, "pub_key"),
        with(join, "pub_key", upper(bob.pub_key())), with(join, "pub_key", bob.pub_key() + "00"),
        with(join, "pub_key", bob.pub_key().substr(2)), with(join, "pub_key", 1)})
    expect_error(bob, bad, "bad_request");
  // None of them joined bob.
  CHECK(outcome(bob.join(room, "bob")) == "joined");

  const auto send = alice.send_request(room, 2, "hello");
  for (const auto& bad :
       {without(send, "room_id"), with(send, "room_id", upper(room)), without(send, "client_seq"),
        with(send, "client_seq", "2"), with(send, "client_seq", nullptr),
        with(send, "client_seq", -2), with(send, "client_seq", 2.5),
        with(send, "client_seq", max_integer + 1), without(send, "text"), with(send, "text", 5),
        with(send, "text", nullptr)})
    expect_error(alice, bad, "bad_request");
  for (const char* client_seq : {"2.0", "2e0", "20e-1"}) {
    std::string text = json::serialize(send);
    const std::string field = "\"client_seq\":2";
    text.replace(text.find(field), field.size(), "\"client_seq\":" + std::string(client_seq));
    expect_error(alice, text, "bad_request", send.at("id"));
  }

  const json::object history{{"type", "history"}, {"id", 30}, {"room_id", room}};
  for (const auto& bad :
       {without(history, "room_id"), with(history, "room_id", upper(room)),
        with(history, "after_seq", -1), with(history, "after_seq", "0"),
        with(history, "after_seq", 0.5), with(history, "after_seq", max_integer + 1),
        with(history, "limit", 0), with(history, "limit", 201), with(history, "limit", "10"),
        with(history, "limit", -1), with(history, "limit", 1.5)})
    expect_error(alice, bad, "bad_request");
  expect_error(alice, R"({"type":"history","id":31,"room_id":")" + room + R"(","limit":10.0})",
               "bad_request", 31);

  const json::object leave{{"type", "leave"}, {"id", 40}, {"room_id", room}};
  for (const auto& bad :
       {without(leave, "room_id"), with(leave, "room_id", 1), with(leave, "room_id", upper(room))})
    expect_error(alice, bad, "bad_request");

  // Nothing was accepted: alice is still in the room, with one message.
  const auto page = alice.history(room);
  CHECK(page.at("last_seq") == 1);
  CHECK(alice.sent(room, 2, "hello").at("seq") == 2);
}

TEST_CASE("room_not_found: join, send, history and leave of a room that does not exist") {
  ConformanceServer server;
  WireClient alice(server.port());
  const std::string room = alice.create_room();
  alice.joined(room, "alice");
  auto join = alice.join_request(a_room_nobody_made, "alice");
  expect_error(alice, join, "room_not_found");
  expect_error(alice, alice.send_request(a_room_nobody_made, 1, "hi", alice.user_id(room)),
               "room_not_found");
  expect_error(alice, {{"type", "history"}, {"id", 1}, {"room_id", a_room_nobody_made}},
               "room_not_found");
  expect_error(alice, {{"type", "leave"}, {"id", 2}, {"room_id", a_room_nobody_made}},
               "room_not_found");
}

TEST_CASE("room_full: max_room_members users; a present user's other connection still gets in") {
  ConformanceServer server({"--max-room-members", "2"});
  WireClient alice(server.port());
  WireClient bob(server.port());
  WireClient carol(server.port());
  const std::string room = alice.create_room();
  alice.joined(room, "alice");
  bob.joined(room, "bob");
  expect_error(carol, carol.join_request(room, "carol"), "room_full");

  WireClient bob_tab(server.port(), bob.key());
  CHECK(bob_tab.joined(room, "bob").at("members").as_array().size() == 2);

  REQUIRE(outcome(alice.leave(room)) == "left");
  CHECK(outcome(carol.join(room, "carol")) == "joined");
}

TEST_CASE("name_taken: another present user, with another key, has the trimmed name") {
  ConformanceServer server;
  WireClient alice(server.port());
  WireClient bob(server.port());
  const std::string room = alice.create_room();
  alice.joined(room, "alice");
  expect_error(bob, bob.join_request(room, "alice"), "name_taken");
  expect_error(bob, bob.join_request(room, " \talice\t "), "name_taken");
  // Code point by code point: other case, other characters are other names.
  CHECK(outcome(bob.join(room, "Alice")) == "joined");

  WireClient carol(server.port());
  expect_error(carol, carol.join_request(room, "Alice"), "name_taken");
  // The same key may take its own name again from another connection.
  WireClient alice_tab(server.port(), alice.key());
  CHECK(outcome(alice_tab.join(room, "alice")) == "joined");
  // Once alice is gone from every connection, her name is free.
  REQUIRE(outcome(alice.leave(room)) == "left");
  expect_error(carol, carol.join_request(room, "alice"), "name_taken");
  REQUIRE(outcome(alice_tab.leave(room)) == "left");
  CHECK(outcome(carol.join(room, "alice")) == "joined");
}

TEST_CASE("invalid_name: empty after trimming, too long, or with a control character") {
  ConformanceServer server({"--max-name-chars", "5"});
  WireClient alice(server.port());
  const std::string room = alice.create_room();
  for (const char* name : {"", " ", "\t \t", "abcdef", "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9x",
                           "a\nb", "a\rb", "a\x01", "a\x7F", "a\xC2\x85", "a\xC2\x9F", "\n"})
    expect_error(alice, alice.join_request(room, name), "invalid_name");
  // A lone surrogate, written as a JSON escape.
  const auto request = alice.join_request(room, "ab");
  std::string text = json::serialize(request);
  text.replace(text.find("\"ab\""), 4, R"("a\ud800")");
  expect_error(alice, text, "invalid_name", request.at("id"));

  // Five code points, after trimming, is fine.
  const auto joined = alice.join(room, "  \xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\t");
  CHECK(outcome(joined) == "joined");
  CHECK(joined.at("user_name") == "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9");
}

TEST_CASE("invalid_text and text_too_long: empty, control characters, more than max_text_chars") {
  ConformanceServer server({"--max-text-chars", "5"});
  WireClient alice(server.port());
  const std::string room = alice.create_room();
  alice.joined(room, "alice");
  for (const char* text :
       {"", "a\rb", "a\x01", "\x1F", "a\x7F", "a\xC2\x80", "a\xC2\x9F", "a\r\n", "\x1B[31m"})
    expect_error(alice, alice.send_request(room, 1, text), "invalid_text");
  const auto request = alice.send_request(room, 1, "xy");
  std::string frame = json::serialize(request);
  frame.replace(frame.find("\"xy\""), 4, R"("x\udc00")");
  expect_error(alice, frame, "invalid_text", request.at("id"));

  expect_error(alice, alice.send_request(room, 1, "abcdef"), "text_too_long");
  expect_error(alice,
               alice.send_request(room, 1,
                                  "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80"
                                  "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80"),
               "text_too_long");
  // tinychat: a text that is too long and has a control character is invalid_text.
  expect_error(alice, alice.send_request(room, 1, "abcdef\x01"), "invalid_text");

  // LF and TAB are fine; five code points are fine however many bytes.
  CHECK(alice.sent(room, 1, "a\nb\tc").at("seq") == 1);
  CHECK(alice
            .sent(room, 2,
                  "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80"
                  "\xF0\x9F\x98\x80")
            .at("seq") == 2);
}

TEST_CASE("invalid_signature: join with sig missing, malformed or wrong, or a small-order key") {
  ConformanceServer server;
  WireClient alice(server.port());
  WireClient other(server.port());
  const std::string room = alice.create_room();
  const std::string room2 = alice.create_room();
  const auto join = alice.join_request(room, "alice");
  const std::string sig(join.at("sig").as_string());
  for (const auto& bad :
       {without(join, "sig"), with(join, "sig", nullptr), with(join, "sig", upper(sig)),
        with(join, "sig", sig.substr(2)), with(join, "sig", sig + "00"), with(join, "sig", ""),
        with(join, "sig", "zz" + sig.substr(2)), with(join, "sig", std::string(128, '0'))})
    expect_error(alice, bad, "invalid_signature");

  // Valid signatures, but not over this join: another connection's challenge, another room,
  // another name, another key.
  const auto over_other_challenge =
      alice.key().sign(join_payload(other.challenge(), room, "alice", alice.key().public_key()));
  expect_error(alice, with(join, "sig", to_hex(over_other_challenge)), "invalid_signature");
  expect_error(alice, with(alice.join_request(room2, "alice"), "room_id", room),
               "invalid_signature");
  expect_error(alice, with(alice.join_request(room, "alicia"), "user_name", "alice"),
               "invalid_signature");
  expect_error(alice, with(join, "pub_key", other.pub_key()), "invalid_signature");
  // A captured join of another connection, replayed whole.
  const auto others = other.join_request(room, "other");
  expect_error(alice, others, "invalid_signature");
  // A key of small order (the identity point) with an all-zero signature.
  expect_error(
      alice,
      with(with(join, "pub_key", "01" + std::string(62, '0')), "sig", "01" + std::string(126, '0')),
      "invalid_signature");

  CHECK(outcome(alice.join(room, "alice")) == "joined");
  CHECK(outcome(other.call(with(others, "id", 99))) == "joined");
}

TEST_CASE("invalid_signature: send with sig missing, malformed or wrong") {
  ConformanceServer server;
  WireClient alice(server.port());
  WireClient bob(server.port());
  const std::string room = alice.create_room();
  const std::string room2 = alice.create_room();
  alice.joined(room, "alice");
  alice.joined(room2, "alice");
  bob.joined(room, "bob");
  const auto send = alice.send_request(room, 1, "hello");
  const std::string sig(send.at("sig").as_string());
  for (const auto& bad :
       {without(send, "sig"), with(send, "sig", nullptr), with(send, "sig", upper(sig)),
        with(send, "sig", sig.substr(1)), with(send, "sig", ""), with(send, "sig", "x" + sig)})
    expect_error(alice, bad, "invalid_signature");
  // Signed, but for another text, counter, room or user, or by another key.
  expect_error(alice, with(send, "text", "hello!"), "invalid_signature");
  expect_error(alice, with(send, "client_seq", 2), "invalid_signature");
  expect_error(alice, with(alice.send_request(room2, 1, "hello"), "room_id", room),
               "invalid_signature");
  expect_error(alice, alice.send_request(room, 1, "hello", bob.user_id(room)), "invalid_signature");
  expect_error(alice, bob.send_request(room, 1, "hello", alice.user_id(room)), "invalid_signature");
  // Bob replaying alice's signed frame as his own.
  expect_error(bob, send, "invalid_signature");

  CHECK(outcome(alice.call(send)) == "sent");
}

TEST_CASE("not_member: send, history and leave need this connection to have joined") {
  ConformanceServer server;
  WireClient alice(server.port());
  WireClient bob(server.port());
  const std::string room = alice.create_room();
  alice.joined(room, "alice");
  expect_error(bob, alice.send_request(room, 1, "hi"), "not_member");
  expect_error(bob, {{"type", "history"}, {"id", 1}, {"room_id", room}}, "not_member");
  expect_error(bob, {{"type", "leave"}, {"id", 2}, {"room_id", room}}, "not_member");
  // Another connection of a member's key is not a member itself.
  WireClient alice_tab(server.port(), alice.key());
  expect_error(alice_tab, alice.send_request(room, 1, "hi"), "not_member");
  expect_error(alice_tab, {{"type", "history"}, {"id", 3}, {"room_id", room}}, "not_member");
  // Nor is a connection that left.
  REQUIRE(outcome(alice.leave(room)) == "left");
  expect_error(alice, alice.send_request(room, 1, "hi"), "not_member");
  expect_error(alice, {{"type", "leave"}, {"id", 4}, {"room_id", room}}, "not_member");
}

TEST_CASE("already_joined: this connection already joined this room") {
  ConformanceServer server;
  WireClient alice(server.port());
  const std::string room = alice.create_room();
  alice.joined(room, "alice");
  expect_error(alice, alice.join_request(room, "alice"), "already_joined");
  expect_error(alice, alice.join_request(room, "another name"), "already_joined");
  REQUIRE(outcome(alice.leave(room)) == "left");
  CHECK(outcome(alice.join(room, "alice")) == "joined");
}

TEST_CASE("too_many_rooms: max_rooms_per_connection reached") {
  ConformanceServer server({"--max-rooms-per-connection", "2"});
  WireClient alice(server.port());
  const std::string r1 = alice.create_room();
  const std::string r2 = alice.create_room();
  const std::string r3 = alice.create_room();
  alice.joined(r1, "alice");
  alice.joined(r2, "alice");
  expect_error(alice, alice.join_request(r3, "alice"), "too_many_rooms");
  // Per connection: another one of the same key may join.
  WireClient tab(server.port(), alice.key());
  CHECK(outcome(tab.join(r3, "alice")) == "joined");
  REQUIRE(outcome(alice.leave(r1)) == "left");
  CHECK(outcome(alice.join(r3, "alice")) == "joined");
}

TEST_CASE("stale_client_seq: client_seq not above the last accepted one") {
  ConformanceServer server;
  WireClient alice(server.port());
  const std::string room = alice.create_room();
  alice.joined(room, "alice");
  expect_error(alice, alice.send_request(room, 0, "zero"), "stale_client_seq");
  alice.sent(room, max_integer - 1, "nearly the top");
  expect_error(alice, alice.send_request(room, 5, "low"), "stale_client_seq");
  expect_error(alice, alice.send_request(room, max_integer - 1, "same"), "stale_client_seq");
  CHECK(alice.sent(room, max_integer, "the top").at("client_seq") == max_integer);
  expect_error(alice, alice.send_request(room, max_integer, "again"), "stale_client_seq");
}

TEST_CASE("rate_limited: the request budget spent, with retry_after_ms") {
  // One request per 100 s after a burst of 3: the fourth frame is refused however slow the
  // machine.
  ConformanceServer server({"--rate-limit-per-second", "0.01", "--rate-limit-burst", "3"});
  WireClient a(server.port());
  for (int id = 1; id <= 6; ++id)
    a.write({{"type", "ping"}, {"id", id}});
  for (int id = 1; id <= 3; ++id)
    CHECK(a.reply() == json::object{{"type", "pong"}, {"id", id}});
  for (int id = 4; id <= 6; ++id) {
    const auto reply = a.reply();
    CAPTURE(json::serialize(reply));
    CHECK(keys(reply) == std::set<std::string>{"type", "id", "code", "message", "retry_after_ms"});
    CHECK(outcome(reply) == "rate_limited");
    CHECK(reply.at("id") == id);
    REQUIRE(reply.at("retry_after_ms").is_int64());
    CHECK(reply.at("retry_after_ms").as_int64() > 0);
    CHECK(reply.at("retry_after_ms").as_int64() <= 100'000);
  }
  const auto refused = a.call({{"type", "create_room"}, {"id", 7}});
  CHECK(outcome(refused) == "rate_limited");
  // tinychat: every frame costs a token, also one that cannot be read.
  const auto unreadable = a.call_raw("nope");
  CHECK(outcome(unreadable) == "rate_limited");
  CHECK(unreadable.at("id") == nullptr);

  // The budget is per connection.
  WireClient b(server.port());
  CHECK(outcome(b.call({{"type", "ping"}, {"id", 1}})) == "pong");
}

TEST_CASE("unauthorized: auth on a server without a token key; create_room without a token") {
  {
    ConformanceServer server;
    WireClient a(server.port());
    CHECK(a.hello().at("limits").at("auth_required") == false);
    expect_error(a, {{"type", "auth"}, {"id", 1}, {"token", "a.b.c"}}, "unauthorized");
    CHECK(outcome(a.call({{"type", "create_room"}, {"id", 2}})) == "room_created");
  }
  TempDir dir;
  const auto secret_file = (dir.path() / "secret").string();
  std::ofstream(secret_file) << "0123456789abcdef0123456789abcdef\n";
  ConformanceServer server({"--auth-hs256-secret-file", secret_file});
  WireClient a(server.port());
  CHECK(a.hello().at("limits").at("auth_required") == true);
  expect_error(a, {{"type", "create_room"}, {"id", 3}}, "unauthorized");
  expect_error(a, {{"type", "auth"}, {"id", 4}, {"token", "not a token"}}, "unauthorized");
  expect_error(a, {{"type", "create_room"}, {"id", 5}}, "unauthorized");
}

TEST_CASE("room_quota_exceeded: as many live rooms as allowed, or created in the last minute") {
  {
    ConformanceServer server({"--max-live-rooms-per-user", "2"});
    WireClient a(server.port());
    a.create_room();
    a.create_room();
    expect_error(a, {{"type", "create_room"}, {"id", 1}}, "room_quota_exceeded");
    // Per address, not per connection.
    WireClient b(server.port());
    expect_error(b, {{"type", "create_room"}, {"id", 2}}, "room_quota_exceeded");
  }
  ConformanceServer server({"--max-rooms-per-minute", "3"});
  WireClient a(server.port());
  for (int i = 0; i < 3; ++i)
    a.create_room();
  expect_error(a, {{"type", "create_room"}, {"id", 3}}, "room_quota_exceeded");
}

} // namespace tinychat::test
