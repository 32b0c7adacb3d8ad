#pragma once
/// One plain HTTP connection: answers plain requests (http_routes.hpp) and hands WebSocket
/// upgrades for /v1/ws to a WebSocketSession.

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <memory>
#include <optional>

namespace tinychat::server {

class ServerState;
class WebAssets;

/// The path a WebSocket client connects to.
inline constexpr const char* websocket_path = "/v1/ws";

/// Reads requests one at a time (keep-alive) and answers each before reading the next.
/// Lives as long as an operation holds it; runs on its socket's strand.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
public:
  HttpSession(boost::asio::ip::tcp::socket&& socket, ServerState& state, const WebAssets& assets);
  void run();

private:
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void respond(boost::beast::http::response<boost::beast::http::string_body> response);
  void on_write(bool keep_alive, boost::beast::error_code ec, std::size_t bytes);
  void do_close();
  void serve_metrics();

  boost::beast::tcp_stream stream_;
  ServerState& state_;
  const WebAssets& assets_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::shared_ptr<boost::beast::http::response<boost::beast::http::string_body>> response_;
};

} // namespace tinychat::server
