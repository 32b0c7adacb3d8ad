#include "server_process.hpp"

#include "timeouts.hpp"

#include <algorithm>
#include <csignal>
#include <stdexcept>
#include <string_view>

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

ServerProcess::ServerProcess(std::vector<std::string> flags)
    : process_(with_ephemeral_port(std::move(flags))) {
  const auto line = process_.read_line(event_timeout);
  if (line) port_ = listening_port(*line);
  if (port_ == 0) {
    // No point in the graceful stop ~ChildProcess would try first.
    process_.send_signal(SIGKILL);
    throw std::runtime_error(line ? "unexpected first line from tinychat-server: " + *line
                                  : "tinychat-server did not start listening");
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
