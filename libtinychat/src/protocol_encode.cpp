// Encoding of every protocol v1 frame to its wire text.

#include <tinychat/encoding.hpp>
#include <tinychat/protocol.hpp>

#include <boost/json.hpp>

namespace tinychat {
namespace {

namespace json = boost::json;

json::value id_value(const RequestId& id) {
  if (auto* n = std::get_if<std::uint64_t>(&id)) return *n;
  if (auto* s = std::get_if<std::string>(&id)) return json::string(*s);
  return nullptr;
}

json::object reply(std::string_view type, const RequestId& id) {
  json::object o;
  o["type"] = type;
  if (!std::holds_alternative<std::monostate>(id)) o["id"] = id_value(id);
  return o;
}

json::object event(std::string_view type) {
  json::object o;
  o["type"] = type;
  return o;
}

json::object member_object(const Member& m) {
  return {{"user_id", m.user_id}, {"user_name", m.user_name}, {"pub_key", to_hex(m.pub_key)}};
}

void put_message(json::object& o, const ChatMessage& m) {
  o["room_id"] = m.room_id;
  o["seq"] = m.seq;
  o["user_id"] = m.user_id;
  o["user_name"] = m.user_name;
  o["pub_key"] = to_hex(m.pub_key);
  o["client_seq"] = m.client_seq;
  o["text"] = m.text;
  o["sig"] = to_hex(m.sig);
  o["ts"] = m.ts;
}

json::object to_object(const Hello& f) {
  auto o = event("hello");
  o["protocol"] = f.protocol;
  o["challenge"] = to_hex(f.challenge);
  const Limits& l = f.limits;
  o["limits"] = json::object{
      {"max_text_chars", l.max_text_chars},
      {"max_name_chars", l.max_name_chars},
      {"max_room_members", l.max_room_members},
      {"max_history", l.max_history},
      {"max_frame_bytes", l.max_frame_bytes},
      {"max_rooms_per_connection", l.max_rooms_per_connection},
      {"room_idle_seconds", l.room_idle_seconds},
      {"room_ttl_seconds", l.room_ttl_seconds},
      {"auth_required", f.auth_required},
  };
  return o;
}

json::object to_object(const RoomCreated& f) {
  auto o = reply("room_created", f.id);
  o["room_id"] = f.room_id;
  o["expires_at"] = f.expires_at;
  return o;
}

json::object to_object(const Joined& f) {
  auto o = reply("joined", f.id);
  o["room_id"] = f.room_id;
  o["user_id"] = f.user_id;
  o["user_name"] = f.user_name;
  o["last_seq"] = f.last_seq;
  o["last_client_seq"] = f.last_client_seq;
  o["expires_at"] = f.expires_at;
  json::array members;
  members.reserve(f.members.size());
  for (const auto& m : f.members)
    members.push_back(member_object(m));
  o["members"] = std::move(members);
  return o;
}

json::object to_object(const Left& f) {
  auto o = reply("left", f.id);
  o["room_id"] = f.room_id;
  return o;
}

json::object to_object(const Sent& f) {
  auto o = reply("sent", f.id);
  o["room_id"] = f.room_id;
  o["seq"] = f.seq;
  o["client_seq"] = f.client_seq;
  o["ts"] = f.ts;
  return o;
}

json::object to_object(const HistoryPage& f) {
  auto o = reply("history", f.id);
  o["room_id"] = f.room_id;
  json::array messages;
  messages.reserve(f.messages.size());
  for (const auto& m : f.messages) {
    json::object mo;
    put_message(mo, m);
    messages.push_back(std::move(mo));
  }
  o["messages"] = std::move(messages);
  o["first_seq"] = f.first_seq;
  o["last_seq"] = f.last_seq;
  o["has_more"] = f.has_more;
  o["truncated"] = f.truncated;
  return o;
}

json::object to_object(const Pong& f) { return reply("pong", f.id); }

json::object to_object(const Authenticated& f) {
  auto o = reply("authenticated", f.id);
  o["sub"] = f.sub;
  o["expires_at"] = f.expires_at;
  return o;
}

json::object to_object(const MessageEvent& f) {
  auto o = event("message");
  put_message(o, f.message);
  return o;
}

json::object to_object(const MemberJoined& f) {
  auto o = event("member_joined");
  o["room_id"] = f.room_id;
  o["user_id"] = f.member.user_id;
  o["user_name"] = f.member.user_name;
  o["pub_key"] = to_hex(f.member.pub_key);
  return o;
}

json::object to_object(const MemberLeft& f) {
  auto o = event("member_left");
  o["room_id"] = f.room_id;
  o["user_id"] = f.user_id;
  return o;
}

json::object to_object(const RoomClosed& f) {
  auto o = event("room_closed");
  o["room_id"] = f.room_id;
  o["reason"] = f.reason;
  return o;
}

json::object to_object(const ErrorFrame& f) {
  auto o = event("error");
  o["id"] = id_value(f.id); // always present: null when the request's id was unreadable
  o["code"] = to_string(f.code);
  o["message"] = f.message;
  if (f.retry_after_ms) o["retry_after_ms"] = *f.retry_after_ms;
  return o;
}

json::object request_object(const Request& r) {
  return std::visit(
      [&](const auto& b) -> json::object {
        using T = std::decay_t<decltype(b)>;
        json::object o;
        if constexpr (std::is_same_v<T, CreateRoomRequest>)
          o["type"] = "create_room";
        else if constexpr (std::is_same_v<T, PingRequest>)
          o["type"] = "ping";
        else if constexpr (std::is_same_v<T, AuthRequest>) {
          o["type"] = "auth";
          o["token"] = b.token;
        } else if constexpr (std::is_same_v<T, JoinRequest>) {
          o["type"] = "join";
          o["room_id"] = b.room_id;
          o["user_name"] = b.user_name;
          o["pub_key"] = to_hex(b.pub_key);
          if (b.sig) o["sig"] = to_hex(*b.sig);
        } else if constexpr (std::is_same_v<T, LeaveRequest>) {
          o["type"] = "leave";
          o["room_id"] = b.room_id;
        } else if constexpr (std::is_same_v<T, SendRequest>) {
          o["type"] = "send";
          o["room_id"] = b.room_id;
          o["client_seq"] = b.client_seq;
          o["text"] = b.text;
          if (b.sig) o["sig"] = to_hex(*b.sig);
        } else if constexpr (std::is_same_v<T, HistoryRequest>) {
          o["type"] = "history";
          o["room_id"] = b.room_id;
          o["after_seq"] = b.after_seq;
          o["limit"] = b.limit;
        }
        if (!std::holds_alternative<std::monostate>(r.id)) o["id"] = id_value(r.id);
        return o;
      },
      r.body);
}

} // namespace

std::string Protocol::encode(const Request& request) {
  return json::serialize(request_object(request));
}

std::string Protocol::encode(const ServerFrame& frame) {
  return json::serialize(std::visit([](const auto& f) { return to_object(f); }, frame));
}

} // namespace tinychat
