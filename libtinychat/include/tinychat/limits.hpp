#pragma once
/// The limits a server announces in `hello.limits` (PROTOCOL.md section 7).

#include <cstdint>

namespace tinychat {

/// Every limit of protocol v1, with the protocol's defaults.
struct Limits {
  std::uint32_t max_text_chars = 1000;
  std::uint32_t max_name_chars = 32;
  std::uint32_t max_room_members = 500;
  std::uint32_t max_history = 1000;
  std::uint32_t max_frame_bytes = 65536;
  std::uint32_t max_rooms_per_connection = 16;
  std::uint32_t room_idle_seconds = 300;
  std::uint32_t room_ttl_seconds = 43200;
};

/// A per-connection token bucket on requests. `per_second == 0` disables it. The defaults
/// stop floods while leaving room for a client that pages or backfills a whole history.
struct RateLimit {
  double per_second = 200;
  double burst = 1500;
  /// A connection refused this many more requests than it had accepted since (each accepted
  /// request takes one refusal off the count) is flooding: it is closed with 1008. 0: never.
  std::uint32_t close_after_refusals = 1000;
};

} // namespace tinychat
