// SqliteStore on its own: what a reopened file restores, the errors at start-up, and the
// failure rules of the Store contract (ordered completions, no gap after a failed append).

#include <tinychat/memory_store.hpp>
#include <tinychat/sqlite_store.hpp>

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <stdlib.h> // mkdtemp

using namespace tinychat;
namespace fs = std::filesystem;

namespace {

/// A fresh temporary directory, removed with everything in it.
struct TempDir {
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "tinychat-sqlite-XXXXXX").string();
    REQUIRE(mkdtemp(templ.data()));
    path = templ;
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

/// Completions queue here, as they would on the service's strand, until run() is called.
struct Posted {
  void run() {
    auto work = std::move(queue);
    queue.clear();
    for (auto& w : work)
      w();
  }
  SqliteStore::Post post() {
    return [this](std::function<void()> f) { queue.push_back(std::move(f)); };
  }
  std::vector<std::function<void()>> queue;
};

ChatMessage message(const std::string& room, std::uint64_t seq, std::uint8_t key,
                    std::uint64_t client_seq) {
  ChatMessage m{room,
                seq,
                "user" + std::to_string(key),
                "name" + std::to_string(key),
                {},
                client_seq,
                "text \"" + std::to_string(seq) + "\" ✓",
                {},
                1'700'000'000'000 + static_cast<TimestampMs>(seq)};
  m.pub_key.fill(key);
  m.sig.fill(static_cast<std::uint8_t>(seq));
  return m;
}

UserRecord user(const std::string& room, std::uint8_t key, std::uint64_t last_client_seq = 0) {
  UserRecord u{
      room, "user" + std::to_string(key), "name" + std::to_string(key), {}, last_client_seq};
  u.pub_key.fill(key);
  return u;
}

// Applies the same writes to any store; every completion must report success.
void write_sample(Store& store, const std::function<void()>& settle) {
  auto ok = [](std::error_code ec) { CHECK_FALSE(ec); };
  store.create_room({"room-a", 1000, 61000}, ok);
  store.create_room({"room-b", 2000, 62000}, ok);
  store.create_room({"room-c", 3000, 63000}, ok);
  store.save_user(user("room-a", 1), ok);
  store.save_user(user("room-a", 2), ok);
  store.save_user(user("room-b", 1), ok);
  for (std::uint64_t seq = 1; seq <= 7; ++seq)
    store.append_message(message("room-a", seq, seq % 2 ? 1 : 2, 10 + seq), 5, ok);
  store.append_message(message("room-b", 1, 1, 3), 5, ok);
  store.save_user(user("room-a", 2, 16), ok); // a rejoin: name and counter rewritten
  store.delete_room("room-c", ok);
  store.append_message(message("room-c", 1, 1, 1), 5, ok); // the room is gone: dropped
  settle();
}

void check_same(const std::vector<RoomSnapshot>& got, const std::vector<RoomSnapshot>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CAPTURE(want[i].room.room_id);
    CHECK(got[i].room.room_id == want[i].room.room_id);
    CHECK(got[i].room.created_at == want[i].room.created_at);
    CHECK(got[i].room.expires_at == want[i].room.expires_at);
    CHECK(got[i].last_seq == want[i].last_seq);
    CHECK(got[i].messages == want[i].messages);
    REQUIRE(got[i].users.size() == want[i].users.size());
    for (std::size_t u = 0; u < got[i].users.size(); ++u) {
      CHECK(got[i].users[u].room_id == want[i].users[u].room_id);
      CHECK(got[i].users[u].user_id == want[i].users[u].user_id);
      CHECK(got[i].users[u].user_name == want[i].users[u].user_name);
      CHECK(got[i].users[u].pub_key == want[i].users[u].pub_key);
      CHECK(got[i].users[u].last_client_seq == want[i].users[u].last_client_seq);
    }
  }
}

void set_user_version(const fs::path& file, int version) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  auto sql = "PRAGMA user_version = " + std::to_string(version);
  CHECK(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
}

std::string open_error(const fs::path& file) {
  try {
    SqliteStore store(file, Durability::process, [](std::function<void()>) {});
  } catch (const StoreOpenError& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_CASE("sqlite: a reopened file restores every room, user and message exactly") {
  TempDir dir;
  MemoryStore reference;
  write_sample(reference, [] {});
  Posted posted;
  {
    SqliteStore store(dir.path / "chat.db", Durability::power, posted.post());
    write_sample(store, [&] {
      store.wait_idle();
      posted.run();
    });
    check_same(store.load_rooms(), reference.load_rooms());
  }
  SqliteStore reopened(dir.path / "chat.db", Durability::process, posted.post());
  auto rooms = reopened.load_rooms();
  check_same(rooms, reference.load_rooms());
  REQUIRE(rooms.size() == 2);
  CHECK(rooms[0].last_seq == 7);
  CHECK(rooms[0].messages.front().seq == 3); // keep = 5
  CHECK(rooms[0].users[1].last_client_seq == 16);
}

TEST_CASE("sqlite: completions come through Post, in issue order, after the commit") {
  TempDir dir;
  Posted posted;
  SqliteStore store(dir.path / "chat.db", Durability::process, posted.post());
  std::vector<int> order;
  store.create_room({"r", 1, 2}, [&](std::error_code ec) { order.push_back(ec ? -1 : 0); });
  for (int i = 1; i <= 50; ++i)
    store.append_message(message("r", static_cast<std::uint64_t>(i), 1, 1), 100,
                         [&, i](std::error_code ec) { order.push_back(ec ? -1 : i); });
  store.wait_idle();
  CHECK(order.empty()); // nothing runs on the writer thread
  posted.run();
  REQUIRE(order.size() == 51);
  for (int i = 0; i <= 50; ++i)
    CHECK(order[static_cast<std::size_t>(i)] == i);
}

TEST_CASE("sqlite: after a failed append, later appends of the room in flight fail too") {
  TempDir dir;
  Posted posted;
  SqliteStore store(dir.path / "chat.db", Durability::process, posted.post());
  std::vector<std::string> results;
  auto record = [&](std::string what) {
    return [&results, what](std::error_code ec) {
      results.push_back(what + (ec ? " failed" : " ok"));
    };
  };
  store.create_room({"r", 1, 2}, record("create"));
  store.append_message(message("r", 1, 1, 1), 100, record("1"));
  store.wait_idle();
  store.fail_writes(true);
  store.append_message(message("r", 2, 1, 2), 100, record("2"));
  store.wait_idle();
  store.fail_writes(false);
  // Issued before the service learnt that 2 failed: storing it would leave a gap at 2.
  store.append_message(message("r", 3, 1, 3), 100, record("3"));
  store.wait_idle();
  posted.run();
  // The service rolled back and gives seq 2 to the next message.
  store.append_message(message("r", 2, 1, 3), 100, record("2 again"));
  store.append_message(message("r", 3, 1, 4), 100, record("3 again"));
  store.wait_idle();
  posted.run();
  CHECK(results == std::vector<std::string>{"create ok", "1 ok", "2 failed", "3 failed",
                                            "2 again ok", "3 again ok"});
  auto rooms = store.load_rooms();
  REQUIRE(rooms.size() == 1);
  CHECK(rooms[0].last_seq == 3);
  REQUIRE(rooms[0].messages.size() == 3);
  CHECK(rooms[0].messages[1] == message("r", 2, 1, 3));
}

TEST_CASE("sqlite: the destructor commits what is still queued") {
  TempDir dir;
  Posted posted;
  {
    SqliteStore store(dir.path / "chat.db", Durability::process, posted.post());
    store.create_room({"r", 1, 2}, [](std::error_code) {});
    for (std::uint64_t i = 1; i <= 20; ++i)
      store.append_message(message("r", i, 1, i), 100, [](std::error_code) {});
  }
  SqliteStore reopened(dir.path / "chat.db", Durability::process, posted.post());
  auto rooms = reopened.load_rooms();
  REQUIRE(rooms.size() == 1);
  CHECK(rooms[0].messages.size() == 20);
}

TEST_CASE("sqlite: a database of a newer schema is refused, and left as it is") {
  TempDir dir;
  auto file = dir.path / "chat.db";
  {
    SqliteStore store(file, Durability::process, [](std::function<void()>) {});
  }
  set_user_version(file, 2);
  CHECK(open_error(file) ==
        file.string() + " was written by a newer tinychat (schema 2); this one knows 1");
  CHECK(open_error(file) != ""); // still version 2: nothing was "migrated" down
}

TEST_CASE("sqlite: a file that is not a database is refused with a clear message") {
  TempDir dir;
  auto file = dir.path / "chat.db";
  std::ofstream(file) << std::string(4096, 'x') << "not a database at all";
  auto message = open_error(file);
  CHECK(message.find("is not a tinychat database or is damaged") != std::string::npos);
}

TEST_CASE("sqlite: another program's SQLite database is refused") {
  TempDir dir;
  auto file = dir.path / "other.db";
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  CHECK(sqlite3_exec(db, "CREATE TABLE t (x)", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  CHECK(open_error(file).find("another program") != std::string::npos);
}

TEST_CASE("sqlite: a directory that cannot be written is refused at start") {
  TempDir dir;
  // Tests may run as root, for whom permission bits stop nothing; a path below a regular
  // file can be created by nobody, so it stands in for a read-only data directory.
  auto blocker = dir.path / "a-file";
  std::ofstream(blocker) << "x";
  auto message = open_error(blocker / "data" / "chat.db");
  CHECK(message.find("cannot create the data directory") != std::string::npos);
  // The same below /proc, where even root cannot create files.
  CHECK(open_error("/proc/tinychat-test-no-such-dir/chat.db") != "");
}
