#pragma once
// RoomService's private implementation: state, output and lifecycle helpers. The request
// handlers live in room_requests.cpp, the public interface in room_service.cpp.

#include "service_state.hpp"
#include "user_id.hpp"

#include <tinychat/encoding.hpp>
#include <tinychat/room_service.hpp>
#include <tinychat/signature_verifier.hpp>

#include <algorithm>
#include <cmath>
#include <utility>

namespace tinychat {

using detail::Connection;
using detail::QuotaUse;
using detail::ReplyQueue;
using detail::Room;
using detail::User;

struct RoomService::Impl {
  Impl(Outbox& o, Store& s, const Clock& c, ServiceConfig cfg)
      : outbox(o), store(s), clock(c), config(cfg) {}

  Outbox& outbox;
  Store& store;
  const Clock& clock;
  ServiceConfig config;
  SignatureVerifier verifier;
  std::map<std::string, Room, std::less<>> rooms;
  std::map<ClientId, Connection> connections;
  std::set<std::pair<TimestampMs, std::string>> expiries;       // by expires_at
  std::set<std::pair<TimestampMs, std::string>> idle_deadlines; // by idle deadline
  std::map<std::string, QuotaUse, std::less<>> quotas;          // by quota key

  // ---- output ------------------------------------------------------------------------------

  static Frame encode(const ServerFrame& f) {
    return std::make_shared<const std::string>(Protocol::encode(f));
  }

  void reply(ClientId client, Connection& conn, const ServerFrame& f) {
    auto frame = encode(f);
    if (conn.replies.idle())
      outbox.deliver(client, std::move(frame));
    else
      fill_reply(client, conn.replies.reserve(), std::move(frame));
  }

  void fill_reply(ClientId client, std::uint64_t slot, Frame frame) {
    auto it = connections.find(client);
    if (it == connections.end()) return; // gone while the store worked
    for (auto& f : it->second.replies.fill(slot, std::move(frame)))
      outbox.deliver(client, f);
  }

  void fail(ClientId client, Connection& conn, const RequestId& id, error code,
            std::string message = {}) {
    if (message.empty()) message = make_error_code(code).message();
    reply(client, conn, ErrorFrame{id, code, std::move(message), std::nullopt});
  }

  void broadcast(const Room& room, const ServerFrame& f, ClientId except = 0) {
    auto frame = encode(f); // once, whatever the number of members
    for (const auto& [client, key] : room.connections)
      if (client != except) deliver_event(client, frame);
  }

  // An event never overtakes a reply the connection is still waiting for: a `joined` held
  // behind an earlier request's store write must still come before that room's messages.
  void deliver_event(ClientId client, const Frame& frame) {
    auto it = connections.find(client);
    if (it == connections.end()) return;
    ReplyQueue& replies = it->second.replies;
    if (replies.idle()) return outbox.deliver(client, frame);
    for (auto& f : replies.fill(replies.reserve(), frame))
      outbox.deliver(client, f);
  }

  // ---- rooms -------------------------------------------------------------------------------

  // The live room with this id, after applying any expiry or idle deletion that is due, so a
  // request never sees a room that the next tick would remove.
  Room* live_room(std::string_view id) {
    auto it = rooms.find(id);
    if (it == rooms.end()) return nullptr;
    TimestampMs now = clock.now();
    Room& room = it->second;
    if (room.expires_at <= now) {
      close_expired(room);
      return nullptr;
    }
    if (room.idle_deadline && *room.idle_deadline <= now) {
      erase_room(room);
      return nullptr;
    }
    return &room;
  }

  void set_idle(Room& room, bool idle) {
    if (room.idle_deadline) idle_deadlines.erase({*room.idle_deadline, room.id});
    room.idle_deadline.reset();
    if (idle) {
      room.idle_deadline = clock.now() + TimestampMs{config.limits.room_idle_seconds} * 1000;
      idle_deadlines.emplace(*room.idle_deadline, room.id);
    }
  }

  Room& add_room(RoomRecord record) {
    auto [it, inserted] = rooms.try_emplace(record.room_id);
    Room& room = it->second;
    room.id = record.room_id;
    room.created_at = record.created_at;
    room.expires_at = record.expires_at;
    expiries.emplace(room.expires_at, room.id);
    set_idle(room, true);
    return room;
  }

  void erase_room(Room& room) {
    for (const auto& [key, user] : room.users) // joined and joining connections
      for (ClientId client : user.connections)
        if (auto c = connections.find(client); c != connections.end())
          c->second.rooms.erase(room.id);
    expiries.erase({room.expires_at, room.id});
    set_idle(room, false);
    release_quota(room);
    store.delete_room(room.id, [](std::error_code) {});
    rooms.erase(room.id); // `room` dangles from here on
  }

  void close_expired(Room& room) {
    broadcast(room, RoomClosed{room.id, "expired"});
    erase_room(room);
  }

  void tick() {
    TimestampMs now = clock.now();
    while (!expiries.empty() && expiries.begin()->first <= now) {
      auto id = expiries.begin()->second;
      close_expired(rooms.at(id));
    }
    while (!idle_deadlines.empty() && idle_deadlines.begin()->first <= now) {
      auto id = idle_deadlines.begin()->second;
      erase_room(rooms.at(id));
    }
  }

  // ---- room quota ------------------------------------------------------------------------

  // Counts a creation against `key`; false when its quota is used up.
  bool take_quota(const std::string& key) {
    if (key.empty()) return true;
    const RoomQuota& q = config.room_quota;
    QuotaUse& use = quotas[key];
    const TimestampMs now = clock.now();
    while (!use.created.empty() && use.created.front() <= now - 60'000)
      use.created.pop_front();
    if ((q.live_rooms && use.live_rooms >= q.live_rooms) ||
        (q.created_per_minute && use.created.size() >= q.created_per_minute))
      return false;
    ++use.live_rooms;
    use.created.push_back(now);
    return true;
  }

  void release_quota(Room& room) {
    if (room.creator.empty()) return;
    auto it = quotas.find(room.creator);
    room.creator.clear();
    if (it == quotas.end()) return;
    QuotaUse& use = it->second;
    if (use.live_rooms) --use.live_rooms;
    while (!use.created.empty() && use.created.front() <= clock.now() - 60'000)
      use.created.pop_front();
    if (use.live_rooms == 0 && use.created.empty()) quotas.erase(it);
  }

  // ---- presence ----------------------------------------------------------------------------

  static std::vector<Member> members_of(const Room& room) {
    std::vector<Member> members;
    members.reserve(room.present_names.size());
    for (const auto& [name, key] : room.present_names) {
      const User& u = room.users.at(key);
      members.push_back(Member{u.user_id, u.user_name, u.pub_key});
    }
    return members;
  }

  // Removes `client`, joined or joining with `key`, from `room`; tells the others when its
  // user is no longer present (if they were ever told it was).
  void remove_presence(Room& room, ClientId client, const PublicKey& key) {
    room.connections.erase(client);
    auto it = room.users.find(key);
    if (it == room.users.end() || !it->second.connections.erase(client)) return;
    User& user = it->second;
    if (!user.connections.empty()) return;
    room.present_names.erase(user.user_name);
    if (std::exchange(user.announced, false)) broadcast(room, MemberLeft{room.id, user.user_id});
    if (room.present_names.empty()) set_idle(room, true);
  }

  // ---- requests ----------------------------------------------------------------------------

  void handle(ClientId, Connection&, const RequestId&, CreateRoomRequest&);
  void handle(ClientId, Connection&, const RequestId&, JoinRequest&);
  void handle(ClientId, Connection&, const RequestId&, LeaveRequest&);
  void handle(ClientId, Connection&, const RequestId&, SendRequest&,
              const std::optional<SignatureCheck>& checked);
  void handle(ClientId, Connection&, const RequestId&, HistoryRequest&);
  void handle(ClientId client, Connection& conn, const RequestId& id, PingRequest&) {
    reply(client, conn, Pong{id});
  }
  void handle(ClientId, Connection&, const RequestId&, AuthRequest&,
              const std::optional<TokenCheck>& checked);

  // Why `conn` may not create rooms now (a message for `unauthorized`), or nullptr. The
  // quota key its creations count against is then creator_key(conn).
  const char* creation_refusal(const Connection& conn) const;
  std::string creator_key(const Connection& conn) const;

  // An Ingress check counts only when it used the key this member joined with; the Ingress
  // guesses the key from the connection's join requests, and a refused join can mislead it.
  bool signature_valid(const User& user, const SendRequest& req,
                       const std::optional<SignatureCheck>& checked) const {
    if (checked && checked->pub_key == user.pub_key) return checked->valid;
    return verifier.verify(user.pub_key,
                           message_payload(req.room_id, user.user_id, req.client_seq, req.text),
                           *req.sig);
  }

  // Token bucket; returns the wait in ms when the request must be refused.
  std::optional<std::uint64_t> take_token(Connection& conn) {
    const RateLimit& rl = config.rate_limit;
    if (rl.per_second <= 0) return std::nullopt;
    TimestampMs now = clock.now();
    double elapsed = static_cast<double>(std::max<TimestampMs>(0, now - conn.refilled_at)) / 1000;
    conn.tokens = std::min(rl.burst, conn.tokens + elapsed * rl.per_second);
    conn.refilled_at = now;
    if (conn.tokens >= 1) {
      conn.tokens -= 1;
      return std::nullopt;
    }
    return static_cast<std::uint64_t>(std::ceil((1 - conn.tokens) / rl.per_second * 1000));
  }
};

} // namespace tinychat
