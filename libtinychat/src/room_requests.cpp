// RoomService's request handlers. Each checks in PROTOCOL.md section 11's order: fields (done
// by the codec), then room, then membership, then limits, signature and counters.

#include "service_impl.hpp"

namespace tinychat {

bool RoomService::Impl::admit_creation(ClientId client, Connection& conn, const RequestId& id,
                                       std::string& creator) {
  if (const char* refusal = creation_refusal(conn)) {
    fail(client, conn, id, error::unauthorized, refusal);
    return false;
  }
  creator = creator_key(conn);
  if (take_quota(creator)) return true;
  fail(client, conn, id, error::room_quota_exceeded);
  return false;
}

RoomRecord RoomService::Impl::new_room_record() {
  std::array<std::uint8_t, 16> raw{};
  std::string room_id;
  do {
    random_bytes(raw);
    room_id = to_base32(raw);
  } while (rooms.contains(room_id));
  const TimestampMs now = clock.now();
  return RoomRecord{room_id, now, now + TimestampMs{config.limits.room_ttl_seconds} * 1000};
}

void RoomService::Impl::handle(ClientId client, Connection& conn, const RequestId& id,
                               CreateRoomRequest&) {
  std::string creator;
  if (!admit_creation(client, conn, id, creator)) return;
  const RoomRecord record = new_room_record();
  add_room(record).creator = creator;
  auto slot = conn.replies.reserve();
  auto done = [this, client, slot, id, record](std::error_code ec) {
    if (ec) {
      if (auto it = rooms.find(record.room_id); it != rooms.end()) erase_room(it->second);
      fill_reply(client, slot,
                 reject(ErrorFrame{id, error::internal, "the room could not be stored", {}}));
      return;
    }
    ++metrics->rooms_created;
    fill_reply(client, slot, encode(RoomCreated{id, record.room_id, record.expires_at}));
  };
  store->create_room(record, timed(StoreOperation::create_room, std::move(done)));
}

void RoomService::Impl::handle(ClientId client, Connection& conn, const RequestId& id,
                               JoinRequest& req) {
  Room* room = live_room(req.room_id);
  if (!room) return fail(client, conn, id, error::room_not_found);
  if (conn.rooms.contains(req.room_id)) return fail(client, conn, id, error::already_joined);
  auto name = Protocol::normalize_name(req.user_name, config.limits);
  if (auto* e = std::get_if<error>(&name)) return fail(client, conn, id, *e);
  auto& user_name = std::get<std::string>(name);
  if (conn.rooms.size() >= config.limits.max_rooms_per_connection)
    return fail(client, conn, id, error::too_many_rooms);

  auto existing = room->users.find(req.pub_key);
  bool present = existing != room->users.end() && !existing->second.connections.empty();
  if (!present) {
    if (room->present_names.size() >= config.limits.max_room_members)
      return fail(client, conn, id, error::room_full);
    if (room->present_names.contains(user_name)) return fail(client, conn, id, error::name_taken);
  }
  if (!req.sig || !verify(req.pub_key,
                          join_payload(conn.challenge, room->id, user_name, req.pub_key), *req.sig))
    return fail(client, conn, id, error::invalid_signature);

  bool is_new = existing == room->users.end();
  if (is_new) {
    User u;
    u.user_id = detail::user_id_for(req.pub_key);
    u.pub_key = req.pub_key;
    if (room->user_ids.contains(u.user_id))
      return fail(client, conn, id, error::internal, "user id collision; use another key");
    room->user_ids.insert(u.user_id);
    existing = room->users.emplace(req.pub_key, std::move(u)).first;
  }
  User& user = existing->second;
  if (!present) {
    user.user_name = user_name;
    room->present_names.emplace(user_name, user.pub_key);
    set_idle(*room, false);
  }
  // Present from now on (names and the member cap count it), but events reach this
  // connection only once it got `joined`, so its first message is last_seq + 1.
  user.connections.insert(client);
  conn.rooms.emplace(room->id, user.pub_key);

  auto slot = conn.replies.reserve();
  UserRecord record{room->id, user.user_id, user.user_name, user.pub_key, user.last_client_seq};
  auto done = [this, client, slot, id, record, is_new](std::error_code ec) {
    auto it = rooms.find(record.room_id);
    if (it == rooms.end()) // closed while the store worked
      return fill_reply(
          client, slot,
          reject(ErrorFrame{
              id, error::room_not_found, make_error_code(error::room_not_found).message(), {}}));
    Room& room = it->second;
    auto c = connections.find(client);
    // Neither left nor disconnected while the store worked.
    const bool joining = c != connections.end() && c->second.rooms.contains(room.id);
    if (ec) {
      if (joining) {
        c->second.rooms.erase(room.id);
        remove_presence(room, client, record.pub_key);
      }
      if (is_new && room.users.at(record.pub_key).connections.empty()) {
        room.user_ids.erase(record.user_id);
        room.users.erase(record.pub_key);
      }
      return fill_reply(
          client, slot,
          reject(ErrorFrame{id, error::internal, "the join could not be stored", {}}));
    }
    User& u = room.users.at(record.pub_key);
    fill_reply(client, slot,
               encode(Joined{id, room.id, u.user_id, u.user_name, room.committed_seq,
                             u.last_client_seq, room.expires_at, members_of(room)}));
    if (!joining) return; // its leave is answered right after this reply
    room.connections.emplace(client, u.pub_key);
    if (!u.announced) {
      u.announced = true;
      broadcast(room, MemberJoined{room.id, Member{u.user_id, u.user_name, u.pub_key}}, client);
    }
  };
  store->save_user(record, timed(StoreOperation::save_user, std::move(done)));
}

void RoomService::Impl::handle(ClientId client, Connection& conn, const RequestId& id,
                               LeaveRequest& req) {
  Room* room = live_room(req.room_id);
  if (!room) return fail(client, conn, id, error::room_not_found);
  auto joined = conn.rooms.find(req.room_id);
  if (joined == conn.rooms.end()) return fail(client, conn, id, error::not_member);
  const PublicKey key = joined->second;
  conn.rooms.erase(joined);
  reply(client, conn, Left{id, room->id});
  remove_presence(*room, client, key);
}

void RoomService::Impl::handle(ClientId client, Connection& conn, const RequestId& id,
                               SendRequest& req, const std::optional<SignatureCheck>& checked) {
  Room* room = live_room(req.room_id);
  if (!room) return fail(client, conn, id, error::room_not_found);
  auto joined = conn.rooms.find(req.room_id);
  if (joined == conn.rooms.end()) return fail(client, conn, id, error::not_member);
  if (auto e = Protocol::validate_text(req.text, config.limits)) return fail(client, conn, id, *e);
  User& user = room->users.at(joined->second);
  if (!req.sig || !signature_valid(user, req, checked))
    return fail(client, conn, id, error::invalid_signature);
  if (req.client_seq <= user.last_client_seq)
    return fail(client, conn, id, error::stale_client_seq,
                "client_seq must be above " + std::to_string(user.last_client_seq));

  ChatMessage msg{room->id,       ++room->assigned_seq, user.user_id, user.user_name, user.pub_key,
                  req.client_seq, std::move(req.text),  *req.sig,     clock.now()};
  std::uint64_t previous_client_seq = std::exchange(user.last_client_seq, req.client_seq);
  auto slot = conn.replies.reserve();
  auto done = [this, client, slot, id, msg, previous_client_seq](std::error_code ec) {
    auto it = rooms.find(msg.room_id);
    Room* room = it == rooms.end() ? nullptr : &it->second;
    if (ec) {
      if (room) {
        room->assigned_seq = std::min(room->assigned_seq, msg.seq - 1);
        User& u = room->users.at(msg.pub_key);
        if (u.last_client_seq == msg.client_seq) u.last_client_seq = previous_client_seq;
      }
      return fill_reply(
          client, slot,
          reject(ErrorFrame{id, error::internal, "the message could not be stored", {}}));
    }
    ++metrics->messages_accepted;
    fill_reply(client, slot, encode(Sent{id, msg.room_id, msg.seq, msg.client_seq, msg.ts}));
    if (!room) return; // stored, but the room closed meanwhile
    room->committed_seq = msg.seq;
    room->history.push_back(msg);
    while (room->history.size() > config.limits.max_history)
      room->history.pop_front();
    metrics->message_deliveries += broadcast(*room, MessageEvent{msg});
  };
  store->append_message(msg, config.limits.max_history,
                        timed(StoreOperation::append_message, std::move(done)));
}

void RoomService::Impl::handle(ClientId client, Connection& conn, const RequestId& id,
                               HistoryRequest& req) {
  Room* room = live_room(req.room_id);
  if (!room) return fail(client, conn, id, error::room_not_found);
  if (!conn.rooms.contains(req.room_id)) return fail(client, conn, id, error::not_member);

  reply(client, conn, history_page(*room, id, req));
}

HistoryPage RoomService::Impl::history_page(const Room& room, const RequestId& id,
                                            const HistoryRequest& req) const {
  HistoryPage page{id, room.id, {}, 0, room.committed_seq, false, false};
  const auto& h = room.history;
  if (!h.empty()) page.first_seq = h.front().seq;
  // Messages after after_seq that the cap already dropped.
  page.truncated =
      req.after_seq < room.committed_seq && (h.empty() || req.after_seq + 1 < h.front().seq);
  std::size_t start = 0;
  if (!h.empty() && req.after_seq >= h.front().seq)
    start = static_cast<std::size_t>(
        std::min<std::uint64_t>(req.after_seq - h.front().seq + 1, h.size()));
  std::size_t end = std::min(h.size(), start + req.limit);
  page.messages.assign(h.begin() + static_cast<std::ptrdiff_t>(start),
                       h.begin() + static_cast<std::ptrdiff_t>(end));
  page.has_more = end < h.size();
  return page;
}

} // namespace tinychat
