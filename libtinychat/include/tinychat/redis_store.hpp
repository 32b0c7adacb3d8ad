#pragma once
/// A SharedStore in Redis (target tinychat::redis): several tinychat servers on one Redis
/// serve the same rooms. Each decision (a join, a message's seq) is one Lua script, atomic
/// for every node; events reach the nodes by Pub/Sub, one channel per room. Nodes announce
/// themselves with heartbeats; a node silent for `node_timeout` is taken for dead and its
/// members are removed from every room by the others.

#include <tinychat/shared_store.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace tinychat {

struct RedisStoreOptions {
  /// redis://HOST[:PORT][/DB]
  std::string url = "redis://127.0.0.1:6379";
  /// A node whose heartbeat is older than this is removed with its members. It beats five
  /// times per timeout.
  std::chrono::milliseconds node_timeout{10'000};
  /// How long a room without members lives on (Limits::room_idle_seconds of the nodes).
  std::chrono::milliseconds room_idle{300'000};
  /// Put before every key and channel, so several deployments can share one Redis.
  std::string key_prefix = "tinychat:";
};

class RedisStore final : public SharedStore {
public:
  /// Connects in the background and keeps reconnecting, with backoff, while Redis is away;
  /// meanwhile every operation fails with an error. `executor` must be the strand (or
  /// single thread) that drives the RoomService: every completion and event runs there.
  /// Throws std::invalid_argument for a malformed URL.
  RedisStore(boost::asio::any_io_executor executor, RedisStoreOptions options);
  ~RedisStore() override;
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  /// Throws std::invalid_argument, saying what is wrong, unless `url` is a valid
  /// redis://HOST[:PORT][/DB].
  static void check_url(std::string_view url);

  /// Receives each loss of Redis (`up` false, with the reason) and each return (`up` true).
  using HealthLog = std::function<void(bool up, const std::string& detail)>;
  void set_health_log(HealthLog log);
  /// Whether commands reach Redis now.
  bool up() const noexcept;
  /// This node's name in Redis (random, new at every start).
  const std::string& node_id() const noexcept;
  /// Removes this node and its members from every room at once (instead of after
  /// node_timeout), then closes the connections; `done` runs when finished, or after at most
  /// `limit`. Call on the executor, after the last connection left.
  void close(std::chrono::milliseconds limit, std::function<void()> done);

  void set_events(SharedEvents* events) override;
  void create_room(const RoomRecord& room, Store::Completion done) override;
  void join(const JoinAttempt& attempt, Done<JoinResult> done) override;
  void leave(std::string_view room_id, ClientId client) override;
  void append(ClientId client, const ChatMessage& message, std::uint32_t keep,
              Done<AppendResult> done) override;
  void watch(std::string_view room_id, Store::Completion done) override;
  void unwatch(std::string_view room_id) override;
  void read_room(std::string_view room_id, Done<std::optional<RoomView>> done) override;
  void read_messages(std::string_view room_id, std::uint64_t after_seq,
                     Done<std::vector<ChatMessage>> done) override;
  void room_exists(std::string_view room_id, Done<bool> done) override;

private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

} // namespace tinychat
