// RoomService with a SharedStore: the view a node keeps of each shared room its connections
// use, brought up to date from the store's events (see shared_requests.cpp for the requests).
//
// A view changes only by applying the room's events in order: messages by seq, presence
// changes by presence version. Events that come early wait; a wait that lasts two ticks
// re-reads the room, so a lost publication becomes a read, never a gap.

#include "service_impl.hpp"

namespace tinychat {

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
