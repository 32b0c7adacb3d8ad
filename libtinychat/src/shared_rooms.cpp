// RoomService with a SharedStore: several nodes serve the same rooms.
//
// The shared store decides (seq, presence, room_full, name_taken, client_seq) atomically for
// every node. A node keeps a view of each room its connections use, and changes that view
// only by applying the room's events in order: messages by seq, presence changes by presence
// version. Events that come early wait; a wait that lasts two ticks re-reads the room, so a
// lost publication becomes a read, never a gap.

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

// ---- the view of a room ------------------------------------------------------------------------

// Calls `then` once the view of `id` includes presence version `version` (or with nullptr
// when the room cannot be read). The caller holds one use of the room until it releases it.
void RoomService::Impl::use_room(const std::string& id, std::uint64_t version,
                                 std::function<void(Room*)> then) {
  auto [it, created] = rooms.try_emplace(id);
  Room& room = it->second;
  ++room.local_uses;
  if (!created && room.loaded && room.presence_version >= version) return then(&room);
  room.waiters.emplace_back(version, std::move(then));
  if (!created) return mark_stalled(room);
  room.id = id;
  room.loaded = false;
  shared->watch(id, [this, id](std::error_code ec) {
    auto r = rooms.find(id);
    if (r == rooms.end()) return;
    if (ec) return drop_room(r->second);
    reread(r->second);
  });
}

// One local use of the room ended; the last one stops watching it.
void RoomService::Impl::release_room(Room& room) {
  if (room.local_uses > 0) --room.local_uses;
  if (room.local_uses == 0 && room.waiters.empty()) drop_room(room);
}

// Forgets the view: its connections are no longer joined here, its waiting joins fail.
void RoomService::Impl::drop_room(Room& room) {
  const std::string id = room.id;
  for (const auto& [client, key] : room.connections)
    if (auto c = connections.find(client); c != connections.end()) c->second.rooms.erase(id);
  auto waiters = std::move(room.waiters);
  if (room.loaded) expiries.erase({room.expires_at, id});
  stalled.erase(id);
  rooms.erase(id); // `room` dangles from here on
  shared->unwatch(id);
  for (auto& [version, then] : waiters)
    then(nullptr);
}

void RoomService::Impl::reread(Room& room) {
  if (room.reading) {
    // The read on its way may predate what this read is for (e.g. a resync).
    room.reread_wanted = true;
    return mark_stalled(room);
  }
  room.reading = true;
  room.reread_wanted = false;
  shared->read_room(room.id,
                    [this, id = room.id](std::error_code ec, std::optional<RoomView> view) {
                      auto it = rooms.find(id);
                      if (it == rooms.end()) return;
                      Room& room = it->second;
                      room.reading = false;
                      if (ec) {
                        // A first read must answer its joins; a later one is tried again on the
                        // next tick.
                        if (!room.loaded) return drop_room(room);
                        room.reread_wanted = true;
                        return mark_stalled(room);
                      }
                      if (!view) {
                        // Gone from the store: expired, or lost with it. Either way nobody can use
                        // it now.
                        if (room.loaded) broadcast(room, RoomClosed{room.id, "expired"});
                        return drop_room(room);
                      }
                      apply_view(room, *view);
                    });
}

// Brings the view to `view`: the first read fills it; a later one tells the local members what
// they missed, as the events would have.
void RoomService::Impl::apply_view(Room& room, RoomView& view) {
  if (!room.loaded) {
    room.loaded = true;
    room.created_at = view.room.created_at;
    room.expires_at = view.room.expires_at;
    expiries.emplace(room.expires_at, room.id);
    room.committed_seq = room.assigned_seq = view.last_seq;
    room.history.assign(view.messages.begin(), view.messages.end());
    while (room.history.size() > config.limits.max_history)
      room.history.pop_front();
    for (auto& m : view.members) {
      room.present_names.emplace(m.user_name, m.pub_key);
      room.users.emplace(m.pub_key, User{m.user_id, m.user_name, m.pub_key, 0, {}, true});
    }
    room.presence_version = view.presence_version;
  } else {
    if (view.presence_version > room.presence_version) {
      std::map<PublicKey, const Member*> now_present;
      for (const auto& m : view.members)
        now_present.emplace(m.pub_key, &m);
      std::vector<Member> gone;
      for (const auto& [key, user] : room.users)
        if (auto p = now_present.find(key);
            p == now_present.end() || p->second->user_name != user.user_name)
          gone.push_back(Member{user.user_id, user.user_name, key});
      for (auto& m : gone)
        apply_presence(room, PresenceEvent{room.id, 0, false, m});
      for (const auto& m : view.members)
        if (!room.users.contains(m.pub_key))
          apply_presence(room, PresenceEvent{room.id, 0, true, m});
      room.presence_version = view.presence_version;
    }
    // Messages this node missed. Those the room no longer retains are beyond reach: the
    // view moves past them, as a joiner's would.
    const std::uint64_t first_retained =
        view.messages.empty() ? view.last_seq + 1 : view.messages.front().seq;
    if (view.last_seq > room.committed_seq && first_retained > room.committed_seq + 1)
      room.committed_seq = room.assigned_seq = first_retained - 1;
    for (auto& m : view.messages)
      if (m.seq > room.committed_seq) room.early_messages.emplace(m.seq, std::move(m));
  }
  std::erase_if(room.early_presence,
                [&](const auto& e) { return e.first <= room.presence_version; });
  drain_presence(room);
  drain_messages(room);
  room.stalled_ticks = 0;
  if (room.early_messages.empty() && room.early_presence.empty() && room.waiters.empty() &&
      !room.reread_wanted)
    stalled.erase(room.id);
  // A join whose script ran after this read waits for its event or the next read. Reads that
  // keep missing it mean the store lost state: answer it from what is there.
  room.fruitless_reads = room.waiters.empty() ? 0 : room.fruitless_reads + 1;
  run_waiters(room, room.fruitless_reads > 3); // last: a waiter may drop the room
}

void RoomService::Impl::take_message(Room& room, ChatMessage message) {
  if (message.seq <= room.committed_seq) return;
  room.early_messages.emplace(message.seq, std::move(message));
  if (room.loaded) drain_messages(room);
}

// Delivers the queued messages that continue the room's sequence.
void RoomService::Impl::drain_messages(Room& room) {
  auto& early = room.early_messages;
  while (!early.empty() && early.begin()->first <= room.committed_seq + 1) {
    ChatMessage next = std::move(early.begin()->second);
    early.erase(early.begin());
    if (next.seq <= room.committed_seq) continue;
    room.committed_seq = room.assigned_seq = next.seq;
    if (auto u = room.users.find(next.pub_key); u != room.users.end())
      u->second.last_client_seq = std::max(u->second.last_client_seq, next.client_seq);
    room.history.push_back(next);
    while (room.history.size() > config.limits.max_history)
      room.history.pop_front();
    metrics->message_deliveries += broadcast(room, MessageEvent{std::move(next)});
  }
  if (!early.empty()) mark_stalled(room);
}

void RoomService::Impl::take_presence(Room& room, PresenceEvent event) {
  if (event.version <= room.presence_version) return;
  room.early_presence.emplace(event.version, std::move(event));
  if (!room.loaded) return;
  drain_presence(room);
  run_waiters(room, false); // last: a waiter may drop the room
}

// Applies the queued presence changes that come next in order.
void RoomService::Impl::drain_presence(Room& room) {
  auto& early = room.early_presence;
  while (!early.empty() && early.begin()->first == room.presence_version + 1) {
    apply_presence(room, early.begin()->second);
    room.presence_version = early.begin()->first;
    early.erase(early.begin());
  }
  if (!early.empty()) mark_stalled(room);
}

void RoomService::Impl::apply_presence(Room& room, const PresenceEvent& event) {
  const Member& m = event.member;
  if (event.joined) {
    if (room.users.contains(m.pub_key)) return;
    room.present_names.emplace(m.user_name, m.pub_key);
    room.users.emplace(m.pub_key, User{m.user_id, m.user_name, m.pub_key, 0, {}, true});
    broadcast(room, MemberJoined{room.id, m});
    return;
  }
  auto u = room.users.find(m.pub_key);
  if (u == room.users.end()) return;
  room.present_names.erase(u->second.user_name);
  const std::string user_id = u->second.user_id;
  room.users.erase(u);
  broadcast(room, MemberLeft{room.id, user_id});
}

void RoomService::Impl::run_waiters(Room& room, bool all) {
  if (room.waiters.empty()) return;
  std::vector<std::function<void(Room*)>> ready;
  std::erase_if(room.waiters, [&](auto& w) {
    if (!all && w.first > room.presence_version) return false;
    ready.push_back(std::move(w.second));
    return true;
  });
  const std::string id = room.id;
  for (auto& then : ready) {
    // A waiter may drop the room (a join of a connection that closed meanwhile).
    auto it = rooms.find(id);
    then(it == rooms.end() ? nullptr : &it->second);
  }
}

void RoomService::Impl::mark_stalled(Room& room) { stalled.insert(room.id); }

// ---- events and ticks ---------------------------------------------------------------------------

void RoomService::Impl::message(const ChatMessage& message) {
  if (auto it = rooms.find(message.room_id); it != rooms.end()) take_message(it->second, message);
}

void RoomService::Impl::presence(const PresenceEvent& event) {
  if (auto it = rooms.find(event.room_id); it != rooms.end()) take_presence(it->second, event);
}

void RoomService::Impl::resync() {
  for (auto& [id, room] : rooms)
    if (room.loaded) reread(room);
}

void RoomService::Impl::evicted() {
  // Its members are gone from the shared rooms; they get to join again on another connection.
  std::vector<ClientId> joined;
  for (auto& [client, conn] : connections)
    if (!conn.rooms.empty() || conn.joins_pending) {
      conn.rooms.clear();
      joined.push_back(client);
    }
  // Closed only now: a transport may disconnect inside close(), which erases the connection.
  for (ClientId client : joined)
    outbox.close(client, 1012, "the server lost its place in the cluster; reconnect");
  while (!rooms.empty())
    drop_room(rooms.begin()->second);
}

void RoomService::Impl::tick_shared() {
  const TimestampMs now = clock.now();
  while (!expiries.empty() && expiries.begin()->first <= now) {
    auto it = rooms.find(expiries.begin()->second);
    expiries.erase(expiries.begin());
    if (it == rooms.end()) continue;
    broadcast(it->second, RoomClosed{it->second.id, "expired"});
    drop_room(it->second);
  }
  while (!quota_releases.empty() && quota_releases.begin()->first <= now) {
    const std::string key = quota_releases.begin()->second;
    quota_releases.erase(quota_releases.begin());
    release_quota(key);
  }
  // Events that waited a whole tick were lost, most likely: read the room again.
  for (auto it = stalled.begin(); it != stalled.end();) {
    auto r = rooms.find(*it);
    if (r == rooms.end()) {
      it = stalled.erase(it);
      continue;
    }
    Room& room = r->second;
    const bool waiting = !room.early_messages.empty() || !room.early_presence.empty() ||
                         !room.waiters.empty() || room.reread_wanted;
    if (!waiting) {
      room.stalled_ticks = 0;
      it = stalled.erase(it);
      continue;
    }
    if (room.loaded && ++room.stalled_ticks >= 2) {
      room.stalled_ticks = 0;
      reread(room);
    }
    ++it;
  }
}

} // namespace tinychat
