#pragma once
// A SharedStore in memory, for deterministic tests of several nodes sharing rooms. It keeps
// the semantics of RedisStore's scripts (libtinychat/src/redis/redis_scripts.hpp): the same
// checks in the same order, presence versions, leaves, client_seq and history trimming.
//
// Nothing happens inside a call: operations wait in one queue, in the order they were issued,
// until the test calls settle(); each completion and each event then reaches its node through
// the node's runner (InProcessTransport::run). Publications wait per node, so a test can hold
// them, drop some (a lost Pub/Sub message) or deliver them. Rooms never go idle here.

#include <tinychat/clock.hpp>
#include <tinychat/shared_store.hpp>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tinychat::test {

using Publication = std::variant<ChatMessage, PresenceEvent>;

class FakeSharedStore {
public:
  /// The shared state of one room, as the scripts keep it.
  struct Room {
    RoomRecord record;
    std::uint64_t seq = 0; ///< last assigned
    std::uint64_t pv = 0;  ///< presence version
    std::deque<ChatMessage> messages;
    std::map<PublicKey, std::uint64_t> last_client_seq;
    std::map<PublicKey, Member> present;
    std::map<std::string, PublicKey, std::less<>> names;
    std::map<std::string, PublicKey, std::less<>> connections; ///< "<node>:<client>" -> key
    std::map<PublicKey, int> key_connections;
  };

  /// One node's handle on the store.
  class Node final : public SharedStore {
  public:
    Node(FakeSharedStore& store, std::string id) : store_(store), id_(std::move(id)) {}
    const std::string& id() const { return id_; }
    /// How completions and events get into the node's service, e.g. InProcessTransport::run.
    void set_runner(std::function<void(const std::function<void()>&)> runner) {
      runner_ = std::move(runner);
    }

    void set_events(SharedEvents* events) override { events_ = events; }
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

    /// While held, settle() leaves this node's publications queued.
    void hold(bool on) { held_ = on; }
    /// Publications not yet delivered to this node, oldest first.
    const std::deque<Publication>& pending() const { return pending_; }
    /// Loses the queued publication of message `seq` / presence version `version` of a room.
    bool drop_message(std::string_view room_id, std::uint64_t seq);
    bool drop_presence(std::string_view room_id, std::uint64_t version);
    /// Loses every queued publication (as a broken subscription would).
    void drop_all() { pending_.clear(); }
    /// Delivers every queued publication, in order.
    void deliver();
    /// Tells the service its feed was interrupted.
    void resync();
    bool watches(std::string_view room_id) const { return watched_.contains(room_id); }
    /// The store's name for a connection of this node.
    std::string connection(ClientId client) const { return id_ + ":" + std::to_string(client); }

  private:
    friend class FakeSharedStore;
    void run(const std::function<void()>& work);
    template <class T>
    void later(Done<T> done, std::function<T()> op);
    bool drop(const std::function<bool(const Publication&)>& lost);

    FakeSharedStore& store_;
    std::string id_;
    std::function<void(const std::function<void()>&)> runner_;
    SharedEvents* events_ = nullptr;
    std::set<std::string, std::less<>> watched_;
    std::deque<Publication> pending_;
    bool held_ = false;
  };

  explicit FakeSharedStore(const Clock& clock) : clock_(clock) {}

  Node& add_node();
  /// Runs the queued operations and delivers the publications of nodes not held, until there
  /// is nothing left to do.
  void settle();
  /// While set, every operation fails (an error_code) and changes nothing, except that a join
  /// still takes effect with `joins_take_effect` (the contract allows it). Leaves wait and are
  /// done once the store is back, as RedisStore retries them.
  void set_failing(bool failing, bool joins_take_effect = false);
  /// Removes every connection of `node` from every room, as the other nodes do with a node
  /// they take for dead, then tells the node.
  void evict(Node& node);
  const Room* room(std::string_view id) const;

private:
  void queue(std::function<void()> op) { ops_.push_back(std::move(op)); }
  Room* live(std::string_view id);
  void publish(const std::string& room_id, const Publication& p);
  JoinResult join_script(const Node& node, const JoinAttempt& a);
  void leave_script(Room& room, const std::string& connection);
  AppendResult append_script(const std::string& connection, ChatMessage m, std::uint32_t keep);

  const Clock& clock_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::map<std::string, Room, std::less<>> rooms_;
  std::deque<std::function<void()>> ops_;
  std::vector<std::function<void()>> parked_leaves_;
  bool failing_ = false;
  bool joins_take_effect_ = false;
};

} // namespace tinychat::test
