#pragma once
// Clients for the WebSocket integration tests below the tinychat::Client level: a raw Beast
// WebSocket client for byte-level control and a plain HTTP client. The chat-level user,
// ChatUser, is in support/chat_user.hpp.

#include "support/timeouts.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tinychat::test {

/// A WebSocket client with full control over frames. Every operation fails (throws) after
/// event_timeout instead of hanging.
class RawWebSocket {
public:
  /// Connects and completes the handshake; throws std::runtime_error on failure.
  explicit RawWebSocket(std::uint16_t port, std::string_view target = "/v1/ws");

  /// The next message, which must be text.
  std::string read_text();
  /// Reads until the connection ends; the close code the server sent, or 0 if none.
  std::uint16_t read_until_closed();
  /// Writes one message; the error (e.g. when the server already closed), not thrown.
  boost::beast::error_code write(std::string_view data, bool binary = false);
  /// Writes one fragment of a text message.
  void write_fragment(std::string_view data, bool last);

private:
  boost::beast::error_code
  run(const std::function<void(std::function<void(boost::beast::error_code)>)>& start);

  boost::asio::io_context ioc_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer buffer_;
};

/// Reads `ws`'s hello and joins `room` as `name` with a fresh key, correctly signed; returns
/// the reply (`joined`, or the error).
std::string join_with_fresh_key(RawWebSocket& ws, const std::string& room, const std::string& name);

/// Extra request headers, as name and value; a "Host" here replaces the default one.
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

/// One HTTP/1.1 request on a fresh connection; throws on transport errors or timeout.
boost::beast::http::response<boost::beast::http::string_body>
http_request(std::uint16_t port, boost::beast::http::verb method, std::string_view target,
             const HttpHeaders& headers = {});

/// Attempts a WebSocket upgrade at `target` with extra `headers` (e.g. Origin); the HTTP
/// status the server answered with (101 when it upgraded).
unsigned upgrade_status(std::uint16_t port, std::string_view target,
                        const HttpHeaders& headers = {});

} // namespace tinychat::test
