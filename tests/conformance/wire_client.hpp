#pragma once
// A protocol-level client for the conformance suite: JSON frames over a raw WebSocket, signed
// with the test's own key, so that every field the server sends can be checked as it is.

#include "websocket/raw_clients.hpp"

#include <tinychat/signature_verifier.hpp>
#include <tinychat/types.hpp>

#include <boost/json.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace tinychat::test {

namespace json = boost::json;

/// 2^53 - 1, the largest seq, client_seq, after_seq and integer id.
inline constexpr std::uint64_t max_integer = 9007199254740991ULL;

/// Unix time in milliseconds by the test's clock (the server's, on the same machine).
std::int64_t now_ms();

/// The field names of `object`.
std::set<std::string> keys(const json::object& object);

/// `code` of an error frame, else its `type`: one word to compare in a CHECK.
std::string outcome(const json::object& frame);

/// `s` as a JSON string, to compare with or to put into a frame.
inline json::value str(std::string_view s) { return json::value(s); }

/// True when `v` is the string `s`.
bool is_string(const json::value& v, std::string_view s);

/// `s` without leading and trailing U+0020 and U+0009, as the server trims names.
std::string trimmed(std::string_view s);

/// True when `message` (a `message` event or history entry) is signed by its `pub_key`.
bool signature_verifies(const json::object& message);

/// One WebSocket connection speaking protocol v1 frame by frame. The constructor reads the
/// hello. Replies and events are told apart by `type`: events (`message`, `member_joined`,
/// `member_left`, `room_closed`) that arrive while a reply is awaited are kept in `events`.
/// Every read fails (throws) after event_timeout.
class WireClient {
public:
  explicit WireClient(std::uint16_t port, KeyPair key = KeyPair::generate());

  const json::object& hello() const noexcept { return hello_; }
  const Challenge& challenge() const noexcept { return challenge_; }
  const KeyPair& key() const noexcept { return key_; }
  /// This client's public key in hex, as `pub_key` is written.
  std::string pub_key() const;

  /// Writes one frame; throws when it cannot be written.
  void write(const json::object& frame);
  void write_raw(std::string_view text);
  /// The next reply; events read on the way are kept in `events`.
  json::object reply();
  /// Writes `request` and returns its reply, checking that the reply echoes the request's id.
  json::object call(const json::object& request);
  /// Writes `text` as it is and returns the next reply.
  json::object call_raw(std::string_view text);
  /// Sends a ping and waits for its pong: every event the server sent this connection before
  /// is then in `events`.
  void sync();

  /// The oldest kept or arriving event of `type` in `room_id`, removed from `events`. Fails
  /// when a reply arrives instead (no request should be outstanding).
  json::object next_event(std::string_view type, std::string_view room_id);
  /// The kept events of `type` in `room_id` (nothing is read or removed).
  std::vector<json::object> kept(std::string_view type, std::string_view room_id) const;
  /// Reads until the server closes the connection; its close code (0 if none).
  std::uint16_t read_until_closed() { return ws_.read_until_closed(); }

  // ---- requests, built correctly (tests change them to make them wrong) -----------------

  /// A new integer id for a request.
  std::int64_t next_id() { return ++last_id_; }
  std::string create_room();
  /// A `join` signed over this connection's challenge and the trimmed `user_name`.
  json::object join_request(std::string_view room_id, std::string_view user_name);
  /// Sends `join_request` and returns the reply; a `joined` reply records the user_id.
  json::object join(std::string_view room_id, std::string_view user_name);
  /// `join`, which must succeed.
  json::object joined(std::string_view room_id, std::string_view user_name);
  /// A `send` signed with this key for the user_id this key has in `room_id` (from `joined`,
  /// or `user_id` when given).
  json::object send_request(std::string_view room_id, std::uint64_t client_seq,
                            std::string_view text, std::optional<std::string> user_id = {});
  json::object send(std::string_view room_id, std::uint64_t client_seq, std::string_view text);
  /// `send`, which must succeed; the `sent` reply.
  json::object sent(std::string_view room_id, std::uint64_t client_seq, std::string_view text);
  json::object history(std::string_view room_id, std::optional<std::uint64_t> after_seq = {},
                       std::optional<std::uint64_t> limit = {});
  json::object leave(std::string_view room_id);
  /// The user_id this key got in `room_id` (from a `joined` reply on this connection).
  std::string user_id(std::string_view room_id) const;

  /// Events kept by reply(), oldest first.
  std::deque<json::object> events;

private:
  RawWebSocket ws_;
  KeyPair key_;
  json::object hello_;
  Challenge challenge_{};
  std::int64_t last_id_ = 0;
  std::map<std::string, std::string, std::less<>> user_ids_;
};

/// `request` with `field` set to `value` (a std::string is stored as a JSON string).
template <class T>
json::object with(json::object request, std::string_view field, const T& value) {
  if constexpr (std::is_same_v<T, std::string>)
    request[field] = std::string_view(value);
  else
    request[field] = value;
  return request;
}

/// `request` without `field`.
inline json::object without(json::object request, std::string_view field) {
  request.erase(field);
  return request;
}

} // namespace tinychat::test
