#include <tinychat/memory_store.hpp>

namespace tinychat {
namespace {

std::error_code write_failure() { return std::make_error_code(std::errc::io_error); }

} // namespace

void MemoryStore::create_room(const RoomRecord& room, Completion done) {
  if (fail_writes_) return done(write_failure());
  rooms_[room.room_id].room = room;
  done({});
}

void MemoryStore::save_user(const UserRecord& user, Completion done) {
  if (fail_writes_) return done(write_failure());
  if (auto it = rooms_.find(user.room_id); it != rooms_.end())
    it->second.users.insert_or_assign(user.pub_key, user);
  done({});
}

void MemoryStore::append_message(const ChatMessage& message, std::uint32_t keep, Completion done) {
  if (fail_writes_) return done(write_failure());
  auto it = rooms_.find(message.room_id);
  if (it != rooms_.end()) {
    StoredRoom& room = it->second;
    room.last_seq = message.seq;
    room.messages.push_back(message);
    while (room.messages.size() > keep)
      room.messages.pop_front();
    if (auto u = room.users.find(message.pub_key); u != room.users.end())
      u->second.last_client_seq = message.client_seq;
  }
  done({});
}

void MemoryStore::delete_room(std::string_view room_id, Completion done) {
  if (fail_writes_) return done(write_failure());
  if (auto it = rooms_.find(room_id); it != rooms_.end()) rooms_.erase(it);
  done({});
}

std::vector<RoomSnapshot> MemoryStore::load_rooms() {
  std::vector<RoomSnapshot> out;
  out.reserve(rooms_.size());
  for (const auto& [id, room] : rooms_) {
    RoomSnapshot& snapshot = out.emplace_back();
    snapshot.room = room.room;
    snapshot.last_seq = room.last_seq;
    for (const auto& [key, user] : room.users)
      snapshot.users.push_back(user);
    snapshot.messages.assign(room.messages.begin(), room.messages.end());
  }
  return out;
}

} // namespace tinychat
