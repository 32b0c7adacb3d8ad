// Decoding of server frames, for clients. Lenient about unknown fields (as PROTOCOL.md asks
// of clients), strict about the fields each frame needs.

#include "json_fields.hpp"

#include <tinychat/encoding.hpp>
#include <tinychat/protocol.hpp>

#include <utility>
#include <vector>

namespace tinychat {
namespace {

namespace json = boost::json;

// Reads fields of one object; any missing or mistyped field marks the frame unreadable.
class Reader {
public:
  explicit Reader(const json::object& o) : o_(o) {}
  bool ok() const { return ok_; }

  std::string str(std::string_view k) {
    auto s = detail::as_string(detail::find_field(o_, k));
    if (!s) ok_ = false;
    return s ? std::string(*s) : std::string();
  }
  std::uint64_t u64(std::string_view k) {
    auto* v = detail::find_field(o_, k);
    auto n = v ? detail::as_safe_integer(*v) : std::nullopt;
    if (!n) ok_ = false;
    return n.value_or(0);
  }
  bool boolean(std::string_view k) {
    auto* v = detail::find_field(o_, k);
    if (!v || !v->is_bool()) ok_ = false;
    return v && v->is_bool() && v->get_bool();
  }
  template <std::size_t N>
  std::array<std::uint8_t, N> bytes(std::string_view k) {
    std::array<std::uint8_t, N> out{};
    auto s = detail::as_string(detail::find_field(o_, k));
    if (!s || !from_hex(*s, out)) ok_ = false;
    return out;
  }
  RequestId id() {
    auto* v = detail::find_field(o_, "id");
    if (!v) return {};
    if (auto n = detail::as_safe_integer(*v)) return *n;
    if (v->is_string()) return std::string(v->get_string());
    ok_ = false;
    return {};
  }
  const json::object* object(std::string_view k) {
    auto* v = detail::find_field(o_, k);
    if (!v || !v->is_object()) ok_ = false;
    return v ? v->if_object() : nullptr;
  }
  const json::array* array(std::string_view k) {
    auto* v = detail::find_field(o_, k);
    if (!v || !v->is_array()) ok_ = false;
    return v ? v->if_array() : nullptr;
  }
  /// An array of objects, each read by `read_one(Reader&)`.
  template <class ReadOne>
  auto list(std::string_view k, ReadOne read_one) {
    std::vector<decltype(read_one(std::declval<Reader&>()))> out;
    if (auto* items = array(k))
      for (const auto& v : *items) {
        require(v.is_object());
        if (!v.is_object()) break;
        Reader item(v.get_object());
        out.push_back(read_one(item));
        require(item.ok());
      }
    return out;
  }
  void require(bool condition) { ok_ = ok_ && condition; }

private:
  const json::object& o_;
  bool ok_ = true;
};

ChatMessage read_message(Reader& r) {
  ChatMessage m;
  m.room_id = r.str("room_id");
  m.seq = r.u64("seq");
  m.user_id = r.str("user_id");
  m.user_name = r.str("user_name");
  m.pub_key = r.bytes<32>("pub_key");
  m.client_seq = r.u64("client_seq");
  m.text = r.str("text");
  m.sig = r.bytes<64>("sig");
  m.ts = static_cast<TimestampMs>(r.u64("ts"));
  return m;
}

Member read_member(Reader& r) {
  return Member{r.str("user_id"), r.str("user_name"), r.bytes<32>("pub_key")};
}

std::optional<ServerFrame> read_frame(std::string_view type, Reader& r) {
  if (type == "hello") {
    Hello h;
    h.protocol = static_cast<int>(r.u64("protocol"));
    h.challenge = r.bytes<32>("challenge");
    if (auto* lo = r.object("limits")) {
      Reader l(*lo);
      auto lu32 = [&](std::string_view k) { return static_cast<std::uint32_t>(l.u64(k)); };
      h.limits = Limits{lu32("max_text_chars"),    lu32("max_name_chars"),
                        lu32("max_room_members"),  lu32("max_history"),
                        lu32("max_frame_bytes"),   lu32("max_rooms_per_connection"),
                        lu32("room_idle_seconds"), lu32("room_ttl_seconds")};
      // Servers from before PROTOCOL.md 9 did not send it: absent means no tokens.
      if (lo->contains("auth_required")) h.auth_required = l.boolean("auth_required");
      r.require(l.ok());
    }
    return h;
  }
  if (type == "room_created")
    return RoomCreated{r.id(), r.str("room_id"), static_cast<TimestampMs>(r.u64("expires_at"))};
  if (type == "joined") {
    Joined j{r.id(),
             r.str("room_id"),
             r.str("user_id"),
             r.str("user_name"),
             r.u64("last_seq"),
             r.u64("last_client_seq"),
             static_cast<TimestampMs>(r.u64("expires_at")),
             {}};
    j.members = r.list("members", read_member);
    return j;
  }
  if (type == "left") return Left{r.id(), r.str("room_id")};
  if (type == "sent")
    return Sent{r.id(), r.str("room_id"), r.u64("seq"), r.u64("client_seq"),
                static_cast<TimestampMs>(r.u64("ts"))};
  if (type == "history") {
    HistoryPage p;
    p.id = r.id();
    p.room_id = r.str("room_id");
    p.messages = r.list("messages", read_message);
    p.first_seq = r.u64("first_seq");
    p.last_seq = r.u64("last_seq");
    p.has_more = r.boolean("has_more");
    p.truncated = r.boolean("truncated");
    return p;
  }
  if (type == "pong") return Pong{r.id()};
  if (type == "authenticated")
    return Authenticated{r.id(), r.str("sub"), static_cast<TimestampMs>(r.u64("expires_at"))};
  if (type == "message") return MessageEvent{read_message(r)};
  if (type == "member_joined") {
    MemberJoined e;
    e.room_id = r.str("room_id");
    e.member = read_member(r);
    return e;
  }
  if (type == "member_left") return MemberLeft{r.str("room_id"), r.str("user_id")};
  if (type == "room_closed") return RoomClosed{r.str("room_id"), r.str("reason")};
  if (type == "error") {
    ErrorFrame e;
    e.id = r.id();
    auto code = error_from_string(r.str("code"));
    r.require(code.has_value());
    e.code = code.value_or(error::internal);
    e.message = r.str("message");
    if (e.code == error::rate_limited) e.retry_after_ms = r.u64("retry_after_ms");
    return e;
  }
  return std::nullopt;
}

} // namespace

std::optional<ServerFrame> Protocol::decode_server_frame(std::string_view text) {
  auto value = detail::parse_json(text);
  if (!value || !value->is_object()) return std::nullopt;
  Reader r(value->get_object());
  auto type = r.str("type");
  if (!r.ok()) return std::nullopt;
  auto frame = read_frame(type, r);
  if (!frame || !r.ok()) return std::nullopt;
  return frame;
}

} // namespace tinychat
