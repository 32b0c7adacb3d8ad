#pragma once
/// A small protocol v1 client: creates and joins rooms, signs and sends messages with its own
/// counter, pages history, and reports events. It speaks through any ClientTransport, so the
/// same code runs over the in-process transport and over WebSocket.

#include <tinychat/protocol.hpp>
#include <tinychat/signature_verifier.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace tinychat {

/// Where a Client writes its frames.
class ClientTransport {
public:
  virtual ~ClientTransport() = default;
  /// Sends one text message. May be called from any thread the Client is used from.
  virtual void send_text(std::string text) = 0;
};

/// Callback for the reply to one request: the success frame (e.g. Joined) or an ErrorFrame.
using ReplyHandler = std::function<void(const ServerFrame&)>;

/// A protocol client. Thread-safe: requests may be issued from any thread while the transport
/// feeds frames from another; callbacks run on the thread that called handle_frame, with no
/// lock held.
class Client {
public:
  Client(ClientTransport& transport, KeyPair key);

  /// Feed every text frame the transport receives.
  void handle_frame(std::string_view text);

  /// The server's `hello`, once received (join needs its challenge).
  std::optional<Hello> hello() const;
  const KeyPair& key() const noexcept { return key_; }

  /// Sends `auth` with `token` (PROTOCOL.md 9); `done` gets Authenticated or an ErrorFrame
  /// (`unauthorized`). Needed before create_room on servers whose hello says
  /// `auth_required`. The token is not kept.
  void authenticate(std::string_view token, ReplyHandler done);
  void create_room(ReplyHandler done);
  /// Signs the join with this connection's challenge. Requires hello().
  void join(std::string_view room_id, std::string_view user_name, ReplyHandler done);
  /// Signs `text` with the next client_seq for this room. Before the join completed, `done`
  /// gets a `not_member` ErrorFrame at once and nothing is sent.
  void send(std::string_view room_id, std::string_view text, ReplyHandler done);
  void history(std::string_view room_id, std::uint64_t after_seq, std::uint32_t limit,
               ReplyHandler done);
  void leave(std::string_view room_id, ReplyHandler done);
  void ping(ReplyHandler done);

  /// Events (set before traffic starts).
  std::function<void(const Hello&)> on_hello;
  std::function<void(const ChatMessage&)> on_message;
  std::function<void(const MemberJoined&)> on_member_joined;
  std::function<void(const MemberLeft&)> on_member_left;
  std::function<void(const RoomClosed&)> on_room_closed;
  /// `error` frames that answer no request of this client (id null).
  std::function<void(const ErrorFrame&)> on_error;

  /// True when `message.sig` is valid for its text, room, sender and counter.
  static bool verify(const ChatMessage& message);

private:
  struct RoomState {
    std::string user_id;
    std::uint64_t next_client_seq = 1;
  };
  void request(RequestBody body, ReplyHandler done);
  void on_reply(const ServerFrame& frame, const RequestId& id);

  ClientTransport& transport_;
  KeyPair key_;
  mutable std::mutex mutex_;
  std::recursive_mutex send_order_;
  std::optional<Hello> hello_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, ReplyHandler> pending_;
  std::map<std::string, RoomState, std::less<>> rooms_;
};

} // namespace tinychat
