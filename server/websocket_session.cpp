#include "websocket_session.hpp"

#include "log.hpp"
#include "server_state.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
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

WebSocketSession::WebSocketSession(net::ip::tcp::socket&& socket, ServerState& state)
    : ws_(std::move(socket)), state_(state), close_deadline_(ws_.get_executor()) {}

void WebSocketSession::run(http::request<http::string_body> request) {
  // The websocket stream has its own timeouts; the TCP layer's would fight them.
  beast::get_lowest_layer(ws_).expires_never();
  // PROTOCOL.md 11: ping after 30 s of silence, close 30 s later (Beast pings at idle/2).
  websocket::stream_base::timeout timeout{};
  timeout.handshake_timeout = std::chrono::seconds(10);
  timeout.idle_timeout = std::chrono::seconds(60);
  timeout.keep_alive_pings = true;
  ws_.set_option(timeout);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "tinychat-server"); }));
  // Beast closes with 1009 beyond this and with 1007 on invalid UTF-8 in text messages.
  ws_.read_message_max(state_.limits().max_frame_bytes);
  ws_.text(true);
  ws_.async_accept(request,
                   beast::bind_front_handler(&WebSocketSession::on_accept, shared_from_this()));
}

void WebSocketSession::on_accept(beast::error_code ec) {
  if (ec) return fail(ec, "websocket accept");
  id_ = state_.add_session(shared_from_this());
  registered_ = true;
  do_read();
}

void WebSocketSession::do_read() {
  ws_.async_read(buffer_,
                 beast::bind_front_handler(&WebSocketSession::on_read, shared_from_this()));
}

void WebSocketSession::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    if (ec != websocket::error::closed) fail(ec, "websocket read");
    // The read loop ends exactly once per connection, whatever ended it.
    closing_ = close_started_ = true;
    queue_.clear();
    queued_bytes_ = 0;
    close_deadline_.cancel();
    if (registered_) state_.remove_session(id_);
    return;
  }
  if (ws_.got_binary()) {
    buffer_.consume(buffer_.size());
    start_close(static_cast<std::uint16_t>(websocket::close_code::unknown_data),
                "binary messages are not supported", false);
  } else if (!closing_) {
    ++in_core_;
    state_.receive(id_, beast::buffers_to_string(buffer_.data()), shared_from_this());
    buffer_.consume(buffer_.size());
    if (in_core_ >= max_in_core) {
      read_paused_ = true;
      return;
    }
  } else {
    buffer_.consume(buffer_.size());
  }
  // Keep reading while closing: the peer's close frame completes the read with `closed`.
  do_read();
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

void WebSocketSession::send(Frame frame) {
  net::post(ws_.get_executor(), [self = shared_from_this(), frame = std::move(frame)]() mutable {
    self->enqueue(std::move(frame));
  });
}

void WebSocketSession::close(std::uint16_t code, std::string reason) {
  net::post(ws_.get_executor(), [self = shared_from_this(), code, reason = std::move(reason)] {
    self->start_close(code, reason, true);
  });
}

void WebSocketSession::enqueue(Frame frame) {
  if (closing_ || !frame) return;
  queued_bytes_ += frame->size();
  if (queued_bytes_ > max_queued_bytes)
    return start_close(slow_consumer_code, "slow consumer", false);
  queue_.push_back(std::move(frame));
  if (!writing_) do_write();
}

void WebSocketSession::do_write() {
  writing_ = true;
  ws_.async_write(net::buffer(*queue_.front()),
                  beast::bind_front_handler(&WebSocketSession::on_write, shared_from_this()));
}

void WebSocketSession::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  if (ec) {
    // The read loop sees the broken connection too and ends the session.
    queue_.clear();
    queued_bytes_ = 0;
    return fail(ec, "websocket write");
  }
  queued_bytes_ -= queue_.front()->size();
  queue_.pop_front();
  if (!queue_.empty())
    do_write();
  else if (closing_ && !close_started_)
    do_close();
}

void WebSocketSession::start_close(std::uint16_t code, std::string reason, bool flush) {
  if (closing_) return;
  closing_ = true;
  close_reason_.code = code;
  // A close frame has room for 123 bytes of reason.
  reason.resize(std::min(reason.size(), close_reason_.reason.max_size()));
  close_reason_.reason.assign(reason.data(), reason.size());
  if (!flush) {
    // Only the frame being written stays: Beast cannot take back half a message.
    while (queue_.size() > (writing_ ? 1u : 0u))
      queue_.pop_back();
    queued_bytes_ = queue_.empty() ? 0 : queue_.front()->size();
  }
  close_deadline_.expires_after(close_deadline);
  close_deadline_.async_wait(
      beast::bind_front_handler(&WebSocketSession::on_close_deadline, shared_from_this()));
  if (!writing_) do_close();
}

void WebSocketSession::do_close() {
  close_started_ = true;
  ws_.async_close(close_reason_, [self = shared_from_this()](beast::error_code ec) {
    fail(ec, "websocket close");
  });
}

void WebSocketSession::on_close_deadline(beast::error_code ec) {
  if (ec) return;
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).socket().close(ignored);
}

} // namespace tinychat::server
