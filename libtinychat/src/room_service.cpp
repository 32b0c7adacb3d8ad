// RoomService: request dispatch, presence and messages. Precedence of errors follows
// PROTOCOL.md section 11: fields, then room, then membership, then limits, signature, counters.

#include "service_state.hpp"

#include <tinychat/encoding.hpp>
#include <tinychat/room_service.hpp>
#include <tinychat/signature_verifier.hpp>

#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <utility>

namespace tinychat {

using detail::Connection;
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

  // ---- output ------------------------------------------------------------------------------

  static Frame encode(const ServerFrame& f) {
    return std::make_shared<const std::string>(Protocol::encode(f));
  }

  void reply(ClientId client, Connection& conn, const ServerFrame& f) {
    auto frame = encode(f);
    if (conn.replies.idle()) outbox.deliver(client, std::move(frame));
    else fill_reply(client, conn.replies.reserve(), std::move(frame));
  }

  void fill_reply(ClientId client, std::uint64_t slot, Frame frame) {
    auto it = connections.find(client);
    if (it == connections.end()) return; // gone while the store worked
    for (auto& f : it->second.replies.fill(slot, std::move(frame))) outbox.deliver(client, f);
  }

  void fail(ClientId client, Connection& conn, const RequestId& id, error code,
            std::string message = {}) {
    if (message.empty()) message = make_error_code(code).message();
    reply(client, conn, ErrorFrame{id, code, std::move(message), std::nullopt});
  }

  void broadcast(const Room& room, const ServerFrame& f, ClientId except = 0) {
    auto frame = encode(f); // once, whatever the number of members
    for (const auto& [client, key] : room.connections)
      if (client != except) outbox.deliver(client, frame);
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
    for (const auto& [client, key] : room.connections) {
      auto c = connections.find(client);
      if (c != connections.end()) c->second.rooms.erase(room.id);
    }
    expiries.erase({room.expires_at, room.id});
    set_idle(room, false);
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

  // Removes `client` from `room`; tells the others when its user is no longer present.
  void remove_presence(Room& room, ClientId client) {
    auto it = room.connections.find(client);
    if (it == room.connections.end()) return;
    User& user = room.users.at(it->second);
    room.connections.erase(it);
    user.connections.erase(client);
    if (!user.connections.empty()) return;
    room.present_names.erase(user.user_name);
    broadcast(room, MemberLeft{room.id, user.user_id});
    if (room.present_names.empty()) set_idle(room, true);
  }

  // ---- requests ----------------------------------------------------------------------------

  void handle(ClientId, Connection&, const RequestId&, CreateRoomRequest&);
  void handle(ClientId, Connection&, const RequestId&, JoinRequest&);
  void handle(ClientId, Connection&, const RequestId&, LeaveRequest&);
  void handle(ClientId, Connection&, const RequestId&, SendRequest&);
  void handle(ClientId, Connection&, const RequestId&, HistoryRequest&);
  void handle(ClientId client, Connection& conn, const RequestId& id, PingRequest&) {
    reply(client, conn, Pong{id});
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

  std::string user_id_for(const PublicKey& key) {
    // Derived from the key, so a key gets the same id every time it joins a room, also after a
    // restart, and a connection can know its id without asking.
    std::array<std::uint8_t, 15> digest{};
    crypto_generichash(digest.data(), digest.size(), key.data(), key.size(), nullptr, 0);
    return "u" + to_base32(digest);
  }
};

void RoomService::Impl::handle(ClientId client, Connection& conn, const RequestId& id,
                               CreateRoomRequest&) {
  std::array<std::uint8_t, 16> raw{};
  std::string room_id;
  do {
    random_bytes(raw);
    room_id = to_base32(raw);
  } while (rooms.contains(room_id));
  TimestampMs now = clock.now();
  RoomRecord record{room_id, now, now + TimestampMs{config.limits.room_ttl_seconds} * 1000};
  add_room(record);
  auto slot = conn.replies.reserve();
  store.create_room(record, [this, client, slot, id, record](std::error_code ec) {
    if (ec) {
      if (auto it = rooms.find(record.room_id); it != rooms.end()) erase_room(it->second);
      fill_reply(client, slot,
                 encode(ErrorFrame{id, error::internal, "the room could not be stored", {}}));
      return;
    }
    fill_reply(client, slot, encode(RoomCreated{id, record.room_id, record.expires_at}));
  });
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
  if (!req.sig || !verifier.verify(req.pub_key,
                                   join_payload(conn.challenge, room->id, user_name, req.pub_key),
                                   *req.sig))
    return fail(client, conn, id, error::invalid_signature);

  bool is_new = existing == room->users.end();
  if (is_new) {
    User u;
    u.user_id = user_id_for(req.pub_key);
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
  user.connections.insert(client);
  room->connections.emplace(client, user.pub_key);
  conn.rooms.emplace(room->id, user.pub_key);

  auto slot = conn.replies.reserve();
  UserRecord record{room->id, user.user_id, user.user_name, user.pub_key, user.last_client_seq};
  store.save_user(record, [this, client, slot, id, record, present, is_new](std::error_code ec) {
    auto it = rooms.find(record.room_id);
    if (it == rooms.end()) // closed while the store worked
      return fill_reply(client, slot, encode(ErrorFrame{id, error::room_not_found,
                                                        make_error_code(error::room_not_found).message(), {}}));
    Room& room = it->second;
    if (ec) {
      if (auto c = connections.find(client); c != connections.end()) c->second.rooms.erase(room.id);
      User& u = room.users.at(record.pub_key);
      room.connections.erase(client);
      u.connections.erase(client);
      if (!present) {
        room.present_names.erase(u.user_name);
        if (room.present_names.empty()) set_idle(room, true);
      }
      if (is_new) {
        room.user_ids.erase(u.user_id);
        room.users.erase(record.pub_key);
      }
      return fill_reply(client, slot,
                        encode(ErrorFrame{id, error::internal, "the join could not be stored", {}}));
    }
    const User& u = room.users.at(record.pub_key);
    fill_reply(client, slot,
               encode(Joined{id, room.id, u.user_id, u.user_name, room.committed_seq,
                             u.last_client_seq, room.expires_at, members_of(room)}));
    if (!present) {
      // Everyone but the joiner's own connections (it has just one: this one).
      broadcast(room, MemberJoined{room.id, Member{u.user_id, u.user_name, u.pub_key}}, client);
    }
  });
}

void RoomService::Impl::handle(ClientId client, Connection& conn, const RequestId& id,
                               LeaveRequest& req) {
  Room* room = live_room(req.room_id);
  if (!room) return fail(client, conn, id, error::room_not_found);
  if (!conn.rooms.contains(req.room_id)) return fail(client, conn, id, error::not_member);
  conn.rooms.erase(conn.rooms.find(req.room_id));
  reply(client, conn, Left{id, room->id});
  remove_presence(*room, client);
}

void RoomService::Impl::handle(ClientId client, Connection& conn, const RequestId& id,
                               SendRequest& req) {
  Room* room = live_room(req.room_id);
  if (!room) return fail(client, conn, id, error::room_not_found);
  auto joined = conn.rooms.find(req.room_id);
  if (joined == conn.rooms.end()) return fail(client, conn, id, error::not_member);
  if (auto e = Protocol::validate_text(req.text, config.limits)) return fail(client, conn, id, *e);
  User& user = room->users.at(joined->second);
  if (!req.sig ||
      !verifier.verify(user.pub_key,
                       message_payload(room->id, user.user_id, req.client_seq, req.text), *req.sig))
    return fail(client, conn, id, error::invalid_signature);
  if (req.client_seq <= user.last_client_seq)
    return fail(client, conn, id, error::stale_client_seq,
                "client_seq must be above " + std::to_string(user.last_client_seq));

  ChatMessage msg{room->id,      ++room->assigned_seq, user.user_id,         user.user_name,
                  user.pub_key,  req.client_seq,       std::move(req.text), *req.sig,
                  clock.now()};
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
      return fill_reply(client, slot,
                        encode(ErrorFrame{id, error::internal, "the message could not be stored", {}}));
    }
    fill_reply(client, slot, encode(Sent{id, msg.room_id, msg.seq, msg.client_seq, msg.ts}));
    if (!room) return; // stored, but the room closed meanwhile
    room->committed_seq = msg.seq;
    room->history.push_back(msg);
    while (room->history.size() > config.limits.max_history) room->history.pop_front();
    broadcast(*room, MessageEvent{msg});
  };
  store.append_message(msg, config.limits.max_history, std::move(done));
}

void RoomService::Impl::handle(ClientId client, Connection& conn, const RequestId& id,
                               HistoryRequest& req) {
  Room* room = live_room(req.room_id);
  if (!room) return fail(client, conn, id, error::room_not_found);
  if (!conn.rooms.contains(req.room_id)) return fail(client, conn, id, error::not_member);

  HistoryPage page{id, room->id, {}, 0, room->committed_seq, false, false};
  const auto& h = room->history;
  if (!h.empty()) page.first_seq = h.front().seq;
  // Messages after after_seq that the cap already dropped.
  page.truncated = req.after_seq < room->committed_seq &&
                   (h.empty() || req.after_seq + 1 < h.front().seq);
  std::size_t start = 0;
  if (!h.empty() && req.after_seq >= h.front().seq)
    start = static_cast<std::size_t>(std::min<std::uint64_t>(req.after_seq - h.front().seq + 1, h.size()));
  std::size_t end = std::min(h.size(), start + req.limit);
  page.messages.assign(h.begin() + static_cast<std::ptrdiff_t>(start),
                       h.begin() + static_cast<std::ptrdiff_t>(end));
  page.has_more = end < h.size();
  reply(client, conn, page);
}

// ---- public interface ------------------------------------------------------------------------

RoomService::RoomService(Outbox& outbox, Store& store, const Clock& clock, ServiceConfig config)
    : impl_(std::make_unique<Impl>(outbox, store, clock, config)) {
  for (auto& snapshot : store.load_rooms()) {
    Room& room = impl_->add_room(snapshot.room);
    room.assigned_seq = room.committed_seq = snapshot.last_seq;
    for (auto& m : snapshot.messages) room.history.push_back(std::move(m));
    while (room.history.size() > config.limits.max_history) room.history.pop_front();
    for (auto& u : snapshot.users) {
      room.user_ids.insert(u.user_id);
      room.users.emplace(u.pub_key, User{u.user_id, u.user_name, u.pub_key, u.last_client_seq, {}});
    }
  }
}

RoomService::~RoomService() = default;

void RoomService::connect(ClientId client) {
  auto& conn = impl_->connections[client];
  random_bytes(conn.challenge);
  conn.tokens = impl_->config.rate_limit.burst;
  conn.refilled_at = impl_->clock.now();
  impl_->outbox.deliver(client, Impl::encode(Hello{1, conn.challenge, impl_->config.limits}));
}

void RoomService::receive(ClientId client, std::string_view text) {
  auto it = impl_->connections.find(client);
  if (it == impl_->connections.end()) return;
  Connection& conn = it->second;
  auto decoded = Protocol::decode_request(text);
  if (auto wait = impl_->take_token(conn)) {
    RequestId id = decoded.ok() ? decoded.request().id : decoded.error().id;
    return impl_->reply(client, conn,
                        ErrorFrame{id, error::rate_limited, "too many requests; retry later", *wait});
  }
  if (!decoded.ok()) return impl_->reply(client, conn, decoded.error());
  Request& request = decoded.request();
  std::visit([&](auto& body) { impl_->handle(client, conn, request.id, body); }, request.body);
}

void RoomService::disconnect(ClientId client) {
  auto it = impl_->connections.find(client);
  if (it == impl_->connections.end()) return;
  for (const auto& [room_id, key] : it->second.rooms)
    if (auto r = impl_->rooms.find(room_id); r != impl_->rooms.end())
      impl_->remove_presence(r->second, client);
  impl_->connections.erase(it);
}

void RoomService::tick() { impl_->tick(); }

const ServiceConfig& RoomService::config() const noexcept { return impl_->config; }
std::size_t RoomService::room_count() const noexcept { return impl_->rooms.size(); }
std::size_t RoomService::connection_count() const noexcept { return impl_->connections.size(); }

} // namespace tinychat
