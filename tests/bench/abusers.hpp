#pragma once
// Abusive connections for the flood scenario. Each one floods the server with one kind of bad
// traffic as fast as TCP takes it, reads whatever comes back, and reconnects at once whenever
// the server closes it, so the server meets the same pressure for the whole run.

#include "bench_client.hpp"
#include "run_state.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tinychat::bench {

/// What one kind of abuser sends, in turn over the abusers.
enum class AbuseKind {
  junk,          // frames that are not JSON
  bad_signature, // `send` to a joined room with a signature that does not verify
  history,       // `history` pages of a joined room
  create_room,   // `create_room` past the room quota
  ping,          // protocol `ping` requests
  oversized,     // a message over max_frame_bytes: closed with 1009, reconnects
  binary,        // a binary message: closed with 1003, reconnects
};
inline constexpr std::size_t abuse_kind_count = 7;
const char* abuse_kind_name(AbuseKind kind);

/// Counters of the abusers; written by their I/O threads, read after they stopped.
struct AbuseStats {
  struct PerKind {
    Counter connections, frames, replies, rate_limited, closed;
  };
  std::array<PerKind, abuse_kind_count> kinds;
  std::mutex mutex;
  std::map<std::string, std::uint64_t> closes; // "1008 flooding: ..." -> count
  std::map<std::string, std::uint64_t> errors; // reply error code -> count
};

/// Creates a room for the abusers on a connection of its own, and closes it. Throws
/// std::runtime_error when the server does not create one.
std::string create_room(Run& run);

/// `count` abusers spread over the I/O threads of `run`, flooding `room_id` (a room they may
/// join) until stop().
class Abusers {
public:
  Abusers(Run& run, unsigned count, std::string room_id);
  ~Abusers();
  Abusers(const Abusers&) = delete;
  Abusers& operator=(const Abusers&) = delete;

  void start();
  /// Asks every abuser to stop and waits up to `seconds` for them to close.
  void stop(double seconds);
  /// Rows for the report: one per kind, then closes and error codes.
  std::vector<std::string> summary() const;
  std::uint64_t frames() const;

  struct State; // shared with the abusers' coroutines, which may outlive stop()

private:
  std::shared_ptr<State> state_;
  Run& run_;
  unsigned count_;
};

} // namespace tinychat::bench
