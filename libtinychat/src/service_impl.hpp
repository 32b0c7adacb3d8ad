#pragma once
// RoomService's private implementation: state, output and lifecycle helpers. The request
// handlers live in room_requests.cpp, the public interface in room_service.cpp.

#include "service_state.hpp"
#include "user_id.hpp"

#include <tinychat/encoding.hpp>
#include <tinychat/metrics.hpp>
#include <tinychat/room_service.hpp>
#include <tinychat/signature_verifier.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

namespace tinychat {

using detail::Connection;
using detail::QuotaUse;
using detail::ReplyQueue;
using detail::Room;
using detail::User;

struct RoomService::Impl final : SharedEvents {
  // Exactly one of `s` and `sh` is set: a Store of this node alone, or a SharedStore.
  Impl(Outbox& o, Store* s, SharedStore* sh, const Clock& c, ServiceConfig cfg)
      : outbox(o), store(s), shared(sh), clock(c), config(cfg) {}

  Outbox& outbox;
  Store* store;
  SharedStore* shared;
  const Clock& clock;
  ServiceConfig config;
  SignatureVerifier verifier;
  std::map<std::string, Room, std::less<>> rooms;
  std::map<ClientId, Connection> connections;
  std::set<std::pair<TimestampMs, std::string>> expiries;       // by expires_at
  std::set<std::pair<TimestampMs, std::string>> idle_deadlines; // by idle deadline
  std::map<std::string, QuotaUse, std::less<>> quotas;          // by quota key
  // With a SharedStore: rooms whose view waits for events, checked on every tick, and quota
  // keys whose creations count until the room's expiry (no node sees a shared room's end).
  std::set<std::string, std::less<>> stalled;
  std::set<std::pair<TimestampMs, std::string>> quota_releases;
  // Shared with the store completions that time operations: delete_room's outlives nothing
  // else of the service, and may in principle run after it.
  std::shared_ptr<ServiceMetrics> metrics = std::make_shared<ServiceMetrics>();

  // ---- output ------------------------------------------------------------------------------

  static Frame encode(const ServerFrame& f) {
    return std::make_shared<const std::string>(Protocol::encode(f));
  }

  // Every frame leaves through here, so counting it is one increment on the core's thread.
  void deliver(ClientId client, Frame frame) {
    ++metrics->frames_delivered;
    outbox.deliver(client, std::move(frame));
  }

  void count_reject(error code) {
    if (const auto i = static_cast<std::size_t>(code); i < ServiceMetrics::error_slots)
      ++metrics->rejects[i];
  }

  // An error reply filled in later, after the store answered.
  Frame reject(ErrorFrame f) {
    count_reject(f.code);
    return encode(f);
  }

  void reply(ClientId client, Connection& conn, const ServerFrame& f) {
    if (const auto* e = std::get_if<ErrorFrame>(&f)) count_reject(e->code);
    auto frame = encode(f);
    if (conn.replies.idle())
      deliver(client, std::move(frame));
    else
      fill_reply(client, conn.replies.reserve(), std::move(frame));
  }

  void fill_reply(ClientId client, std::uint64_t slot, Frame frame) {
    auto it = connections.find(client);
    if (it == connections.end()) return; // gone while the store worked
    for (auto& f : it->second.replies.fill(slot, std::move(frame)))
      deliver(client, f);
  }

  void fail(ClientId client, Connection& conn, const RequestId& id, error code,
            std::string message = {}) {
    if (message.empty()) message = make_error_code(code).message();
    reply(client, conn, ErrorFrame{id, code, std::move(message), std::nullopt});
  }

  // Returns the number of connections the event was addressed to.
  std::size_t broadcast(const Room& room, const ServerFrame& f, ClientId except = 0) {
    auto frame = encode(f); // once, whatever the number of members
    std::size_t n = 0;
    for (const auto& [client, key] : room.connections)
      if (client != except) {
        deliver_event(client, frame);
        ++n;
      }
    return n;
  }

  // An event never overtakes a reply the connection is still waiting for: a `joined` held
  // behind an earlier request's store write must still come before that room's messages.
  void deliver_event(ClientId client, const Frame& frame) {
    auto it = connections.find(client);
    if (it == connections.end()) return;
    ReplyQueue& replies = it->second.replies;
    if (replies.idle()) return deliver(client, frame);
    for (auto& f : replies.fill(replies.reserve(), frame))
      deliver(client, f);
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
    store->delete_room(room.id, timed(StoreOperation::delete_room, [](std::error_code) {}));
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

  // ---- store timing ------------------------------------------------------------------------

  // `done`, recording how long the store took. The steady clock, not the injected Clock: this
  // is a duration for operators, and the manual clock of tests stands still.
  Store::Completion timed(StoreOperation op, Store::Completion done) {
    return timed<>(op, std::move(done));
  }

  // The same for a SharedStore completion, which carries a result after the error_code.
  template <class... Result>
  std::function<void(std::error_code, Result...)>
  timed(StoreOperation op, std::function<void(std::error_code, Result...)> done) {
    return [m = metrics, op, start = std::chrono::steady_clock::now(),
            done = std::move(done)](std::error_code ec, Result... result) {
      m->store_latency[static_cast<std::size_t>(op)].record(std::chrono::steady_clock::now() -
                                                            start);
      if (ec) ++m->store_errors;
      done(ec, std::move(result)...);
    };
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
    if (!room.creator.empty()) release_quota(std::exchange(room.creator, {}));
  }

  void release_quota(const std::string& key) {
    auto it = quotas.find(key);
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

  // ---- shared rooms (shared_requests.cpp, shared_view.cpp) ---------------------------------

  void dispatch(ClientId, Connection&, PreparedRequest&);
  void handle_shared(ClientId, Connection&, const RequestId&, CreateRoomRequest&);
  void handle_shared(ClientId, Connection&, const RequestId&, JoinRequest&);
  void handle_shared(ClientId, Connection&, const RequestId&, LeaveRequest&);
  void handle_shared(ClientId, Connection&, const RequestId&, SendRequest&,
                     const std::optional<SignatureCheck>& checked);
  void handle_shared(ClientId, Connection&, const RequestId&, HistoryRequest&);
  void finish_join(ClientId, const RequestId&, std::uint64_t slot, const std::string& room_id,
                   const PublicKey& key, Room* room, const JoinResult& result);
  void join_settled(ClientId client);
  Room* shared_room(std::string_view id);
  void answer_unknown_room(ClientId, Connection&, const RequestId&, const std::string& room_id);
  void use_room(const std::string& id, std::uint64_t version, std::function<void(Room*)> then);
  void release_room(Room& room);
  void drop_room(Room& room);
  void leave_shared(ClientId client, const std::string& room_id, const PublicKey& key);
  void apply_view(Room& room, RoomView& view);
  void take_message(Room& room, ChatMessage message);
  void take_presence(Room& room, PresenceEvent event);
  void drain_messages(Room& room);
  void drain_presence(Room& room);
  void apply_presence(Room& room, const PresenceEvent& event);
  void run_waiters(Room& room, bool all);
  void reread(Room& room);
  void mark_stalled(Room& room);
  void tick_shared();
  // SharedEvents
  void message(const ChatMessage& message) override;
  void presence(const PresenceEvent& event) override;
  void resync() override;
  void evicted() override;

  // ---- requests ----------------------------------------------------------------------------

  HistoryPage history_page(const Room& room, const RequestId& id, const HistoryRequest& req) const;

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

  // Whether `conn` may create a room now; counts the creation against its quota key, which
  // goes to `creator`. Otherwise replies with the refusal.
  bool admit_creation(ClientId, Connection&, const RequestId&, std::string& creator);
  // A new room's record, with a fresh random id (128 bits).
  RoomRecord new_room_record();

  // Why `conn` may not create rooms now (a message for `unauthorized`), or nullptr. The
  // quota key its creations count against is then creator_key(conn).
  const char* creation_refusal(const Connection& conn) const;
  std::string creator_key(const Connection& conn) const;

  // An Ingress check counts only when it used the key this member joined with; the Ingress
  // guesses the key from the connection's join requests, and a refused join can mislead it.
  bool signature_valid(const User& user, const SendRequest& req,
                       const std::optional<SignatureCheck>& checked) {
    if (checked && checked->pub_key == user.pub_key) return checked->valid;
    return verify(user.pub_key,
                  message_payload(req.room_id, user.user_id, req.client_seq, req.text), *req.sig);
  }

  bool verify(const PublicKey& key, std::span<const std::uint8_t> payload, const Signature& sig) {
    const bool valid = verifier.verify(key, payload, sig);
    count_signature(valid);
    return valid;
  }

  void count_signature(bool valid) {
    ++(valid ? metrics->signatures_valid : metrics->signatures_invalid);
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
