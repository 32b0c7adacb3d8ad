#pragma once
// What one client of fuzz_service or fuzz_shared sees, checked frame by frame against
// PROTOCOL.md: every frame is a v1 server frame, each request gets exactly one reply with its
// id, in the order of the requests, a room's messages arrive with seq last_seq + 1, + 2, ...
// from the join on, every message carries a valid signature, and history repeats the live
// events exactly.

#include "fuzz_check.hpp"

#include <tinychat/protocol.hpp>
#include <tinychat/signature_verifier.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace tinychat::fuzz {

/// Messages as every member saw them, by (room, seq): history must repeat them exactly.
using MessageLog = std::map<std::pair<std::string, std::uint64_t>, json::object>;

/// Checks the frames of one connection. Not thread-safe.
class FrameObserver {
public:
  explicit FrameObserver(MessageLog& log) : log_(&log) {}

  /// Checks one frame; returns it parsed.
  json::object observe(std::string_view text);

  /// Call before a request goes out with `id`; replies must carry the ids in that order.
  void expect_reply(const RequestId& id);
  /// Call once the transport has delivered everything the request caused (when every
  /// request is answered before the next goes out).
  void request_done(bool still_open);
  /// Requests sent and not answered yet.
  std::size_t unanswered() const { return pending_.size(); }

  /// The user id and seq state of a joined room; absent when not joined.
  const std::map<std::string, std::uint64_t, std::less<>>& joined_rooms() const {
    return last_seq_;
  }

private:
  void check_message(const json::object& message, bool live);

  MessageLog* log_;
  SignatureVerifier verifier_;
  std::map<std::string, std::uint64_t, std::less<>> last_seq_; ///< by joined room
  std::deque<RequestId> pending_;
  int replies_ = 0;
};

} // namespace tinychat::fuzz
