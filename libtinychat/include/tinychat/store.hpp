#pragma once
/// The storage seam. RoomService keeps the live state in memory and writes through a Store;
/// a reply that promises durability (`room_created`, `joined`, `sent`) goes out only after
/// the store confirmed the write.

#include <tinychat/protocol.hpp>
#include <tinychat/types.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace tinychat {

struct RoomRecord {
  std::string room_id;
  TimestampMs created_at = 0;
  TimestampMs expires_at = 0;
};

/// A user who ever joined a room. Kept while the room lives, present or not.
struct UserRecord {
  std::string room_id;
  std::string user_id;
  std::string user_name;
  PublicKey pub_key{};
  std::uint64_t last_client_seq = 0;
};

/// Everything needed to restore one room after a restart.
struct RoomSnapshot {
  RoomRecord room;
  std::uint64_t last_seq = 0; ///< Newest seq ever assigned, retained or not.
  std::vector<UserRecord> users;
  std::vector<ChatMessage> messages; ///< Newest retained messages, oldest first.
};

/// Asynchronous persistence. Contract for implementations:
/// - Each operation calls its completion exactly once, with an empty error_code on success,
///   on the thread (or strand) that drives the RoomService. Calling it before returning is
///   allowed.
/// - Appends of one room complete in the order they were issued. When one fails, every later
///   append of that room that is still in flight fails too and is not stored, so a room's
///   stored seq never has a gap.
class Store {
public:
  using Completion = std::function<void(std::error_code)>;

  virtual ~Store() = default;

  virtual void create_room(const RoomRecord& room, Completion done) = 0;
  /// Inserts or updates the user (name, last_client_seq) of `user.room_id`.
  virtual void save_user(const UserRecord& user, Completion done) = 0;
  /// Stores `message`, records `message.seq` as the room's last seq and `message.client_seq`
  /// as the sender's last_client_seq, and keeps at most `keep` messages of the room.
  virtual void append_message(const ChatMessage& message, std::uint32_t keep, Completion done) = 0;
  virtual void delete_room(std::string_view room_id, Completion done) = 0;

  /// Every stored room; called once, synchronously, when a RoomService starts.
  virtual std::vector<RoomSnapshot> load_rooms() = 0;
};

} // namespace tinychat
