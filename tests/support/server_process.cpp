#include "server_process.hpp"

#include "timeouts.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <stdexcept>
#include <string_view>
#include <thread>

namespace tinychat::test {

namespace {

std::vector<std::string> server_command(const std::vector<std::string>& args) {
  std::vector<std::string> argv{server_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::vector<std::string> with_ephemeral_port(std::vector<std::string> flags) {
  flags.insert(flags.begin(), {"--port", "0"});
  // Tests run servers side by side; the default sqlite store would share one data directory.
  if (std::find(flags.begin(), flags.end(), "--store") == flags.end())
    flags.insert(flags.end(), {"--store", "memory"});
  return server_command(flags);
}

// The port in "tinychat-server listening on http://127.0.0.1:PORT", the first line the
// server prints once it accepts connections; 0 when the line is not that.
std::uint16_t listening_port(std::string_view line) {
  constexpr std::string_view prefix = "tinychat-server listening on http://";
  const auto colon = line.rfind(':');
  if (!line.starts_with(prefix) || colon == std::string_view::npos || colon < prefix.size())
    return 0;
  try {
    const unsigned long port = std::stoul(std::string(line.substr(colon + 1)));
    return port <= 65535 ? static_cast<std::uint16_t>(port) : 0;
  } catch (const std::logic_error&) {
    return 0;
  }
}

} // namespace

std::string server_path() { return TINYCHAT_SERVER_PATH; }

std::string http_get(std::uint16_t port, std::string_view path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  const timeval limit{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string get =
        "GET " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::send(fd, get.data(), get.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(get.size())) {
      char buffer[4096];
      ssize_t n = 0;
      while (reply.size() < (1u << 20) && (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0)
        reply.append(buffer, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return reply;
}

int healthz_status(std::uint16_t port) {
  const std::string reply = http_get(port, "/healthz");
  // "HTTP/1.1 200 OK"
  if (reply.size() < 12 || !reply.starts_with("HTTP/1.")) return 0;
  try {
    return std::stoi(reply.substr(9, 3));
  } catch (const std::logic_error&) {
    return 0;
  }
}

ServerProcess::ServerProcess(std::vector<std::string> flags)
    : flags_(std::move(flags)), process_(with_ephemeral_port(flags_)) {
  const auto line = process_.read_line(event_timeout);
  if (line) port_ = listening_port(*line);
  if (port_ == 0) {
    // No point in the graceful stop ~ChildProcess would try first.
    process_.send_signal(SIGKILL);
    throw std::runtime_error(line ? "unexpected first line from tinychat-server: " + *line
                                  : "tinychat-server did not start listening");
  }
  // A server on a shared store listens at once and serves once the store answers.
  if (std::find(flags_.begin(), flags_.end(), "redis") != flags_.end()) wait_until_healthy();
}

void ServerProcess::wait_until_healthy() {
  const auto deadline = std::chrono::steady_clock::now() + event_timeout;
  while (healthz_status(port_) != 200) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("tinychat-server's /healthz did not answer 200 in time");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string ServerProcess::ws_url() const {
  return "ws://127.0.0.1:" + std::to_string(port_) + "/v1/ws";
}

CommandResult run_server_command(const std::vector<std::string>& args, bool merge_stderr) {
  ChildOptions options;
  options.merge_stderr = merge_stderr;
  ChildProcess process(server_command(args), options);
  auto out = process.read_to_end(event_timeout);
  const auto exit_code = out ? process.wait(event_timeout) : std::nullopt;
  if (!exit_code) throw std::runtime_error("tinychat-server did not finish in time");
  return {*exit_code, std::move(*out)};
}

} // namespace tinychat::test
