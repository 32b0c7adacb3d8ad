#pragma once
/// GET /metrics: the server's and the RoomService's figures in the Prometheus text
/// exposition format 0.0.4.

#include <tinychat/metrics.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace tinychat::server {

/// Content-Type of the exposition format.
inline constexpr std::string_view metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";

/// Events only the server sees. Bumped by sessions on any thread, hence atomics; relaxed
/// order is enough for counters nobody synchronises on.
struct ServerCounters {
  std::atomic<std::uint64_t> websocket_opened{0};
  std::atomic<std::uint64_t> refused_capacity{0}; ///< upgrades answered 503
  std::atomic<std::uint64_t> refused_origin{0};   ///< upgrades answered 403
  std::atomic<std::uint64_t> slow_consumer_closes{0};

  static void bump(std::atomic<std::uint64_t>& counter) noexcept {
    counter.fetch_add(1, std::memory_order_relaxed);
  }
};

/// Everything one scrape shows, taken at one moment.
struct MetricsSnapshot {
  ServiceMetrics service;
  std::uint64_t websocket_connections = 0; ///< open, closing ones included
  std::uint64_t websocket_opened = 0;
  std::uint64_t refused_capacity = 0;
  std::uint64_t refused_origin = 0;
  std::uint64_t slow_consumer_closes = 0;
  double start_time_seconds = 0; ///< Unix time the process started
  double uptime_seconds = 0;
  bool store_up = true; ///< false while a shared store (Redis) cannot be reached
};

/// The exposition text of `snapshot`.
std::string render_metrics(const MetricsSnapshot& snapshot);

} // namespace tinychat::server
