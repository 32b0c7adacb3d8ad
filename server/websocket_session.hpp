#pragma once
/// One WebSocket connection at /v1/ws.

#include "outbound_stream.hpp"
#include "server_state.hpp"

#include <tinychat/ingress.hpp>
#include <tinychat/types.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace tinychat::server {

/// Reads text messages, prepares them (decoding, signature check) and hands them to the core;
/// the core's frames go straight into the OutboundStream's queue. Lives as long as an
/// operation holds it (shared_from_this). Its socket's executor is a strand; every member
/// runs there, except send and close, which are thread-safe.
class WebSocketSession : public std::enable_shared_from_this<WebSocketSession> {
public:
  /// Close code for a connection whose write queue outgrew --max-queued-bytes.
  static constexpr std::uint16_t slow_consumer_code = 4008;
  /// Messages handed to the core and not yet processed; reading pauses beyond it, so a
  /// flooding client waits in its own TCP window instead of growing the server's memory.
  static constexpr std::size_t max_in_core = 32;

  WebSocketSession(boost::asio::ip::tcp::socket&& socket, ServerState& state, Admission admission);

  /// Completes the upgrade `request` that the HTTP session read; `unread` is what it read
  /// past the request (the client's first frames, when it did not wait for the answer).
  void run(boost::beast::http::request<boost::beast::http::string_body> request,
           std::string unread);

  /// Queues one frame. Thread-safe; called by the core for every delivery, so it only copies
  /// the bytes into the write queue.
  void send(const Frame& frame);
  /// The core finished one message this session handed it. Thread-safe.
  void processed();
  /// Sends what is already queued, then closes with `code`. Thread-safe.
  void close(std::uint16_t code, std::string reason);
  /// The peer's IP address. Thread-safe (never changes).
  const std::string& address() const noexcept { return admission_.address(); }

private:
  void on_accept(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void leave_core();
  void too_slow(); // the queue outgrew --max-queued-bytes
  void start_close(std::uint16_t code, std::string reason, bool flush);
  void on_close_deadline(boost::beast::error_code ec);

  boost::beast::websocket::stream<OutboundStream> ws_;
  ServerState& state_;
  Admission admission_; // this connection's place under the connection caps
  Ingress ingress_;
  boost::beast::flat_buffer buffer_;
  ClientId id_ = 0;
  bool registered_ = false; // known to the core, until leave_core
  std::size_t in_core_ = 0;
  bool read_paused_ = false;
  bool closing_ = false;               // async_close issued or the connection is gone
  std::atomic<bool> too_slow_ = false; // the 4008 close is decided
  boost::beast::websocket::close_reason close_reason_;
  boost::asio::steady_timer close_deadline_; // a peer that never reads cannot stall a close
};

} // namespace tinychat::server
