#pragma once
/// Structured logging: one line per event on stderr, in logfmt, e.g.
///   ts=2026-11-28T05:00:00.123Z level=info event=listening address=127.0.0.1 port=8080
/// Values with spaces, quotes, `=` or control characters are quoted and escaped. Callers
/// never pass message texts, signatures or tokens.

#include <boost/beast/core/error.hpp>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace tinychat::server {

/// Severity of an event; a line is written when its level is at or above the threshold.
enum class LogLevel { error, warn, info, debug };

/// "error", "warn", "info" or "debug".
std::string_view to_string(LogLevel level) noexcept;
std::optional<LogLevel> log_level_from_string(std::string_view s) noexcept;

/// Sets the threshold (default info). Call before the server's threads start.
void set_log_level(LogLevel level) noexcept;
/// Whether events of `level` are written; lets callers skip building fields.
bool log_enabled(LogLevel level) noexcept;

/// One key and its value.
struct LogField {
  std::string_view key;
  std::string value;
};

/// Writes one event line if `level` is enabled. Thread-safe: one write per line.
void log_event(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});

/// Lets at most `per_second` lines of one kind through, in bursts of as many; the others are
/// dropped and counted, so an attacker hammering a limit cannot flood the log. Thread-safe.
class LogThrottle {
public:
  explicit LogThrottle(double per_second) : per_second_(per_second), tokens_(per_second) {}
  /// Whether to write this line. When true, `dropped` is the number of lines dropped since
  /// the last one written (report it in the line).
  bool admit(std::uint64_t& dropped);

private:
  std::mutex mutex_;
  const double per_second_;
  double tokens_;
  std::chrono::steady_clock::time_point refilled_at_ = std::chrono::steady_clock::now();
  std::uint64_t dropped_ = 0;
};

/// The line log_event writes at time `unix_ms`, without the newline (for tests of the format).
std::string format_event(long long unix_ms, LogLevel level, std::string_view event,
                         std::initializer_list<LogField> fields);

/// True for outcomes that are part of a connection's normal life (cancelled operations, a
/// peer closing or vanishing, idle timeouts, malformed HTTP, a WebSocket protocol violation
/// that Beast already answered with a close code), so they are not logged.
bool is_routine(boost::beast::error_code ec) noexcept;

/// Logs `ec` as `level=warn event=io_error op="<what>" error="<message>"` unless it is
/// routine.
void fail(boost::beast::error_code ec, std::string_view what);

} // namespace tinychat::server
