#pragma once
// What the threads of tinychat-cli share: one mutex guarding all shared state and output, a
// condition variable, and the exit status decided by the first reason to stop.
//
// Three threads meet here: main (setup, then reading stdin), the connection's I/O thread
// (every Client callback runs there) and a signal thread (SIGINT/SIGTERM).

#include <tinychat/client.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>

namespace tinychat::cli {

/// How long tinychat-cli waits for any one reply from the server.
inline constexpr auto reply_timeout = std::chrono::seconds(30);

class RunState {
public:
  /// Throws std::system_error when the wake-up pipe cannot be made.
  RunState();
  ~RunState();
  RunState(const RunState&) = delete;
  RunState& operator=(const RunState&) = delete;

  /// Runs `f` under the lock (it may touch shared state and print), then wakes waiters.
  template <class F>
  void update(F&& f) {
    {
      std::lock_guard lock(mutex_);
      std::forward<F>(f)();
    }
    changed_.notify_all();
  }

  /// Waits until `ready()` (evaluated under the lock) holds: true; false once stopped or
  /// after `timeout`.
  bool wait(const std::function<bool()>& ready, std::chrono::milliseconds timeout);

  /// Issues one request and waits for its reply; nullopt once stopped or after
  /// reply_timeout (see stopped()).
  std::optional<ServerFrame> request(const std::function<void(ReplyHandler)>& issue);

  /// The first call decides the exit status and prints `why` (unless empty) to stderr as
  /// "tinychat-cli: why"; later calls are ignored. Wakes every waiter, and makes wake_fd()
  /// readable for a thread blocked in poll().
  void stop(int exit_status, std::string_view why);
  bool stopped() const;
  /// Waits for stop(); its exit status.
  int wait_until_stopped();

  /// Readable once stopped.
  int wake_fd() const noexcept { return wake_read_; }

private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<int> exit_status_;
  int wake_read_ = -1;
  int wake_write_ = -1;
};

/// "code: message" of an error reply, or a word for any other unexpected reply.
std::string describe(const std::optional<ServerFrame>& reply);

} // namespace tinychat::cli
