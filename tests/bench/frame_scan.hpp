#pragma once
// A single-pass scanner for the top level of a server frame: the few fields the bench reads,
// without building a JSON document (at 500,000 deliveries a second the bench shares the
// machine with the server, so it cannot afford a DOM per frame).

#include <cstdint>
#include <string_view>

namespace tinychat::bench {

/// The top-level fields of one server frame that the bench uses. String views point into the
/// scanned text and hold the raw JSON spelling between the quotes: escapes are not decoded.
/// That is exact for every field read here (`type`, `room_id`, `user_id`, `code`,
/// `challenge` never need escapes in protocol v1); nested values (`members`, `limits`) are
/// skipped whole.
struct FrameFields {
  std::string_view type;
  std::string_view room_id;
  std::string_view user_id;
  std::string_view code;
  std::string_view challenge;
  std::uint64_t id = 0;
  std::uint64_t seq = 0;
  std::uint64_t client_seq = 0;
  std::uint64_t last_seq = 0;
  bool has_id = false;
  bool has_seq = false;
  bool has_client_seq = false;
};

/// Scans `json`, one JSON object, into `out`. False when it is not one well-formed object at
/// the top level (nested values are only checked for balanced brackets and strings).
bool scan_frame(std::string_view json, FrameFields& out) noexcept;

} // namespace tinychat::bench
