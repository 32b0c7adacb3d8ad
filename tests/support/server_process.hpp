#pragma once
// Runs the real tinychat-server binary as a child process for the integration tests.

#include "child_process.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tinychat::test {

/// Path of the tinychat-server binary under test.
std::string server_path();

/// A tinychat-server started on an ephemeral port. The destructor stops it (SIGTERM, then
/// SIGKILL when it does not exit in time). Use from one thread.
class ServerProcess {
public:
  /// Starts the server with `--port 0` and `flags`, and waits for its "listening on" line
  /// (with --store redis: until /healthz answers 200, the store reached). Throws
  /// std::runtime_error when it does not come up.
  explicit ServerProcess(std::vector<std::string> flags = {});

  std::uint16_t port() const noexcept { return port_; }
  pid_t pid() const noexcept { return process_.pid(); }
  /// ws://127.0.0.1:PORT/v1/ws
  std::string ws_url() const;

  /// Sends `signal` (e.g. SIGTERM) without waiting.
  void signal(int signal) { process_.send_signal(signal); }
  /// Waits for the process to exit; its exit code, or 128 + signal number when killed.
  /// nullopt on timeout.
  std::optional<int> wait_for_exit(std::chrono::milliseconds timeout) {
    return process_.wait(timeout);
  }

  /// Waits until GET /healthz answers 200; throws std::runtime_error after event_timeout.
  void wait_until_healthy();

private:
  std::vector<std::string> flags_;
  ChildProcess process_;
  std::uint16_t port_ = 0;
};

/// The whole answer (status line, headers, body) to GET `path` on 127.0.0.1:`port`, read
/// until the server closes; what arrived when nothing more came for 2 s. Blocking.
std::string http_get(std::uint16_t port, std::string_view path);

/// The status of GET /healthz on 127.0.0.1:`port` (200, or 503 while the store is away);
/// 0 when no HTTP answer came within 2 s. Blocking.
int healthz_status(std::uint16_t port);

/// What a short run of the server printed on stdout, and how it ended.
struct CommandResult {
  int exit_code = -1;
  std::string out;
};

/// Runs tinychat-server with `args` to completion (e.g. --help, or a start that must fail);
/// with `merge_stderr` its stderr is in `out` too, otherwise left alone. Throws
/// std::runtime_error when it does not finish within event_timeout.
CommandResult run_server_command(const std::vector<std::string>& args, bool merge_stderr = false);

} // namespace tinychat::test
