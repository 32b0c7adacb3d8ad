#pragma once
/// Command-line settings of tinychat-server, also settable in a --config file.

#include "log.hpp"

#include <tinychat/room_service.hpp>
#include <tinychat/sqlite_store.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tinychat::server {

/// Everything the flags decide.
struct Options {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 8080;
  unsigned threads = 1;
  /// Serve the page from this directory instead of the copy compiled in (empty: compiled in).
  std::string web_root;
  /// Where rooms live: "memory" (gone with the process), "sqlite" (in data_dir) or "redis"
  /// (shared with every server on the same Redis).
  std::string store = "sqlite";
  std::string data_dir = "tinychat-data";
  Durability durability = Durability::process;
  std::string redis_url = "redis://127.0.0.1:6379";
  std::chrono::milliseconds redis_node_timeout{10000};
  std::string redis_key_prefix = "tinychat:";
  /// Bytes of frames that may wait for a connection that reads too slowly; beyond them it
  /// is closed with 4008.
  std::size_t max_queued_bytes = std::size_t{4} << 20;
  /// The same in messages: at 1,000 messages a second, 10 s of backlog.
  std::size_t max_queued_frames = 10000;
  /// A connection written to less than this ago waits this long for more messages to send
  /// with them in one write (0: every message is written at once).
  std::chrono::microseconds coalesce{5000};
  /// WebSocket connections at once, in all and from one IP address (0: no limit); beyond
  /// them an upgrade is answered 503.
  std::size_t max_connections = 20000;
  std::size_t max_connections_per_ip = 1000;
  /// A client must send a whole HTTP request (the WebSocket upgrade included) within this
  /// time of connecting or of the previous answer, or it is disconnected (slowloris).
  std::chrono::milliseconds http_timeout{10000};
  /// A WebSocket connection that sends nothing for half of this is pinged, and closed when
  /// the whole passes without a frame from it (PROTOCOL.md 11: 30 s, then 30 s more).
  std::chrono::milliseconds idle_timeout{60000};
  /// Origins besides the server's own whose pages may open WebSockets.
  std::vector<std::string> allowed_origins;
  ServiceConfig service;
  /// Events below this level are not logged.
  LogLevel log_level = LogLevel::info;
  /// Serve GET /metrics (Prometheus text format).
  bool metrics = true;
  /// The --config file the settings were read from (empty: none).
  std::string config_file;
};

/// A flag or value the user got wrong; the message is meant for stderr.
class UsageError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// What the command line asks for.
struct ParsedCommandLine {
  enum class Action { run, help, version } action = Action::run;
  Options options;
};

/// Parses `--flag value` and `--flag=value` forms, and the file of `--config FILE` (see
/// config_file.hpp) under them: a flag on the command line replaces the file's setting of it,
/// all of them for a repeatable flag. Throws UsageError for anything unknown, missing,
/// malformed or out of range; for a line of the file the message starts with "FILE:LINE: ".
ParsedCommandLine parse_command_line(const std::vector<std::string>& args);

/// The --help text, listing every flag with its default.
std::string usage_text();

} // namespace tinychat::server
