#include "log.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/error.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <string>
#include <utility>

namespace tinychat::server {

namespace net = boost::asio;
namespace beast = boost::beast;

namespace {

// Written once at start-up, read by every thread that logs.
std::atomic<LogLevel> threshold{LogLevel::info};

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (const unsigned char c : v)
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) return true;
  return false;
}

void append_value(std::string& out, std::string_view v) {
  if (!needs_quotes(v)) {
    out += v;
    return;
  }
  out += '"';
  for (const unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < ' ' || c == 0x7f) {
      // Anything else that could end or forge a line is shown, not obeyed.
      char hex[7];
      std::snprintf(hex, sizeof hex, "\\u%04x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

void append_timestamp(std::string& out, long long unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  const auto n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  out.append(text, n);
  const auto ms = static_cast<unsigned>(unix_ms % 1000);
  out += '.';
  out += static_cast<char>('0' + ms / 100);
  out += static_cast<char>('0' + ms / 10 % 10);
  out += static_cast<char>('0' + ms % 10);
  out += 'Z';
}

} // namespace

std::string_view to_string(LogLevel level) noexcept {
  switch (level) {
  case LogLevel::error:
    return "error";
  case LogLevel::warn:
    return "warn";
  case LogLevel::info:
    return "info";
  case LogLevel::debug:
    return "debug";
  }
  return "info";
}

std::optional<LogLevel> log_level_from_string(std::string_view s) noexcept {
  for (auto level : {LogLevel::error, LogLevel::warn, LogLevel::info, LogLevel::debug})
    if (s == to_string(level)) return level;
  return std::nullopt;
}

void set_log_level(LogLevel level) noexcept { threshold.store(level, std::memory_order_relaxed); }

bool log_enabled(LogLevel level) noexcept {
  return level <= threshold.load(std::memory_order_relaxed);
}

std::string format_event(long long unix_ms, LogLevel level, std::string_view event,
                         std::initializer_list<LogField> fields) {
  std::string line = "ts=";
  append_timestamp(line, unix_ms);
  line += " level=";
  line += to_string(level);
  line += " event=";
  append_value(line, event);
  for (const auto& f : fields) {
    line += ' ';
    line += f.key;
    line += '=';
    append_value(line, f.value);
  }
  return line;
}

void log_event(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  if (!log_enabled(level)) return;
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  // One insertion per line keeps lines from different threads apart.
  std::cerr << (format_event(now, level, event, fields) + "\n") << std::flush;
}

bool is_routine(beast::error_code ec) noexcept {
  return ec == net::error::operation_aborted || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == net::error::not_connected || ec == beast::error::timeout ||
         ec.category() ==
             beast::http::make_error_code(beast::http::error::end_of_stream).category() ||
         ec.category() ==
             beast::websocket::make_error_code(beast::websocket::error::closed).category();
}

void fail(beast::error_code ec, std::string_view what) {
  if (!ec || is_routine(ec)) return;
  log_event(LogLevel::warn, "io_error", {{"op", std::string(what)}, {"error", ec.message()}});
}

bool LogThrottle::admit(std::uint64_t& dropped) {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - refilled_at_).count();
  refilled_at_ = now;
  tokens_ = std::min(per_second_, tokens_ + elapsed * per_second_);
  if (tokens_ < 1) {
    ++dropped_;
    return false;
  }
  tokens_ -= 1;
  dropped = std::exchange(dropped_, 0);
  return true;
}

} // namespace tinychat::server
