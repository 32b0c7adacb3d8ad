#include "http_session.hpp"

#include "http_routes.hpp"
#include "log.hpp"
#include "metrics.hpp"
#include "websocket_session.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
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

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

// Ten lines a second at most: refusals come in floods exactly when someone hammers a limit.
void log_refusal(std::string_view reason, const std::string& address) {
  static LogThrottle throttle(10);
  std::uint64_t dropped = 0;
  if (!log_enabled(LogLevel::info) || !throttle.admit(dropped)) return;
  log_event(
      LogLevel::info, "connection_refused",
      {{"reason", std::string(reason)}, {"ip", address}, {"dropped", std::to_string(dropped)}});
}

} // namespace

HttpSession::HttpSession(net::ip::tcp::socket&& socket, ServerState& state, const WebAssets& assets)
    : stream_(std::move(socket)), state_(state), assets_(assets) {}

void HttpSession::run() {
  // The socket's executor is this session's strand; start there.
  net::dispatch(stream_.get_executor(),
                beast::bind_front_handler(&HttpSession::do_read, shared_from_this()));
}

void HttpSession::do_read() {
  parser_.emplace();
  parser_->body_limit(body_limit);
  // A deadline for the whole request, not for each read: a client trickling a byte at a
  // time (slowloris) is cut off like a silent one. Also the keep-alive idle limit.
  stream_.expires_after(state_.http_timeout());
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
}

void HttpSession::on_read(beast::error_code ec, std::size_t) {
  if (ec == http::error::end_of_stream) return do_close();
  if (ec) return fail(ec, "http read");
  auto& req = parser_->get();
  if (websocket::is_upgrade(req) && path_of(req.target()) == websocket_path) {
    beast::error_code ec_address;
    const auto remote = stream_.socket().remote_endpoint(ec_address);
    if (ec_address) return do_close();
    const std::string address = remote.address().to_string();
    if (!origin_allowed(req, state_.allowed_origins())) {
      ServerCounters::bump(state_.counters().refused_origin);
      log_refusal("origin", address);
      return respond(make_refusal(req, http::status::forbidden, "this origin may not connect"));
    }
    auto admission = state_.admit(address);
    if (!admission) {
      ServerCounters::bump(state_.counters().refused_capacity);
      log_refusal("capacity", address);
      return respond(make_refusal(req, http::status::service_unavailable,
                                  "too many connections; retry later"));
    }
    // A client may send its first frames without waiting for the 101; what the HTTP read
    // took past the request belongs to the WebSocket.
    const auto rest = buffer_.cdata();
    std::string unread(static_cast<const char*>(rest.data()), rest.size());
    std::make_shared<WebSocketSession>(stream_.release_socket(), state_, std::move(*admission))
        ->run(parser_->release(), std::move(unread));
    return;
  }
  if (state_.metrics_enabled() && path_of(req.target()) == "/metrics" &&
      !websocket::is_upgrade(req))
    return serve_metrics();
  respond(make_response(req, assets_, state_.store_up()));
}

void HttpSession::serve_metrics() {
  const auto& req = parser_->get();
  if (req.method() != http::verb::get && req.method() != http::verb::head)
    return respond(make_metrics_response(req, {}));
  // The snapshot is taken on the core strand; the text is made back here, off the core.
  state_.read_metrics([self = shared_from_this()](MetricsSnapshot snapshot) {
    net::post(self->stream_.get_executor(), [self, snapshot = std::move(snapshot)] {
      self->respond(make_metrics_response(self->parser_->get(), render_metrics(snapshot)));
    });
  });
}

void HttpSession::respond(http::response<http::string_body> response) {
  response_ = std::make_shared<http::response<http::string_body>>(std::move(response));
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
