#include "redis_process.hpp"

#include "timeouts.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace tinychat::test {

namespace {

using Clock = std::chrono::steady_clock;

// A TCP socket to 127.0.0.1:port, closed when it goes out of scope.
class LoopbackSocket {
public:
  LoopbackSocket() : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  }
  ~LoopbackSocket() { close(fd_); }
  LoopbackSocket(const LoopbackSocket&) = delete;
  LoopbackSocket& operator=(const LoopbackSocket&) = delete;
  int fd() const { return fd_; }

private:
  int fd_;
};

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// A port nothing listens on right now. Another process may take it before redis-server does;
// RedisProcess then tries again with another.
std::uint16_t free_port() {
  LoopbackSocket s;
  auto address = loopback(0);
  socklen_t length = sizeof address;
  if (bind(s.fd(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      getsockname(s.fd(), reinterpret_cast<sockaddr*>(&address), &length) != 0)
    throw std::runtime_error(std::string("finding a free port: ") + std::strerror(errno));
  return ntohs(address.sin_port);
}

// Whether redis-server on `port` answers PING with +PONG within a second.
bool answers_ping(std::uint16_t port) {
  LoopbackSocket s;
  const timeval second{1, 0};
  setsockopt(s.fd(), SOL_SOCKET, SO_RCVTIMEO, &second, sizeof second);
  setsockopt(s.fd(), SOL_SOCKET, SO_SNDTIMEO, &second, sizeof second);
  const auto address = loopback(port);
  if (connect(s.fd(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
    return false;
  constexpr std::string_view ping = "PING\r\n";
  if (send(s.fd(), ping.data(), ping.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(ping.size()))
    return false;
  std::string reply;
  char buffer[64];
  while (reply.size() < 5) {
    const ssize_t n = recv(s.fd(), buffer, sizeof buffer, 0);
    if (n <= 0) return false;
    reply.append(buffer, static_cast<std::size_t>(n));
  }
  return reply.starts_with("+PONG");
}

// The end of redis-server's log, to say why it did not start.
std::string log_tail(const std::filesystem::path& log) {
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  const std::string all = text.str();
  return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
}

} // namespace

std::string redis_server_path() {
  const char* path = std::getenv("TINYCHAT_REDIS_SERVER");
  return path && *path ? path : "/usr/bin/redis-server";
}

RedisProcess::RedisProcess() {
  std::string reason;
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = free_port();
    const auto failure = launch();
    if (!failure) return;
    reason = *failure;
  }
  throw std::runtime_error("redis-server did not start: " + reason);
}

RedisProcess::~RedisProcess() {
  // Before dir_ goes: redis-server still writes there until it exits.
  process_.reset();
}

std::string RedisProcess::url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

void RedisProcess::kill() {
  if (!process_) return;
  process_->send_signal(SIGKILL);
  if (!process_->wait(event_timeout)) throw std::runtime_error("redis-server did not die");
  process_.reset();
}

void RedisProcess::restart() {
  kill();
  if (const auto failure = launch())
    throw std::runtime_error("redis-server did not restart: " + *failure);
}

std::optional<std::string> RedisProcess::launch() {
  const auto dir = dir_.path().string();
  const auto log = dir_.path() / "redis.log";
  process_.emplace(std::vector<std::string>{
      redis_server_path(), "--port", std::to_string(port_), "--bind", "127.0.0.1", "--dir", dir,
      "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no",
      "--protected-mode", "no", "--logfile", log.string()});
  const auto deadline = Clock::now() + event_timeout;
  while (Clock::now() < deadline) {
    if (answers_ping(port_)) return std::nullopt;
    if (const auto status = process_->wait(std::chrono::milliseconds(20))) {
      process_.reset();
      return "exit status " + std::to_string(*status) + "; its log:\n" + log_tail(log);
    }
  }
  process_.reset();
  return "no answer to PING on port " + std::to_string(port_) + "; its log:\n" + log_tail(log);
}

} // namespace tinychat::test
