#pragma once
// The bench's WebSocket client: many connections on a few I/O threads (one io_context each),
// set up with coroutines and then read by a plain callback loop that scans each frame once.

#include "frame_scan.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace tinychat::bench {

namespace net = boost::asio;

/// A TCP socket bound to an io_context's own executor type (no type-erased executor to copy
/// in every operation).
using TcpSocket = net::basic_stream_socket<net::ip::tcp, net::io_context::executor_type>;

/// Where the server is: a ws://host:port/path URL, resolved once.
struct Endpoint {
  std::string authority; // host[:port] as written, for the Host header
  std::string target;
  net::ip::tcp::endpoint address;
};

/// Parses and resolves `url`. Throws std::invalid_argument for a URL that is not ws:// or
/// does not resolve.
Endpoint resolve_ws_url(std::string_view url);

class Connection;

/// An `error` reply (or a reply of another type) where a request expected success.
class ReplyError : public std::runtime_error {
public:
  ReplyError(std::string code, const std::string& what)
      : std::runtime_error(what), code_(std::move(code)) {}
  /// The error code, or "unexpected TYPE" for a reply of the wrong type.
  const std::string& code() const noexcept { return code_; }

private:
  std::string code_;
};

/// Receives the frames of connections in the callback loop, on their I/O thread.
class FrameSink {
public:
  /// `fields` is empty (no type) when the frame could not be scanned; `raw` is the frame.
  virtual void on_frame(Connection& connection, const FrameFields& fields,
                        std::string_view raw) = 0;
  /// The connection ended; `expected` when the bench closed it. Code 0: no close frame.
  virtual void on_close(Connection& connection, std::uint16_t code, bool expected) = 0;

protected:
  ~FrameSink() = default;
};

/// One WebSocket connection. Every member function runs on the thread of its io_context.
class Connection {
public:
  Connection(net::io_context& ioc, const Endpoint& endpoint);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// TCP connect and WebSocket handshake. Throws boost::system::system_error.
  net::awaitable<void> open();
  /// Reads one frame (for set-up, before start_reading). The views in the result stay valid
  /// until the next read. Throws boost::system::system_error when the connection ends.
  net::awaitable<FrameFields> read_frame();
  /// Writes one text frame (for set-up, before start_reading).
  net::awaitable<void> write(std::string text);
  /// Reads frames until the reply with `id`, skipping events; throws ReplyError when that
  /// reply is an error or of another type than `want`.
  net::awaitable<FrameFields> await_reply(std::uint64_t id, std::string_view want);
  /// Close handshake (1000), then waits for the TCP close. For set-up and churn.
  net::awaitable<void> close_and_wait();

  /// From now on every frame goes to `sink` until the connection ends.
  void start_reading(FrameSink& sink);

  /// An empty string whose storage can be reused: fill it and hand it to send().
  std::string take_buffer();
  /// Queues one text frame; frames leave in call order.
  void send(std::string text);
  /// Starts a normal close (1000) once queued frames are written; reported as expected.
  void close();

  /// Drops the read buffer's storage (a large `joined` frame leaves it big).
  void shrink_buffer() { buffer_.shrink_to_fit(); }
  bool closing() const noexcept { return closing_; }

private:
  void do_read();
  void on_read(boost::system::error_code ec);
  void do_write();
  void on_write(boost::system::error_code ec);
  void do_close();

  const Endpoint& endpoint_;
  boost::beast::websocket::stream<TcpSocket> ws_;
  boost::beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  std::vector<std::string> spare_;
  FrameSink* sink_ = nullptr;
  bool closing_ = false;
  bool close_sent_ = false;
  bool finished_ = false;
};

/// I/O threads, each running its own io_context, so a connection's handlers never race.
class IoThreads {
public:
  explicit IoThreads(unsigned count);
  ~IoThreads();
  IoThreads(const IoThreads&) = delete;
  IoThreads& operator=(const IoThreads&) = delete;

  std::size_t size() const noexcept { return contexts_.size(); }
  net::io_context& at(std::size_t i) { return *contexts_[i % contexts_.size()]; }
  /// Lets the threads finish once their work is done, and joins them.
  void join();
  /// Stops the threads whatever work is left, and joins them.
  void stop();

private:
  using Guard = net::executor_work_guard<net::io_context::executor_type>;
  std::vector<std::unique_ptr<net::io_context>> contexts_;
  std::vector<Guard> guards_;
  std::vector<std::thread> threads_;
};

} // namespace tinychat::bench
