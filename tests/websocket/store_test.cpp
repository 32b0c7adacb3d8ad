// tinychat-server with --store sqlite: what was acknowledged survives a restart and a kill -9,
// and a data directory it cannot use stops it at start with a clear message.

#include "support/chat_user.hpp"
#include "support/child_process.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"
#include "support/timeouts.hpp"

#include <doctest/doctest.h>

#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>

namespace tinychat::test {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> sqlite_flags(const fs::path& dir) {
  return {"--store", "sqlite", "--data-dir", dir.string()};
}

// Starts the server expecting it to fail; its exit status and what it printed.
CommandResult failed_start(const std::vector<std::string>& flags) {
  std::vector<std::string> args{"--port", "0"};
  args.insert(args.end(), flags.begin(), flags.end());
  return run_server_command(args, true);
}

} // namespace

TEST_CASE("store: a restarted sqlite server keeps rooms, history, user ids and counters") {
  TempDir dir;
  const auto key = KeyPair::generate();
  std::string room;
  Joined first{};
  HistoryPage before;
  {
    ServerProcess server(sqlite_flags(dir.path()));
    ChatUser alice(server.ws_url(), key);
    room = alice.create_room();
    first = alice.join(room, "alice");
    for (int i = 0; i < 3; ++i)
      alice.send(room, "message " + std::to_string(i));
    before = alice.history(room, 0, 100);
  }
  ServerProcess server(sqlite_flags(dir.path()));
  ChatUser alice(server.ws_url(), key);
  const auto joined = alice.join(room, "alice");
  CHECK(joined.user_id == first.user_id);
  CHECK(joined.last_seq == 3);
  CHECK(joined.last_client_seq == 3);
  CHECK(joined.expires_at == first.expires_at);
  CHECK(alice.history(room, 0, 100).messages == before.messages);
  CHECK(alice.send(room, "after the restart").seq == 4);
}

TEST_CASE("store: after kill -9 every acknowledged message is there, seq goes on without a gap") {
  TempDir dir;
  const KeyPair keys[] = {KeyPair::generate(), KeyPair::generate()};
  const char* names[] = {"alice", "bob"};
  std::string room;
  std::map<std::string, std::string> user_ids; // by name
  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::uint64_t, std::pair<std::string, Sent>> acked; // by seq: sender, reply
  {
    ServerProcess server(sqlite_flags(dir.path()));
    ChatUser alice(server.ws_url(), keys[0]);
    ChatUser bob(server.ws_url(), keys[1]);
    room = alice.create_room();
    ChatUser* users[] = {&alice, &bob};
    for (int u = 0; u < 2; ++u)
      user_ids[names[u]] = users[u]->join(room, names[u]).user_id;
    // Pipelined from both, so the kill lands while many are in flight.
    for (int i = 0; i < 200; ++i)
      for (int u = 0; u < 2; ++u)
        users[u]->client().send(room, "message " + std::to_string(i), [&, u](const ServerFrame& f) {
          if (auto* sent = std::get_if<Sent>(&f)) {
            std::lock_guard lock(mutex);
            acked.emplace(sent->seq, std::pair{std::string(names[u]), *sent});
            changed.notify_all();
          }
        });
    {
      std::unique_lock lock(mutex);
      REQUIRE(changed.wait_for(lock, event_timeout, [&] { return acked.size() >= 50; }));
    }
    server.signal(SIGKILL);
    REQUIRE(server.wait_for_exit(event_timeout));
  }
  std::map<std::uint64_t, std::pair<std::string, Sent>> acknowledged;
  {
    std::lock_guard lock(mutex);
    acknowledged = acked;
  }
  MESSAGE(acknowledged.size() << " of 400 messages were acknowledged before the kill");

  ServerProcess server(sqlite_flags(dir.path()));
  ChatUser alice(server.ws_url(), keys[0]);
  ChatUser bob(server.ws_url(), keys[1]);
  const auto joined = alice.join(room, "alice");
  CHECK(joined.user_id == user_ids["alice"]);
  CHECK(bob.join(room, "bob").user_id == user_ids["bob"]);
  REQUIRE(joined.last_seq >= acknowledged.rbegin()->first);
  std::vector<ChatMessage> stored;
  for (std::uint64_t after = 0; after < joined.last_seq;) {
    auto page = alice.history(room, after, 200);
    REQUIRE_FALSE(page.messages.empty());
    stored.insert(stored.end(), page.messages.begin(), page.messages.end());
    after = page.messages.back().seq;
  }
  for (std::size_t i = 0; i < stored.size(); ++i)
    CHECK(stored[i].seq == i + 1);
  for (const auto& [seq, ack] : acknowledged) {
    const auto& [name, sent] = ack;
    REQUIRE(seq <= stored.size());
    const auto& m = stored[seq - 1];
    CHECK(m.user_name == name);
    CHECK(m.client_seq == sent.client_seq);
    CHECK(m.ts == sent.ts);
    CHECK(m.text == "message " + std::to_string(sent.client_seq - 1));
    CHECK(Client::verify(m));
  }
  std::uint64_t alice_last = 0;
  for (const auto& m : stored)
    if (m.user_name == "alice") alice_last = m.client_seq;
  CHECK(joined.last_client_seq == alice_last);
  CHECK(alice.send(room, "after the crash").seq == joined.last_seq + 1);
}

TEST_CASE("store: a data directory that cannot be used stops the server at start") {
  TempDir dir;
  SUBCASE("the data directory is a file") {
    std::ofstream(dir.path() / "file") << "not a directory";
    auto [status, out] = failed_start(sqlite_flags(dir.path() / "file"));
    CHECK(status == 1);
    CHECK(out.find("cannot") != std::string::npos);
  }
  SUBCASE("the database file is not a database") {
    std::ofstream(dir.path() / "tinychat.sqlite") << std::string(4096, 'x');
    auto [status, out] = failed_start(sqlite_flags(dir.path()));
    CHECK(status == 1);
    CHECK(out.find("tinychat.sqlite") != std::string::npos);
  }
  SUBCASE("the database was written by a newer tinychat") {
    { ServerProcess once(sqlite_flags(dir.path())); }
    // PRAGMA user_version lives in the database header: 4 bytes, big-endian, at offset 60.
    std::fstream db(dir.path() / "tinychat.sqlite",
                    std::ios::in | std::ios::out | std::ios::binary);
    db.seekp(60);
    db.write("\0\0\0\x63", 4);
    db.close();
    auto [status, out] = failed_start(sqlite_flags(dir.path()));
    CHECK(status == 1);
    CHECK(out.find("newer") != std::string::npos);
  }
  SUBCASE("another server holds the directory") {
    ServerProcess first(sqlite_flags(dir.path()));
    auto [status, out] = failed_start(sqlite_flags(dir.path()));
    CHECK(status == 1);
    CHECK(out.find("in use") != std::string::npos);
  }
}

} // namespace tinychat::test
