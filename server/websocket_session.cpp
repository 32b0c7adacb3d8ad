#include "websocket_session.hpp"

#include "log.hpp"
#include "server_state.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <chrono>

namespace tinychat::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

namespace {
// A close that has not completed by then ends with the socket being shut.
constexpr auto close_deadline = std::chrono::seconds(5);
} // namespace

WebSocketSession::WebSocketSession(net::ip::tcp::socket&& socket, ServerState& state,
                                   Admission admission)
    : ws_(std::move(socket), state.coalesce()), state_(state), admission_(std::move(admission)),
      ingress_(state.limits(), state.rate_limit(), state.token_verifier()),
      close_deadline_(ws_.get_executor()) {}

void WebSocketSession::run(http::request<http::string_body> request, std::string unread) {
  ws_.next_layer().set_owner(weak_from_this());
  ws_.next_layer().set_unread(std::move(unread));
  // Pongs count too: a peer that pings and never reads is a slow consumer like any other.
  ws_.next_layer().limit_own_frames(state_.max_queued_bytes(), [weak = weak_from_this()] {
    if (const auto self = weak.lock()) self->too_slow();
  });
  // PROTOCOL.md 11: by default ping after 30 s of silence, close 30 s later (Beast pings at
  // idle/2).
  websocket::stream_base::timeout timeout{};
  timeout.handshake_timeout = std::chrono::seconds(10);
  timeout.idle_timeout = state_.idle_timeout();
  timeout.keep_alive_pings = true;
  ws_.set_option(timeout);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "tinychat-server"); }));
  // Beast closes with 1009 beyond this and with 1007 on invalid UTF-8 in text messages.
  ws_.read_message_max(state_.limits().max_frame_bytes);
  ws_.async_accept(request,
                   beast::bind_front_handler(&WebSocketSession::on_accept, shared_from_this()));
}

void WebSocketSession::on_accept(beast::error_code ec) {
  if (ec) return fail(ec, "websocket accept");
  id_ = state_.add_session(shared_from_this(), admission_.address());
  registered_ = true;
  ServerCounters::bump(state_.counters().websocket_opened);
  if (log_enabled(LogLevel::debug))
    log_event(LogLevel::debug, "connection_open",
              {{"client", std::to_string(id_)}, {"ip", admission_.address()}});
  do_read();
}

void WebSocketSession::do_read() {
  ws_.async_read(buffer_,
                 beast::bind_front_handler(&WebSocketSession::on_read, shared_from_this()));
}

void WebSocketSession::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    if (ec != websocket::error::closed) fail(ec, "websocket read");
    if (log_enabled(LogLevel::debug))
      log_event(LogLevel::debug, "connection_close",
                {{"client", std::to_string(id_)},
                 {"ip", admission_.address()},
                 {"peer_code", ec == websocket::error::closed ? std::to_string(ws_.reason().code)
                                                              : std::string("none")}});
    // The read loop ends exactly once per connection, whatever ended it.
    closing_ = true;
    ws_.next_layer().stop_messages(true);
    close_deadline_.cancel();
    leave_core();
    return;
  }
  if (ws_.got_binary()) {
    start_close(static_cast<std::uint16_t>(websocket::close_code::unknown_data),
                "binary messages are not supported", false);
  } else if (!closing_) {
    const auto data = buffer_.cdata();
    ++in_core_;
    state_.receive(id_, ingress_.prepare({static_cast<const char*>(data.data()), data.size()}),
                   shared_from_this());
  }
  buffer_.consume(buffer_.size());
  if (in_core_ >= max_in_core) {
    read_paused_ = true;
    return;
  }
  // Keep reading while closing: the peer's close frame completes the read with `closed`.
  do_read();
}

void WebSocketSession::leave_core() {
  if (!registered_) return;
  registered_ = false;
  state_.remove_session(id_);
}

void WebSocketSession::processed() {
  net::post(ws_.get_executor(), [self = shared_from_this()] {
    --self->in_core_;
    if (self->read_paused_ && self->in_core_ < max_in_core) {
      self->read_paused_ = false;
      self->do_read();
    }
  });
}

void WebSocketSession::send(const Frame& frame) {
  if (!frame) return;
  const auto backlog = ws_.next_layer().queue_text(*frame);
  if (backlog.bytes > state_.max_queued_bytes() || backlog.messages > state_.max_queued_frames())
    too_slow();
}

void WebSocketSession::too_slow() {
  if (too_slow_.exchange(true)) return;
  // Memory stays bounded from this instant on; the close itself happens on the strand.
  ws_.next_layer().stop_messages(true);
  net::post(ws_.get_executor(), [self = shared_from_this()] {
    ServerCounters::bump(self->state_.counters().slow_consumer_closes);
    log_event(LogLevel::warn, "slow_consumer_close",
              {{"client", std::to_string(self->id_)},
               {"ip", self->admission_.address()},
               {"code", std::to_string(slow_consumer_code)}});
    self->start_close(slow_consumer_code, "slow consumer", false);
    // Nothing more reaches it, so it leaves its rooms now, not when its peer lets go.
    self->leave_core();
  });
}

void WebSocketSession::close(std::uint16_t code, std::string reason) {
  net::post(ws_.get_executor(), [self = shared_from_this(), code, reason = std::move(reason)] {
    self->start_close(code, reason, true);
  });
}

void WebSocketSession::start_close(std::uint16_t code, std::string reason, bool flush) {
  if (closing_) return;
  closing_ = true;
  // Queued messages go out before the close frame unless the close is about them.
  ws_.next_layer().stop_messages(!flush);
  close_reason_.code = code;
  // A close frame has room for 123 bytes of reason.
  reason.resize(std::min(reason.size(), close_reason_.reason.max_size()));
  close_reason_.reason.assign(reason.data(), reason.size());
  close_deadline_.expires_after(close_deadline);
  close_deadline_.async_wait(
      beast::bind_front_handler(&WebSocketSession::on_close_deadline, shared_from_this()));
  ws_.async_close(close_reason_, [self = shared_from_this()](beast::error_code ec) {
    fail(ec, "websocket close");
  });
}

void WebSocketSession::on_close_deadline(beast::error_code ec) {
  if (ec) return;
  beast::error_code ignored;
  ws_.next_layer().next_layer().close(ignored);
}

} // namespace tinychat::server
