#pragma once
// What one run of a room scenario holds: rooms, members (one connection each), senders, the
// counters of each I/O thread and the phase clock. Set up by setup.cpp, driven by traffic.cpp.

#include "bench_client.hpp"
#include "histogram.hpp"
#include "options.hpp"

#include <tinychat/signature_verifier.hpp>

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tinychat::bench {

using Clock = std::chrono::steady_clock;

inline std::int64_t to_ns(Clock::time_point t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

/// A counter with one writer (its I/O thread) and any number of readers.
struct Counter {
  std::atomic<std::uint64_t> value{0};
  void add(std::uint64_t n = 1) noexcept {
    value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t get() const noexcept { return value.load(std::memory_order_relaxed); }
};

/// Everything one I/O thread counts. The histograms and the error map are read only once the
/// threads have stopped.
struct alignas(64) ThreadStats {
  Counter sends, accepted, deliveries, errors, pings, pongs, events, cycles;
  Counter cross_node; // deliveries to a member on another server than the sender's
  Counter gaps, missing, duplicates, reordered, bad_frames, foreign, unexpected_closes;
  Histogram latency;     // send -> delivery (churn: one cycle)
  Histogram ack_latency; // send -> `sent`
  std::map<std::string, std::uint64_t> error_codes;

  void error(std::string_view code) {
    errors.add();
    ++error_codes[std::string(code)];
  }
};

/// When sending runs and which sends count: written by the main thread, read by all.
struct Phase {
  Clock::time_point start; // sending starts (warm-up begins)
  std::atomic<bool> sending{false};
  std::atomic<std::int64_t> measure_from{std::numeric_limits<std::int64_t>::max()};
  std::atomic<std::int64_t> measure_until{std::numeric_limits<std::int64_t>::max()};

  bool measured(std::int64_t sent_ns) const noexcept {
    return sent_ns >= measure_from.load(std::memory_order_relaxed) &&
           sent_ns < measure_until.load(std::memory_order_relaxed);
  }
};

struct Room;
struct Run;

/// A member that sends: its pre-signed messages and its send schedule.
struct Sender {
  struct Member* member = nullptr;
  unsigned index_in_room = 0;
  std::string filler;                // text after the client_seq prefix
  std::string request_head;          // {"type":"send","room_id":"...","client_seq":
  std::vector<Signature> signatures; // of client_seq 1..budget
  std::unique_ptr<std::atomic<std::int64_t>[]> sent_at; // ns, per client_seq - 1
  std::uint64_t budget = 0;
  std::uint64_t next = 1;   // client_seq of the next send
  std::uint64_t oldest = 1; // client_seq of the oldest unanswered send
  std::uint64_t last_ack_seq = 0;
  std::atomic<std::uint32_t> in_flight{0};
  double rate = 0;  // msgs/s; 0: unpaced
  double phase = 0; // 0..1 of a message interval, spreads senders
  bool exhausted = false;
};

/// One connection, joined to one room, checking every frame it receives.
struct Member final : FrameSink {
  Run* run = nullptr;
  Room* room = nullptr;
  net::io_context* ioc = nullptr;
  ThreadStats* stats = nullptr;
  unsigned node = 0; // index of the server (--url) it is connected to
  std::unique_ptr<Connection> connection;
  std::optional<KeyPair> key;
  std::string name;
  std::string user_id;
  Sender* sender = nullptr;
  std::atomic<std::uint64_t> last_seq{0};        // the newest seq seen, in order
  std::vector<std::uint64_t> last_client_seq;    // per sender of the room
  std::unique_ptr<net::steady_timer> ping_timer; // idle
  std::atomic<bool> ended{false};

  void on_frame(Connection& connection, const FrameFields& fields, std::string_view raw) override;
  void on_close(Connection& connection, std::uint16_t code, bool expected) override;
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

struct Room {
  std::string id;
  std::vector<Member*> members;
  std::vector<Sender*> senders;
  /// user_id -> index in `senders`; built before sending starts, read-only afterwards.
  std::unordered_map<std::string, unsigned, StringHash, std::equal_to<>> sender_index;
  std::atomic<std::uint64_t> max_acked_seq{0};
  Counter joined_events, left_events;   // seen by members[0] (churn)
  std::atomic<std::uint64_t> cycles{0}; // churn cycles completed in this room
};

/// Drives the senders of one I/O thread: a timer every millisecond when sends are paced.
struct Pacer {
  explicit Pacer(net::io_context& ioc) : timer(ioc) {}
  net::steady_timer timer;
  std::vector<Sender*> senders;
  Clock::time_point next_tick;
};

/// One run of a room scenario. Destroy only from the main thread; it stops the I/O threads
/// before the connections go.
struct Run {
  Run(const Options& options, std::vector<Endpoint> endpoints);
  ~Run();

  const Options& options;
  std::vector<Endpoint> endpoints; // one per --url; not resized once the run is built
  IoThreads threads;
  std::vector<std::unique_ptr<ThreadStats>> stats; // per I/O thread
  std::deque<Room> rooms;
  std::deque<Member> members;
  std::deque<Sender> senders;
  std::deque<Pacer> pacers; // per I/O thread
  Phase phase;
};

/// The challenge of a `hello` frame; throws std::runtime_error for any other frame.
Challenge challenge_of(const FrameFields& hello);

/// A signed `join` request. `name` must need no JSON escaping.
std::string join_request(std::uint64_t id, const std::string& room_id, const std::string& name,
                         const KeyPair& key, const Challenge& challenge);

/// Creates rooms and members (members[i] on I/O thread i % threads), connects every member
/// and joins it to its room; the first member of each room creates it. The k-th member of a
/// room (its senders first) connects to endpoints[k % endpoints.size()]. Throws
/// std::runtime_error when a member cannot be set up in time.
void set_up_rooms(Run& run, unsigned rooms, unsigned members_per_room, unsigned senders_per_room,
                  unsigned connections_in_all = 0);

/// Signs every message each sender may send, on all CPUs, and builds the rooms' sender
/// indexes. Senders must have their budget set.
void presign(Run& run);

/// Sends one pre-signed message now (on the sender's thread).
void send_next(Run& run, Sender& sender, Clock::time_point now);

/// Sends what is due by `now` (everything, unpaced) while the window has room, on the
/// sender's thread, as long as run.phase.sending holds.
void pump(Run& run, Sender& sender, Clock::time_point now);

/// Starts the pacers (paced runs) or fills every sender's window (unpaced); from the main
/// thread once run.phase.sending is set.
void start_sending(Run& run);

/// From the main thread: starts pinging every member every `interval` (idle), the first
/// ping at a random point of the first interval, while run.phase.sending holds.
void start_pinging(Run& run, Clock::duration interval);

/// The text of message `client_seq` of a sender: its decimal number, a space, then filler up
/// to `text_bytes` in all. Appended to `out`.
void append_text(std::string& out, std::uint64_t client_seq, const std::string& filler,
                 unsigned text_bytes);

} // namespace tinychat::bench
