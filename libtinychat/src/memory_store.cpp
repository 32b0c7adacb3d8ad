#include <tinychat/memory_store.hpp>

#include <algorithm>

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
  auto it = rooms_.find(user.room_id);
  if (it != rooms_.end()) {
    auto& users = it->second.users;
    auto u = std::find_if(users.begin(), users.end(),
                          [&](const UserRecord& r) { return r.pub_key == user.pub_key; });
    if (u == users.end())
      users.push_back(user);
    else
      *u = user;
  }
  done({});
}

void MemoryStore::append_message(const ChatMessage& message, std::uint32_t keep, Completion done) {
  if (fail_writes_) return done(write_failure());
  auto it = rooms_.find(message.room_id);
  if (it != rooms_.end()) {
    RoomSnapshot& room = it->second;
    room.last_seq = message.seq;
    room.messages.push_back(message);
    if (room.messages.size() > keep)
      room.messages.erase(room.messages.begin(),
                          room.messages.begin() +
                              static_cast<std::ptrdiff_t>(room.messages.size() - keep));
    for (auto& u : room.users)
      if (u.pub_key == message.pub_key) u.last_client_seq = message.client_seq;
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
  for (const auto& [id, room] : rooms_)
    out.push_back(room);
  return out;
}

} // namespace tinychat
