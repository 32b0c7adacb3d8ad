#include "server_state.hpp"

#include "data_dir.hpp"
#include "log.hpp"
#include "websocket_session.hpp"

#include <tinychat/memory_store.hpp>
#include <tinychat/sqlite_store.hpp>

#include <boost/asio/post.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <chrono>
#include <utility>

namespace tinychat::server {

namespace net = boost::asio;

namespace {

std::unique_ptr<Store> open_store(const Options& options, SqliteStore::Post post) {
  if (options.store == "redis") return nullptr;
  if (options.store == "memory") return std::make_unique<MemoryStore>();
  auto store = std::make_unique<SqliteStore>(open_data_dir(options.data_dir), options.durability,
                                             std::move(post));
  store->set_health_log([](bool ok, const std::string& message) {
    if (ok)
      log_event(LogLevel::warn, "store_recovered", {{"detail", message}});
    else
      log_event(LogLevel::error, "store_error", {{"detail", message}});
  });
  return store;
}

std::unique_ptr<RedisStore> open_shared_store(const Options& options,
                                              boost::asio::any_io_executor executor) {
  if (options.store != "redis") return nullptr;
  RedisStoreOptions redis;
  redis.url = options.redis_url;
  redis.node_timeout = options.redis_node_timeout;
  redis.room_idle = std::chrono::seconds(options.service.limits.room_idle_seconds);
  redis.key_prefix = options.redis_key_prefix;
  return std::make_unique<RedisStore>(std::move(executor), std::move(redis));
}

} // namespace

ServerState::ServerState(net::io_context& ioc, const Options& options)
    : strand_(net::make_strand(ioc)), limits_(options.service.limits),
      rate_limit_(options.service.rate_limit), max_queued_bytes_(options.max_queued_bytes),
      max_queued_frames_(options.max_queued_frames), coalesce_(options.coalesce),
      http_timeout_(options.http_timeout), idle_timeout_(options.idle_timeout),
      allowed_origins_(options.allowed_origins), max_connections_(options.max_connections),
      max_connections_per_ip_(options.max_connections_per_ip), metrics_enabled_(options.metrics),
      store_(open_store(
          options, [this](std::function<void()> done) { net::post(strand_, std::move(done)); })),
      shared_store_(open_shared_store(options, strand_)), tick_timer_(strand_) {
  if (store_) {
    service_ = std::make_unique<RoomService>(static_cast<Outbox&>(*this), *store_, clock_,
                                             options.service);
    return;
  }
  store_up_ = false;
  shared_store_->set_health_log([this](bool up, const std::string& detail) {
    // Runs on the strand, like everything that touches the store.
    store_up_ = shared_store_->up();
    if (up)
      log_event(LogLevel::info, "store_connected", {{"detail", detail}});
    else
      log_event(LogLevel::error, "store_error", {{"detail", detail}});
  });
  service_ = std::make_unique<RoomService>(static_cast<Outbox&>(*this), *shared_store_, clock_,
                                           options.service);
  log_event(LogLevel::info, "cluster_node", {{"node", shared_store_->node_id()}});
}

ServerState::~ServerState() = default;

std::optional<Admission> ServerState::admit(const std::string& address) {
  std::lock_guard lock(connections_->mutex);
  if (max_connections_ && connections_->total >= max_connections_) return std::nullopt;
  auto& from_address = connections_->per_address[address];
  if (max_connections_per_ip_ && from_address >= max_connections_per_ip_) return std::nullopt;
  ++connections_->total;
  ++from_address;
  return Admission(connections_, address);
}

Admission::~Admission() {
  if (!count_) return; // moved from
  std::lock_guard lock(count_->mutex);
  --count_->total;
  auto it = count_->per_address.find(address_);
  if (it != count_->per_address.end() && --it->second == 0) count_->per_address.erase(it);
}

void ServerState::read_metrics(std::function<void(MetricsSnapshot)> done) {
  net::post(strand_, [this, done = std::move(done)] {
    MetricsSnapshot s;
    s.service = service_->metrics();
    {
      std::lock_guard lock(connections_->mutex);
      s.websocket_connections = connections_->total;
    }
    const auto load = [](const std::atomic<std::uint64_t>& c) {
      return c.load(std::memory_order_relaxed);
    };
    s.websocket_opened = load(counters_.websocket_opened);
    s.refused_capacity = load(counters_.refused_capacity);
    s.refused_origin = load(counters_.refused_origin);
    s.slow_consumer_closes = load(counters_.slow_consumer_closes);
    using seconds = std::chrono::duration<double>;
    s.start_time_seconds = seconds(started_.time_since_epoch()).count();
    s.uptime_seconds = seconds(std::chrono::steady_clock::now() - started_steady_).count();
    s.store_up = store_up();
    done(std::move(s));
  });
}

void ServerState::start() {
  net::post(strand_, [this] { schedule_tick(); });
}

void ServerState::schedule_tick() {
  if (stopping_) return;
  // Twice a second keeps idle deletion and expiry well inside PROTOCOL.md's 3 s / 5 s bounds.
  tick_timer_.expires_after(std::chrono::milliseconds(500));
  tick_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    service_->tick();
    schedule_tick();
  });
}

ClientId ServerState::add_session(const std::shared_ptr<WebSocketSession>& session,
                                  std::string address) {
  const ClientId id = next_id_.fetch_add(1, std::memory_order_relaxed);
  net::post(strand_, [this, id, weak = std::weak_ptr<WebSocketSession>(session),
                      address = std::move(address)]() mutable {
    sessions_.emplace(id, weak);
    if (stopping_) {
      // Upgraded while we were shutting down: close it like every other session.
      if (auto s = weak.lock())
        s->close(static_cast<std::uint16_t>(boost::beast::websocket::close_code::going_away),
                 "server shutting down");
      return;
    }
    // Without authentication, room creations count per client address (PROTOCOL.md 9).
    service_->connect(id, "ip " + address);
  });
  return id;
}

void ServerState::receive(ClientId id, PreparedRequest request,
                          std::shared_ptr<WebSocketSession> session) {
  net::post(strand_,
            [this, id, request = std::move(request), session = std::move(session)]() mutable {
              if (!stopping_) service_->receive(id, std::move(request));
              session->processed();
            });
}

void ServerState::remove_session(ClientId id) {
  net::post(strand_, [this, id] {
    sessions_.erase(id);
    service_->disconnect(id);
    check_drained();
  });
}

void ServerState::shutdown(std::function<void()> drained) {
  net::post(strand_, [this, drained = std::move(drained)]() mutable {
    stopping_ = true;
    drained_ = std::move(drained);
    tick_timer_.cancel();
    for (auto& [id, weak] : sessions_)
      if (auto s = weak.lock())
        s->close(static_cast<std::uint16_t>(boost::beast::websocket::close_code::going_away),
                 "server shutting down");
    check_drained();
  });
}

void ServerState::check_drained() {
  if (!stopping_ || !sessions_.empty() || !drained_) return;
  auto drained = std::exchange(drained_, nullptr);
  // The other servers learn at once that this one's members left, not after its timeout.
  if (shared_store_) return shared_store_->close(std::chrono::seconds(1), std::move(drained));
  drained();
}

void ServerState::deliver(ClientId client, Frame frame) {
  const auto it = sessions_.find(client);
  if (it == sessions_.end()) return;
  if (auto s = it->second.lock()) s->send(frame);
}

void ServerState::close(ClientId client, std::uint16_t code, std::string_view reason) {
  const auto it = sessions_.find(client);
  if (it == sessions_.end()) return;
  auto s = it->second.lock();
  if (!s) return;
  log_event(LogLevel::warn, code == 1008 ? "flood_close" : "server_close",
            {{"client", std::to_string(client)},
             {"ip", s->address()},
             {"code", std::to_string(code)},
             {"reason", std::string(reason)}});
  s->close(code, std::string(reason));
}

} // namespace tinychat::server
