#include "child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

extern char** environ;

namespace tinychat::test {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto stop_timeout = std::chrono::seconds(10);

[[noreturn]] void throw_errno(int error, const char* what) {
  throw std::system_error(error, std::generic_category(), what);
}

} // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv) {
  int fds[2];
  // Close-on-exec, so no other child inherits this pipe and holds its end open.
  if (pipe2(fds, O_CLOEXEC) != 0) throw_errno(errno, "pipe2");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);

  std::vector<std::string> storage = argv; // posix_spawn wants mutable strings
  std::vector<char*> args;
  for (auto& arg : storage)
    args.push_back(arg.data());
  args.push_back(nullptr);
  const int error = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (error != 0) {
    close(fds[0]);
    throw_errno(error, "posix_spawn");
  }
  stdout_fd_ = fds[0];
}

ChildProcess::~ChildProcess() {
  if (!exit_status_) {
    send_signal(SIGTERM);
    bool exited = false;
    try {
      exited = wait(stop_timeout).has_value();
    } catch (const std::system_error&) {
      // Reaped below.
    }
    if (!exited) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  close(stdout_fd_);
}

bool ChildProcess::read_more(Clock::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{stdout_fd_, POLLIN, 0};
    const int ready = poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw_errno(errno, "poll");
    if (ready == 0) return false;
    char chunk[4096];
    const ssize_t n = read(stdout_fd_, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) throw_errno(errno, "read");
    if (n == 0) {
      end_of_output_ = true;
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
}

std::optional<std::string> ChildProcess::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (const auto newline = buffer_.find('\n'); newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    if (end_of_output_ || !read_more(deadline)) return std::nullopt;
  }
}

std::optional<std::string> ChildProcess::read_to_end(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!end_of_output_ && read_more(deadline)) {
  }
  if (!end_of_output_) return std::nullopt;
  return std::exchange(buffer_, {});
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (exit_status_) return exit_status_;
  // The child holds the pipe's only write end, so the end of output means it has exited:
  // that is the event to wait for, with a deadline, before the blocking waitpid.
  const auto deadline = Clock::now() + timeout;
  while (!end_of_output_ && read_more(deadline))
    buffer_.clear();
  if (!end_of_output_) return std::nullopt;
  buffer_.clear();
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0)
    if (errno != EINTR) throw_errno(errno, "waitpid");
  exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return exit_status_;
}

void ChildProcess::send_signal(int signal_number) {
  if (!exit_status_) kill(pid_, signal_number);
}

} // namespace tinychat::test
