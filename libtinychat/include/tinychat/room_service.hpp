#pragma once
/// The transport-agnostic core of protocol v1: rooms, members, presence, ordering, history,
/// limits and lifecycle. It owns no socket, thread or timer.

#include <tinychat/clock.hpp>
#include <tinychat/ingress.hpp>
#include <tinychat/limits.hpp>
#include <tinychat/metrics.hpp>
#include <tinychat/shared_store.hpp>
#include <tinychat/store.hpp>
#include <tinychat/token_verifier.hpp>
#include <tinychat/types.hpp>

#include <cstdint>
#include <memory>
#include <string_view>

namespace tinychat {

/// How a RoomService reaches connections. Called only from inside RoomService calls.
class Outbox {
public:
  virtual ~Outbox() = default;
  /// Queues `frame` (one complete text message) for `client`. Must not call back into the
  /// service synchronously.
  virtual void deliver(ClientId client, Frame frame) = 0;
  /// Closes `client`'s connection with a WebSocket close code. The transport then calls
  /// RoomService::disconnect.
  virtual void close(ClientId client, std::uint16_t code, std::string_view reason) = 0;
};

/// Room creation per user: its token's `sub` with authentication, else its connection's
/// quota key (the address). 0: no limit.
struct RoomQuota {
  std::uint32_t live_rooms = 100;        ///< rooms it created that are still alive
  std::uint32_t created_per_minute = 60; ///< rooms it created in the last 60 s
};

/// Settings of a RoomService.
struct ServiceConfig {
  Limits limits;
  RateLimit rate_limit;
  RoomQuota room_quota;
  /// Token authentication (PROTOCOL.md 9): with a verifier, `create_room` needs an `auth`
  /// whose token is still valid, and room quotas count per token `sub`. Null: off.
  std::shared_ptr<const TokenVerifier> token_verifier;
};

/// Serves protocol v1 to any number of connections.
///
/// Not thread-safe: all calls, and the Store's completions, must come from one thread or
/// strand. Nothing a peer sends throws; every bad request becomes an `error` frame.
class RoomService {
public:
  /// Restores the rooms `store` holds. `outbox`, `store` and `clock` must outlive the service.
  RoomService(Outbox& outbox, Store& store, const Clock& clock, ServiceConfig config = {});
  /// One node of several sharing their rooms through `store`: it serves any room the store
  /// holds, and keeps a view only of the rooms its connections joined. Room quotas then count
  /// per node. `outbox`, `store` and `clock` must outlive the service.
  RoomService(Outbox& outbox, SharedStore& store, const Clock& clock, ServiceConfig config = {});
  ~RoomService();
  RoomService(const RoomService&) = delete;
  RoomService& operator=(const RoomService&) = delete;

  /// A new connection: sends it `hello` with a fresh challenge. `quota_key` names who its
  /// room creations count against without authentication (PROTOCOL.md 9: the client's
  /// address); empty: no room quota. With a token verifier, the token's `sub` counts instead.
  void connect(ClientId client, std::string quota_key = {});
  /// One complete text message from `client` (valid UTF-8, within max_frame_bytes: the
  /// transport enforces those with close codes 1007 and 1009).
  void receive(ClientId client, std::string_view text);
  /// The same for a message an Ingress prepared on the connection's thread: decoding and a
  /// matching signature check are not done again.
  void receive(ClientId client, PreparedRequest request);
  /// The connection is gone: it leaves all its rooms. Unknown ids are ignored.
  void disconnect(ClientId client);
  /// Deletes idle rooms and closes expired ones. Call about once a second; cost grows with
  /// the number of rooms due, not with the number of rooms.
  void tick();

  const ServiceConfig& config() const noexcept;
  std::size_t room_count() const noexcept;
  std::size_t connection_count() const noexcept;
  /// A copy of the service's counters and gauges. Like every call, on the service's thread;
  /// costs one pass over the rooms (for present_members), so call it per scrape, not per
  /// request.
  ServiceMetrics metrics() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace tinychat
