#pragma once
// Runs a program (tinychat-server, an example) as a child process for the integration tests.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tinychat::test {

/// How a ChildProcess is started, beyond its arguments.
struct ChildOptions {
  /// Give the child a pipe as stdin, written with write_stdin(); otherwise it inherits the
  /// test's stdin.
  bool pipe_stdin = false;
  /// Send the child's stderr into the stdout pipe too, to read it with read_line() and
  /// read_to_end(); otherwise it is inherited and shows in ctest's output.
  bool merge_stderr = false;
  /// Variables set (or replaced) in the child's environment; the rest is inherited.
  std::map<std::string, std::string> environment;

  /// Just a stdin pipe, the common case.
  static ChildOptions with_stdin_pipe() {
    ChildOptions options;
    options.pipe_stdin = true;
    return options;
  }
};

/// A child process whose stdout is read through a pipe; stderr is inherited, so it shows in
/// ctest's output, unless ChildOptions says otherwise. The destructor stops a child still
/// running (SIGTERM, then SIGKILL when it does not exit in time). Use from one thread.
class ChildProcess {
public:
  /// Starts the program at path `argv[0]` (PATH is not searched) with `argv`.
  /// Throws std::system_error when it cannot be started.
  explicit ChildProcess(const std::vector<std::string>& argv, ChildOptions options = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  /// The next line of stdout, without its newline; nullopt at end of output or on timeout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  /// All of stdout not read yet, up to the end of output (when the child exits). nullopt on
  /// timeout; what arrived so far is then kept for the next read.
  std::optional<std::string> read_to_end(std::chrono::milliseconds timeout);
  /// Waits for the child to exit: its exit status, or 128 + signal number when a signal
  /// ended it. nullopt on timeout. Output not yet read is discarded.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  /// The child's process id.
  pid_t pid() const noexcept { return pid_; }
  /// Sends `signal_number` (e.g. SIGTERM) without waiting; nothing once the child was reaped.
  void send_signal(int signal_number);

  /// Writes `data` to the child's stdin (needs ChildOptions::pipe_stdin); blocks while the
  /// pipe is full. False when the child no longer reads its stdin. Throws std::logic_error
  /// without a stdin pipe or after close_stdin(), std::system_error when writing fails.
  bool write_stdin(std::string_view data);
  /// Closes the child's stdin: it reads end of input. Nothing without a stdin pipe.
  void close_stdin();

private:
  // Reads more of stdout into buffer_; false at end of output (end_of_output_) or at
  // `deadline`. Throws std::system_error when poll or read fail.
  bool read_more(std::chrono::steady_clock::time_point deadline);

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int stdin_fd_ = -1;
  std::string buffer_;
  bool end_of_output_ = false;
  std::optional<int> exit_status_;
};

} // namespace tinychat::test
