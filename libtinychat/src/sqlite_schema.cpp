#include "sqlite_schema.hpp"

#include <string>
#include <system_error>

namespace tinychat::detail {
namespace {

// Marks the file as ours (PRAGMA application_id), so another program's SQLite file is refused
// instead of being "migrated". ASCII "tcht".
constexpr int application_id = 0x74636874;

// Version 1: rooms with their counters, everyone who ever joined, and retained history.
// Explicit deletes in delete_room do the work; the cascades are a safety net.
constexpr const char* schema_v1 = R"sql(
CREATE TABLE rooms (
  id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  last_seq INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE users (
  room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  pub_key BLOB NOT NULL,
  user_id TEXT NOT NULL,
  user_name TEXT NOT NULL,
  last_client_seq INTEGER NOT NULL,
  PRIMARY KEY (room_id, pub_key)
);
CREATE TABLE messages (
  room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  user_name TEXT NOT NULL,
  pub_key BLOB NOT NULL,
  client_seq INTEGER NOT NULL,
  text TEXT NOT NULL,
  sig BLOB NOT NULL,
  ts INTEGER NOT NULL,
  PRIMARY KEY (room_id, seq)
);
)sql";

int pragma_int(const SqliteDb& db, const char* sql) {
  Statement s(db, sql);
  return s.step() ? static_cast<int>(s.int64(0)) : 0;
}

// Brings the schema from `from` to schema_version in one transaction. Version 2 adds a
// `if (from < 2)` step below the first; a database is never left between versions.
void migrate(const SqliteDb& db, int from) {
  db.exec("BEGIN IMMEDIATE");
  try {
    if (from < 1) db.exec(schema_v1);
    // Written even when nothing changed: this first write proves at start-up, not at the
    // first message, that the file and its directory (WAL, -shm) are writable.
    db.exec(("PRAGMA user_version = " + std::to_string(schema_version) +
             "; PRAGMA application_id = " + std::to_string(application_id))
                .c_str());
    db.exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

[[noreturn]] void fail(const std::filesystem::path& file, const SqliteError& e) {
  std::string f = file.string();
  switch (e.code() & 0xff) { // the primary result code
  case SQLITE_NOTADB:
  case SQLITE_CORRUPT:
    throw StoreOpenError(f + " is not a tinychat database or is damaged (" + e.what() +
                         "); move it away to start empty, or restore it from a backup");
  case SQLITE_CANTOPEN:
  case SQLITE_READONLY:
  case SQLITE_PERM:
  case SQLITE_IOERR:
  case SQLITE_FULL:
    throw StoreOpenError("cannot write " + f + " (" + e.what() +
                         "); check that its directory exists, is writable and has space");
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    throw StoreOpenError(f + " is locked by another process (" + e.what() + ")");
  default:
    throw StoreOpenError("cannot open " + f + ": " + e.what());
  }
}

} // namespace

SqliteDb open_database(const std::filesystem::path& file, Durability durability) {
  if (auto dir = file.parent_path(); !dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
      throw StoreOpenError("cannot create the data directory " + dir.string() + ": " +
                           ec.message());
  }
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(file.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  SqliteDb db(raw); // closes `raw` even when opening failed
  try {
    db.check(rc);
    db.check(sqlite3_extended_result_codes(raw, 1));
    db.check(sqlite3_busy_timeout(raw, 5000));

    // Reading the header is where a file that is not a database shows itself.
    int version = pragma_int(db, "PRAGMA user_version");
    int app = pragma_int(db, "PRAGMA application_id");
    if (version > schema_version)
      throw StoreOpenError(file.string() + " was written by a newer tinychat (schema " +
                           std::to_string(version) + "); this one knows " +
                           std::to_string(schema_version));
    bool foreign = app != 0 && app != application_id;
    if (version == 0 && !foreign) // a new file has no tables; someone else's has
      foreign = pragma_int(db, "SELECT count(*) FROM sqlite_master") != 0;
    if (foreign)
      throw StoreOpenError(file.string() +
                           " is an SQLite database of another program, not tinychat's");

    {
      Statement wal(db, "PRAGMA journal_mode = WAL"); // finalized before the migration's COMMIT
      if (!wal.step() || wal.text(0) != "wal")
        throw StoreOpenError("cannot switch " + file.string() + " to WAL mode");
    }
    // In WAL mode NORMAL syncs only at checkpoints: a killed process loses nothing
    // committed, a power loss may lose the last commits. FULL syncs the WAL at every commit.
    db.exec(durability == Durability::power ? "PRAGMA synchronous = FULL"
                                            : "PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA foreign_keys = ON");
    migrate(db, version);
  } catch (const SqliteError& e) {
    fail(file, e);
  }
  return db;
}

} // namespace tinychat::detail
