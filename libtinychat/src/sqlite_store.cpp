// SqliteStore: callers queue operations; one writer thread commits each batch of queued
// operations in a single transaction (group commit: one WAL sync per batch, not per message)
// and then posts the batch's completions, in issue order, to the service's thread.

#include "sqlite_schema.hpp"

#include <tinychat/sqlite_store.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>
#include <variant>

namespace tinychat {

using detail::SqliteError;
using detail::Statement;

namespace {

struct Append {
  ChatMessage message;
  std::uint32_t keep = 0;
};
struct DeleteRoom {
  std::string room_id;
};
struct Op {
  std::variant<RoomRecord, UserRecord, Append, DeleteRoom> what;
  Store::Completion done;
};

std::error_code write_failure() { return std::make_error_code(std::errc::io_error); }

} // namespace

struct SqliteStore::Impl {
  Impl(std::filesystem::path f, Durability durability, Post p)
      : file(std::move(f)), db(detail::open_database(file, durability)), post(std::move(p)) {
    try {
      prepare();
    } catch (const SqliteError& e) {
      throw StoreOpenError("cannot prepare statements on " + file.string() + ": " + e.what());
    }
    writer = std::thread([this] { run(); });
  }

  void prepare() {
    upsert_room = Statement(db, "INSERT INTO rooms (id, created_at, expires_at) VALUES (?1, ?2, ?3)"
                                " ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at,"
                                " expires_at = excluded.expires_at");
    // Like MemoryStore, a user or message of a room that is gone is dropped, not an error:
    // the room may have been deleted while the request was on its way.
    upsert_user = Statement(
        db, "INSERT INTO users (room_id, pub_key, user_id, user_name, last_client_seq)"
            " SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM rooms WHERE id = ?1)"
            " ON CONFLICT (room_id, pub_key) DO UPDATE SET user_name = excluded.user_name,"
            " last_client_seq = excluded.last_client_seq");
    set_last_seq = Statement(db, "UPDATE rooms SET last_seq = ?2 WHERE id = ?1");
    insert_message = Statement(db, "INSERT INTO messages (room_id, seq, user_id, user_name,"
                                   " pub_key, client_seq, text, sig, ts)"
                                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    set_client_seq =
        Statement(db, "UPDATE users SET last_client_seq = ?3 WHERE room_id = ?1 AND pub_key = ?2");
    // A room's stored seqs have no gaps (see Store), so "seq <= newest - keep" drops exactly
    // the messages beyond the newest `keep`, through the primary key index.
    trim = Statement(db, "DELETE FROM messages WHERE room_id = ?1 AND seq <= ?2");
    delete_messages = Statement(db, "DELETE FROM messages WHERE room_id = ?1");
    delete_users = Statement(db, "DELETE FROM users WHERE room_id = ?1");
    delete_room = Statement(db, "DELETE FROM rooms WHERE id = ?1");
  }

  void enqueue(Op op) {
    {
      std::lock_guard lock(mutex);
      queue.push_back(std::move(op));
      ++issued;
    }
    wake.notify_one();
  }

  void wait_idle() {
    std::unique_lock lock(mutex);
    idle.wait(lock, [&] { return finished == issued; });
  }

  // ---- the writer thread -------------------------------------------------------------------

  void run() {
    std::vector<Op> batch;
    for (;;) {
      {
        std::unique_lock lock(mutex);
        wake.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) return; // stopping, and everything is committed
        batch.swap(queue);
      }
      auto results = commit(batch);
      auto completions = std::make_shared<std::vector<std::pair<Completion, std::error_code>>>();
      completions->reserve(batch.size());
      for (std::size_t i = 0; i < batch.size(); ++i)
        completions->emplace_back(std::move(batch[i].done), results[i]);
      post([completions] {
        for (auto& [done, ec] : *completions)
          done(ec);
      });
      {
        std::lock_guard lock(mutex);
        finished += batch.size();
      }
      idle.notify_all();
      batch.clear();
    }
  }

  // Runs `batch` in one transaction; returns each operation's result.
  std::vector<std::error_code> commit(const std::vector<Op>& batch) {
    std::vector<std::error_code> results(batch.size());
    std::vector<bool> skipped(batch.size());
    // An append issued after an earlier append of its room failed, before the service saw
    // that failure, carries a seq above the hole: storing it would leave a gap. It fails
    // too. The service then reuses the failed seq, which lifts the block.
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (auto* a = std::get_if<Append>(&batch[i].what)) {
        auto p = blocked.find(a->message.room_id);
        if (p != blocked.end() && a->message.seq > p->second) {
          results[i] = write_failure();
          skipped[i] = true;
        } else if (p != blocked.end()) {
          blocked.erase(p);
        }
      } else if (auto* d = std::get_if<DeleteRoom>(&batch[i].what)) {
        blocked.erase(d->room_id);
      }
    }

    std::lock_guard lock(db_mutex);
    try {
      db.exec("BEGIN IMMEDIATE");
      for (std::size_t i = 0; i < batch.size(); ++i)
        if (!skipped[i]) std::visit([this](const auto& what) { apply(what); }, batch[i].what);
      if (fail_writes) throw SqliteError(SQLITE_IOERR, "injected failure (fail_writes)");
      db.exec("COMMIT");
      if (failing) report(true, file.string() + ": writes succeed again");
      failing = false;
    } catch (const SqliteError& e) {
      if (!sqlite3_get_autocommit(db.get()))
        sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      // Once per run of failures, not once per batch: a full disk would flood the log.
      if (!failing)
        report(false, file.string() + ": a write failed, nothing of it is stored and its" +
                          " requests are answered internal: " + e.what());
      failing = true;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (skipped[i]) continue;
        results[i] = write_failure();
        if (auto* a = std::get_if<Append>(&batch[i].what)) {
          auto [it, inserted] = blocked.emplace(a->message.room_id, a->message.seq);
          it->second = std::min(it->second, a->message.seq);
        }
      }
    }
    return results;
  }

  void report(bool ok, const std::string& message) {
    if (health_log)
      health_log(ok, message);
    else
      std::cerr << "tinychat: " + message + "\n";
  }

  void apply(const RoomRecord& r) { upsert_room.bind(r.room_id, r.created_at, r.expires_at).run(); }
  void apply(const UserRecord& u) {
    upsert_user.bind(u.room_id, u.pub_key, u.user_id, u.user_name, u.last_client_seq).run();
  }
  void apply(const Append& a) {
    const ChatMessage& m = a.message;
    set_last_seq.bind(m.room_id, m.seq).run();
    if (sqlite3_changes(db.get()) == 0) return; // the room is gone
    insert_message
        .bind(m.room_id, m.seq, m.user_id, m.user_name, m.pub_key, m.client_seq, m.text, m.sig,
              m.ts)
        .run();
    set_client_seq.bind(m.room_id, m.pub_key, m.client_seq).run();
    trim.bind(m.room_id, static_cast<std::int64_t>(m.seq) - std::int64_t{a.keep}).run();
  }
  void apply(const DeleteRoom& d) {
    delete_messages.bind(d.room_id).run();
    delete_users.bind(d.room_id).run();
    delete_room.bind(d.room_id).run();
  }

  std::vector<RoomSnapshot> load_rooms();

  std::filesystem::path file;
  detail::SqliteDb db; // declared before the statements, so it is closed after them
  Statement upsert_room, upsert_user, set_last_seq, insert_message, set_client_seq, trim,
      delete_messages, delete_users, delete_room;
  Post post;
  std::atomic<bool> fail_writes{false};
  HealthLog health_log; // set before the first write, read by the writer

  std::mutex db_mutex; // the writer's batches and load_rooms share `db`
  std::mutex mutex;    // guards the queue and counters below
  std::condition_variable wake, idle;
  std::vector<Op> queue;
  std::uint64_t issued = 0, finished = 0;
  bool stopping = false;

  // Writer thread only.
  std::map<std::string, std::uint64_t, std::less<>> blocked; ///< room -> lowest failed seq
  bool failing = false;

  std::thread writer; // last: started once everything above exists
};

std::vector<RoomSnapshot> SqliteStore::Impl::load_rooms() {
  wait_idle(); // what earlier services wrote is part of what a new one loads
  std::lock_guard lock(db_mutex);
  std::vector<RoomSnapshot> out;
  std::map<std::string, std::size_t, std::less<>> index;
  auto damaged = [&](const char* what) {
    return StoreOpenError(file.string() + " is damaged: a " + what +
                          " row has a key or signature of the wrong size");
  };
  try {
    Statement rooms(db, "SELECT id, created_at, expires_at, last_seq FROM rooms ORDER BY id");
    while (rooms.step()) {
      RoomSnapshot s;
      s.room = {rooms.text(0), rooms.int64(1), rooms.int64(2)};
      s.last_seq = rooms.uint64(3);
      index.emplace(s.room.room_id, out.size());
      out.push_back(std::move(s));
    }
    Statement users(db, "SELECT room_id, user_id, user_name, pub_key, last_client_seq"
                        " FROM users ORDER BY room_id, rowid");
    while (users.step()) {
      UserRecord u{users.text(0), users.text(1), users.text(2), {}, users.uint64(4)};
      if (!users.blob(3, u.pub_key)) throw damaged("user");
      if (auto it = index.find(u.room_id); it != index.end())
        out[it->second].users.push_back(std::move(u));
    }
    Statement messages(db, "SELECT room_id, seq, user_id, user_name, pub_key, client_seq, text,"
                           " sig, ts FROM messages ORDER BY room_id, seq");
    while (messages.step()) {
      ChatMessage m{messages.text(0),
                    messages.uint64(1),
                    messages.text(2),
                    messages.text(3),
                    {},
                    messages.uint64(5),
                    messages.text(6),
                    {},
                    messages.int64(8)};
      if (!messages.blob(4, m.pub_key) || !messages.blob(7, m.sig)) throw damaged("message");
      if (auto it = index.find(m.room_id); it != index.end())
        out[it->second].messages.push_back(std::move(m));
    }
  } catch (const SqliteError& e) {
    throw StoreOpenError("cannot read " + file.string() + ": " + e.what());
  }
  return out;
}

SqliteStore::SqliteStore(std::filesystem::path file, Durability durability, Post post)
    : impl_(std::make_unique<Impl>(std::move(file), durability, std::move(post))) {}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_one();
  impl_->writer.join();
}

void SqliteStore::create_room(const RoomRecord& room, Completion done) {
  impl_->enqueue({room, std::move(done)});
}

void SqliteStore::save_user(const UserRecord& user, Completion done) {
  impl_->enqueue({user, std::move(done)});
}

void SqliteStore::append_message(const ChatMessage& message, std::uint32_t keep, Completion done) {
  impl_->enqueue({Append{message, keep}, std::move(done)});
}

void SqliteStore::delete_room(std::string_view room_id, Completion done) {
  impl_->enqueue({DeleteRoom{std::string(room_id)}, std::move(done)});
}

std::vector<RoomSnapshot> SqliteStore::load_rooms() { return impl_->load_rooms(); }

void SqliteStore::wait_idle() { impl_->wait_idle(); }

void SqliteStore::fail_writes(bool fail) noexcept { impl_->fail_writes = fail; }

void SqliteStore::set_health_log(HealthLog log) { impl_->health_log = std::move(log); }

} // namespace tinychat
