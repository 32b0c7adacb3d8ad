// The protocol v1 codec (tinychat::Protocol) on its own: every server frame of PROTOCOL.md
// section 5 is encoded with exactly the fields listed there (section 11: plus `type`, and `id`
// only when the request had one), every frame survives decode_server_frame(encode(x)), and
// every request of section 4 survives decode_request(encode(x)).

#include "chat_fixture.hpp"

#include <tinychat/encoding.hpp>
#include <tinychat/protocol.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

using namespace tinychat;
namespace json = boost::json;

namespace {

// ---- sample values -----------------------------------------------------------------------

const std::string room = "abcdefghijklmnopqrstuvwx2a"; // 26 lowercase base32 characters

template <class Bytes>
Bytes pattern(std::uint8_t start) {
  Bytes b{};
  for (std::size_t i = 0; i < b.size(); ++i)
    b[i] = static_cast<std::uint8_t>(start + 37 * i);
  return b;
}

const PublicKey alice_key = pattern<PublicKey>(0xa1);
const PublicKey bob_key = pattern<PublicKey>(0xb0);
const Signature some_sig = pattern<Signature>(0x5e);
const Challenge some_challenge = pattern<Challenge>(0xc4);

// Limits that differ from the defaults and from one another, so a swapped field shows.
Limits odd_limits() { return Limits{1001, 33, 501, 1002, 65537, 17, 301, 43201}; }

ChatMessage message(std::uint64_t seq) {
  return ChatMessage{room,
                     seq,
                     "u-alice:1",
                     "Alice ✓",
                     alice_key,
                     seq + 10,
                     "hé\n\"quoted\"\t😀 \\",
                     some_sig,
                     1'700'000'000'123 + static_cast<TimestampMs>(seq)};
}

// Absent, the smallest and largest integers, and strings (also empty and 64 code points).
std::vector<RequestId> request_ids() {
  std::string long_id;
  for (int i = 0; i < 64; ++i)
    long_id += "é";
  return {RequestId{},
          RequestId{std::uint64_t{0}},
          RequestId{max_safe_integer},
          RequestId{std::string("req-7")},
          RequestId{std::string()},
          RequestId{long_id}};
}

std::string describe(const RequestId& id) {
  if (auto* n = std::get_if<std::uint64_t>(&id)) return std::to_string(*n);
  if (auto* s = std::get_if<std::string>(&id)) return '"' + *s + '"';
  return "(none)";
}

// ---- looking at the wire text -------------------------------------------------------------

json::object encoded(const ServerFrame& frame) {
  auto text = Protocol::encode(frame);
  INFO("encoded: " << text);
  auto value = json::parse(text);
  REQUIRE(value.is_object());
  return value.get_object();
}

std::set<std::string> keys_of(const json::object& o) {
  std::set<std::string> keys;
  for (const auto& kv : o)
    keys.insert(std::string(kv.key()));
  return keys;
}

// `type`, the listed fields, and `id` when the request had one.
std::set<std::string> reply_keys(std::initializer_list<const char*> fields, const RequestId& id) {
  std::set<std::string> keys{"type"};
  keys.insert(fields.begin(), fields.end());
  if (!std::holds_alternative<std::monostate>(id)) keys.insert("id");
  return keys;
}

json::value id_json(const RequestId& id) {
  if (auto* n = std::get_if<std::uint64_t>(&id)) return *n;
  if (auto* s = std::get_if<std::string>(&id)) return json::string(*s);
  return nullptr;
}

// A reply echoes the id exactly, or has none.
void check_id(const json::object& o, const RequestId& id) {
  if (std::holds_alternative<std::monostate>(id))
    CHECK_FALSE(o.contains("id"));
  else
    CHECK((o.contains("id") && o.at("id") == id_json(id)));
}

bool is_integer(const json::value& v) { return v.is_int64() || v.is_uint64(); }

std::string str(const json::value& v) { return std::string(v.as_string()); }

// The nine fields of a message object, as section 5 lists them.
const std::set<std::string> message_fields{"room_id",    "seq",  "user_id", "user_name", "pub_key",
                                           "client_seq", "text", "sig",     "ts"};

void check_message_fields(const json::object& o, const ChatMessage& m) {
  CHECK(str(o.at("room_id")) == m.room_id);
  CHECK(is_integer(o.at("seq")));
  CHECK(o.at("seq") == m.seq);
  CHECK(str(o.at("user_id")) == m.user_id);
  CHECK(str(o.at("user_name")) == m.user_name);
  CHECK(str(o.at("pub_key")) == to_hex(m.pub_key));
  CHECK(o.at("client_seq") == m.client_seq);
  CHECK(str(o.at("text")) == m.text);
  CHECK(str(o.at("sig")) == to_hex(m.sig));
  CHECK(is_integer(o.at("ts")));
  CHECK(o.at("ts") == m.ts);
}

bool is_lower_hex(std::string_view s, std::size_t length) {
  return s.size() == length && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// ---- decoding back ------------------------------------------------------------------------

template <class Frame>
Frame round_trip(const Frame& frame) {
  auto text = Protocol::encode(ServerFrame{frame});
  INFO("encoded: " << text);
  auto decoded = Protocol::decode_server_frame(text);
  REQUIRE(decoded.has_value());
  REQUIRE(std::holds_alternative<Frame>(*decoded));
  return std::get<Frame>(*decoded);
}

bool same(const Limits& a, const Limits& b) {
  return a.max_text_chars == b.max_text_chars && a.max_name_chars == b.max_name_chars &&
         a.max_room_members == b.max_room_members && a.max_history == b.max_history &&
         a.max_frame_bytes == b.max_frame_bytes &&
         a.max_rooms_per_connection == b.max_rooms_per_connection &&
         a.room_idle_seconds == b.room_idle_seconds && a.room_ttl_seconds == b.room_ttl_seconds;
}

Request request_round_trip(const Request& request) {
  auto text = Protocol::encode(request);
  INFO("encoded: " << text);
  auto decoded = Protocol::decode_request(text);
  REQUIRE(decoded.ok());
  CHECK(decoded.request().id == request.id);
  return decoded.request();
}

json::object encoded_request(const Request& request) {
  auto value = json::parse(Protocol::encode(request));
  REQUIRE(value.is_object());
  return value.get_object();
}

} // namespace

// ==== hello ==================================================================================

TEST_CASE("hello: protocol 1, a 64-hex challenge and every limit, nothing else") {
  auto o = encoded(Hello{1, some_challenge, odd_limits()});
  CHECK(keys_of(o) == std::set<std::string>{"type", "protocol", "challenge", "limits"});
  CHECK(str(o.at("type")) == "hello");
  CHECK(is_integer(o.at("protocol")));
  CHECK(o.at("protocol") == 1);
  CHECK(is_lower_hex(str(o.at("challenge")), 64));
  CHECK(str(o.at("challenge")) == to_hex(some_challenge));

  REQUIRE(o.at("limits").is_object());
  auto limits = o.at("limits").get_object();
  // Section 9: `auth_required` may be announced; without a token key it is false.
  if (auto* auth = limits.if_contains("auth_required")) {
    CHECK(*auth == false);
    limits.erase("auth_required");
  }
  CHECK(limits == json::object{{"max_text_chars", 1001},
                               {"max_name_chars", 33},
                               {"max_room_members", 501},
                               {"max_history", 1002},
                               {"max_frame_bytes", 65537},
                               {"max_rooms_per_connection", 17},
                               {"room_idle_seconds", 301},
                               {"room_ttl_seconds", 43201}});
}

TEST_CASE("hello: a default hello says protocol 1 and the protocol's default limits") {
  Hello hello;
  CHECK(hello.protocol == 1);
  auto limits = encoded(hello).at("limits").as_object();
  CHECK(limits.at("max_text_chars") == 1000);
  CHECK(limits.at("max_name_chars") == 32);
  CHECK(limits.at("max_room_members") == 500);
  CHECK(limits.at("max_history") == 1000);
  CHECK(limits.at("max_frame_bytes") == 65536);
  CHECK(limits.at("max_rooms_per_connection") == 16);
  CHECK(limits.at("room_idle_seconds") == 300);
  CHECK(limits.at("room_ttl_seconds") == 43200);
}

TEST_CASE("hello: round-trips through decode_server_frame") {
  auto hello = round_trip(Hello{1, some_challenge, odd_limits()});
  CHECK(hello.protocol == 1);
  CHECK(hello.challenge == some_challenge);
  CHECK(same(hello.limits, odd_limits()));
}

TEST_CASE("hello: every connection gets protocol 1, its own challenge and the limits in force") {
  ServiceConfig config;
  config.limits = odd_limits();
  test::ChatFixture chat(config);
  std::set<std::string> challenges;
  for (int i = 0; i < 3; ++i) {
    const auto& hello = chat.connect().hello();
    CHECK(hello.at("protocol") == 1);
    CHECK(is_lower_hex(str(hello.at("challenge")), 64));
    challenges.insert(str(hello.at("challenge")));
    auto decoded = Protocol::decode_server_frame(json::serialize(hello));
    REQUIRE(decoded.has_value());
    REQUIRE(std::holds_alternative<Hello>(*decoded));
    CHECK(same(std::get<Hello>(*decoded).limits, odd_limits()));
  }
  CHECK(challenges.size() == 3u); // fresh per connection
}

// ==== replies ================================================================================

TEST_CASE("room_created: room_id and expires_at, plus type and the request's id") {
  for (const auto& id : request_ids()) {
    CAPTURE(describe(id));
    RoomCreated frame{id, room, 1'700'043'200'000};
    auto o = encoded(frame);
    CHECK(keys_of(o) == reply_keys({"room_id", "expires_at"}, id));
    CHECK(str(o.at("type")) == "room_created");
    check_id(o, id);
    CHECK(str(o.at("room_id")) == room);
    CHECK(is_integer(o.at("expires_at")));
    CHECK(o.at("expires_at") == 1'700'043'200'000);

    auto back = round_trip(frame);
    CHECK(back.id == id);
    CHECK(back.room_id == room);
    CHECK(back.expires_at == frame.expires_at);
  }
}

TEST_CASE("joined: the seven fields of section 4, members as {user_id, user_name, pub_key}") {
  const std::vector<Member> members{{"u-alice:1", "Alice ✓", alice_key}, {"u-bob", "bob", bob_key}};
  for (const auto& id : request_ids()) {
    CAPTURE(describe(id));
    Joined frame{id, room, "u-bob", "bob", 41, 17, 1'700'043'200'000, members};
    auto o = encoded(frame);
    CHECK(keys_of(o) == reply_keys({"room_id", "user_id", "user_name", "last_seq",
                                    "last_client_seq", "expires_at", "members"},
                                   id));
    CHECK(str(o.at("type")) == "joined");
    check_id(o, id);
    CHECK(str(o.at("room_id")) == room);
    CHECK(str(o.at("user_id")) == "u-bob");
    CHECK(str(o.at("user_name")) == "bob");
    CHECK(o.at("last_seq") == 41);
    CHECK(o.at("last_client_seq") == 17);
    CHECK(o.at("expires_at") == 1'700'043'200'000);
    const auto& list = o.at("members").as_array();
    REQUIRE(list.size() == 2u);
    for (std::size_t i = 0; i < list.size(); ++i) {
      const auto& m = list[i].as_object();
      CHECK(keys_of(m) == std::set<std::string>{"user_id", "user_name", "pub_key"});
      CHECK(str(m.at("user_id")) == members[i].user_id);
      CHECK(str(m.at("user_name")) == members[i].user_name);
      CHECK(str(m.at("pub_key")) == to_hex(members[i].pub_key));
    }

    auto back = round_trip(frame);
    CHECK(back.id == id);
    CHECK(back.room_id == room);
    CHECK(back.user_id == "u-bob");
    CHECK(back.user_name == "bob");
    CHECK(back.last_seq == 41);
    CHECK(back.last_client_seq == 17);
    CHECK(back.expires_at == frame.expires_at);
    CHECK(back.members == members);
  }
}

TEST_CASE("left: room_id, plus type and the request's id") {
  for (const auto& id : request_ids()) {
    CAPTURE(describe(id));
    auto o = encoded(Left{id, room});
    CHECK(keys_of(o) == reply_keys({"room_id"}, id));
    CHECK(str(o.at("type")) == "left");
    check_id(o, id);
    CHECK(str(o.at("room_id")) == room);

    auto back = round_trip(Left{id, room});
    CHECK(back.id == id);
    CHECK(back.room_id == room);
  }
}

TEST_CASE("sent: room_id, seq, client_seq and ts, plus type and the request's id") {
  for (const auto& id : request_ids()) {
    CAPTURE(describe(id));
    Sent frame{id, room, 12, max_safe_integer, 1'700'000'000'999};
    auto o = encoded(frame);
    CHECK(keys_of(o) == reply_keys({"room_id", "seq", "client_seq", "ts"}, id));
    CHECK(str(o.at("type")) == "sent");
    check_id(o, id);
    CHECK(str(o.at("room_id")) == room);
    CHECK(o.at("seq") == 12);
    CHECK(o.at("client_seq") == max_safe_integer);
    CHECK(o.at("ts") == 1'700'000'000'999);

    auto back = round_trip(frame);
    CHECK(back.id == id);
    CHECK(back.room_id == room);
    CHECK(back.seq == 12);
    CHECK(back.client_seq == max_safe_integer);
    CHECK(back.ts == frame.ts);
  }
}

TEST_CASE("history: messages without type, first_seq, last_seq, has_more, truncated") {
  for (const auto& id : request_ids()) {
    CAPTURE(describe(id));
    HistoryPage frame{id, room, {message(5), message(6)}, 3, 9, true, false};
    auto o = encoded(frame);
    CHECK(
        keys_of(o) ==
        reply_keys({"room_id", "messages", "first_seq", "last_seq", "has_more", "truncated"}, id));
    CHECK(str(o.at("type")) == "history");
    check_id(o, id);
    CHECK(str(o.at("room_id")) == room);
    CHECK(o.at("first_seq") == 3);
    CHECK(o.at("last_seq") == 9);
    CHECK(o.at("has_more") == true);
    CHECK(o.at("truncated") == false);
    const auto& list = o.at("messages").as_array();
    REQUIRE(list.size() == 2u);
    for (std::size_t i = 0; i < list.size(); ++i) {
      CHECK(keys_of(list[i].as_object()) == message_fields);
      check_message_fields(list[i].as_object(), frame.messages[i]);
    }

    auto back = round_trip(frame);
    CHECK(back.id == id);
    CHECK(back.room_id == room);
    CHECK(back.messages == frame.messages);
    CHECK(back.first_seq == 3);
    CHECK(back.last_seq == 9);
    CHECK(back.has_more);
    CHECK_FALSE(back.truncated);
  }
}

TEST_CASE("history: an empty page keeps its fields") {
  HistoryPage frame{RequestId{}, room, {}, 0, 0, false, true};
  auto o = encoded(frame);
  CHECK(keys_of(o) ==
        reply_keys({"room_id", "messages", "first_seq", "last_seq", "has_more", "truncated"},
                   RequestId{}));
  CHECK(o.at("messages") == json::array{});
  auto back = round_trip(frame);
  CHECK(back.messages.empty());
  CHECK(back.truncated);
}

TEST_CASE("pong: exactly {type, id}, or just {type} when the ping had no id") {
  for (const auto& id : request_ids()) {
    CAPTURE(describe(id));
    auto o = encoded(Pong{id});
    CHECK(keys_of(o) == reply_keys({}, id));
    CHECK(str(o.at("type")) == "pong");
    check_id(o, id);
    CHECK(round_trip(Pong{id}).id == id);
  }
}

// ==== events =================================================================================

TEST_CASE("message: the nine fields of section 5 and type, no id") {
  auto m = message(8);
  auto o = encoded(MessageEvent{m});
  auto expected = message_fields;
  expected.insert("type");
  CHECK(keys_of(o) == expected);
  CHECK(str(o.at("type")) == "message");
  check_message_fields(o, m);
  CHECK(is_lower_hex(str(o.at("pub_key")), 64));
  CHECK(is_lower_hex(str(o.at("sig")), 128));
  CHECK(round_trip(MessageEvent{m}).message == m);
}

TEST_CASE("member_joined: room_id, user_id, user_name, pub_key and type") {
  MemberJoined frame{room, Member{"u-bob", "bob", bob_key}};
  auto o = encoded(frame);
  CHECK(keys_of(o) == std::set<std::string>{"type", "room_id", "user_id", "user_name", "pub_key"});
  CHECK(str(o.at("type")) == "member_joined");
  CHECK(str(o.at("room_id")) == room);
  CHECK(str(o.at("user_id")) == "u-bob");
  CHECK(str(o.at("user_name")) == "bob");
  CHECK(str(o.at("pub_key")) == to_hex(bob_key));
  auto back = round_trip(frame);
  CHECK(back.room_id == room);
  CHECK(back.member == frame.member);
}

TEST_CASE("member_left: room_id, user_id and type") {
  auto o = encoded(MemberLeft{room, "u-bob"});
  CHECK(keys_of(o) == std::set<std::string>{"type", "room_id", "user_id"});
  CHECK(str(o.at("type")) == "member_left");
  CHECK(str(o.at("room_id")) == room);
  CHECK(str(o.at("user_id")) == "u-bob");
  auto back = round_trip(MemberLeft{room, "u-bob"});
  CHECK(back.room_id == room);
  CHECK(back.user_id == "u-bob");
}

TEST_CASE("room_closed: room_id, reason expired, and type") {
  auto o = encoded(RoomClosed{room, "expired"});
  CHECK(keys_of(o) == std::set<std::string>{"type", "room_id", "reason"});
  CHECK(str(o.at("type")) == "room_closed");
  CHECK(str(o.at("room_id")) == room);
  CHECK(str(o.at("reason")) == "expired");
  CHECK(RoomClosed{}.reason == "expired");
  auto back = round_trip(RoomClosed{room, "expired"});
  CHECK(back.room_id == room);
  CHECK(back.reason == "expired");
}

// ==== errors =================================================================================

TEST_CASE("error: type, id (null if absent), code, message; retry_after_ms only if rate limited") {
  for (int n = static_cast<int>(error::bad_request); n <= static_cast<int>(error::internal); ++n) {
    const auto code = static_cast<error>(n);
    const bool limited = code == error::rate_limited;
    for (const auto& id : request_ids()) {
      CAPTURE(to_string(code));
      CAPTURE(describe(id));
      ErrorFrame frame{id, code, "something went wrong",
                       limited ? std::optional<std::uint64_t>(1500) : std::nullopt};
      auto o = encoded(frame);
      std::set<std::string> expected{"type", "id", "code", "message"};
      if (limited) expected.insert("retry_after_ms");
      CHECK(keys_of(o) == expected);
      CHECK(str(o.at("type")) == "error");
      CHECK(o.at("id") == id_json(id)); // always present
      CHECK(str(o.at("code")) == to_string(code));
      CHECK(str(o.at("message")) == "something went wrong");
      if (limited) CHECK(o.at("retry_after_ms") == 1500);

      auto back = round_trip(frame);
      CHECK(back.id == id);
      CHECK(back.code == code);
      CHECK(back.message == "something went wrong");
      CHECK(back.retry_after_ms == frame.retry_after_ms);
    }
  }
}

TEST_CASE("error: the fifteen codes of section 7 have their wire spellings") {
  const std::vector<std::string> spellings{
      "bad_request",    "unknown_type",   "room_not_found",   "room_full",         "name_taken",
      "invalid_name",   "invalid_text",   "text_too_long",    "invalid_signature", "not_member",
      "already_joined", "too_many_rooms", "stale_client_seq", "rate_limited",      "internal"};
  for (std::size_t i = 0; i < spellings.size(); ++i) {
    const auto code = static_cast<error>(static_cast<int>(i) + 1);
    CHECK(to_string(code) == spellings[i]);
    CHECK(error_from_string(spellings[i]) == code);
    CHECK_FALSE(make_error_code(code).message().empty());
  }
  CHECK_FALSE(error_from_string("Bad_Request").has_value());
}

// ==== clients: decoding is lenient about fields it does not know ===============================

TEST_CASE("decode_server_frame: fields a client does not know are ignored") {
  auto text = Protocol::encode(ServerFrame{Sent{RequestId{std::uint64_t{3}}, room, 4, 5, 6}});
  text.pop_back();
  text += R"(,"server_time":123,"flags":{"x":[1,2]}})";
  auto decoded = Protocol::decode_server_frame(text);
  REQUIRE(decoded.has_value());
  REQUIRE(std::holds_alternative<Sent>(*decoded));
  CHECK(std::get<Sent>(*decoded).seq == 4);
}

TEST_CASE("decode_server_frame: what is not a v1 server frame is refused") {
  for (std::string_view text :
       {"", "[]", "{}", R"({"type":"join"})", R"({"type":"sent"})", R"({"type":"pong","id":-1})",
        R"({"type":"error","id":null,"code":"oops","message":"m"})"}) {
    CAPTURE(text);
    CHECK_FALSE(Protocol::decode_server_frame(text).has_value());
  }
}

// ==== requests ===============================================================================

TEST_CASE("requests: create_room and ping round-trip with every kind of id") {
  for (const auto& id : request_ids()) {
    CAPTURE(describe(id));
    auto create = request_round_trip(Request{id, CreateRoomRequest{}});
    CHECK(std::holds_alternative<CreateRoomRequest>(create.body));
    CHECK(keys_of(encoded_request(Request{id, CreateRoomRequest{}})) == reply_keys({}, id));
    auto ping = request_round_trip(Request{id, PingRequest{}});
    CHECK(std::holds_alternative<PingRequest>(ping.body));
    CHECK(keys_of(encoded_request(Request{id, PingRequest{}})) == reply_keys({}, id));
  }
}

TEST_CASE("requests: join round-trips, the name as sent (untrimmed), with or without sig") {
  for (const auto& id : request_ids()) {
    CAPTURE(describe(id));
    for (auto sig : {std::optional<Signature>(some_sig), std::optional<Signature>()}) {
      Request request{id, JoinRequest{room, " \tAlice ✓ ", alice_key, sig}};
      auto fields = keys_of(encoded_request(request));
      CHECK(fields ==
            reply_keys(
                sig ? std::initializer_list<const char*>{"room_id", "user_name", "pub_key", "sig"}
                    : std::initializer_list<const char*>{"room_id", "user_name", "pub_key"},
                id));
      auto back = request_round_trip(request);
      REQUIRE(std::holds_alternative<JoinRequest>(back.body));
      const auto& join = std::get<JoinRequest>(back.body);
      CHECK(join.room_id == room);
      CHECK(join.user_name == " \tAlice ✓ ");
      CHECK(join.pub_key == alice_key);
      CHECK(join.sig == sig);
    }
  }
}

TEST_CASE("requests: leave round-trips") {
  for (const auto& id : request_ids()) {
    CAPTURE(describe(id));
    Request request{id, LeaveRequest{room}};
    CHECK(keys_of(encoded_request(request)) == reply_keys({"room_id"}, id));
    auto back = request_round_trip(request);
    REQUIRE(std::holds_alternative<LeaveRequest>(back.body));
    CHECK(std::get<LeaveRequest>(back.body).room_id == room);
  }
}

TEST_CASE("requests: send round-trips, text byte for byte, with or without sig") {
  const std::string text = "hé\n\"quoted\"\t😀 \\ \u2028";
  for (const auto& id : request_ids()) {
    CAPTURE(describe(id));
    for (std::uint64_t client_seq : {std::uint64_t{1}, max_safe_integer}) {
      for (auto sig : {std::optional<Signature>(some_sig), std::optional<Signature>()}) {
        Request request{id, SendRequest{room, client_seq, text, sig}};
        auto fields = keys_of(encoded_request(request));
        CHECK(fields ==
              reply_keys(
                  sig ? std::initializer_list<const char*>{"room_id", "client_seq", "text", "sig"}
                      : std::initializer_list<const char*>{"room_id", "client_seq", "text"},
                  id));
        auto back = request_round_trip(request);
        REQUIRE(std::holds_alternative<SendRequest>(back.body));
        const auto& send = std::get<SendRequest>(back.body);
        CHECK(send.room_id == room);
        CHECK(send.client_seq == client_seq);
        CHECK(send.text == text);
        CHECK(send.sig == sig);
      }
    }
  }
}

TEST_CASE("requests: history round-trips at the edges of after_seq and limit") {
  for (const auto& id : request_ids()) {
    CAPTURE(describe(id));
    for (auto [after_seq, limit] :
         {std::pair<std::uint64_t, std::uint32_t>{0, 1}, {41, 100}, {max_safe_integer, 200}}) {
      Request request{id, HistoryRequest{room, after_seq, limit}};
      auto back = request_round_trip(request);
      REQUIRE(std::holds_alternative<HistoryRequest>(back.body));
      const auto& history = std::get<HistoryRequest>(back.body);
      CHECK(history.room_id == room);
      CHECK(history.after_seq == after_seq);
      CHECK(history.limit == limit);
    }
  }
}

TEST_CASE("requests: history without after_seq and limit means 0 and 100") {
  auto decoded = Protocol::decode_request(R"({"type":"history","room_id":")" + room + R"("})");
  REQUIRE(decoded.ok());
  REQUIRE(std::holds_alternative<HistoryRequest>(decoded.request().body));
  const auto& history = std::get<HistoryRequest>(decoded.request().body);
  CHECK(history.after_seq == 0);
  CHECK(history.limit == 100);
  CHECK(std::holds_alternative<std::monostate>(decoded.request().id));
}
