#include "scripted_clients.hpp"

#include "fuzz_check.hpp"

#include <tinychat/encoding.hpp>

#include <cstdio>
#include <cstdlib>

namespace tinychat::fuzz {

namespace json = boost::json;

const std::array<KeyPair, client_count>& client_keys() {
  static const auto all = [] {
    auto key = [](std::uint8_t n) {
      std::array<std::uint8_t, 32> seed{};
      seed.fill(n);
      return KeyPair::from_seed(seed);
    };
    return std::array<KeyPair, client_count>{key(1), key(2), key(3), key(4)};
  }();
  return all;
}

void trace(std::size_t n, const char* direction, std::string_view text) {
  static const bool on = std::getenv("TINYCHAT_FUZZ_TRACE") != nullptr;
  if (on)
    std::fprintf(stderr, "%zu %s %.*s\n", n, direction, static_cast<int>(text.size()), text.data());
}

void ScriptedClients::attach(std::size_t n, std::unique_ptr<InProcessConnection> conn) {
  Client& c = clients_[n];
  c = Client{};
  c.observer.emplace(log_);
  c.conn = std::move(conn);
  auto hello = c.conn->take();
  check(hello.has_value(), "no hello");
  auto frame = Protocol::decode_server_frame(*hello);
  check(frame && std::holds_alternative<Hello>(*frame), "the first frame is not hello", *hello);
  c.challenge = std::get<Hello>(*frame).challenge;
  drain();
}

ScriptedClients::Client& ScriptedClients::usable(std::size_t n) {
  if (!clients_[n].conn->is_open()) reopen(n);
  return clients_[n];
}

std::string ScriptedClients::room(std::size_t slot) const {
  return rooms_[slot].empty() ? std::string(26, 'a') : rooms_[slot];
}

std::string ScriptedClients::substitute(std::string_view text) const {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '$' && i + 2 < text.size() && text[i + 2] >= '0' && text[i + 2] <= '3' &&
        (text[i + 1] == 'R' || text[i + 1] == 'K')) {
      const auto n = static_cast<std::size_t>(text[i + 2] - '0');
      out += text[i + 1] == 'R' ? room(n) : to_hex(client_keys()[n].public_key());
      i += 2;
      continue;
    }
    out += text[i];
  }
  return out;
}

void ScriptedClients::send_raw(std::size_t n, const std::string& text) {
  Client& c = usable(n);
  DecodedRequest decoded = Protocol::decode_request(text);
  c.observer->expect_reply(decoded.ok() ? decoded.request().id : decoded.error().id);
  if (decoded.ok())
    if (auto* join = std::get_if<JoinRequest>(&decoded.request().body))
      for (std::size_t k = 0; k < client_count; ++k)
        if (client_keys()[k].public_key() == join->pub_key) c.joining[join->room_id] = k;
  trace(n, ">", text);
  c.conn->send(text);
  drain();
  sent(c);
}

void ScriptedClients::join(std::size_t n, std::size_t slot, std::size_t k, std::string_view name) {
  Client& c = usable(n);
  const std::string id = room(slot);
  // The signature covers the trimmed name, as a client computes it.
  auto trimmed = Protocol::normalize_name(name, limits_);
  auto* signed_name = std::get_if<std::string>(&trimmed);
  const KeyPair& key = client_keys()[k];
  auto sig =
      key.sign(join_payload(c.challenge, id, signed_name ? *signed_name : name, key.public_key()));
  send_raw(n, json::serialize(json::object{{"type", "join"},
                                           {"id", 2},
                                           {"room_id", id},
                                           {"user_name", name},
                                           {"pub_key", to_hex(key.public_key())},
                                           {"sig", to_hex(sig)}}));
}

void ScriptedClients::send_signed(std::size_t n, std::size_t slot, std::string_view rest) {
  Client& c = usable(n);
  const std::string id = room(slot);
  auto joined = c.joined.find(id);
  const std::size_t k = joined != c.joined.end() ? joined->second.key : n;
  const std::string user_id = joined != c.joined.end() ? joined->second.user_id : "u";
  std::uint64_t client_seq = ++client_seqs_[{id, k}];
  if (auto space = rest.find(' ');
      space != std::string_view::npos && space > 0 &&
      rest.substr(0, space).find_first_not_of("0123456789") == std::string_view::npos) {
    client_seq = number(rest.substr(0, space));
    rest.remove_prefix(space + 1);
  }
  auto sig = client_keys()[k].sign(message_payload(id, user_id, client_seq, rest));
  send_raw(n, json::serialize(json::object{{"type", "send"},
                                           {"id", "s"},
                                           {"room_id", id},
                                           {"client_seq", client_seq},
                                           {"text", rest},
                                           {"sig", to_hex(sig)}}));
}

void ScriptedClients::drain() {
  for (std::size_t n = 0; n < client_count; ++n) {
    Client& c = clients_[n];
    if (!c.conn) continue; // not opened yet
    while (auto text = c.conn->take()) {
      trace(n, "<", *text);
      json::object frame = c.observer->observe(*text);
      const auto type = frame.at("type").as_string();
      if (type == "room_created") {
        rooms_[next_slot_++ % rooms_.size()] = std::string(frame.at("room_id").as_string());
      } else if (type == "joined") {
        std::string id(frame.at("room_id").as_string());
        auto k = c.joining.count(id) ? c.joining[id] : n;
        c.joined[id] = Joined{k, std::string(frame.at("user_id").as_string())};
      } else if (type == "left" || type == "room_closed") {
        c.joined.erase(std::string(frame.at("room_id").as_string()));
      }
      received(frame, *text);
    }
  }
}

std::uint64_t ScriptedClients::number(std::string_view digits) {
  std::uint64_t n = 0;
  for (char c : digits.substr(0, 16))
    if (c >= '0' && c <= '9') n = n * 10 + static_cast<std::uint64_t>(c - '0');
  return n;
}

} // namespace tinychat::fuzz
