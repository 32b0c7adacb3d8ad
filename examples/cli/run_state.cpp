#include "run_state.hpp"

#include <tinychat/error.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>

namespace tinychat::cli {

RunState::RunState() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category());
  wake_read_ = fds[0];
  wake_write_ = fds[1];
}

RunState::~RunState() {
  ::close(wake_read_);
  ::close(wake_write_);
}

bool RunState::wait(const std::function<bool()>& ready, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return exit_status_.has_value() || ready(); });
  return !exit_status_ && ready();
}

std::optional<ServerFrame> RunState::request(const std::function<void(ReplyHandler)>& issue) {
  // Shared, so a reply arriving after the timeout still has somewhere to go.
  auto slot = std::make_shared<std::optional<ServerFrame>>();
  issue([this, slot](const ServerFrame& frame) { update([&] { *slot = frame; }); });
  if (!wait([&] { return slot->has_value(); }, reply_timeout)) return std::nullopt;
  std::lock_guard lock(mutex_);
  return *slot;
}

void RunState::stop(int exit_status, std::string_view why) {
  update([&] {
    if (exit_status_) return;
    exit_status_ = exit_status;
    if (!why.empty()) std::cerr << "tinychat-cli: " << why << std::endl;
    // Never drained: the pipe stays readable for every later poll().
    const char byte = 1;
    [[maybe_unused]] const auto written = ::write(wake_write_, &byte, 1);
  });
}

bool RunState::stopped() const {
  std::lock_guard lock(mutex_);
  return exit_status_.has_value();
}

int RunState::wait_until_stopped() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return exit_status_.has_value(); });
  return *exit_status_;
}

std::string describe(const std::optional<ServerFrame>& reply) {
  if (!reply) return "no reply from the server";
  if (auto* e = std::get_if<ErrorFrame>(&*reply))
    return std::string(to_string(e->code)) + ": " + e->message;
  return "unexpected reply from the server";
}

} // namespace tinychat::cli
