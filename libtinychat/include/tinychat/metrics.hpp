#pragma once
/// Counters a RoomService keeps about its own work, for a host to export (the reference
/// server serves them at GET /metrics in Prometheus text format).

#include <tinychat/error.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace tinychat {

/// A latency histogram with fixed bucket bounds, from 50 µs to 5 s.
struct LatencyHistogram {
  /// Upper bounds of the buckets in microseconds; one more bucket holds everything above.
  static constexpr std::array<std::uint64_t, 16> bounds_us = {
      50,     100,    250,     500,     1'000,   2'500,     5'000,     10'000,
      25'000, 50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000};

  /// Observations per bucket (not cumulative); the last entry counts those above every bound.
  std::array<std::uint64_t, bounds_us.size() + 1> buckets{};
  std::uint64_t count = 0;
  std::chrono::nanoseconds sum{0};

  void record(std::chrono::nanoseconds d) noexcept {
    const std::int64_t ns = d.count();
    std::size_t i = 0; // the first bucket whose bound is >= d (Prometheus' `le`)
    while (i < bounds_us.size() && ns > static_cast<std::int64_t>(bounds_us[i]) * 1000)
      ++i;
    ++buckets[i];
    ++count;
    sum += d;
  }
};

/// The Store operations, in the order of ServiceMetrics::store_latency.
enum class StoreOperation { create_room, save_user, append_message, delete_room };
inline constexpr std::array<const char*, 4> store_operation_names = {
    "create_room", "save_user", "append_message", "delete_room"};

/// A snapshot of a RoomService's counters (RoomService::metrics). Counters only grow over
/// the service's life; gauges are the state at the time of the snapshot.
struct ServiceMetrics {
  /// Room for every `error` value, indexed by the enum's value (0 is unused).
  static constexpr std::size_t error_slots = 32;

  // Gauges.
  std::uint64_t connections = 0;     ///< connections the service knows
  std::uint64_t rooms = 0;           ///< live rooms
  std::uint64_t present_members = 0; ///< users present, summed over rooms

  // Counters.
  std::uint64_t messages_accepted = 0;  ///< messages the store confirmed (a `sent` reply)
  std::uint64_t message_deliveries = 0; ///< `message` events handed to the Outbox
  std::uint64_t frames_delivered = 0;   ///< every frame handed to the Outbox
  std::uint64_t rooms_created = 0;      ///< `room_created` replies
  std::uint64_t flood_closes = 0;       ///< connections closed with 1008 for flooding
  std::array<std::uint64_t, error_slots> rejects{}; ///< `error` replies, by code
  /// Ed25519 checks of join and send signatures, the Ingress's (on connection threads) and
  /// the service's own, by outcome.
  std::uint64_t signatures_valid = 0;
  std::uint64_t signatures_invalid = 0;
  std::uint64_t store_errors = 0; ///< store operations that completed with an error
  /// Time from the Store call to its completion, per StoreOperation (steady clock).
  std::array<LatencyHistogram, store_operation_names.size()> store_latency{};

  std::uint64_t rejected(error e) const noexcept {
    const auto i = static_cast<std::size_t>(e);
    return i < error_slots ? rejects[i] : 0;
  }
};

} // namespace tinychat
