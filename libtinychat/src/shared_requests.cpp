// RoomService with a SharedStore: several nodes serve the same rooms. This file has the
// requests; shared_view.cpp keeps the view a node has of each room.
//
// The shared store decides what needs every node's state (seq, presence, room_full,
// name_taken, client_seq) atomically. A request checks here what the node can check itself,
// in PROTOCOL.md 11's order, asks the store for the rest, and is answered from the node's view.

#include "service_impl.hpp"

namespace tinychat {

namespace {

Frame error_frame(const RequestId& id, error code, std::string message = {}) {
  if (message.empty()) message = make_error_code(code).message();
  return std::make_shared<const std::string>(
      Protocol::encode(ErrorFrame{id, code, std::move(message), std::nullopt}));
}

} // namespace

// ---- requests --------------------------------------------------------------------------------

void RoomService::Impl::handle_shared(ClientId client, Connection& conn, const RequestId& id,
                                      CreateRoomRequest&) {
  std::string creator;
  if (!admit_creation(client, conn, id, creator)) return;
  const RoomRecord record = new_room_record();
  if (!creator.empty()) quota_releases.emplace(record.expires_at, creator);
  auto slot = conn.replies.reserve();
  auto done = [this, client, slot, id, record](std::error_code ec) {
    if (ec)
      return fill_reply(
          client, slot,
          reject(ErrorFrame{
              id, error::internal, "the room could not be stored: " + ec.message(), {}}));
    ++metrics->rooms_created;
    fill_reply(client, slot, encode(RoomCreated{id, record.room_id, record.expires_at}));
  };
  shared->create_room(record,
                      timed(StoreOperation::create_room, Store::Completion(std::move(done))));
}

void RoomService::Impl::handle_shared(ClientId client, Connection& conn, const RequestId& id,
                                      JoinRequest& req) {
  JoinAttempt attempt{req.room_id,  client, detail::user_id_for(req.pub_key), {}, req.pub_key,
                      std::nullopt, false,  config.limits.max_room_members};
  auto name = Protocol::normalize_name(req.user_name, config.limits);
  if (conn.rooms.contains(req.room_id))
    attempt.refusal = error::already_joined;
  else if (auto* e = std::get_if<error>(&name))
    attempt.refusal = *e;
  else if (conn.rooms.size() >= config.limits.max_rooms_per_connection)
    attempt.refusal = error::too_many_rooms;
  if (!attempt.refusal) {
    attempt.user_name = std::get<std::string>(name);
    attempt.signature_valid =
        req.sig &&
        verify(req.pub_key,
               join_payload(conn.challenge, req.room_id, attempt.user_name, req.pub_key), *req.sig);
  }
  ++conn.joins_pending;
  auto slot = conn.replies.reserve();
  auto done = [this, client, slot, id, key = req.pub_key,
               room_id = req.room_id](std::error_code ec, JoinResult result) {
    if (ec) {
      // The join may have been recorded before the store failed: take it back.
      shared->leave(room_id, client);
      fill_reply(client, slot,
                 reject(ErrorFrame{
                     id, error::internal, "the join could not be stored: " + ec.message(), {}}));
      return join_settled(client);
    }
    if (result.refused) {
      count_reject(*result.refused);
      fill_reply(client, slot, error_frame(id, *result.refused));
      return join_settled(client);
    }
    if (!connections.contains(client)) return shared->leave(room_id, client);
    // `joined` describes this node's view, so the view must first include the join itself.
    use_room(room_id, result.presence_version,
             [this, client, id, slot, room_id, key, result](Room* room) {
               finish_join(client, id, slot, room_id, key, room, result);
             });
  };
  shared->join(attempt,
               timed(StoreOperation::save_user, SharedStore::Done<JoinResult>(std::move(done))));
}

void RoomService::Impl::finish_join(ClientId client, const RequestId& id, std::uint64_t slot,
                                    const std::string& room_id, const PublicKey& key, Room* room,
                                    const JoinResult& result) {
  auto c = connections.find(client);
  User* found = nullptr;
  if (room)
    if (auto u = room->users.find(key); u != room->users.end()) found = &u->second;
  // Gone meanwhile, a room that could not be read, or a view that caught up with the join
  // yet lacks the user (this node was evicted meanwhile): the join is taken back.
  if (c == connections.end() || !found) {
    shared->leave(room_id, client);
    if (room) release_room(*room);
    if (c == connections.end()) return;
    fill_reply(
        client, slot,
        reject(ErrorFrame{id,
                          error::internal,
                          room ? "the join was undone; join again" : "the room could not be read",
                          {}}));
    return join_settled(client);
  }
  User& user = *found;
  user.last_client_seq = std::max(user.last_client_seq, result.last_client_seq);
  user.connections.insert(client);
  c->second.rooms.emplace(room->id, key);
  fill_reply(client, slot,
             encode(Joined{id, room->id, user.user_id, user.user_name, room->committed_seq,
                           user.last_client_seq, room->expires_at, members_of(*room)}));
  room->connections.emplace(client, key);
  join_settled(client);
}

// A join of `client` is answered: requests that waited for it run now, in order.
void RoomService::Impl::join_settled(ClientId client) {
  auto c = connections.find(client);
  if (c == connections.end()) return;
  Connection& conn = c->second;
  --conn.joins_pending;
  while (conn.joins_pending == 0 && !conn.deferred.empty()) {
    PreparedRequest next = std::move(conn.deferred.front());
    conn.deferred.pop_front();
    dispatch(client, conn, next);
  }
}

void RoomService::Impl::handle_shared(ClientId client, Connection& conn, const RequestId& id,
                                      LeaveRequest& req) {
  auto joined = conn.rooms.find(req.room_id);
  if (joined == conn.rooms.end()) return answer_unknown_room(client, conn, id, req.room_id);
  if (!shared_room(req.room_id)) return fail(client, conn, id, error::room_not_found);
  const PublicKey key = joined->second;
  conn.rooms.erase(joined);
  reply(client, conn, Left{id, req.room_id});
  leave_shared(client, req.room_id, key);
}

void RoomService::Impl::handle_shared(ClientId client, Connection& conn, const RequestId& id,
                                      SendRequest& req,
                                      const std::optional<SignatureCheck>& checked) {
  auto joined = conn.rooms.find(req.room_id);
  if (joined == conn.rooms.end()) return answer_unknown_room(client, conn, id, req.room_id);
  Room* room = shared_room(req.room_id);
  if (!room) return fail(client, conn, id, error::room_not_found);
  if (auto e = Protocol::validate_text(req.text, config.limits)) return fail(client, conn, id, *e);
  auto u = room->users.find(joined->second);
  if (u == room->users.end()) return fail(client, conn, id, error::not_member);
  User& user = u->second;
  if (!req.sig || !signature_valid(user, req, checked))
    return fail(client, conn, id, error::invalid_signature);
  if (req.client_seq <= user.last_client_seq)
    return fail(client, conn, id, error::stale_client_seq,
                "client_seq must be above " + std::to_string(user.last_client_seq));

  // The store assigns seq and ts.
  ChatMessage msg{
      room->id, 0, user.user_id, user.user_name, user.pub_key, req.client_seq, std::move(req.text),
      *req.sig, 0};
  auto slot = conn.replies.reserve();
  auto done = [this, client, slot, id, msg](std::error_code ec, AppendResult result) mutable {
    if (ec)
      return fill_reply(
          client, slot,
          reject(ErrorFrame{
              id, error::internal, "the message could not be stored: " + ec.message(), {}}));
    if (result.refused) {
      std::string message;
      if (*result.refused == error::stale_client_seq)
        message = "client_seq must be above " + std::to_string(result.last_client_seq);
      count_reject(*result.refused);
      return fill_reply(client, slot, error_frame(id, *result.refused, std::move(message)));
    }
    msg.seq = result.seq;
    msg.ts = result.ts;
    ++metrics->messages_accepted;
    fill_reply(client, slot, encode(Sent{id, msg.room_id, msg.seq, msg.client_seq, msg.ts}));
    if (auto it = rooms.find(msg.room_id); it != rooms.end())
      take_message(it->second, std::move(msg));
  };
  shared->append(
      client, msg, config.limits.max_history,
      timed(StoreOperation::append_message, SharedStore::Done<AppendResult>(std::move(done))));
}

void RoomService::Impl::handle_shared(ClientId client, Connection& conn, const RequestId& id,
                                      HistoryRequest& req) {
  if (!conn.rooms.contains(req.room_id)) return answer_unknown_room(client, conn, id, req.room_id);
  Room* room = shared_room(req.room_id);
  if (!room) return fail(client, conn, id, error::room_not_found);
  reply(client, conn, history_page(*room, id, req));
}

// The view of a room this node serves, unless it expired (then it is closed here).
Room* RoomService::Impl::shared_room(std::string_view id) {
  auto it = rooms.find(id);
  if (it == rooms.end() || !it->second.loaded) return nullptr;
  Room& room = it->second;
  if (room.expires_at <= clock.now()) {
    broadcast(room, RoomClosed{room.id, "expired"});
    drop_room(room);
    return nullptr;
  }
  return &room;
}

// A request for a room `conn` has not joined: room_not_found or not_member, in that order, so
// whether the room exists is asked of the store when this node does not serve it.
void RoomService::Impl::answer_unknown_room(ClientId client, Connection& conn, const RequestId& id,
                                            const std::string& room_id) {
  if (shared_room(room_id)) return fail(client, conn, id, error::not_member);
  auto slot = conn.replies.reserve();
  shared->room_exists(room_id, [this, client, slot, id](std::error_code ec, bool exists) {
    if (ec)
      return fill_reply(
          client, slot,
          reject(ErrorFrame{
              id, error::internal, "the room could not be looked up: " + ec.message(), {}}));
    count_reject(exists ? error::not_member : error::room_not_found);
    fill_reply(client, slot, error_frame(id, exists ? error::not_member : error::room_not_found));
  });
}

void RoomService::Impl::leave_shared(ClientId client, const std::string& room_id,
                                     const PublicKey& key) {
  shared->leave(room_id, client);
  auto it = rooms.find(room_id);
  if (it == rooms.end()) return;
  Room& room = it->second;
  room.connections.erase(client);
  if (auto u = room.users.find(key); u != room.users.end()) u->second.connections.erase(client);
  release_room(room);
}

} // namespace tinychat
