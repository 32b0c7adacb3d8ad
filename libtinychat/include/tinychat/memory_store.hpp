#pragma once
/// A Store that keeps everything in process memory. Completes every operation immediately.

#include <tinychat/store.hpp>

#include <deque>
#include <map>

namespace tinychat {

/// In-memory Store. Not thread-safe: use it from the thread that drives the RoomService.
/// A MemoryStore outliving one RoomService lets a second one "restart" over the same data.
class MemoryStore final : public Store {
public:
  void create_room(const RoomRecord& room, Completion done) override;
  void save_user(const UserRecord& user, Completion done) override;
  void append_message(const ChatMessage& message, std::uint32_t keep, Completion done) override;
  void delete_room(std::string_view room_id, Completion done) override;
  std::vector<RoomSnapshot> load_rooms() override;

  /// Fault injection: while set, every write fails with std::errc::io_error and stores nothing.
  void fail_writes(bool fail) noexcept { fail_writes_ = fail; }

  std::size_t room_count() const noexcept { return rooms_.size(); }

private:
  // A deque, so dropping the oldest message past the cap costs the same at any cap.
  struct StoredRoom {
    RoomRecord room;
    std::uint64_t last_seq = 0;
    std::map<PublicKey, UserRecord> users;
    std::deque<ChatMessage> messages;
  };
  std::map<std::string, StoredRoom, std::less<>> rooms_;
  bool fail_writes_ = false;
};

} // namespace tinychat
