#pragma once
// A room full of test users talking raw protocol v1 through the in-process transport.

#include <tinychat/encoding.hpp>
#include <tinychat/in_process_transport.hpp>
#include <tinychat/memory_store.hpp>
#include <tinychat/signature_verifier.hpp>
#include <tinychat/sqlite_store.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace tinychat::test {

namespace json = boost::json;

/// One connection of one user (a key). Replies are picked out by id; events stay queued.
class Peer {
public:
  /// `settle` runs after every request, so replies of an asynchronous store are in.
  /// `quota_key` is what the connection's room creations count against (its address).
  Peer(InProcessTransport& transport, KeyPair key, std::function<void()> settle = {},
       std::string quota_key = {});

  /// Sends `request` with a fresh integer id unless it has one; returns the reply.
  json::object call(json::object request);
  /// Sends raw text; returns the reply frame (the first non-event frame).
  json::object call_raw(std::string_view text);

  std::string create_room();
  /// A correctly signed join; returns the reply (joined or error).
  json::object join(std::string_view room_id, std::string_view name);
  /// A correctly signed send with the next client_seq of this peer for this room.
  json::object send(std::string_view room_id, std::string_view text);
  json::object send_with_seq(std::string_view room_id, std::uint64_t client_seq,
                             std::string_view text);
  json::object history(std::string_view room_id, std::uint64_t after_seq = 0,
                       std::uint32_t limit = 100);

  std::string join_sig(std::string_view room_id, std::string_view name) const;
  std::string message_sig(std::string_view room_id, std::string_view user_id,
                          std::uint64_t client_seq, std::string_view text) const;

  /// Takes the oldest queued event of `type`; fails the test when there is none.
  json::object event(std::string_view type);
  /// Queued events of `type`, taken.
  std::vector<json::object> events(std::string_view type);
  bool has_event(std::string_view type) const;
  std::size_t queued() const { return conn_->inbox().size(); }

  std::string pub_key_hex() const { return to_hex(key_.public_key()); }
  const KeyPair& key() const { return key_; }
  const json::object& hello() const { return hello_; }
  InProcessConnection& connection() { return *conn_; }
  /// user_id from this peer's joined reply for the room.
  std::string user_id(std::string_view room_id) const;
  void close();

private:
  std::unique_ptr<InProcessConnection> conn_;
  std::function<void()> settle_;
  KeyPair key_;
  Challenge challenge_{};
  json::object hello_;
  std::uint64_t next_id_ = 1000;
  std::map<std::string, std::string, std::less<>> user_ids_;
  std::map<std::string, std::uint64_t, std::less<>> client_seqs_;
};

enum class StoreKind { memory, sqlite };

/// The store suites run on: SqliteStore when TINYCHAT_TEST_STORE=sqlite, else MemoryStore.
/// ctest runs the store-agnostic suites once per store this way, from one binary.
StoreKind store_kind_from_env();

/// A service on a manual clock and a store, and helpers to open peers. With SqliteStore (in
/// a fresh temporary directory) every request waits for the writer and runs its completions
/// through the transport before returning, so tests read the same on both stores.
struct ChatFixture {
  /// Tests that send more than a burst of requests set their own rate limit.
  explicit ChatFixture(ServiceConfig config = {}, StoreKind kind = store_kind_from_env());
  ~ChatFixture();
  ChatFixture(const ChatFixture&) = delete;
  ChatFixture& operator=(const ChatFixture&) = delete;

  /// A new connection; `key` defaults to a fresh key pair.
  Peer& connect(std::optional<KeyPair> key = std::nullopt);
  /// A new connection sharing the key of `other`.
  Peer& connect_as(const Peer& other) { return connect(other.key()); }
  /// Drops every connection and starts a new service over the same store. A SqliteStore is
  /// closed and the database file opened again, as a restarted server would.
  void restart();
  void advance_seconds(std::int64_t s) {
    clock.advance_seconds(s);
    transport->tick();
    settle();
  }
  /// Waits until the store has completed every operation and runs its completions.
  void settle();
  /// Makes every store write fail (and store nothing) while set.
  void fail_writes(bool fail);
  Store& active_store();

  ManualClock clock;
  MemoryStore store; ///< Used when kind == memory.
  StoreKind kind;
  std::filesystem::path dir; ///< The SqliteStore's temporary directory.
  std::mutex posted_mutex;
  std::vector<std::function<void()>> posted; ///< SqliteStore completions not yet run.
  std::unique_ptr<SqliteStore> sqlite;
  ServiceConfig config_;
  std::vector<std::unique_ptr<Peer>> peers;
  std::unique_ptr<InProcessTransport> transport;
};

/// The `code` of an error frame, or "" when the frame is not an error.
/// A config whose rate limit is out of reach. The manual clock refills the bucket only as it
/// moves, and tests that are not about rate limiting must not run into it.
ServiceConfig roomy();

/// Alice and Bob, both present in one room. Neither has pending events.
struct AliceAndBob {
  explicit AliceAndBob(ServiceConfig config = roomy());
  ChatFixture chat;
  Peer& alice;
  Peer& bob;
  std::string room;
};

std::string code_of(const json::object& frame);
std::string type_of(const json::object& frame);
/// A string field of a frame ("" when missing or not a string).
std::string str_of(const json::object& frame, std::string_view key);
/// An integer field of a frame (fails the test when missing or not an integer).
std::int64_t num_of(const json::object& frame, std::string_view key);

} // namespace tinychat::test
