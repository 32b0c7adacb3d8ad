#pragma once
/// Connects clients to a RoomService inside one process: no sockets, no threads, frames passed
/// as the exact text the wire would carry. Synchronous and deterministic.

#include <tinychat/room_service.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tinychat {

class InProcessConnection;

/// Owns a RoomService and the in-process connections to it. Not thread-safe.
class InProcessTransport final : private Outbox {
public:
  InProcessTransport(Store& store, const Clock& clock, ServiceConfig config = {});
  /// A transport whose service is one node of several sharing their rooms through `store`.
  /// The store's completions and events must reach the service through run().
  InProcessTransport(SharedStore& store, const Clock& clock, ServiceConfig config = {});
  ~InProcessTransport() override;

  RoomService& service() noexcept { return service_; }

  /// Runs the service's idle and TTL cleanup and hands out the frames it produced.
  void tick();

  /// Runs `work` (e.g. a Store completion that calls into the service) and hands out the
  /// frames it produced. This is how an asynchronous Store's completions get back in.
  void run(const std::function<void()>& work);

  /// Opens a connection; its `hello` is delivered at once. `quota_key` is what its room
  /// creations count against (as a client address would); empty: no room quota.
  std::unique_ptr<InProcessConnection> connect(std::string quota_key = {});

private:
  friend class InProcessConnection;
  void deliver(ClientId client, Frame frame) override;
  void close(ClientId client, std::uint16_t code, std::string_view reason) override;
  void send_from(InProcessConnection& conn, std::string_view text);
  void closed_by_client(InProcessConnection& conn);
  void pump();

  RoomService service_;
  std::map<ClientId, InProcessConnection*> connections_;
  std::vector<InProcessConnection*> closed_; ///< Closed by the server, close handler not yet run.
  ClientId next_id_ = 1;
  bool pumping_ = false;
};

/// How a connection ended.
struct CloseInfo {
  std::uint16_t code = 0;
  std::string reason;
};

/// One client's end of an in-process connection. Received frames wait in inbox() unless a
/// handler is set; handlers run after the service call that produced the frame returns, so
/// they may send again.
class InProcessConnection {
public:
  ~InProcessConnection();
  InProcessConnection(const InProcessConnection&) = delete;
  InProcessConnection& operator=(const InProcessConnection&) = delete;

  /// Sends one text message. Like a WebSocket server, the transport closes with 1009 for a
  /// message over max_frame_bytes and 1007 for invalid UTF-8.
  void send(std::string_view text);
  /// Closes from the client side (the service sees a disconnect).
  void close();

  /// Frames received and not yet taken, oldest first.
  std::deque<std::string>& inbox() noexcept { return inbox_; }
  /// Takes the oldest received frame, if any.
  std::optional<std::string> take();

  /// Routes every later frame (and those already waiting) to `handler` instead of inbox().
  void on_frame(std::function<void(std::string_view)> handler);
  void on_close(std::function<void(const CloseInfo&)> handler);

  bool is_open() const noexcept { return !close_info_.has_value(); }
  const std::optional<CloseInfo>& close_info() const noexcept { return close_info_; }
  ClientId id() const noexcept { return id_; }

private:
  friend class InProcessTransport;
  InProcessConnection(InProcessTransport& transport, ClientId id, const ServiceConfig& config)
      : transport_(&transport), id_(id), ingress_(config.limits, {0, 0, 0}, config.token_verifier) {
  }

  InProcessTransport* transport_;
  ClientId id_;
  Ingress ingress_; ///< Prepares messages as a server's connection thread would.
  std::deque<std::string> inbox_;
  std::function<void(std::string_view)> frame_handler_;
  std::function<void(const CloseInfo&)> close_handler_;
  std::optional<CloseInfo> close_info_;
};

} // namespace tinychat
