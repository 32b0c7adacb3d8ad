#pragma once
/// The protocol v1 codec: typed values for every frame of PROTOCOL.md, decoding of client text
/// into requests or into the exact error the protocol prescribes, and encoding of every frame.
///
/// All functions are pure and thread-safe. Nothing here throws on peer input.

#include <tinychat/error.hpp>
#include <tinychat/limits.hpp>
#include <tinychat/types.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tinychat {

/// The `id` a client may put on a request: absent, an integer 0..2^53-1, or a short string.
using RequestId = std::variant<std::monostate, std::uint64_t, std::string>;

// ---- Client to server -------------------------------------------------------------------

struct CreateRoomRequest {};

struct JoinRequest {
  std::string room_id;
  std::string user_name; ///< As sent: trimming is part of name validation.
  PublicKey pub_key{};
  std::optional<Signature> sig; ///< nullopt when missing or malformed.
};

struct LeaveRequest {
  std::string room_id;
};

struct SendRequest {
  std::string room_id;
  std::uint64_t client_seq = 0;
  std::string text;
  std::optional<Signature> sig; ///< nullopt when missing or malformed.
};

struct HistoryRequest {
  std::string room_id;
  std::uint64_t after_seq = 0;
  std::uint32_t limit = 100;
};

struct PingRequest {};

/// `auth` (PROTOCOL.md 9). The token is a credential: never log or echo it.
struct AuthRequest {
  std::string token;
};

using RequestBody = std::variant<CreateRoomRequest, JoinRequest, LeaveRequest, SendRequest,
                                 HistoryRequest, PingRequest, AuthRequest>;

struct Request {
  RequestId id;
  RequestBody body;
};

// ---- Server to client -------------------------------------------------------------------

struct Member {
  std::string user_id;
  std::string user_name;
  PublicKey pub_key{};
  friend bool operator==(const Member&, const Member&) = default;
};

/// One chat message, exactly as `message` events and `history` pages carry it.
struct ChatMessage {
  std::string room_id;
  std::uint64_t seq = 0;
  std::string user_id;
  std::string user_name;
  PublicKey pub_key{};
  std::uint64_t client_seq = 0;
  std::string text;
  Signature sig{};
  TimestampMs ts = 0;
  friend bool operator==(const ChatMessage&, const ChatMessage&) = default;
};

struct Hello {
  int protocol = 1;
  Challenge challenge{};
  Limits limits;
  bool auth_required = false; ///< Sent as `limits.auth_required`.
};
struct RoomCreated {
  RequestId id;
  std::string room_id;
  TimestampMs expires_at = 0;
};
struct Joined {
  RequestId id;
  std::string room_id;
  std::string user_id;
  std::string user_name;
  std::uint64_t last_seq = 0;
  std::uint64_t last_client_seq = 0;
  TimestampMs expires_at = 0;
  std::vector<Member> members;
};
struct Left {
  RequestId id;
  std::string room_id;
};
struct Sent {
  RequestId id;
  std::string room_id;
  std::uint64_t seq = 0;
  std::uint64_t client_seq = 0;
  TimestampMs ts = 0;
};
struct HistoryPage {
  RequestId id;
  std::string room_id;
  std::vector<ChatMessage> messages;
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  bool has_more = false;
  bool truncated = false;
};
struct Pong {
  RequestId id;
};
struct Authenticated {
  RequestId id;
  std::string sub;
  TimestampMs expires_at = 0; ///< The token's `exp`, in milliseconds.
};
struct MessageEvent {
  ChatMessage message;
};
struct MemberJoined {
  std::string room_id;
  Member member;
};
struct MemberLeft {
  std::string room_id;
  std::string user_id;
};
struct RoomClosed {
  std::string room_id;
  std::string reason = "expired";
};
struct ErrorFrame {
  RequestId id;
  tinychat::error code = error::internal;
  std::string message;
  std::optional<std::uint64_t> retry_after_ms; ///< Only with rate_limited.
};

using ServerFrame =
    std::variant<Hello, RoomCreated, Joined, Left, Sent, HistoryPage, Pong, MessageEvent,
                 MemberJoined, MemberLeft, RoomClosed, ErrorFrame, Authenticated>;

/// Result of decoding: a request, or the `error` frame the server must answer with.
class DecodedRequest {
public:
  DecodedRequest(Request r) : value_(std::move(r)) {}
  DecodedRequest(ErrorFrame e) : value_(std::move(e)) {}
  bool ok() const noexcept { return value_.index() == 0; }
  Request& request() { return std::get<Request>(value_); }
  const ErrorFrame& error() const { return std::get<ErrorFrame>(value_); }

private:
  std::variant<Request, ErrorFrame> value_;
};

/// The protocol v1 codec.
class Protocol {
public:
  /// Decodes one client text frame. Structural problems (not an object, bad `id`, missing or
  /// mistyped fields, wrong spellings) yield `bad_request`, an unknown `type` `unknown_type`.
  /// Content rules that rank later in PROTOCOL.md's precedence (name, text, signature) are
  /// left to validate_name / validate_text / the verifier.
  static DecodedRequest decode_request(std::string_view text);

  /// Trims U+0020/U+0009 at both ends and checks the rest: 1..max code points, no control
  /// characters. Returns the trimmed name or `invalid_name`.
  static std::variant<std::string, tinychat::error> normalize_name(std::string_view name,
                                                                   const Limits& limits);

  /// `invalid_text` (empty, forbidden characters) or `text_too_long`, or nullopt when valid.
  static std::optional<tinychat::error> validate_text(std::string_view text, const Limits& limits);

  static std::string encode(const Request& request);
  static std::string encode(const ServerFrame& frame);

  /// Decodes a server frame (the client side). nullopt when it is not a v1 server frame.
  static std::optional<ServerFrame> decode_server_frame(std::string_view text);
};

/// True for the 26-character lowercase base32 spelling of a room id.
bool is_valid_room_id(std::string_view s) noexcept;

} // namespace tinychat
