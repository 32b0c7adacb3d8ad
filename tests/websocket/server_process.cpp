#include "server_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace tinychat::test {

namespace {

using Clock = std::chrono::steady_clock;

// Generous: the machine running the tests may be busy building.
constexpr auto startup_timeout = std::chrono::seconds(20);
constexpr auto stop_timeout = std::chrono::seconds(10);

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

struct Spawned {
  pid_t pid;
  int stdout_fd;
};

Spawned spawn(const std::vector<std::string>& args) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw_errno("pipe2");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  std::vector<std::string> storage{server_path()};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : storage)
    argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, storage[0].c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    errno = rc;
    throw_errno("posix_spawn " + storage[0]);
  }
  return {pid, fds[0]};
}

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Reads what is available into `out`; false once the pipe reached end of file.
// Throws on timeout.
bool read_some(int fd, std::string& out, Clock::time_point deadline) {
  pollfd p{fd, POLLIN, 0};
  const int n = ::poll(&p, 1, remaining_ms(deadline));
  if (n < 0 && errno != EINTR)
    throw_errno("poll");
  if (n == 0)
    throw std::runtime_error("timed out waiting for tinychat-server");
  char buf[4096];
  const ssize_t got = ::read(fd, buf, sizeof buf);
  if (got < 0 && errno != EINTR && errno != EAGAIN)
    throw_errno("read");
  if (got == 0)
    return false;
  if (got > 0)
    out.append(buf, static_cast<std::size_t>(got));
  return true;
}

int decode_status(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return -1;
}

} // namespace

std::string server_path() {
  return TINYCHAT_SERVER_PATH;
}

ServerProcess::ServerProcess(std::vector<std::string> flags) {
  flags.insert(flags.begin(), {"--port", "0"});
  const Spawned s = spawn(flags);
  pid_ = s.pid;
  stdout_fd_ = s.stdout_fd;
  const std::string prefix = "tinychat-server listening on http://";
  std::string out;
  try {
    const auto deadline = Clock::now() + startup_timeout;
    while (out.find('\n') == std::string::npos)
      if (!read_some(stdout_fd_, out, deadline))
        throw std::runtime_error("tinychat-server exited before listening");
    const std::string line = out.substr(0, out.find('\n'));
    const auto colon = line.rfind(':');
    if (line.rfind(prefix, 0) != 0 || colon == std::string::npos)
      throw std::runtime_error("unexpected first line from tinychat-server: " + line);
    port_ = static_cast<std::uint16_t>(std::stoul(line.substr(colon + 1)));
  } catch (...) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    ::close(stdout_fd_);
    throw;
  }
}

ServerProcess::~ServerProcess() {
  if (!exit_code_) {
    signal(SIGTERM);
    if (!wait_for_exit(stop_timeout)) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  ::close(stdout_fd_);
}

std::string ServerProcess::ws_url() const {
  return "ws://127.0.0.1:" + std::to_string(port_) + "/v1/ws";
}

void ServerProcess::signal(int signal) {
  if (!exit_code_)
    ::kill(pid_, signal);
}

std::optional<int> ServerProcess::wait_for_exit(std::chrono::milliseconds timeout) {
  if (exit_code_)
    return exit_code_;
  // The child holds the pipe's only write end, so end of file on it means it has exited;
  // that is an event to wait for, unlike polling waitpid.
  const auto deadline = Clock::now() + timeout;
  std::string ignored;
  try {
    while (read_some(stdout_fd_, ignored, deadline))
      ignored.clear();
  } catch (const std::runtime_error&) {
    return std::nullopt;
  }
  int status = 0;
  if (::waitpid(pid_, &status, 0) != pid_)
    throw_errno("waitpid");
  exit_code_ = decode_status(status);
  return exit_code_;
}

CommandResult run_server_command(const std::vector<std::string>& args) {
  const Spawned s = spawn(args);
  CommandResult result;
  try {
    const auto deadline = Clock::now() + startup_timeout;
    while (read_some(s.stdout_fd, result.out, deadline)) {
    }
  } catch (...) {
    ::kill(s.pid, SIGKILL);
  }
  ::close(s.stdout_fd);
  int status = 0;
  ::waitpid(s.pid, &status, 0);
  result.exit_code = decode_status(status);
  return result;
}

} // namespace tinychat::test
