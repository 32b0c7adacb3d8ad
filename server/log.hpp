#pragma once
/// Error reporting for the server's asynchronous operations.

#include <boost/beast/core/error.hpp>

#include <string_view>

namespace tinychat::server {

/// True for outcomes that are part of a connection's normal life (cancelled operations, a
/// peer closing or vanishing, idle timeouts, malformed HTTP, a WebSocket protocol violation
/// that Beast already answered with a close code), so they are not logged.
bool is_routine(boost::beast::error_code ec) noexcept;

/// Logs `ec` to stderr as "tinychat-server: <what>: <message>" unless it is routine.
void fail(boost::beast::error_code ec, std::string_view what);

/// Writes one line to stderr, prefixed with "tinychat-server: ".
void log_line(std::string_view line);

} // namespace tinychat::server
