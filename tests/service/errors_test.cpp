// Every error code of PROTOCOL.md section 7, and the precise readings of section 11, provoked
// by users talking raw protocol v1 through the in-process transport. Every error reply is
// checked for its exact shape (section 5), and a failed request must change nothing.

#include "chat_fixture.hpp"

#include <tinychat/encoding.hpp>

#include <array>
#include <set>
#include <string>

using namespace tinychat::test;

namespace {

// ---- setup -------------------------------------------------------------------------------

// Well-formed (26 lowercase base32 characters, 16 zero bytes), but no server handed it out.
const std::string no_such_room(26, 'a');

// ---- building requests -------------------------------------------------------------------

// A join as a client builds it: `sent_name` on the wire, the signature over `signed_name`.
json::object join_request(const Peer& p, std::string_view room, std::string_view sent_name,
                          std::string_view signed_name) {
  return {{"type", "join"},
          {"room_id", room},
          {"user_name", sent_name},
          {"pub_key", p.pub_key_hex()},
          {"sig", p.join_sig(room, signed_name)}};
}

json::object join_request(const Peer& p, std::string_view room, std::string_view name) {
  return join_request(p, room, name, name);
}

// A send signed by `signer` over (room, user_id, client_seq, text).
json::object send_request(const Peer& signer, std::string_view room, std::string_view user_id,
                          std::uint64_t client_seq, std::string_view text) {
  return {{"type", "send"},
          {"room_id", room},
          {"client_seq", client_seq},
          {"text", text},
          {"sig", signer.message_sig(room, user_id, client_seq, text)}};
}

// A correctly signed send of a member, with an explicit counter.
json::object send_request(const Peer& p, std::string_view room, std::uint64_t client_seq,
                          std::string_view text) {
  return send_request(p, room, p.user_id(room), client_seq, text);
}

template <class T>
json::object with(json::object request, std::string_view key, T&& value) {
  request[key] = json::value_from(std::forward<T>(value));
  return request;
}

json::object without(json::object request, std::string_view key) {
  request.erase(key);
  return request;
}

// The wire text of `request` with `key` spelled exactly as `raw_json` (which Boost.JSON would
// not produce itself: "1.0", lone surrogate escapes, ...).
std::string with_raw(json::object request, std::string_view key, std::string_view raw_json) {
  request.erase(key);
  std::string text = json::serialize(request);
  text.pop_back(); // the closing brace
  if (!request.empty()) text += ',';
  text += json::serialize(json::string(key)) + ':' + std::string(raw_json) + '}';
  return text;
}

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i)
    out += s;
  return out;
}

std::string trimmed(std::string_view name) {
  auto first = name.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return std::string(name.substr(first, name.find_last_not_of(" \t") - first + 1));
}

std::string uppercase(std::string s) {
  for (auto& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

// ---- tampering with signatures -----------------------------------------------------------

tinychat::Signature sig_bytes(const json::object& request) {
  tinychat::Signature sig{};
  REQUIRE(tinychat::from_hex(request.at("sig").as_string(), sig));
  return sig;
}

std::string flip_bit(const json::object& request, std::size_t bit) {
  auto sig = sig_bytes(request);
  sig[bit / 8] = static_cast<std::uint8_t>(sig[bit / 8] ^ (1u << (bit % 8)));
  return tinychat::to_hex(sig);
}

// The same signature with S replaced by S + L (L the order of the Ed25519 base point), which
// only a verifier that skips the S < L check of RFC 8032 accepts.
std::string add_group_order(const json::object& request) {
  static constexpr std::array<std::uint8_t, 32> group_order{
      0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
      0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
      0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10}; // little-endian
  auto sig = sig_bytes(request);
  unsigned carry = 0;
  for (std::size_t i = 0; i < 32; ++i) {
    unsigned sum = sig[32 + i] + group_order[i] + carry;
    sig[32 + i] = static_cast<std::uint8_t>(sum);
    carry = sum >> 8;
  }
  REQUIRE(carry == 0);
  return tinychat::to_hex(sig);
}

// ---- checking replies --------------------------------------------------------------------

std::set<std::string> keys_of(const json::object& frame) {
  std::set<std::string> keys;
  for (const auto& kv : frame)
    keys.insert(std::string(kv.key()));
  return keys;
}

// An error reply as sections 5 and 11 define it: exactly type, id, code and a message for
// humans; the id echoed when the request had one (null otherwise).
void check_error(const json::object& frame, std::string_view code,
                 const json::value& id = nullptr) {
  INFO("reply: " << json::serialize(frame));
  CHECK(type_of(frame) == "error");
  CHECK(str_of(frame, "code") == code);
  CHECK(keys_of(frame) == std::set<std::string>{"type", "id", "code", "message"});
  CHECK((frame.contains("id") && frame.at("id") == id));
  CHECK_FALSE(str_of(frame, "message").empty());
}

// For replies to fixture calls, whose ids the fixture chose: only the id's presence is known.
void check_error_code(const json::object& frame, std::string_view code) {
  INFO("reply: " << json::serialize(frame));
  CHECK(type_of(frame) == "error");
  CHECK(str_of(frame, "code") == code);
  CHECK(keys_of(frame) == std::set<std::string>{"type", "id", "code", "message"});
  CHECK_FALSE(str_of(frame, "message").empty());
}

std::vector<std::string> member_names(const json::object& joined) {
  std::vector<std::string> names;
  for (const auto& m : joined.at("members").as_array())
    names.emplace_back(m.at("user_name").as_string());
  return names;
}

// What a member sees of the room: its retained messages and newest seq.
json::value room_state(Peer& member, std::string_view room) {
  auto page = member.history(room, 0, 200);
  REQUIRE(type_of(page) == "history");
  return json::object{{"messages", page.at("messages")}, {"last_seq", page.at("last_seq")}};
}

} // namespace

// ==== Frames that cannot be read ===========================================================

TEST_CASE("bad_request: a frame that is not one JSON object is answered with id null") {
  ChatFixture chat(roomy());
  auto& alice = chat.connect();
  for (std::string_view text :
       {"", "ping", "{", "{\"type\":\"ping\",\"id\":5", "{\"type\":\"ping\",\"id\":5}}", "[]",
        "[{\"type\":\"ping\",\"id\":5}]", "42", "\"ping\"", "null", "true",
        "{\"type\":\"ping\",\"id\":5} {\"type\":\"ping\",\"id\":6}", "{'type':'ping'}"}) {
    CAPTURE(text);
    check_error(alice.call_raw(text), "bad_request");
  }
  CHECK(alice.queued() == 0);
  CHECK(type_of(alice.call({{"type", "ping"}})) == "pong"); // the connection stays usable
}

TEST_CASE("bad_request: a frame with a key twice is refused, whichever copy would count") {
  ChatFixture chat(roomy());
  auto& alice = chat.connect();
  auto room = alice.create_room();
  alice.join(room, "alice");
  for (std::string text :
       {std::string(R"({"type":"ping","id":5,"id":6})"),
        std::string(R"({"type":"ping","type":"ping","id":5})"),
        R"({"type":"history","id":5,"room_id":")" + room + R"(","room_id":")" + room + R"("})",
        std::string(R"({"type":"ping","id":5,"extra":{"a":1,"a":2}})"),
        std::string(R"({"type":"ping","id":5,"extra":[{"a":1},{"a":2,"b":[{"c":1,"c":1}]}]})"),
        std::string(R"({"type":"ping","id":5,"id":5})")}) {
    CAPTURE(text);
    check_error(alice.call_raw(text), "bad_request");
  }
  // The same key in different objects is no duplicate.
  CHECK(type_of(alice.call_raw(R"({"type":"ping","id":5,"extra":[{"id":1},{"id":2}]})")) == "pong");
}

TEST_CASE("frames: unknown fields and surrounding white space are no error") {
  ChatFixture chat(roomy());
  auto& alice = chat.connect();
  for (std::string_view text :
       {" \n\t{\"type\":\"ping\",\"id\":1}\r\n ",
        R"({"type":"ping","id":1,"room_id":"NOT A ROOM","extra":1.5,"more":null})",
        R"({"type":"ping","id":1,"extra":{"a":[1,{"b":"c"}]}})"}) {
    CAPTURE(text);
    CHECK(alice.call_raw(text) == json::object{{"type", "pong"}, {"id", 1}});
  }
}

TEST_CASE("frames: an unknown field is ignored however deeply it nests") {
  ChatFixture chat(roomy());
  auto& alice = chat.connect();
  const std::string nested = repeat("[", 20) + repeat("]", 20); // 40 bytes, depth 20
  auto reply = alice.call_raw(with_raw({{"type", "ping"}, {"id", 1}}, "extra", nested));
  CHECK(reply == json::object{{"type", "pong"}, {"id", 1}});
}

TEST_CASE("bad_request: a frame nested deeper than 64 levels, however deep") {
  ChatFixture chat(roomy());
  auto& alice = chat.connect();
  for (std::size_t depth : {65u, 1000u, 30000u}) {
    CAPTURE(depth);
    auto reply = alice.call_raw(
        with_raw({{"type", "ping"}, {"id", 1}}, "extra", repeat("[", depth) + repeat("]", depth)));
    check_error(reply, "bad_request");
  }
  CHECK(type_of(alice.call({{"type", "ping"}})) == "pong");
}

TEST_CASE("bad_request: an invalid id is answered with id null") {
  ChatFixture chat(roomy());
  auto& alice = chat.connect();
  const std::string id_65_code_points = json::serialize(json::string(repeat("é", 65)));
  for (const std::string& id : std::vector<std::string>{
           "-1", "1.0", "0.5", "1e3", "9007199254740992", "18446744073709551616",
           "-9007199254740991", "true", "false", "{}", "[]", "[1]", id_65_code_points}) {
    CAPTURE(id);
    check_error(alice.call_raw(with_raw({{"type", "ping"}}, "id", id)), "bad_request");
    // An invalid id outranks a missing or unknown type.
    check_error(alice.call_raw(with_raw({}, "id", id)), "bad_request");
    check_error(alice.call_raw(with_raw({{"type", "shout"}}, "id", id)), "bad_request");
  }
}

TEST_CASE("bad_request: a missing or non-string type is answered with the request's id") {
  ChatFixture chat(roomy());
  auto& alice = chat.connect();
  check_error(alice.call({{"id", 5}}), "bad_request", 5);
  check_error(alice.call({{"id", "five"}, {"room_id", no_such_room}}), "bad_request", "five");
  for (json::value type : {json::value(nullptr), json::value(5), json::value(true),
                           json::value(json::array{"ping"}), json::value(json::object{})}) {
    CAPTURE(json::serialize(type));
    check_error(alice.call({{"id", 6}, {"type", type}}), "bad_request", 6);
  }
}

TEST_CASE("unknown_type: a type that is not a request of section 4 is answered with its id") {
  ChatFixture chat(roomy());
  auto& alice = chat.connect();
  for (std::string_view type :
       {"PING", "Ping", "ping ", "", "hello", "pong", "joined", "message", "error", "kick"}) {
    CAPTURE(type);
    check_error(alice.call({{"id", 7}, {"type", type}}), "unknown_type", 7);
  }
  // The type is looked at before any field: nonsense fields do not turn it into bad_request.
  check_error(alice.call({{"id", "x"}, {"type", "kick"}, {"room_id", 5}, {"user_name", false}}),
              "unknown_type", "x");
}

// ==== Ids ====================================================================================

TEST_CASE("ids: integer and string ids are echoed exactly, in replies and in errors") {
  ChatFixture chat(roomy());
  auto& alice = chat.connect();
  const std::vector<json::value> ids{0,
                                     1,
                                     tinychat::max_safe_integer,
                                     "",
                                     "7",
                                     "req-1 ✓",
                                     "a \"quoted\" \\ id\n",
                                     json::string(repeat("é", 64)),
                                     json::string(repeat("😀", 64))};
  for (const auto& id : ids) {
    CAPTURE(json::serialize(id));
    auto pong = alice.call({{"type", "ping"}, {"id", id}});
    CHECK(type_of(pong) == "pong");
    CHECK(pong.at("id") == id);
    auto created = alice.call({{"type", "create_room"}, {"id", id}});
    CHECK(type_of(created) == "room_created");
    CHECK(created.at("id") == id);
    check_error(alice.call({{"type", "history"}, {"id", id}, {"room_id", no_such_room}}),
                "room_not_found", id);
    check_error(alice.call({{"type", "shout"}, {"id", id}}), "unknown_type", id);
    check_error(alice.call({{"type", "leave"}, {"id", id}}), "bad_request", id);
  }

  // join, send, history and leave echo too.
  auto room = alice.create_room();
  auto joined = alice.call(with(join_request(alice, room, "alice"), "id", "j"));
  REQUIRE(type_of(joined) == "joined");
  CHECK(joined.at("id") == "j");
  auto sent = alice.call(with(send_request(alice, room, 1, "hi"), "id", 42));
  REQUIRE(type_of(sent) == "sent");
  CHECK(sent.at("id") == 42);
  auto page = alice.call({{"type", "history"}, {"room_id", room}, {"id", "h"}});
  REQUIRE(type_of(page) == "history");
  CHECK(page.at("id") == "h");
  auto left = alice.call({{"type", "leave"}, {"room_id", room}, {"id", 0}});
  REQUIRE(type_of(left) == "left");
  CHECK(left.at("id") == 0);
}

TEST_CASE("ids: \"id\": null is the same as no id") {
  ChatFixture chat(roomy());
  auto& alice = chat.connect();
  for (std::string_view text : {R"({"type":"ping"})", R"({"type":"ping","id":null})"}) {
    CAPTURE(text);
    CHECK(alice.call_raw(text) == json::object{{"type", "pong"}});
  }
  for (std::string_view text :
       {R"({"type":"create_room"})", R"({"type":"create_room","id":null})"}) {
    CAPTURE(text);
    auto created = alice.call_raw(text);
    CHECK(type_of(created) == "room_created");
    CHECK(keys_of(created) == std::set<std::string>{"type", "room_id", "expires_at"});
  }
  // An error must still carry an id: null.
  check_error(alice.call_raw(R"({"type":"shout"})"), "unknown_type", nullptr);
  check_error(alice.call_raw(R"({"type":"shout","id":null})"), "unknown_type", nullptr);
  check_error(alice.call_raw(R"({"type":"leave","id":null})"), "bad_request", nullptr);
}

// ==== Fields =================================================================================

TEST_CASE("bad_request: field checks come before the room is looked up") {
  ChatFixture chat(roomy());
  auto& alice = chat.connect();
  const auto& r = no_such_room;
  json::object send{{"type", "send"}, {"room_id", r}, {"client_seq", 1}, {"text", "hi"}};
  json::object join = join_request(alice, r, "alice");
  json::object history{{"type", "history"}, {"room_id", r}};

  const std::vector<json::object> bad{
      without(send, "room_id"),
      with(send, "room_id", nullptr),
      with(send, "room_id", 5),
      without(send, "client_seq"),
      with(send, "client_seq", "1"),
      with(send, "client_seq", -1),
      with(send, "client_seq", std::uint64_t{1} << 53),
      without(send, "text"),
      with(send, "text", 5),
      with(send, "text", json::array{"hi"}),
      without(join, "user_name"),
      with(join, "user_name", 5),
      without(join, "pub_key"),
      with(join, "pub_key", nullptr),
      with(join, "pub_key", uppercase(alice.pub_key_hex())),
      with(join, "pub_key", alice.pub_key_hex().substr(2)),
      with(history, "after_seq", -1),
      with(history, "after_seq", "0"),
      with(history, "limit", 0),
      with(history, "limit", 201),
      with(history, "limit", "10"),
      {{"type", "leave"}},
      {{"type", "leave"}, {"room_id", json::object{}}},
  };
  for (const auto& request : bad) {
    CAPTURE(json::serialize(request));
    check_error(alice.call(with(request, "id", 9)), "bad_request", 9);
  }
  // Fields written as numbers with a fraction or exponent.
  for (const auto& text :
       {with_raw(send, "client_seq", "1.0"), with_raw(send, "client_seq", "1e0"),
        with_raw(history, "after_seq", "0.0"), with_raw(history, "limit", "1E1")}) {
    CAPTURE(text);
    check_error(alice.call_raw(text), "bad_request");
  }
}

TEST_CASE("bad_request: a room_id in upper case or of the wrong length or alphabet") {
  AliceAndBob chat;
  auto& alice = chat.alice;
  const std::string upper = uppercase(chat.room);
  const std::vector<std::string> spellings{upper,
                                           chat.room.substr(1),
                                           chat.room + "a",
                                           chat.room.substr(0, 25) + "1",
                                           chat.room.substr(0, 25) + "8",
                                           chat.room.substr(0, 25) + "0",
                                           chat.room.substr(0, 25) + "=",
                                           chat.room.substr(0, 24) + "==",
                                           " " + chat.room,
                                           chat.room + " ",
                                           ""};
  for (const auto& room_id : spellings) {
    CAPTURE(room_id);
    check_error(alice.call({{"type", "history"}, {"room_id", room_id}, {"id", 1}}), "bad_request",
                1);
    check_error(
        alice.call(with(send_request(alice, room_id, alice.user_id(chat.room), 1, "hi"), "id", 2)),
        "bad_request", 2);
    check_error(chat.bob.call({{"type", "leave"}, {"room_id", room_id}, {"id", 3}}), "bad_request",
                3);
    auto& carol = chat.chat.connect();
    check_error(carol.call(with(join_request(carol, room_id, "carol"), "id", 4)), "bad_request", 4);
  }
  // The one valid spelling still works, and nothing happened in the room meanwhile.
  CHECK(type_of(alice.send(chat.room, "still here")) == "sent");
  CHECK(chat.bob.events("message").size() == 1);
  CHECK(chat.bob.queued() == 0);
}

TEST_CASE("bad_request: pub_key must be exactly 64 lowercase hex characters") {
  ChatFixture chat(roomy());
  auto& alice = chat.connect();
  auto& bob = chat.connect();
  auto room = alice.create_room();
  REQUIRE(type_of(bob.join(room, "bob")) == "joined");
  auto join = join_request(alice, room, "alice"); // correctly signed
  const std::string key = alice.pub_key_hex();
  for (const auto& spelling : {uppercase(key), key.substr(0, 62), key + "00", "g" + key.substr(1),
                               "0x" + key.substr(2), std::string()}) {
    CAPTURE(spelling);
    check_error(alice.call(with(with(join, "pub_key", spelling), "id", 1)), "bad_request", 1);
  }
  check_error(alice.call(with(with(join, "pub_key", 7), "id", 1)), "bad_request", 1);
  CHECK(bob.queued() == 0);
  CHECK(type_of(alice.call(join)) == "joined");
}

TEST_CASE("null: an optional field set to null is the same as leaving it out") {
  AliceAndBob chat;
  for (int i = 0; i < 101; ++i)
    REQUIRE(type_of(chat.alice.send(chat.room, "m")) == "sent");
  const json::object history{{"type", "history"}, {"room_id", chat.room}};
  for (const auto& text : {with_raw(history, "limit", "null"),
                           with_raw(with(history, "limit", nullptr), "after_seq", "null")}) {
    CAPTURE(text);
    auto page = chat.bob.call_raw(text);
    REQUIRE(type_of(page) == "history");
    auto& messages = page.at("messages").as_array();
    CHECK(messages.size() == 100u);         // default limit
    CHECK(messages.front().at("seq") == 1); // default after_seq 0
    CHECK(page.at("has_more") == true);
  }
}

TEST_CASE("null: a required field set to null counts as missing") {
  AliceAndBob chat;
  auto& alice = chat.alice;
  auto send = send_request(alice, chat.room, 1, "hi");
  for (std::string_view field : {"room_id", "client_seq", "text"}) {
    CAPTURE(field);
    check_error(alice.call(with(with(send, field, nullptr), "id", 1)), "bad_request", 1);
  }
  check_error(alice.call(with(with(send, "sig", nullptr), "id", 2)), "invalid_signature", 2);
  auto& carol = chat.chat.connect();
  auto join = join_request(carol, chat.room, "carol");
  for (std::string_view field : {"room_id", "user_name", "pub_key"}) {
    CAPTURE(field);
    check_error(carol.call(with(with(join, field, nullptr), "id", 3)), "bad_request", 3);
  }
  check_error(carol.call(with(with(join, "sig", nullptr), "id", 4)), "invalid_signature", 4);
  CHECK(chat.bob.queued() == 0);
}

// ==== Rooms and membership ===================================================================

TEST_CASE("room_not_found: a well-formed id of no room, before any content or signature check") {
  ChatFixture chat(roomy());
  auto& alice = chat.connect();
  // Name, text and signature are all bad too; the room ranks first.
  check_error(alice.call({{"type", "join"},
                          {"id", 1},
                          {"room_id", no_such_room},
                          {"user_name", "  "},
                          {"pub_key", alice.pub_key_hex()}}),
              "room_not_found", 1);
  check_error(alice.call({{"type", "send"},
                          {"id", 2},
                          {"room_id", no_such_room},
                          {"client_seq", 0},
                          {"text", ""}}),
              "room_not_found", 2);
  check_error(alice.call({{"type", "history"}, {"id", 3}, {"room_id", no_such_room}}),
              "room_not_found", 3);
  check_error(alice.call({{"type", "leave"}, {"id", 4}, {"room_id", no_such_room}}),
              "room_not_found", 4);
}

TEST_CASE("room_not_found: a room that expired is gone for every request") {
  AliceAndBob chat;
  chat.chat.advance_seconds(43'200);
  REQUIRE(type_of(chat.alice.event("room_closed")) == "room_closed");
  check_error_code(chat.alice.send(chat.room, "anyone?"), "room_not_found");
  check_error_code(chat.bob.history(chat.room), "room_not_found");
  check_error_code(chat.bob.call({{"type", "leave"}, {"room_id", chat.room}}), "room_not_found");
  auto& carol = chat.chat.connect();
  check_error_code(carol.join(chat.room, "carol"), "room_not_found");
}

TEST_CASE("not_member: checked after the room, before text, signature and counter") {
  AliceAndBob chat;
  auto& carol = chat.chat.connect();
  auto& alice_tab = chat.chat.connect_as(chat.alice); // alice's key, but this tab never joined
  for (Peer* p : {&carol, &alice_tab}) {
    auto uid = chat.alice.user_id(chat.room);
    check_error(p->call(with(send_request(chat.alice, chat.room, uid, 1, "hi"), "id", 1)),
                "not_member", 1);
    check_error(
        p->call(
            {{"type", "send"}, {"id", 2}, {"room_id", chat.room}, {"client_seq", 0}, {"text", ""}}),
        "not_member", 2);
    check_error(p->call({{"type", "send"},
                         {"id", 3},
                         {"room_id", chat.room},
                         {"client_seq", 5},
                         {"text", repeat("x", 1001)},
                         {"sig", "00"}}),
                "not_member", 3);
    check_error(p->call({{"type", "history"}, {"id", 4}, {"room_id", chat.room}}), "not_member", 4);
    check_error(p->call({{"type", "leave"}, {"id", 5}, {"room_id", chat.room}}), "not_member", 5);
  }
  CHECK(chat.alice.queued() == 0);
  CHECK(chat.bob.queued() == 0);
}

TEST_CASE("not_member: a connection that left is no longer a member") {
  AliceAndBob chat;
  REQUIRE(type_of(chat.bob.call({{"type", "leave"}, {"room_id", chat.room}})) == "left");
  check_error_code(chat.bob.history(chat.room), "not_member");
  check_error_code(chat.bob.send(chat.room, "hello?"), "not_member");
  check_error_code(chat.bob.call({{"type", "leave"}, {"room_id", chat.room}}), "not_member");
}

TEST_CASE("already_joined: a connection joins a room only once") {
  AliceAndBob chat;
  auto& alice = chat.alice;
  check_error(alice.call(with(join_request(alice, chat.room, "alice"), "id", 1)), "already_joined",
              1);
  check_error(alice.call(with(join_request(alice, chat.room, "alicia"), "id", 2)), "already_joined",
              2);
  CHECK(chat.bob.queued() == 0);
  // Still joined once, under the first name.
  auto& carol = chat.chat.connect();
  auto joined = carol.join(chat.room, "carol");
  REQUIRE(type_of(joined) == "joined");
  CHECK(member_names(joined).size() == 3u);
  CHECK(type_of(alice.send(chat.room, "hi")) == "sent");
  CHECK(str_of(carol.event("message"), "user_name") == "alice");
}

TEST_CASE("room_full: max_room_members users are present; a present user may still add a tab") {
  auto config = roomy();
  config.limits.max_room_members = 2;
  AliceAndBob chat(config);
  auto& carol = chat.chat.connect();
  check_error(carol.call(with(join_request(carol, chat.room, "carol"), "id", 1)), "room_full", 1);
  CHECK(chat.alice.queued() == 0);
  check_error_code(carol.history(chat.room), "not_member");

  auto& alice_tab = chat.chat.connect_as(chat.alice);
  CHECK(type_of(alice_tab.join(chat.room, "alice")) == "joined");

  REQUIRE(type_of(chat.bob.call({{"type", "leave"}, {"room_id", chat.room}})) == "left");
  CHECK(type_of(carol.join(chat.room, "carol")) == "joined");
}

TEST_CASE("too_many_rooms: one connection joins at most max_rooms_per_connection rooms") {
  auto config = roomy();
  config.limits.max_rooms_per_connection = 2;
  ChatFixture chat(config);
  auto& alice = chat.connect();
  auto first = alice.create_room();
  auto second = alice.create_room();
  auto third = alice.create_room();
  REQUIRE(type_of(alice.join(first, "alice")) == "joined");
  REQUIRE(type_of(alice.join(second, "alice")) == "joined");
  check_error(alice.call(with(join_request(alice, third, "alice"), "id", 1)), "too_many_rooms", 1);
  check_error_code(alice.history(third), "not_member");

  // The limit is per connection, not per key.
  auto& alice_tab = chat.connect_as(alice);
  CHECK(type_of(alice_tab.join(third, "alice")) == "joined");
  // Leaving frees a place.
  REQUIRE(type_of(alice.call({{"type", "leave"}, {"room_id", first}})) == "left");
  CHECK(type_of(alice.join(third, "alice")) == "joined");
}

// ==== Names ==================================================================================

TEST_CASE("invalid_name: empty after trimming, any control character, or too many code points") {
  AliceAndBob chat;
  auto& carol = chat.chat.connect();
  const std::vector<std::string> names{"",
                                       " ",
                                       " \t \t",
                                       "car\x01ol",
                                       "car\nol",
                                       "\ncarol",
                                       "carol\n",
                                       "car\rol",
                                       "car\tol",
                                       "carol\x1f",
                                       "\x7f"
                                       "carol",
                                       "car\u0080ol",
                                       "car\u0085ol",
                                       "car\u009fol",
                                       repeat("é", 33),
                                       " " + repeat("😀", 33) + " "};
  for (const auto& name : names) {
    CAPTURE(name);
    check_error(carol.call(with(join_request(carol, chat.room, name, trimmed(name)), "id", 1)),
                "invalid_name", 1);
  }
  // A lone surrogate escape is no character at all.
  check_error(carol.call_raw(with_raw(with(join_request(carol, chat.room, "carol"), "id", 2),
                                      "user_name", R"("car\ud800ol")")),
              "invalid_name", 2);
  CHECK(chat.alice.queued() == 0);
  // At the limit: 32 code points (64 bytes), and padding does not count.
  auto joined =
      carol.call(join_request(carol, chat.room, "\t " + repeat("é", 32) + " \t", repeat("é", 32)));
  REQUIRE(type_of(joined) == "joined");
  CHECK(str_of(joined, "user_name") == repeat("é", 32));
}

TEST_CASE("join: the name is trimmed of spaces and tabs; the signature covers the trimmed name") {
  AliceAndBob chat;
  auto& carol = chat.chat.connect();
  const std::string sent = " \t carol \t ";
  // Signed over the name as sent: not what the server verifies.
  check_error(carol.call(with(join_request(carol, chat.room, sent, sent), "id", 1)),
              "invalid_signature", 1);
  CHECK(chat.alice.queued() == 0);

  auto joined = carol.call(join_request(carol, chat.room, sent, "carol"));
  REQUIRE(type_of(joined) == "joined");
  CHECK(str_of(joined, "user_name") == "carol");
  CHECK(str_of(chat.alice.event("member_joined"), "user_name") == "carol");
}

TEST_CASE("name_taken: another present user's name, compared trimmed, code point by code point") {
  AliceAndBob chat;
  auto& mallory = chat.chat.connect();
  check_error(mallory.call(with(join_request(mallory, chat.room, "alice"), "id", 1)), "name_taken",
              1);
  check_error(mallory.call(with(join_request(mallory, chat.room, "\t alice ", "alice"), "id", 2)),
              "name_taken", 2);
  CHECK(chat.bob.queued() == 0);

  // Other code points are other names: case, and composed vs decomposed accents.
  CHECK(type_of(mallory.join(chat.room, "Alice")) == "joined");
  auto& jose = chat.chat.connect();
  auto& jose2 = chat.chat.connect();
  CHECK(type_of(jose.join(chat.room, "Jos\u00e9")) == "joined");
  CHECK(type_of(jose2.join(chat.room, "Jose\u0301")) == "joined");
}

TEST_CASE("name_taken: a name held by the same key on another connection is fine") {
  AliceAndBob chat;
  auto& alice_tab = chat.chat.connect_as(chat.alice);
  auto joined = alice_tab.call(join_request(alice_tab, chat.room, " alice ", "alice"));
  REQUIRE(type_of(joined) == "joined");
  CHECK(str_of(joined, "user_name") == "alice");
  CHECK(str_of(joined, "user_id") == chat.alice.user_id(chat.room));
  CHECK_FALSE(chat.bob.has_event("member_joined"));
}

TEST_CASE("name_taken: a name is free again once its user left") {
  AliceAndBob chat;
  REQUIRE(type_of(chat.bob.call({{"type", "leave"}, {"room_id", chat.room}})) == "left");
  auto& mallory = chat.chat.connect();
  CHECK(type_of(mallory.join(chat.room, "bob")) == "joined");
}

// ==== Texts ==================================================================================

TEST_CASE("send: LF and TAB are allowed in text") {
  AliceAndBob chat;
  const std::string text = "line one\nline two\tand a tab\n";
  REQUIRE(type_of(chat.alice.send(chat.room, text)) == "sent");
  CHECK(str_of(chat.bob.event("message"), "text") == text);
}

TEST_CASE("invalid_text: empty, CR, other C0 controls, DEL and C1 controls") {
  AliceAndBob chat;
  auto& alice = chat.alice;
  auto before = room_state(chat.bob, chat.room);
  const std::vector<std::string> texts{"",
                                       "a\rb",
                                       "a\r\nb",
                                       std::string("a\0b", 3),
                                       "a\x01"
                                       "b",
                                       "a\x0b"
                                       "b",
                                       "a\x0c"
                                       "b",
                                       "\x1b[31m",
                                       "a\x1f"
                                       "b",
                                       "a\x7f"
                                       "b",
                                       "a\u0080b",
                                       "a\u0085b",
                                       "a\u009fb"};
  for (const auto& text : texts) {
    CAPTURE(json::serialize(json::string(text)));
    // Correctly signed, with a fresh counter: only the text is wrong.
    check_error(alice.call(with(send_request(alice, chat.room, 1, text), "id", 1)), "invalid_text",
                1);
  }
  CHECK(chat.bob.queued() == 0);
  CHECK(room_state(chat.bob, chat.room) == before);
  // client_seq 1 was never consumed. U+00A0 and U+2028 are not control characters.
  auto sent = alice.call(send_request(alice, chat.room, 1, "a\u00a0b\u2028c"));
  REQUIRE(type_of(sent) == "sent");
  CHECK(sent.at("seq") == 1);
}

TEST_CASE("invalid_text: lone surrogate escapes; a surrogate pair is one code point") {
  AliceAndBob chat;
  auto& alice = chat.alice;
  auto send = send_request(alice, chat.room, 1, "placeholder");
  for (std::string_view raw : {R"("\ud800")", R"("\udfff")", R"("a\ud83db")", R"("a\ude00b")",
                               R"("\ude00\ud83d")", R"("\ud83d\ud83d")", R"("ok\\\ud800")"}) {
    CAPTURE(raw);
    auto reply = alice.call_raw(with_raw(with(send, "id", 1), "text", raw));
    check_error(reply, "invalid_text", 1);
  }
  CHECK(chat.bob.queued() == 0);

  // "\ud83d\ude00" is U+1F600: valid, signed as its 4 UTF-8 bytes.
  auto good = send_request(alice, chat.room, 1, "\U0001F600");
  auto reply = alice.call_raw(with_raw(good, "text", R"("\ud83d\ude00")"));
  REQUIRE(type_of(reply) == "sent");
  CHECK(str_of(chat.bob.event("message"), "text") == "\U0001F600");
}

TEST_CASE("text_too_long: max_text_chars counts code points, not bytes") {
  AliceAndBob chat; // default max_text_chars: 1000
  auto& alice = chat.alice;
  const std::string at_limit = repeat("€", 1000);   // 3000 bytes
  const std::string over_limit = repeat("é", 1001); // 2002 bytes: fewer, yet too long
  check_error(alice.call(with(send_request(alice, chat.room, 1, over_limit), "id", 1)),
              "text_too_long", 1);
  check_error(alice.call(with(send_request(alice, chat.room, 1, repeat("a", 1001)), "id", 2)),
              "text_too_long", 2);
  CHECK(chat.bob.queued() == 0);
  auto sent = alice.call(send_request(alice, chat.room, 1, at_limit));
  REQUIRE(type_of(sent) == "sent");
  CHECK(sent.at("seq") == 1);
  CHECK(str_of(chat.bob.event("message"), "text") == at_limit);
}

TEST_CASE("text_too_long: a lowered max_text_chars is enforced in code points") {
  auto config = roomy();
  config.limits.max_text_chars = 5;
  AliceAndBob chat(config);
  CHECK(type_of(chat.alice.send_with_seq(chat.room, 1, "😀😀😀😀😀")) == "sent");
  check_error_code(chat.alice.send_with_seq(chat.room, 2, "abcdef"), "text_too_long");
  CHECK(type_of(chat.alice.send_with_seq(chat.room, 2, "abcde")) == "sent");
}

// ==== Signatures =============================================================================

TEST_CASE("invalid_signature: a join sig that is missing, malformed or in upper case") {
  AliceAndBob chat;
  auto& carol = chat.chat.connect();
  auto join = join_request(carol, chat.room, "carol");
  const std::string sig(join.at("sig").as_string());
  for (const auto& request :
       {without(join, "sig"), with(join, "sig", uppercase(sig)), with(join, "sig", sig.substr(2)),
        with(join, "sig", sig + "00"), with(join, "sig", "z" + sig.substr(1)),
        with(join, "sig", ""), with(join, "sig", 5), with(join, "sig", json::array{sig})}) {
    CAPTURE(json::serialize(request));
    check_error(carol.call(with(request, "id", 1)), "invalid_signature", 1);
  }
  CHECK(chat.alice.queued() == 0);
  CHECK(type_of(carol.call(join)) == "joined");
}

TEST_CASE("invalid_signature: a send sig that is missing, malformed or in upper case") {
  AliceAndBob chat;
  auto& alice = chat.alice;
  auto send = send_request(alice, chat.room, 1, "hi");
  const std::string sig(send.at("sig").as_string());
  for (const auto& request :
       {without(send, "sig"), with(send, "sig", uppercase(sig)), with(send, "sig", sig.substr(2)),
        with(send, "sig", sig + "00"), with(send, "sig", "z" + sig.substr(1)),
        with(send, "sig", ""), with(send, "sig", 5)}) {
    CAPTURE(json::serialize(request));
    check_error(alice.call(with(request, "id", 1)), "invalid_signature", 1);
  }
  CHECK(chat.bob.queued() == 0);
  CHECK(type_of(alice.call(send)) == "sent");
}

TEST_CASE("invalid_signature: a signature with one bit flipped") {
  AliceAndBob chat;
  auto& carol = chat.chat.connect();
  auto join = join_request(carol, chat.room, "carol");
  // Every bit of R (0..255) and of S (256..511).
  for (std::size_t bit = 0; bit < 512; ++bit) {
    CAPTURE(bit);
    check_error(carol.call(with(with(join, "sig", flip_bit(join, bit)), "id", 1)),
                "invalid_signature", 1);
  }
  auto send = send_request(chat.alice, chat.room, 1, "hi");
  for (std::size_t bit = 0; bit < 512; ++bit) {
    CAPTURE(bit);
    check_error(chat.alice.call(with(with(send, "sig", flip_bit(send, bit)), "id", 2)),
                "invalid_signature", 2);
  }
  CHECK(chat.bob.queued() == 0);
}

TEST_CASE("invalid_signature: S + L is refused, S must be below the group order") {
  AliceAndBob chat;
  auto& carol = chat.chat.connect();
  auto join = join_request(carol, chat.room, "carol");
  check_error(carol.call(with(with(join, "sig", add_group_order(join)), "id", 1)),
              "invalid_signature", 1);
  auto send = send_request(chat.alice, chat.room, 1, "hi");
  check_error(chat.alice.call(with(with(send, "sig", add_group_order(send)), "id", 2)),
              "invalid_signature", 2);
  CHECK(chat.bob.queued() == 0);
  // The canonical signatures themselves are fine.
  CHECK(type_of(carol.call(join)) == "joined");
  CHECK(type_of(chat.alice.call(send)) == "sent");
}

TEST_CASE("invalid_signature: all-zero, small-order and non-canonical public keys") {
  AliceAndBob chat;
  auto& mallory = chat.chat.connect();
  // R = the identity point and S = 0 satisfy the plain verification equation for the identity
  // key and any message; strict verification refuses both the key and R.
  const std::string identity_r_zero_s = "01" + std::string(126, '0');
  const std::vector<std::string> keys{
      std::string(64, '0'),           // all zero (order 4)
      "01" + std::string(62, '0'),    // identity (order 1)
      "ec" + repeat("ff", 30) + "7f", // y = -1 (order 2)
      "ed" + repeat("ff", 30) + "7f", // y = p: non-canonical
  };
  for (const auto& key : keys) {
    CAPTURE(key);
    for (const auto& sig : {identity_r_zero_s, std::string(128, '0')}) {
      CAPTURE(sig);
      check_error(mallory.call({{"type", "join"},
                                {"id", 1},
                                {"room_id", chat.room},
                                {"user_name", "mallory"},
                                {"pub_key", key},
                                {"sig", sig}}),
                  "invalid_signature", 1);
    }
  }
  CHECK(chat.alice.queued() == 0);
}

TEST_CASE("invalid_signature: a join replayed on another connection (another challenge)") {
  AliceAndBob chat;
  auto& carol = chat.chat.connect();
  auto join = join_request(carol, chat.room, "carol"); // over carol's connection challenge
  auto& eve = chat.chat.connect();
  check_error(eve.call(with(join, "id", 1)), "invalid_signature", 1);
  auto& carol_tab = chat.chat.connect_as(carol);
  check_error(carol_tab.call(with(join, "id", 2)), "invalid_signature", 2);
  CHECK(chat.alice.queued() == 0);

  REQUIRE(type_of(carol.call(join)) == "joined");
  // Also once carol is present.
  check_error(eve.call(with(join, "id", 3)), "invalid_signature", 3);
  check_error(carol_tab.call(with(join, "id", 4)), "invalid_signature", 4);
}

TEST_CASE("join: a signature made for another room is rejected") {
  AliceAndBob chat;
  auto other_room = chat.alice.create_room();
  auto& carol = chat.chat.connect();
  auto join = join_request(carol, chat.room, "carol");
  join["sig"] = carol.join_sig(other_room, "carol");
  check_error(carol.call(with(join, "id", 1)), "invalid_signature", 1);
  // A signature for another name, too.
  join["sig"] = carol.join_sig(chat.room, "carla");
  check_error(carol.call(with(join, "id", 2)), "invalid_signature", 2);
  CHECK(chat.alice.queued() == 0);
}

TEST_CASE("send: a signature made for another room is rejected") {
  AliceAndBob chat;
  auto other_room = chat.alice.create_room();
  REQUIRE(type_of(chat.alice.join(other_room, "alice")) == "joined");
  auto uid = chat.alice.user_id(chat.room);
  auto for_other = send_request(chat.alice, other_room, uid, 1, "hi");
  check_error(chat.alice.call(with(with(for_other, "room_id", chat.room), "id", 1)),
              "invalid_signature", 1);
  CHECK(chat.bob.queued() == 0);
  // It is a genuine signature, valid where it belongs.
  CHECK(type_of(chat.alice.call(for_other)) == "sent");
}

TEST_CASE("send: a signature made for another user_id or by another member is rejected") {
  AliceAndBob chat;
  auto& alice = chat.alice;
  auto alice_id = alice.user_id(chat.room);
  auto bob_id = chat.bob.user_id(chat.room);
  // Alice's key, Bob's user_id.
  check_error(alice.call(with(send_request(alice, chat.room, bob_id, 1, "hi"), "id", 1)),
              "invalid_signature", 1);
  // Bob's key over Alice's user_id, sent by Alice.
  check_error(alice.call(with(send_request(chat.bob, chat.room, alice_id, 1, "hi"), "id", 2)),
              "invalid_signature", 2);
  // Bob's own valid message, replayed by Alice.
  check_error(alice.call(with(send_request(chat.bob, chat.room, bob_id, 1, "hi"), "id", 3)),
              "invalid_signature", 3);
  CHECK(chat.bob.queued() == 0);
  // A signature for another counter or text.
  auto send = send_request(alice, chat.room, 1, "hi");
  check_error(alice.call(with(with(send, "client_seq", 2), "id", 4)), "invalid_signature", 4);
  check_error(alice.call(with(with(send, "text", "hi!"), "id", 5)), "invalid_signature", 5);
}

TEST_CASE("stale_client_seq: a replayed message is refused, also from another connection") {
  AliceAndBob chat;
  auto& alice = chat.alice;
  auto first = send_request(alice, chat.room, 1, "hi");
  REQUIRE(type_of(alice.call(first)) == "sent");
  chat.bob.events("message");
  check_error(alice.call(with(first, "id", 1)), "stale_client_seq", 1);
  auto& alice_tab = chat.chat.connect_as(alice);
  REQUIRE(type_of(alice_tab.join(chat.room, "alice")) == "joined");
  check_error(alice_tab.call(with(first, "id", 2)), "stale_client_seq", 2);
  check_error(chat.bob.call(with(first, "id", 3)), "invalid_signature", 3); // bob's own key
  CHECK(chat.bob.queued() == 0);

  // Counters may skip, but never go back.
  REQUIRE(type_of(alice.call(send_request(alice, chat.room, 5, "five"))) == "sent");
  check_error(alice.call(with(send_request(alice, chat.room, 3, "three"), "id", 4)),
              "stale_client_seq", 4);
  check_error(alice.call(with(send_request(alice, chat.room, 5, "five again"), "id", 5)),
              "stale_client_seq", 5);
  auto sent = alice.call(send_request(alice, chat.room, 6, "six"));
  REQUIRE(type_of(sent) == "sent");
  CHECK(sent.at("seq") == 3);
}

TEST_CASE("stale_client_seq: after the largest client_seq, 2^53-1, nothing is above it") {
  AliceAndBob chat;
  const auto max = tinychat::max_safe_integer;
  auto sent = chat.alice.call(send_request(chat.alice, chat.room, max, "last"));
  REQUIRE(type_of(sent) == "sent");
  CHECK(sent.at("client_seq") == max);
  check_error(chat.alice.call(with(send_request(chat.alice, chat.room, max, "again"), "id", 1)),
              "stale_client_seq", 1);
}

TEST_CASE("stale_client_seq: client_seq 0 is never above the last accepted one") {
  AliceAndBob chat;
  check_error(chat.alice.call(with(send_request(chat.alice, chat.room, 0, "zero"), "id", 1)),
              "stale_client_seq", 1);
  CHECK(chat.bob.queued() == 0);
  CHECK(type_of(chat.alice.call(send_request(chat.alice, chat.room, 1, "one"))) == "sent");
}

TEST_CASE("precedence: the signature is checked before the counter") {
  AliceAndBob chat;
  auto& alice = chat.alice;
  REQUIRE(type_of(alice.call(send_request(alice, chat.room, 1, "hi"))) == "sent");
  auto stale = send_request(alice, chat.room, 1, "again");
  check_error(alice.call(with(with(stale, "sig", flip_bit(stale, 3)), "id", 1)),
              "invalid_signature", 1);
  check_error(alice.call(with(without(send_request(alice, chat.room, 0, "zero"), "sig"), "id", 2)),
              "invalid_signature", 2);
}

// ==== Rate limiting and storage failures =====================================================

TEST_CASE("room_quota_exceeded: an address may keep a few rooms alive at once") {
  tinychat::ServiceConfig config;
  config.room_quota = {2, 0};
  config.limits.room_idle_seconds = 60;
  ChatFixture chat(config);
  const auto settle = [&] { chat.settle(); };
  Peer first(*chat.transport, tinychat::KeyPair::generate(), settle, "ip 10.0.0.1");
  Peer second(*chat.transport, tinychat::KeyPair::generate(), settle, "ip 10.0.0.1");
  Peer elsewhere(*chat.transport, tinychat::KeyPair::generate(), settle, "ip 10.0.0.2");
  first.create_room();
  second.create_room();
  check_error(first.call({{"type", "create_room"}, {"id", 1}}), "room_quota_exceeded", 1);
  check_error(second.call({{"type", "create_room"}, {"id", 2}}), "room_quota_exceeded", 2);
  CHECK_FALSE(elsewhere.create_room().empty());
  chat.advance_seconds(61); // both rooms idle-deleted: their places are free
  CHECK_FALSE(first.create_room().empty());
}

TEST_CASE("room_quota_exceeded: an address may create only so many rooms a minute") {
  tinychat::ServiceConfig config;
  config.room_quota = {0, 3};
  ChatFixture chat(config);
  Peer peer(
      *chat.transport, tinychat::KeyPair::generate(), [&] { chat.settle(); }, "ip 10.0.0.1");
  for (int i = 0; i < 3; ++i)
    peer.create_room();
  check_error(peer.call({{"type", "create_room"}, {"id", 1}}), "room_quota_exceeded", 1);
  chat.clock.advance_ms(59'000);
  check_error(peer.call({{"type", "create_room"}, {"id", 2}}), "room_quota_exceeded", 2);
  chat.clock.advance_ms(1'000);
  CHECK_FALSE(peer.create_room().empty());
}

TEST_CASE("rate_limited: a connection that keeps flooding is closed with 1008") {
  tinychat::ServiceConfig config;
  config.rate_limit = {1, 2, 50};
  ChatFixture chat(config);
  auto& flooder = chat.connect();
  auto& polite = chat.connect();
  flooder.call({{"type", "ping"}});
  flooder.call({{"type", "ping"}});
  for (int i = 0; i < 49; ++i)
    REQUIRE(code_of(flooder.call({{"type", "ping"}})) == "rate_limited");
  CHECK(flooder.connection().is_open());
  flooder.connection().send(R"({"type":"ping"})"); // the 50th refusal in a row
  REQUIRE_FALSE(flooder.connection().is_open());
  CHECK(flooder.connection().close_info()->code == 1008);
  CHECK(type_of(polite.call({{"type", "ping"}})) == "pong");
}

TEST_CASE("rate_limited: a client that backs off when refused is never closed") {
  tinychat::ServiceConfig config;
  config.rate_limit = {1, 1, 5};
  ChatFixture chat(config);
  auto& peer = chat.connect();
  for (int round = 0; round < 20; ++round) {
    REQUIRE(type_of(peer.call({{"type", "ping"}})) == "pong");
    REQUIRE(code_of(peer.call({{"type", "ping"}})) == "rate_limited");
    chat.clock.advance_ms(1000);
  }
  CHECK(peer.connection().is_open());
}

TEST_CASE("rate_limited: a flood that lets a token refill now and then is still closed") {
  tinychat::ServiceConfig config;
  config.rate_limit = {1, 1, 20};
  ChatFixture chat(config);
  auto& flooder = chat.connect();
  int rounds = 0;
  while (flooder.connection().is_open() && rounds < 10) {
    ++rounds;
    REQUIRE(type_of(flooder.call({{"type", "ping"}})) == "pong");
    for (int i = 0; i < 10 && flooder.connection().is_open(); ++i)
      flooder.connection().send(R"({"type":"ping"})");
    flooder.connection().inbox().clear(); // the refusals
    chat.clock.advance_ms(1000);
  }
  REQUIRE_FALSE(flooder.connection().is_open());
  CHECK(flooder.connection().close_info()->code == 1008);
  CHECK(rounds == 3); // +10 -1 a round: 9, 18, then the 20th
}

TEST_CASE("rate_limited: retry_after_ms says when to retry; the refused request did nothing") {
  tinychat::ServiceConfig config;
  config.rate_limit = {1, 2};
  ChatFixture chat(config);
  auto& alice = chat.connect();
  auto& bob = chat.connect();
  auto room = alice.create_room();                         // alice: 1 of 2
  REQUIRE(type_of(alice.join(room, "alice")) == "joined"); // alice: 2 of 2
  REQUIRE(type_of(bob.join(room, "bob")) == "joined");     // bob has a bucket of his own
  alice.events("member_joined");

  auto send = send_request(alice, room, 1, "hi");
  auto refused = alice.call(with(send, "id", "s1"));
  INFO("reply: " << json::serialize(refused));
  CHECK(str_of(refused, "code") == "rate_limited");
  CHECK(refused.at("id") == "s1");
  CHECK(keys_of(refused) ==
        std::set<std::string>{"type", "id", "code", "message", "retry_after_ms"});
  CHECK_FALSE(str_of(refused, "message").empty());
  auto wait = num_of(refused, "retry_after_ms");
  CHECK(wait > 0);
  CHECK(wait <= 1000);
  CHECK(bob.queued() == 0);

  // Every request counts, a ping too; the id is still echoed.
  auto ping = alice.call({{"type", "ping"}, {"id", 8}});
  CHECK(str_of(ping, "code") == "rate_limited");
  CHECK(ping.at("id") == 8);

  chat.clock.advance_ms(wait);
  auto sent = alice.call(send); // the same client_seq: it was never consumed
  REQUIRE(type_of(sent) == "sent");
  CHECK(sent.at("seq") == 1);
  CHECK(bob.events("message").size() == 1u);
}

TEST_CASE("internal: a room that cannot be stored is not created") {
  ChatFixture chat(roomy());
  auto& alice = chat.connect();
  chat.store.fail_writes(true);
  check_error(alice.call({{"type", "create_room"}, {"id", 1}}), "internal", 1);
  CHECK(chat.store.room_count() == 0u);
  CHECK(chat.transport->service().room_count() == 0u);
  chat.store.fail_writes(false);
  CHECK(type_of(alice.call({{"type", "create_room"}})) == "room_created");
  CHECK(chat.store.room_count() == 1u);
}

TEST_CASE("internal: a join that cannot be stored leaves the user out") {
  AliceAndBob chat;
  auto& carol = chat.chat.connect();
  chat.chat.store.fail_writes(true);
  check_error(carol.call(with(join_request(carol, chat.room, "carol"), "id", 1)), "internal", 1);
  chat.chat.store.fail_writes(false);
  CHECK(chat.alice.queued() == 0);
  CHECK(chat.bob.queued() == 0);
  check_error_code(carol.history(chat.room), "not_member");

  auto joined = carol.join(chat.room, "carol");
  REQUIRE(type_of(joined) == "joined");
  CHECK(member_names(joined).size() == 3u);
  CHECK(str_of(chat.bob.event("member_joined"), "user_name") == "carol");
}

TEST_CASE("internal: a message that cannot be stored consumes neither seq nor client_seq") {
  AliceAndBob chat;
  auto& alice = chat.alice;
  REQUIRE(type_of(alice.call(send_request(alice, chat.room, 1, "one"))) == "sent");
  chat.bob.events("message");
  alice.events("message");
  auto before = room_state(chat.bob, chat.room);

  chat.chat.store.fail_writes(true);
  auto two = send_request(alice, chat.room, 2, "two");
  check_error(alice.call(with(two, "id", 1)), "internal", 1);
  chat.chat.store.fail_writes(false);
  CHECK(alice.queued() == 0);
  CHECK(chat.bob.queued() == 0);
  CHECK(room_state(chat.bob, chat.room) == before);

  auto sent = alice.call(two); // the same client_seq is still free
  REQUIRE(type_of(sent) == "sent");
  CHECK(sent.at("seq") == 2);
  CHECK(sent.at("client_seq") == 2);
  auto message = chat.bob.event("message");
  CHECK(message.at("seq") == 2);
  CHECK(str_of(message, "text") == "two");
}

// ==== Error frames, and what a failure leaves behind ===========================================

TEST_CASE("errors: every error frame has exactly type, id, code and a non-empty message") {
  AliceAndBob chat;
  auto& alice = chat.alice;
  std::vector<json::object> errors{
      alice.call_raw("nope"),
      alice.call({{"type", "shout"}}),
      alice.call({{"type", "history"}, {"room_id", no_such_room}}),
      alice.call(with(join_request(alice, chat.room, "alice"), "sig", "00")),
      alice.call(with(send_request(alice, chat.room, 1, "hi"), "sig", "00")),
      alice.call(send_request(alice, chat.room, 1, "")),
  };
  for (const auto& e : errors) {
    INFO("reply: " << json::serialize(e));
    CHECK(type_of(e) == "error");
    CHECK(keys_of(e) == std::set<std::string>{"type", "id", "code", "message"});
    REQUIRE(e.contains("message"));
    CHECK(e.at("message").is_string());
    CHECK_FALSE(e.at("message").as_string().empty());
    CHECK(e.at("code").is_string());
  }
}

TEST_CASE("errors: a failed request changes nothing") {
  auto config = roomy();
  config.limits.max_rooms_per_connection = 2;
  AliceAndBob chat(config);
  auto& alice = chat.alice;
  REQUIRE(type_of(alice.call(send_request(alice, chat.room, 1, "one"))) == "sent");
  chat.bob.events("message");
  alice.events("message");
  auto before = room_state(chat.bob, chat.room);
  auto other_room = chat.bob.create_room();
  auto third_room = chat.bob.create_room();
  REQUIRE(type_of(alice.join(other_room, "alice")) == "joined");

  std::vector<std::string> codes;
  auto attempt = [&](const json::object& reply) { codes.push_back(code_of(reply)); };
  attempt(alice.call_raw("{"));
  attempt(alice.call({{"type", "shout"}}));
  attempt(alice.call({{"type", "send"}, {"room_id", chat.room}}));
  attempt(alice.call(join_request(alice, chat.room, "alice")));
  attempt(alice.call(join_request(alice, third_room, "alice")));
  attempt(alice.call(send_request(alice, chat.room, 2, "")));
  attempt(alice.call(send_request(alice, chat.room, 2, repeat("x", 1001))));
  auto two = send_request(alice, chat.room, 2, "two");
  attempt(alice.call(with(two, "sig", flip_bit(two, 9))));
  attempt(alice.call(send_request(alice, chat.room, 1, "one again")));
  attempt(alice.call({{"type", "history"}, {"room_id", third_room}}));
  CHECK(codes == std::vector<std::string>{"bad_request", "unknown_type", "bad_request",
                                          "already_joined", "too_many_rooms", "invalid_text",
                                          "text_too_long", "invalid_signature", "stale_client_seq",
                                          "not_member"});

  CHECK(chat.bob.queued() == 0);
  CHECK(alice.queued() == 0);
  CHECK(room_state(chat.bob, chat.room) == before);
  // Alice's counter and the room's seq carry on where they were.
  auto& alice_tab = chat.chat.connect_as(alice);
  auto rejoined = alice_tab.join(chat.room, "alice");
  REQUIRE(type_of(rejoined) == "joined");
  CHECK(rejoined.at("last_client_seq") == 1);
  CHECK(rejoined.at("last_seq") == 1);
  auto sent = alice.call(send_request(alice, chat.room, 2, "two"));
  REQUIRE(type_of(sent) == "sent");
  CHECK(sent.at("seq") == 2);
}
