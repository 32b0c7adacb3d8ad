#pragma once
/// A Store in one SQLite database file (target tinychat::sqlite). Writes run on the store's
/// own writer thread and are committed in batches (group commit), so the thread that drives
/// the RoomService never waits for the disk.

#include <tinychat/store.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

namespace tinychat {

/// How far an acknowledged write survives.
enum class Durability {
  process, ///< a killed process loses nothing acknowledged (WAL, synchronous=NORMAL)
  power,   ///< a power loss loses nothing acknowledged (fsync before the completion)
};

/// A database that cannot be opened or used at start-up: unwritable directory, corrupt
/// file, schema of a newer version. The message says which, and what to do.
class StoreOpenError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

class SqliteStore final : public Store {
public:
  /// Hands a completion to the thread or strand that drives the RoomService.
  using Post = std::function<void(std::function<void()>)>;

  /// Opens `file`, creating it (and the schema) when missing. Throws StoreOpenError.
  SqliteStore(std::filesystem::path file, Durability durability, Post post);
  /// Commits what is queued, then stops the writer.
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  void create_room(const RoomRecord& room, Completion done) override;
  void save_user(const UserRecord& user, Completion done) override;
  void append_message(const ChatMessage& message, std::uint32_t keep, Completion done) override;
  void delete_room(std::string_view room_id, Completion done) override;
  std::vector<RoomSnapshot> load_rooms() override;

  /// Blocks until every write queued so far is committed and its completion posted.
  void wait_idle();

  /// Receives a run of failing writes (`ok` false, with SQLite's message) and its end (`ok`
  /// true), once each, on the writer thread. Without one, both go to stderr. Set it before
  /// the first write.
  using HealthLog = std::function<void(bool ok, const std::string& message)>;
  void set_health_log(HealthLog log);

  /// Fault injection for tests: while set, every batch fails as an I/O error would: it is
  /// rolled back and each of its operations completes with std::errc::io_error.
  void fail_writes(bool fail) noexcept;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace tinychat
