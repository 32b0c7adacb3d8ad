#pragma once
// Private state of RoomService: rooms, users, connections and the lifecycle indexes.

#include <tinychat/protocol.hpp>
#include <tinychat/room_service.hpp>
#include <tinychat/shared_store.hpp>

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace tinychat::detail {

/// Someone who ever joined a room, identified by key. Present while `connections` is not empty.
struct User {
  std::string user_id;
  std::string user_name; ///< The present name, or the name of the last join.
  PublicKey pub_key{};
  std::uint64_t last_client_seq = 0;
  std::set<ClientId> connections; ///< Joined, or joining while the store saves the join.
  bool announced = false;         ///< The room was told with member_joined that it is present.
};

struct Room {
  std::string id;
  TimestampMs created_at = 0;
  TimestampMs expires_at = 0;
  std::uint64_t assigned_seq = 0;  ///< Newest seq handed out, store confirmation pending or not.
  std::uint64_t committed_seq = 0; ///< Newest seq the store confirmed.
  std::deque<ChatMessage> history; ///< Newest committed messages, contiguous seqs.
  std::map<PublicKey, User> users;
  std::map<std::string, PublicKey, std::less<>> present_names; ///< Present users by name.
  std::map<ClientId, PublicKey> connections; ///< Connections that got `joined`: events go here.
  std::optional<TimestampMs> idle_deadline;  ///< Set while nobody is present.
  std::set<std::string> user_ids;
  std::string creator; ///< Quota key of whoever created it; empty when not counted.

  // With a SharedStore, a Room is this node's view of a shared room, kept while local
  // connections use it; `users` then holds the present users only.
  bool loaded = true;                 ///< false until the first read of the shared state
  std::uint64_t presence_version = 0; ///< Newest presence event applied.
  std::map<std::uint64_t, ChatMessage> early_messages; ///< Arrived before committed_seq + 1.
  std::map<std::uint64_t, PresenceEvent> early_presence;
  /// Joins waiting for the view to reach a presence version; called with nullptr when the
  /// room could not be read.
  std::vector<std::pair<std::uint64_t, std::function<void(Room*)>>> waiters;
  std::uint32_t local_uses = 0;      ///< Local connections joined or joining.
  std::uint32_t stalled_ticks = 0;   ///< Ticks an early event or a waiter has waited.
  std::uint32_t fruitless_reads = 0; ///< Reads that left waiters waiting.
  bool reading = false;              ///< A read of the shared state is on its way.
  /// A read failed, or one was asked for while another was on its way: read again.
  bool reread_wanted = false;
};

/// Room creations of one quota key.
struct QuotaUse {
  std::uint32_t live_rooms = 0;
  std::deque<TimestampMs> created; ///< Creation times within the last minute.
};

/// Replies must leave in request order even when some wait for the store.
class ReplyQueue {
public:
  /// Index of a reply to fill in later.
  std::uint64_t reserve() {
    slots_.emplace_back();
    return base_ + slots_.size() - 1;
  }
  bool idle() const { return slots_.empty(); }
  /// Fills slot `index` and returns the frames now ready to go, oldest first.
  std::vector<Frame> fill(std::uint64_t index, Frame frame) {
    std::vector<Frame> ready;
    if (index < base_ || index - base_ >= slots_.size()) return ready;
    slots_[index - base_] = std::move(frame);
    while (!slots_.empty() && slots_.front()) {
      ready.push_back(std::move(*slots_.front()));
      slots_.pop_front();
      ++base_;
    }
    return ready;
  }

private:
  std::uint64_t base_ = 0;
  std::deque<std::optional<Frame>> slots_;
};

struct Connection {
  Challenge challenge{};
  std::map<std::string, PublicKey, std::less<>> rooms; ///< Joined rooms, with the key used.
  ReplyQueue replies;
  std::string quota_key;           ///< Room creations count here without authentication.
  std::string sub;                 ///< The authenticated user; empty before a valid `auth`.
  TimestampMs auth_expires_at = 0; ///< The `exp` of that token: `sub` counts until then.
  double tokens = 0;
  /// Refused requests minus accepted ones, never below 0. A flood that lets a token refill
  /// now and then still climbs; a client that backs off when refused stays near 0.
  std::uint32_t flood_score = 0;
  TimestampMs refilled_at = 0;
  /// With a SharedStore: joins on their way, and the requests that came meanwhile. They wait
  /// because they may depend on the join's outcome (the name, the membership).
  std::uint32_t joins_pending = 0;
  std::deque<PreparedRequest> deferred;
};

} // namespace tinychat::detail
