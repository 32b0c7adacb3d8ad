#pragma once
// Runs a program (the server, an example) as a child process for the example tests.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace tinychat::test {

/// A child process whose stdout is read through a pipe; stderr is inherited, so it shows in
/// ctest's output. The destructor stops a child still running (SIGTERM, then SIGKILL).
class ChildProcess {
public:
  /// Starts `argv[0]` with `argv`. Throws std::system_error when it cannot be started.
  explicit ChildProcess(const std::vector<std::string>& argv);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  /// The next line of stdout, without its newline; nullopt at end of output or on timeout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  /// Waits for the child to exit: its exit status, or 128 + signal number when a signal
  /// ended it. nullopt on timeout. Output not yet read is discarded.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  void send_signal(int signal_number);

private:
  // Reads more of stdout into buffer_; false at end of output (end_of_output_) or at
  // `deadline`.
  bool read_more(std::chrono::steady_clock::time_point deadline);

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffer_;
  bool end_of_output_ = false;
  std::optional<int> exit_status_;
};

} // namespace tinychat::test
