#include "http_session.hpp"

#include "log.hpp"
#include "websocket_session.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <chrono>
#include <string_view>

namespace tinychat::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

namespace {

constexpr std::uint64_t body_limit = 8 * 1024;
// A client gets this long to send a whole request (also the keep-alive idle limit).
constexpr auto read_timeout = std::chrono::seconds(10);

constexpr std::string_view page = R"(<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>tinychat</title></head>
<body>
<h1>tinychat is running</h1>
<p>Connect a tinychat client to the WebSocket endpoint <code>/v1/ws</code> on this host.</p>
</body>
</html>
)";

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

http::response<http::string_body> text_response(const http::request<http::string_body>& req,
                                                http::status status, std::string_view type,
                                                std::string_view body) {
  http::response<http::string_body> res{status, req.version()};
  res.set(http::field::server, "tinychat-server");
  res.set(http::field::content_type, type);
  res.keep_alive(req.keep_alive());
  if (req.method() == http::verb::head) {
    res.content_length(body.size());
  } else {
    res.body() = std::string(body);
    res.prepare_payload();
  }
  return res;
}

} // namespace

http::response<http::string_body> make_response(const http::request<http::string_body>& req) {
  const std::string_view path = path_of(req.target());
  std::string_view type;
  std::string_view body;
  if (path == "/") {
    type = "text/html; charset=utf-8";
    body = page;
  } else if (path == "/healthz") {
    type = "text/plain; charset=utf-8";
    body = "ok";
  } else {
    return text_response(req, http::status::not_found, "text/plain; charset=utf-8", "not found\n");
  }
  if (websocket::is_upgrade(req))
    return text_response(req, http::status::not_found, "text/plain; charset=utf-8", "not found\n");
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    auto res = text_response(req, http::status::method_not_allowed, "text/plain; charset=utf-8",
                             "method not allowed\n");
    res.set(http::field::allow, "GET, HEAD");
    return res;
  }
  return text_response(req, http::status::ok, type, body);
}

HttpSession::HttpSession(net::ip::tcp::socket&& socket, ServerState& state)
    : stream_(std::move(socket)), state_(state) {}

void HttpSession::run() {
  // The socket's executor is this session's strand; start there.
  net::dispatch(stream_.get_executor(),
                beast::bind_front_handler(&HttpSession::do_read, shared_from_this()));
}

void HttpSession::do_read() {
  parser_.emplace();
  parser_->body_limit(body_limit);
  stream_.expires_after(read_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
}

void HttpSession::on_read(beast::error_code ec, std::size_t) {
  if (ec == http::error::end_of_stream) return do_close();
  if (ec) return fail(ec, "http read");
  auto& req = parser_->get();
  if (websocket::is_upgrade(req) && path_of(req.target()) == websocket_path) {
    std::make_shared<WebSocketSession>(stream_.release_socket(), state_)->run(parser_->release());
    return;
  }
  response_ = std::make_shared<http::response<http::string_body>>(make_response(req));
  const bool keep_alive = response_->keep_alive();
  http::async_write(
      stream_, *response_,
      beast::bind_front_handler(&HttpSession::on_write, shared_from_this(), keep_alive));
}

void HttpSession::on_write(bool keep_alive, beast::error_code ec, std::size_t) {
  if (ec) return fail(ec, "http write");
  response_.reset();
  if (!keep_alive) return do_close();
  do_read();
}

void HttpSession::do_close() {
  beast::error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
}

} // namespace tinychat::server
