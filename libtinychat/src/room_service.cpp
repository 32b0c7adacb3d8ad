// RoomService's public interface: connections in, frames dispatched to the handlers.

#include "service_impl.hpp"

#include <type_traits>

namespace tinychat {

// ---- public interface ------------------------------------------------------------------------

RoomService::RoomService(Outbox& outbox, Store& store, const Clock& clock, ServiceConfig config)
    : impl_(std::make_unique<Impl>(outbox, &store, nullptr, clock, config)) {
  for (auto& snapshot : store.load_rooms()) {
    Room& room = impl_->add_room(snapshot.room);
    room.assigned_seq = room.committed_seq = snapshot.last_seq;
    for (auto& m : snapshot.messages)
      room.history.push_back(std::move(m));
    while (room.history.size() > config.limits.max_history)
      room.history.pop_front();
    for (auto& u : snapshot.users) {
      room.user_ids.insert(u.user_id);
      room.users.emplace(u.pub_key, User{u.user_id, u.user_name, u.pub_key, u.last_client_seq, {}});
    }
  }
}

RoomService::RoomService(Outbox& outbox, SharedStore& store, const Clock& clock,
                         ServiceConfig config)
    : impl_(std::make_unique<Impl>(outbox, nullptr, &store, clock, config)) {
  store.set_events(impl_.get());
}

RoomService::~RoomService() = default;

void RoomService::connect(ClientId client, std::string quota_key) {
  auto& conn = impl_->connections[client];
  conn.quota_key = std::move(quota_key);
  random_bytes(conn.challenge);
  conn.tokens = impl_->config.rate_limit.burst;
  conn.refilled_at = impl_->clock.now();
  impl_->deliver(client, Impl::encode(Hello{1, conn.challenge, impl_->config.limits,
                                            impl_->config.token_verifier != nullptr}));
}

void RoomService::receive(ClientId client, std::string_view text) {
  receive(client, PreparedRequest{Protocol::decode_request(text), std::nullopt});
}

void RoomService::receive(ClientId client, PreparedRequest prepared) {
  // The Ingress verified on the connection's thread; counting here keeps every counter on
  // the core's thread, with no atomics.
  if (prepared.signature) impl_->count_signature(prepared.signature->valid);
  auto it = impl_->connections.find(client);
  if (it == impl_->connections.end()) return;
  Connection& conn = it->second;
  if (auto wait = impl_->take_token(conn)) {
    auto& decoded = prepared.decoded;
    const auto close_after = impl_->config.rate_limit.close_after_refusals;
    if (close_after && ++conn.flood_score >= close_after) {
      // Requests already on their way keep coming until the transport disconnects; the
      // connection is closed (and counted) once.
      if (conn.flood_score > close_after) return;
      ++impl_->metrics->flood_closes;
      return impl_->outbox.close(client, 1008, "flooding: too many requests refused");
    }
    RequestId id = decoded.ok() ? decoded.request().id : decoded.error().id;
    return impl_->reply(
        client, conn, ErrorFrame{id, error::rate_limited, "too many requests; retry later", *wait});
  }
  if (conn.flood_score > 0) --conn.flood_score;
  if (conn.joins_pending) return conn.deferred.push_back(std::move(prepared));
  impl_->dispatch(client, conn, prepared);
}

void RoomService::Impl::dispatch(ClientId client, Connection& conn, PreparedRequest& prepared) {
  auto& decoded = prepared.decoded;
  if (!decoded.ok()) return reply(client, conn, decoded.error());
  Request& request = decoded.request();
  std::visit(
      [&](auto& body) {
        using Body = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<Body, SendRequest>) {
          if (shared) return handle_shared(client, conn, request.id, body, prepared.signature);
          handle(client, conn, request.id, body, prepared.signature);
        } else if constexpr (std::is_same_v<Body, AuthRequest>) {
          handle(client, conn, request.id, body, prepared.token);
        } else if constexpr (std::is_same_v<Body, PingRequest>) {
          handle(client, conn, request.id, body);
        } else {
          if (shared) return handle_shared(client, conn, request.id, body);
          handle(client, conn, request.id, body);
        }
      },
      request.body);
}

void RoomService::disconnect(ClientId client) {
  auto it = impl_->connections.find(client);
  if (it == impl_->connections.end()) return;
  for (const auto& [room_id, key] : it->second.rooms)
    if (impl_->shared)
      impl_->leave_shared(client, room_id, key);
    else if (auto r = impl_->rooms.find(room_id); r != impl_->rooms.end())
      impl_->remove_presence(r->second, client, key);
  impl_->connections.erase(it);
}

void RoomService::tick() {
  if (impl_->shared)
    impl_->tick_shared();
  else
    impl_->tick();
}

const ServiceConfig& RoomService::config() const noexcept { return impl_->config; }
std::size_t RoomService::room_count() const noexcept { return impl_->rooms.size(); }
std::size_t RoomService::connection_count() const noexcept { return impl_->connections.size(); }

ServiceMetrics RoomService::metrics() const {
  ServiceMetrics m = *impl_->metrics;
  m.connections = impl_->connections.size();
  m.rooms = impl_->rooms.size();
  // Summed when asked rather than kept up to date on every join and leave: a snapshot is
  // rare, and a sum cannot drift from the state it describes.
  for (const auto& [id, room] : impl_->rooms)
    m.present_members += room.present_names.size();
  return m;
}

} // namespace tinychat
