#pragma once
// Thin RAII wrappers over the SQLite C API for SqliteStore: a connection, a prepared
// statement, and errors that carry SQLite's own message. Private to libtinychat.

#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace tinychat::detail {

/// A failed SQLite call: the result code and sqlite3_errmsg at the time.
class SqliteError : public std::runtime_error {
public:
  SqliteError(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  int code() const noexcept { return code_; }

private:
  int code_;
};

/// One connection. Not thread-safe: SqliteStore serialises its use with a mutex.
class SqliteDb {
public:
  SqliteDb() = default;
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  ~SqliteDb() { sqlite3_close_v2(db_); }
  SqliteDb(SqliteDb&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
  SqliteDb& operator=(SqliteDb&& o) noexcept {
    std::swap(db_, o.db_);
    return *this;
  }

  sqlite3* get() const noexcept { return db_; }

  /// Throws SqliteError unless `rc` is one of the success codes.
  void check(int rc) const {
    if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
      throw SqliteError(rc, sqlite3_errmsg(db_));
  }
  /// Runs one or more statements that return nothing of interest.
  void exec(const char* sql) const { check(sqlite3_exec(db_, sql, nullptr, nullptr, nullptr)); }

private:
  sqlite3* db_ = nullptr;
};

/// A prepared statement, reset and rebound for every use.
class Statement {
public:
  Statement() = default;
  Statement(const SqliteDb& db, std::string_view sql) : db_(&db) {
    db.check(sqlite3_prepare_v3(db.get(), sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(Statement&& o) noexcept : db_(o.db_), stmt_(std::exchange(o.stmt_, nullptr)) {}
  Statement& operator=(Statement&& o) noexcept {
    std::swap(db_, o.db_);
    std::swap(stmt_, o.stmt_);
    return *this;
  }

  /// Resets the statement and binds `args` to ?1, ?2, ...
  template <class... Args>
  Statement& bind(const Args&... args) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    int i = 0;
    (bind_one(++i, args), ...);
    return *this;
  }
  /// Steps once; true while a row is available.
  bool step() {
    int rc = sqlite3_step(stmt_);
    db_->check(rc);
    return rc == SQLITE_ROW;
  }
  /// Steps to the end (a statement without result rows).
  void run() {
    while (step()) {
    }
  }

  std::int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::uint64_t uint64(int col) const { return static_cast<std::uint64_t>(int64(col)); }
  std::string text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }
  /// Copies a blob column into `out`; false when its size differs (a damaged row).
  template <std::size_t N>
  bool blob(int col, std::array<std::uint8_t, N>& out) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    if (!p || sqlite3_column_bytes(stmt_, col) != static_cast<int>(N)) return false;
    std::memcpy(out.data(), p, N);
    return true;
  }

private:
  void bind_one(int i, std::int64_t v) { db_->check(sqlite3_bind_int64(stmt_, i, v)); }
  void bind_one(int i, std::uint64_t v) { bind_one(i, static_cast<std::int64_t>(v)); }
  void bind_one(int i, std::string_view v) {
    db_->check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
  }
  void bind_one(int i, const std::string& v) { bind_one(i, std::string_view(v)); }
  template <std::size_t N>
  void bind_one(int i, const std::array<std::uint8_t, N>& v) {
    db_->check(sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(N), SQLITE_STATIC));
  }

  const SqliteDb* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

} // namespace tinychat::detail
