#include "child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <stdexcept>
#include <string_view>
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

// The test's environment with `overrides` set, as NAME=VALUE strings.
std::vector<std::string> child_environment(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> out;
  for (char** entry = environ; *entry; ++entry) {
    const std::string_view variable = *entry;
    const auto name = variable.substr(0, variable.find('='));
    if (!overrides.contains(std::string(name))) out.emplace_back(variable);
  }
  for (const auto& [name, value] : overrides)
    out.push_back(name + "=" + value);
  return out;
}

// posix_spawn wants mutable, null-terminated arrays of C strings.
std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings)
    out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

} // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv, ChildOptions options) {
  int fds[2];
  int in_fds[2] = {-1, -1};
  // Close-on-exec, so no other child inherits these pipes and holds their ends open.
  if (pipe2(fds, O_CLOEXEC) != 0) throw_errno(errno, "pipe2");
  if (options.pipe_stdin && pipe2(in_fds, O_CLOEXEC) != 0) {
    const int error = errno;
    close(fds[0]);
    close(fds[1]);
    throw_errno(error, "pipe2");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  if (options.merge_stderr) posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  if (options.pipe_stdin) posix_spawn_file_actions_adddup2(&actions, in_fds[0], STDIN_FILENO);

  std::vector<std::string> arg_storage = argv;
  std::vector<std::string> env_storage = child_environment(options.environment);
  const auto args = c_strings(arg_storage);
  const auto env = c_strings(env_storage);
  const int error = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (options.pipe_stdin) close(in_fds[0]);
  if (error != 0) {
    close(fds[0]);
    if (options.pipe_stdin) close(in_fds[1]);
    throw_errno(error, "posix_spawn");
  }
  stdout_fd_ = fds[0];
  stdin_fd_ = in_fds[1];
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
  close_stdin();
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

bool ChildProcess::write_stdin(std::string_view data) {
  if (stdin_fd_ < 0) throw std::logic_error("ChildProcess::write_stdin without a stdin pipe");
  // Writing to a pipe nobody reads raises SIGPIPE, which would end the test: block it on
  // this thread for the write, and take a signal it raised before unblocking again.
  sigset_t pipe_signal;
  sigset_t previous;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, &previous);
  int error = 0;
  while (!data.empty()) {
    const ssize_t n = write(stdin_fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = errno;
      break;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  if (error == EPIPE) {
    const timespec no_wait{};
    sigtimedwait(&pipe_signal, nullptr, &no_wait);
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (error == EPIPE) return false;
  if (error != 0) throw_errno(error, "write");
  return true;
}

void ChildProcess::close_stdin() {
  if (stdin_fd_ >= 0) close(stdin_fd_);
  stdin_fd_ = -1;
}

} // namespace tinychat::test
