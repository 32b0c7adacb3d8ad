// Operating tinychat-server: its structured log on stderr and its --config file.

#include "raw_clients.hpp"
#include "support/chat_user.hpp"
#include "support/child_process.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"
#include "support/timeouts.hpp"

#include <tinychat/encoding.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace tinychat::test {
namespace {

namespace json = boost::json;

constexpr std::string_view listening_prefix = "tinychat-server listening on http://127.0.0.1:";

/// tinychat-server with its stderr (the log) and stdout read together, started on an
/// ephemeral port with the memory store.
class LoggedServer {
public:
  explicit LoggedServer(std::vector<std::string> flags = {})
      : process_(command(std::move(flags)), merged()) {
    while (auto line = process_.read_line(event_timeout)) {
      if (line->starts_with(listening_prefix)) {
        port_ = static_cast<std::uint16_t>(std::stoul(line->substr(listening_prefix.size())));
        return;
      }
      lines_.push_back(*line);
    }
    throw std::runtime_error("tinychat-server did not start listening");
  }

  std::uint16_t port() const { return port_; }
  void signal(int number) { process_.send_signal(number); }
  std::string ws_url() const { return "ws://127.0.0.1:" + std::to_string(port_) + "/v1/ws"; }

  /// Stops the server (SIGTERM) and returns every log line it wrote.
  std::vector<std::string> stop() {
    process_.send_signal(SIGTERM);
    const auto rest = process_.read_to_end(event_timeout);
    REQUIRE(rest);
    CHECK(process_.wait(event_timeout) == 0);
    std::istringstream in(*rest);
    for (std::string line; std::getline(in, line);)
      lines_.push_back(line);
    return lines_;
  }

private:
  static std::vector<std::string> command(std::vector<std::string> flags) {
    std::vector<std::string> argv{server_path(), "--port", "0", "--store", "memory"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    return argv;
  }
  static ChildOptions merged() {
    ChildOptions options;
    options.merge_stderr = true;
    return options;
  }

  ChildProcess process_;
  std::uint16_t port_ = 0;
  std::vector<std::string> lines_;
};

std::string joined(const std::vector<std::string>& lines) {
  std::string all;
  for (const auto& l : lines)
    all += l + "\n";
  return all;
}

bool has_line(const std::vector<std::string>& lines, const std::string& part) {
  for (const auto& l : lines)
    if (l.find(part) != std::string::npos) return true;
  return false;
}

// Runs the server expecting it to stop at once; its exit status and everything it printed.
CommandResult run_to_exit(const std::vector<std::string>& flags) {
  std::vector<std::string> args{"--port", "0", "--store", "memory"};
  args.insert(args.end(), flags.begin(), flags.end());
  return run_server_command(args, true);
}

std::string write_file(const TempDir& dir, const std::string& content) {
  const auto path = (dir.path() / "tinychat.conf").string();
  std::ofstream(path) << content;
  return path;
}

json::object limits_in_hello(std::uint16_t port) {
  RawWebSocket ws(port);
  return json::parse(ws.read_text()).at("limits").as_object();
}

} // namespace

TEST_CASE("log: every line is one logfmt event; debug shows connections opening and closing") {
  LoggedServer server({"--log-level", "debug"});
  {
    ChatUser alice(server.ws_url());
    alice.create_room();
  }
  // The server drains every connection before it exits, so the close is logged by then.
  const auto lines = server.stop();
  INFO(joined(lines));
  static const std::regex logfmt(
      R"(^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=(error|warn|info|debug) event=[a-z_]+)"
      R"(( [a-z_]+=("([^"\\]|\\.)*"|[^ "=\\]+))*$)");
  for (const auto& line : lines)
    CHECK_MESSAGE(std::regex_match(line, logfmt), line);
  CHECK(has_line(lines, "level=info event=start version="));
  CHECK(has_line(lines, "level=info event=listening address=127.0.0.1 port=" +
                            std::to_string(server.port())));
  CHECK(has_line(lines, "level=debug event=connection_open client="));
  CHECK(has_line(lines, "level=debug event=connection_close client="));
  CHECK(has_line(lines, "ip=127.0.0.1"));
  CHECK(has_line(lines, "level=info event=shutdown_begin"));
  CHECK(has_line(lines, "level=info event=shutdown_end"));
}

TEST_CASE("log: the default shows info but not debug; --log-level error shows neither") {
  for (const std::string level : {"default", "error"}) {
    CAPTURE(level);
    LoggedServer server(level == "default" ? std::vector<std::string>{}
                                           : std::vector<std::string>{"--log-level", level});
    { ChatUser alice(server.ws_url()); }
    CHECK(upgrade_status(server.port(), "/v1/ws", {{"Origin", "https://evil.example"}}) == 403);
    const auto lines = server.stop();
    INFO(joined(lines));
    CHECK_FALSE(has_line(lines, "level=debug"));
    CHECK(has_line(lines, "level=info") == (level == "default"));
    CHECK(has_line(lines, "event=connection_refused reason=origin ip=127.0.0.1") ==
          (level == "default"));
  }
}

TEST_CASE("log: a message's text and signatures never reach the log") {
  LoggedServer server({"--log-level", "debug", "--max-connections-per-ip", "2"});
  const std::string text = "zebra-7f3a \"quoted\" secret";
  std::string message_sig;
  {
    ChatUser alice(server.ws_url());
    ChatUser bob(server.ws_url());
    CHECK(upgrade_status(server.port(), "/v1/ws") == 503); // something to log meanwhile
    const auto room = alice.create_room();
    alice.join(room, "alice");
    bob.join(room, "bob");
    alice.send(room, text);
    message_sig = to_hex(bob.wait_for_messages_from("alice").front().sig);
  }
  const auto lines = server.stop();
  const auto all = joined(lines);
  INFO(all);
  CHECK(has_line(lines, "event=connection_refused reason=capacity"));
  CHECK(all.find("zebra-7f3a") == std::string::npos);
  CHECK(all.find(message_sig) == std::string::npos);
  CHECK(all.find(message_sig.substr(0, 16)) == std::string::npos);
}

TEST_CASE("log: refused upgrades are logged ten a second at most, with the count dropped") {
  LoggedServer server({"--max-connections", "1"});
  RawWebSocket first(server.port());
  first.read_text();
  for (int i = 0; i < 200; ++i)
    REQUIRE(upgrade_status(server.port(), "/v1/ws") == 503);
  // The throttle refills at 10 a second: after a pause the next refusal is logged again and
  // says how many were not.
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  REQUIRE(upgrade_status(server.port(), "/v1/ws") == 503);
  std::vector<std::string> refusals;
  for (const auto& l : server.stop())
    if (l.find("event=connection_refused") != std::string::npos) refusals.push_back(l);
  REQUIRE_FALSE(refusals.empty());
  // 10 at once, then 10 a second for as long as the attempts took.
  CHECK(refusals.size() < 100);
  CHECK(refusals.front().find("dropped=0") != std::string::npos);
  CHECK(refusals.back().find("dropped=0") == std::string::npos);
  CHECK(refusals.back().find("dropped=") != std::string::npos);
}

TEST_CASE("config: the file's settings reach hello; the command line overrides them") {
  TempDir dir;
  const auto path = write_file(dir, "# limits for the test\n"
                                    "\n"
                                    "max-text-chars = 123\n"
                                    "  max-name-chars=20  \n"
                                    "allowed-origin = https://a.example\n"
                                    "allowed-origin = https://b.example\n");
  {
    ServerProcess server({"--config", path});
    const auto limits = limits_in_hello(server.port());
    CHECK(limits.at("max_text_chars") == 123);
    CHECK(limits.at("max_name_chars") == 20);
    CHECK(upgrade_status(server.port(), "/v1/ws", {{"Origin", "https://a.example"}}) == 101);
    CHECK(upgrade_status(server.port(), "/v1/ws", {{"Origin", "https://b.example"}}) == 101);
    CHECK(upgrade_status(server.port(), "/v1/ws", {{"Origin", "https://c.example"}}) == 403);
  }
  ServerProcess server(
      {"--max-text-chars", "77", "--config", path, "--allowed-origin", "https://c.example"});
  const auto limits = limits_in_hello(server.port());
  CHECK(limits.at("max_text_chars") == 77);
  CHECK(limits.at("max_name_chars") == 20);
  // A repeatable flag on the command line replaces the file's list.
  CHECK(upgrade_status(server.port(), "/v1/ws", {{"Origin", "https://c.example"}}) == 101);
  CHECK(upgrade_status(server.port(), "/v1/ws", {{"Origin", "https://a.example"}}) == 403);
}

TEST_CASE("config: an unknown name or a bad value stops the server with exit 2 at file:line") {
  TempDir dir;
  SUBCASE("unknown name") {
    const auto path = write_file(dir, "port = 0\n# colour\ncolour = blue\n");
    const auto [status, out] = run_to_exit({"--config", path});
    CHECK(status == 2);
    CHECK(out.find(path + ":3: unknown setting 'colour'") != std::string::npos);
  }
  SUBCASE("bad value") {
    const auto path = write_file(dir, "\nmax-history = lots\n");
    const auto [status, out] = run_to_exit({"--config", path});
    CHECK(status == 2);
    CHECK(out.find(path + ":2: --max-history: not a whole number: 'lots'") != std::string::npos);
  }
  SUBCASE("not name = value") {
    const auto path = write_file(dir, "--port 8080\n");
    const auto [status, out] = run_to_exit({"--config", path});
    CHECK(status == 2);
    CHECK(out.find(path + ":1: expected 'name = value'") != std::string::npos);
  }
  SUBCASE("set twice") {
    const auto path = write_file(dir, "max-history = 5\nmax-history = 6\n");
    const auto [status, out] = run_to_exit({"--config", path});
    CHECK(status == 2);
    CHECK(out.find(path + ":2: 'max-history' was already set at " + path + ":1") !=
          std::string::npos);
  }
  SUBCASE("a missing file") {
    const auto [status, out] = run_to_exit({"--config", (dir.path() / "none.conf").string()});
    CHECK(status == 2);
    CHECK(out.find("--config: cannot read") != std::string::npos);
  }
}

TEST_CASE("config: a SIGHUP reloads nothing and stops nothing; the log says so") {
  LoggedServer server;
  server.signal(SIGHUP);
  server.signal(SIGHUP);
  { ChatUser alice(server.ws_url()); } // still serving
  const auto lines = server.stop();
  INFO(joined(lines));
  CHECK(has_line(lines, "level=warn event=reload_unsupported"));
  CHECK(has_line(lines, "event=shutdown_end"));
}

TEST_CASE("server: --help lists --config, --log-level and --metrics") {
  const auto result = run_server_command({"--help"});
  CHECK(result.exit_code == 0);
  for (const char* flag : {"--config FILE", "--log-level LEVEL", "--metrics on|off"})
    CHECK_MESSAGE(result.out.find(flag) != std::string::npos, flag);
}

} // namespace tinychat::test
