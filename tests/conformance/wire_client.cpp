#include "wire_client.hpp"

#include <tinychat/encoding.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <stdexcept>

namespace tinychat::test {

namespace {

bool is_event(const json::object& frame) {
  const auto* type = frame.if_contains("type");
  if (!type || !type->is_string()) return false;
  const auto& t = type->get_string();
  return t == "message" || t == "member_joined" || t == "member_left" || t == "room_closed";
}

json::object parse_frame(const std::string& text) {
  const auto value = json::parse(text);
  if (!value.is_object()) throw std::runtime_error("server frame is not an object: " + text);
  return value.get_object();
}

std::string text_of(const json::value& v) { return std::string(v.as_string()); }

} // namespace

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::set<std::string> keys(const json::object& object) {
  std::set<std::string> names;
  for (const auto& field : object)
    names.emplace(field.key());
  return names;
}

std::string outcome(const json::object& frame) {
  const auto* type = frame.if_contains("type");
  if (!type || !type->is_string()) return "(no type)";
  if (type->get_string() == "error") {
    const auto* code = frame.if_contains("code");
    return code && code->is_string() ? text_of(*code) : "(error without code)";
  }
  return text_of(*type);
}

bool is_string(const json::value& v, std::string_view s) {
  return v.is_string() && v.get_string() == s;
}

std::string trimmed(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && blank(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && blank(s.back()))
    s.remove_suffix(1);
  return std::string(s);
}

bool signature_verifies(const json::object& message) {
  PublicKey key{};
  Signature sig{};
  if (!from_hex(message.at("pub_key").as_string(), key) ||
      !from_hex(message.at("sig").as_string(), sig))
    return false;
  const auto payload = message_payload(
      message.at("room_id").as_string(), message.at("user_id").as_string(),
      message.at("client_seq").to_number<std::uint64_t>(), message.at("text").as_string());
  return SignatureVerifier().verify(key, payload, sig);
}

WireClient::WireClient(std::uint16_t port, KeyPair key)
    : ws_(port), key_(std::move(key)), hello_(parse_frame(ws_.read_text())) {
  if (hello_.at("type") != "hello" || !from_hex(hello_.at("challenge").as_string(), challenge_))
    throw std::runtime_error("the first frame is not a hello with a challenge");
}

std::string WireClient::pub_key() const { return to_hex(key_.public_key()); }

void WireClient::write(const json::object& frame) { write_raw(json::serialize(frame)); }

void WireClient::write_raw(std::string_view text) {
  if (const auto ec = ws_.write(text))
    throw std::runtime_error("could not write a frame: " + ec.message());
}

json::object WireClient::reply() {
  for (;;) {
    auto frame = parse_frame(ws_.read_text());
    if (!is_event(frame)) return frame;
    events.push_back(std::move(frame));
  }
}

json::object WireClient::call(const json::object& request) {
  write(request);
  auto answer = reply();
  const auto* id = request.if_contains("id");
  if (id && !id->is_null()) CHECK(answer["id"] == *id);
  return answer;
}

json::object WireClient::call_raw(std::string_view text) {
  write_raw(text);
  return reply();
}

void WireClient::sync() {
  const auto id = next_id();
  const auto pong = call({{"type", "ping"}, {"id", id}});
  REQUIRE(outcome(pong) == "pong");
}

json::object WireClient::next_event(std::string_view type, std::string_view room_id) {
  const auto matches = [&](const json::object& e) {
    return is_string(e.at("type"), type) && is_string(e.at("room_id"), room_id);
  };
  for (auto it = events.begin(); it != events.end(); ++it) {
    if (matches(*it)) {
      auto found = std::move(*it);
      events.erase(it);
      return found;
    }
  }
  for (;;) {
    auto frame = parse_frame(ws_.read_text());
    if (!is_event(frame))
      throw std::runtime_error("a reply arrived while waiting for an event: " +
                               json::serialize(frame));
    if (matches(frame)) return frame;
    events.push_back(std::move(frame));
  }
}

std::vector<json::object> WireClient::kept(std::string_view type, std::string_view room_id) const {
  std::vector<json::object> found;
  for (const auto& e : events)
    if (is_string(e.at("type"), type) && is_string(e.at("room_id"), room_id)) found.push_back(e);
  return found;
}

std::string WireClient::create_room() {
  const auto reply = call({{"type", "create_room"}, {"id", next_id()}});
  REQUIRE(outcome(reply) == "room_created");
  return text_of(reply.at("room_id"));
}

json::object WireClient::join_request(std::string_view room_id, std::string_view user_name) {
  const auto sig =
      key_.sign(join_payload(challenge_, room_id, trimmed(user_name), key_.public_key()));
  return {{"type", "join"},         {"id", next_id()},      {"room_id", room_id},
          {"user_name", user_name}, {"pub_key", pub_key()}, {"sig", to_hex(sig)}};
}

json::object WireClient::join(std::string_view room_id, std::string_view user_name) {
  auto reply = call(join_request(room_id, user_name));
  if (outcome(reply) == "joined") user_ids_[std::string(room_id)] = text_of(reply.at("user_id"));
  return reply;
}

json::object WireClient::joined(std::string_view room_id, std::string_view user_name) {
  auto reply = join(room_id, user_name);
  REQUIRE(outcome(reply) == "joined");
  return reply;
}

json::object WireClient::send_request(std::string_view room_id, std::uint64_t client_seq,
                                      std::string_view text, std::optional<std::string> user_id) {
  const std::string uid = user_id ? *user_id : this->user_id(room_id);
  const auto sig = key_.sign(message_payload(room_id, uid, client_seq, text));
  return {{"type", "send"},           {"id", next_id()}, {"room_id", room_id},
          {"client_seq", client_seq}, {"text", text},    {"sig", to_hex(sig)}};
}

json::object WireClient::send(std::string_view room_id, std::uint64_t client_seq,
                              std::string_view text) {
  return call(send_request(room_id, client_seq, text));
}

json::object WireClient::sent(std::string_view room_id, std::uint64_t client_seq,
                              std::string_view text) {
  auto reply = send(room_id, client_seq, text);
  REQUIRE(outcome(reply) == "sent");
  return reply;
}

json::object WireClient::history(std::string_view room_id, std::optional<std::uint64_t> after_seq,
                                 std::optional<std::uint64_t> limit) {
  json::object request{{"type", "history"}, {"id", next_id()}, {"room_id", room_id}};
  if (after_seq) request["after_seq"] = *after_seq;
  if (limit) request["limit"] = *limit;
  return call(request);
}

json::object WireClient::leave(std::string_view room_id) {
  return call({{"type", "leave"}, {"id", next_id()}, {"room_id", room_id}});
}

std::string WireClient::user_id(std::string_view room_id) const {
  const auto it = user_ids_.find(room_id);
  if (it == user_ids_.end()) throw std::logic_error("this connection has no user_id in the room");
  return it->second;
}

} // namespace tinychat::test
