#pragma once
/// The server's core wiring: one RoomService behind one strand, and the map from ClientId to
/// the WebSocket session that serves it.

#include "metrics.hpp"
#include "options.hpp"
#include <tinychat/clock.hpp>

#include <tinychat/redis_store.hpp>
#include <tinychat/room_service.hpp>
#include <tinychat/store.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tinychat::server {

class WebSocketSession;

/// Open WebSocket connections, in all and per address. Thread-safe.
struct ConnectionCount {
  std::mutex mutex;
  std::size_t total = 0;
  std::unordered_map<std::string, std::size_t> per_address;
};

/// One WebSocket connection's place under --max-connections and --max-connections-per-ip;
/// gives it back when destroyed. It shares the count, since a session may outlive the
/// ServerState when the server stops.
class Admission {
public:
  Admission(std::shared_ptr<ConnectionCount> count, std::string address)
      : count_(std::move(count)), address_(std::move(address)) {}
  Admission(Admission&&) noexcept = default;
  Admission& operator=(Admission&&) = delete;
  ~Admission();
  const std::string& address() const noexcept { return address_; }

private:
  std::shared_ptr<ConnectionCount> count_;
  std::string address_;
};

/// Owns the RoomService and runs every call into it on one strand. Sessions talk to it only
/// through the thread-safe members below, which post to that strand.
class ServerState final : private Outbox {
public:
  /// Opens the store `options` choose (throws StoreOpenError when it cannot) and restores
  /// its rooms.
  ServerState(boost::asio::io_context& ioc, const Options& options);
  ~ServerState() override;
  ServerState(const ServerState&) = delete;
  ServerState& operator=(const ServerState&) = delete;

  const Limits& limits() const noexcept { return limits_; }
  const RateLimit& rate_limit() const noexcept { return rate_limit_; }
  /// The token verifier every connection's Ingress shares (null: no authentication).
  const std::shared_ptr<const TokenVerifier>& token_verifier() const noexcept {
    return service_->config().token_verifier;
  }
  std::size_t max_queued_bytes() const noexcept { return max_queued_bytes_; }
  std::size_t max_queued_frames() const noexcept { return max_queued_frames_; }
  std::chrono::microseconds coalesce() const noexcept { return coalesce_; }
  std::chrono::milliseconds http_timeout() const noexcept { return http_timeout_; }
  std::chrono::milliseconds idle_timeout() const noexcept { return idle_timeout_; }

  const std::vector<std::string>& allowed_origins() const noexcept { return allowed_origins_; }

  /// Whether the store can be reached (a shared store may be away for a while); /healthz
  /// answers 503 meanwhile. Thread-safe.
  bool store_up() const noexcept { return store_up_.load(std::memory_order_relaxed); }

  /// Whether GET /metrics is served (--metrics).
  bool metrics_enabled() const noexcept { return metrics_enabled_; }
  /// The server's own counters; sessions bump them from any thread.
  ServerCounters& counters() noexcept { return counters_; }
  /// Takes a snapshot on the core strand, where the RoomService may be read, and calls
  /// `done` there with it. `done` should hand the snapshot to its own thread before doing
  /// real work (rendering), so a scrape holds the core only for a copy. Thread-safe.
  void read_metrics(std::function<void(MetricsSnapshot)> done);

  /// A place for one more WebSocket connection from `address`, or nothing when a cap is
  /// reached. Thread-safe.
  std::optional<Admission> admit(const std::string& address);

  /// Starts the periodic tick. Call once.
  void start();

  /// Registers a freshly accepted session under a new id and sends it `hello`. Thread-safe.
  ClientId add_session(const std::shared_ptr<WebSocketSession>& session, std::string address);
  /// One text message from a session; tells `session` once the core has processed it. Holds
  /// the session meanwhile: one whose reading is paused has no other operation keeping it.
  /// Thread-safe.
  void receive(ClientId id, PreparedRequest request, std::shared_ptr<WebSocketSession> session);
  /// The session's connection ended. Thread-safe; call once per add_session.
  void remove_session(ClientId id);

  /// Closes every session with 1001 and refuses new ones; calls `drained` (on the core strand)
  /// once no session is left. Thread-safe.
  void shutdown(std::function<void()> drained);

private:
  void deliver(ClientId client, Frame frame) override;
  void close(ClientId client, std::uint16_t code, std::string_view reason) override;
  void schedule_tick();
  void check_drained();

  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  Limits limits_;
  RateLimit rate_limit_;
  std::size_t max_queued_bytes_;
  std::size_t max_queued_frames_;
  std::chrono::microseconds coalesce_;
  std::chrono::milliseconds http_timeout_;
  std::chrono::milliseconds idle_timeout_;
  std::vector<std::string> allowed_origins_;
  std::size_t max_connections_;
  std::size_t max_connections_per_ip_;
  bool metrics_enabled_;
  ServerCounters counters_;
  std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();
  std::chrono::steady_clock::time_point started_steady_ = std::chrono::steady_clock::now();
  std::shared_ptr<ConnectionCount> connections_ = std::make_shared<ConnectionCount>();
  std::unique_ptr<Store> store_;             // --store memory or sqlite
  std::unique_ptr<RedisStore> shared_store_; // --store redis
  std::atomic<bool> store_up_{true};
  SystemClock clock_;
  std::unique_ptr<RoomService> service_;
  boost::asio::steady_timer tick_timer_;
  std::atomic<ClientId> next_id_{1};

  // Touched only on strand_.
  std::unordered_map<ClientId, std::weak_ptr<WebSocketSession>> sessions_;
  bool stopping_ = false;
  std::function<void()> drained_;
};

} // namespace tinychat::server
