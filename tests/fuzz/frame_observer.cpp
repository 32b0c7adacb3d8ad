#include "frame_observer.hpp"

#include <tinychat/encoding.hpp>

#include <set>

namespace tinychat::fuzz {
namespace {

bool is_reply(std::string_view type) {
  static const std::set<std::string_view> replies{"room_created", "joined", "left", "sent",
                                                  "history",      "pong",   "error"};
  return replies.contains(type);
}

std::string str(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  check(v && v->is_string(), "a frame lacks a string field", key);
  return std::string(v->get_string());
}

std::uint64_t num(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  check(v && (v->is_uint64() || (v->is_int64() && v->get_int64() >= 0)),
        "a frame lacks an integer field", key);
  return v->to_number<std::uint64_t>();
}

json::value id_value(const RequestId& id) {
  if (auto* n = std::get_if<std::uint64_t>(&id)) return *n;
  if (auto* s = std::get_if<std::string>(&id)) return json::string(*s);
  return nullptr;
}

} // namespace

json::object FrameObserver::observe(std::string_view text) {
  json::object frame = check_server_frame(text);
  check(Protocol::decode_server_frame(text).has_value(), "a client cannot read a server frame",
        text);
  const std::string type = str(frame, "type");
  if (is_reply(type)) {
    check(!pending_.empty(), "a reply to no request", text);
    auto* id = frame.if_contains("id");
    check((id ? *id : json::value(nullptr)) == id_value(pending_.front()),
          "a reply with another id", text);
    pending_.pop_front();
    ++replies_;
  }
  if (type == "joined") {
    last_seq_[str(frame, "room_id")] = num(frame, "last_seq");
  } else if (type == "left") {
    check(last_seq_.erase(str(frame, "room_id")) == 1, "left a room it had not joined", text);
  } else if (type == "room_closed") {
    check(last_seq_.erase(str(frame, "room_id")) == 1, "room_closed for a room not joined", text);
  } else if (type == "message") {
    json::object message = frame; // as history carries it: without type
    message.erase("type");
    check_message(message, true);
  } else if (type == "history") {
    std::uint64_t previous = 0;
    for (const auto& m : frame.at("messages").as_array()) {
      check(m.is_object(), "a history entry is not an object", text);
      std::uint64_t seq = num(m.get_object(), "seq");
      check(previous == 0 || seq == previous + 1, "history skips or repeats a seq", text);
      check(seq <= num(frame, "last_seq"), "history holds a seq beyond last_seq", text);
      previous = seq;
      check_message(m.get_object(), false);
    }
  }
  return frame;
}

void FrameObserver::check_message(const json::object& message, bool live) {
  const std::string room = str(message, "room_id");
  const std::uint64_t seq = num(message, "seq");
  if (live) {
    auto it = last_seq_.find(room);
    check(it != last_seq_.end(), "a message for a room this connection has not joined", room);
    check(seq == it->second + 1, "a message's seq does not follow the last one",
          room + " " + std::to_string(seq) + " after " + std::to_string(it->second));
    it->second = seq;
  }
  auto [logged, fresh] = log_->emplace(std::pair{room, seq}, message);
  check(fresh || logged->second == message, "one seq, two different messages",
        json::serialize(message) + "\n" + json::serialize(logged->second));
  if (!fresh) return; // its signature was checked when it was first seen

  PublicKey key{};
  Signature sig{};
  check(from_hex(str(message, "pub_key"), key) && from_hex(str(message, "sig"), sig),
        "a message with a malformed key or signature", json::serialize(message));
  check(verifier_.verify(key,
                         message_payload(room, str(message, "user_id"), num(message, "client_seq"),
                                         str(message, "text")),
                         sig),
        "a message whose signature does not verify", json::serialize(message));
}

void FrameObserver::expect_reply(const RequestId& id) {
  pending_.push_back(id);
  replies_ = 0;
}

void FrameObserver::request_done(bool still_open) {
  // A connection the server closed (1007, 1008, 1009) gets no reply; every other exactly one.
  if (still_open)
    check(replies_ == 1 && pending_.empty(), "a request got no reply or more than one");
  pending_.clear();
  replies_ = 0;
}

} // namespace tinychat::fuzz
