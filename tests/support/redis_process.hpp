#pragma once
// Runs a private redis-server for the tests of tinychat's Redis store.

#include "child_process.hpp"
#include "temp_dir.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace tinychat::test {

/// Path of redis-server: the TINYCHAT_REDIS_SERVER environment variable, or
/// /usr/bin/redis-server.
std::string redis_server_path();

/// A private redis-server for a test: loopback, a free port, its own temp directory, AOF with
/// appendfsync always, no RDB snapshots. The destructor stops it and removes the directory.
/// Use from one thread.
class RedisProcess {
public:
  /// Starts it and waits until it answers PING. Throws std::runtime_error, with the reason,
  /// when it does not come up.
  RedisProcess();
  ~RedisProcess();
  RedisProcess(const RedisProcess&) = delete;
  RedisProcess& operator=(const RedisProcess&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  /// redis://127.0.0.1:PORT
  std::string url() const;
  /// SIGKILL, and waits for it to exit: nothing is flushed beyond what AOF already has.
  void kill();
  /// Starts it again on the same port and directory, so it reloads its AOF, and waits until
  /// it answers PING. Throws std::runtime_error as the constructor does.
  void restart();

private:
  // Starts redis-server on port_ and waits for PING; the reason when it does not come up.
  std::optional<std::string> launch();

  TempDir dir_;
  std::uint16_t port_ = 0;
  std::optional<ChildProcess> process_;
};

} // namespace tinychat::test
