#pragma once
// Several tinychat-servers on one private Redis, and what the cluster tests do with them:
// requests whose error replies are looked at, whole histories, sequences checked for gaps, and
// senders that keep sending while a node or Redis goes away.

#include "support/chat_user.hpp"
#include "support/redis_process.hpp"
#include "support/server_process.hpp"

#include <tinychat/protocol.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace tinychat::test {

/// The node timeout of the cluster tests: a killed node's members leave within
/// node_timeout + node_timeout / 5 (PROTOCOL.md is silent; redis_store.hpp has the design).
inline constexpr auto node_timeout = std::chrono::milliseconds(1500);

/// A private redis-server and tinychat-servers on it, all started with the same flags.
class Cluster {
public:
  /// Starts Redis and `nodes` servers with `--store redis`, its URL, the node timeout above
  /// (unless `extra_flags` gives one) and `extra_flags`.
  explicit Cluster(std::size_t nodes, std::vector<std::string> extra_flags = {});

  ServerProcess& node(std::size_t i) { return *nodes_.at(i); }
  /// Starts one more server with the cluster's flags; its index is the number of nodes before.
  ServerProcess& add_node();
  RedisProcess& redis() { return redis_; }

private:
  RedisProcess redis_;
  std::vector<std::string> flags_;
  std::vector<std::unique_ptr<ServerProcess>> nodes_;
};

/// Issues one request with `issue` and waits for its reply frame, whatever it is (unlike
/// ChatUser's requests, which throw on error replies). Throws after event_timeout.
ServerFrame request(const std::function<void(ReplyHandler)>& issue);

/// The `join` reply of `user`, an error frame included.
ServerFrame try_join(ChatUser& user, std::string_view room_id, std::string_view name);
/// The `history` reply of `user` (after_seq 0), an error frame included.
ServerFrame try_history(ChatUser& user, std::string_view room_id);

/// The error code of an error frame; nullopt for any other frame.
std::optional<error> error_code(const ServerFrame& frame);

/// Every retained message of `room_id` with seq above `after_seq`, paging with after_seq.
std::vector<ChatMessage> full_history(ChatUser& user, std::string_view room_id,
                                      std::uint64_t after_seq = 0);

/// Whether the seqs of `messages` are first, first + 1, ..., last exactly (empty: last is
/// first - 1). On failure `why` says where it broke.
bool is_run(const std::vector<ChatMessage>& messages, std::uint64_t first, std::uint64_t last,
            std::string* why = nullptr);

/// The messages `user` received in `room_id` so far, in arrival order.
std::vector<ChatMessage> received(ChatUser& user, std::string_view room_id);
/// Waits until `user` received a message of `room_id` with seq >= `seq`; all received then.
std::vector<ChatMessage> wait_for_seq(ChatUser& user, std::string_view room_id, std::uint64_t seq);

/// Milliseconds since `start`.
inline std::int64_t ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

/// Polls `done` every 20 ms until it is true (true) or `limit` passed (false).
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit);

/// One send and how it was answered.
struct Attempt {
  std::string text;
  std::optional<Sent> sent;
  std::optional<ErrorFrame> error; ///< Neither: no answer (the connection died).
  std::chrono::steady_clock::time_point answered_at{};
};

/// Sends texts "<label> #<n>" to one room on its own thread, one request at a time, until
/// stopped. A send answered `internal` is followed by a new attempt with a new text (and the
/// next client_seq, as tinychat::Client counts), after a pause. Thread-safe accessors.
class Sender {
public:
  Sender(ChatUser& user, std::string room_id, std::string label,
         std::chrono::milliseconds pause = std::chrono::milliseconds(5));
  ~Sender();
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  /// Stops sending and waits for the thread: a send without an answer is given up on after
  /// a short wait.
  void stop();
  std::vector<Attempt> attempts() const;
  /// How many sends were answered `sent` so far.
  std::size_t acknowledged() const;

private:
  void run();

  ChatUser& user_;
  std::string room_id_;
  std::string label_;
  std::chrono::milliseconds pause_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<Attempt> attempts_;
  std::thread thread_;
};

} // namespace tinychat::test
