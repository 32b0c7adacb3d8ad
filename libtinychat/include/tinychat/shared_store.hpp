#pragma once
/// The seam for several RoomServices (on several machines) sharing their rooms.
///
/// A Store persists what one RoomService decided. A SharedStore decides: it numbers each
/// room's messages, admits members and keeps presence, atomically for every node, and feeds
/// each node the events of the rooms it watches. A node's RoomService keeps only a view of
/// the rooms its own connections joined, and brings it up to date from those events.

#include <tinychat/error.hpp>
#include <tinychat/protocol.hpp>
#include <tinychat/store.hpp>
#include <tinychat/types.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace tinychat {

/// A join, checked by the node as far as it can without the shared state.
struct JoinAttempt {
  std::string room_id;
  ClientId client = 0; ///< This node's connection; the store makes it unique across nodes.
  std::string user_id;
  std::string user_name; ///< Trimmed; empty when `refusal` is invalid_name.
  PublicKey pub_key{};
  /// The first failed check that PROTOCOL.md 11 orders after the room and before presence
  /// (already_joined, invalid_name, too_many_rooms). Answered only if the room exists.
  std::optional<error> refusal;
  /// Whether the join signature is valid; a bad one is answered after room_full and
  /// name_taken.
  bool signature_valid = false;
  std::uint32_t max_members = 0;
};

struct JoinResult {
  /// room_not_found, the attempt's refusal, room_full, name_taken or invalid_signature.
  std::optional<error> refused;
  std::uint64_t presence_version = 0; ///< The room's presence version after this join.
  std::string user_name;              ///< The name the user is present under.
  std::uint64_t last_client_seq = 0;
  TimestampMs expires_at = 0;
};

struct AppendResult {
  /// room_not_found, not_member (the store no longer counts the connection as joined) or
  /// stale_client_seq; nothing was stored.
  std::optional<error> refused;
  std::uint64_t last_client_seq = 0; ///< With stale_client_seq: the last accepted one.
  std::uint64_t seq = 0;
  TimestampMs ts = 0;
};

/// Everything a node needs to serve a room, read in one atomic step.
struct RoomView {
  RoomRecord room;
  std::uint64_t last_seq = 0;
  std::vector<ChatMessage> messages; ///< Newest retained, oldest first.
  std::uint64_t presence_version = 0;
  std::vector<Member> members;
};

/// A presence change; `version` is the room's presence version it produces (1, 2, 3, ...).
struct PresenceEvent {
  std::string room_id;
  std::uint64_t version = 0;
  bool joined = false; ///< member_joined; otherwise member_left (only user_id is set).
  Member member;
};

/// What a SharedStore feeds a RoomService, on the RoomService's thread. Events of one room
/// may arrive late, out of order or twice: seq and presence versions put them in order.
class SharedEvents {
public:
  virtual ~SharedEvents() = default;
  virtual void message(const ChatMessage& message) = 0;
  virtual void presence(const PresenceEvent& event) = 0;
  /// The feed was interrupted (a reconnect): events may be lost, read the rooms again.
  virtual void resync() = 0;
  /// The other nodes took this node for dead and removed its connections from every room.
  virtual void evicted() = 0;
};

/// Contract: every completion runs exactly once, on the RoomService's thread or strand, never
/// before the call returns. An error_code means the store could not be reached or failed;
/// the operation may or may not have taken effect, except for create_room and append, which
/// report an error only when nothing was stored.
class SharedStore {
public:
  template <class T>
  using Done = std::function<void(std::error_code, T)>;

  virtual ~SharedStore() = default;

  /// Where events go; set once by the RoomService, before anything else.
  virtual void set_events(SharedEvents* events) = 0;

  virtual void create_room(const RoomRecord& room, Store::Completion done) = 0;
  virtual void join(const JoinAttempt& attempt, Done<JoinResult> done) = 0;
  /// The connection left the room. Fire and forget: the store retries until it is done,
  /// and in the order of this node's joins and leaves.
  virtual void leave(std::string_view room_id, ClientId client) = 0;
  /// Numbers `message`, sent by `client` (seq and ts are set by the store), stores it,
  /// records its client_seq, keeps at most `keep` messages of the room and tells every node
  /// watching the room.
  virtual void append(ClientId client, const ChatMessage& message, std::uint32_t keep,
                      Done<AppendResult> done) = 0;

  /// Starts feeding this node the room's events; `done` once the feed is in place, so a
  /// read_room after it misses nothing.
  virtual void watch(std::string_view room_id, Store::Completion done) = 0;
  virtual void unwatch(std::string_view room_id) = 0;
  /// The room's state; nullopt when there is no such live room.
  virtual void read_room(std::string_view room_id, Done<std::optional<RoomView>> done) = 0;
  /// Retained messages with seq above `after_seq`, oldest first.
  virtual void read_messages(std::string_view room_id, std::uint64_t after_seq,
                             Done<std::vector<ChatMessage>> done) = 0;
  /// Whether a live room with this id exists.
  virtual void room_exists(std::string_view room_id, Done<bool> done) = 0;
};

} // namespace tinychat
