#pragma once
/// The TCP layer under a session's websocket::stream, with one ordered write queue shared by
/// Beast's own frames (the handshake answer, pongs, pings, the close) and the session's
/// messages. Messages are framed here, straight into the queue, from any thread; everything
/// queued while a write is in flight, or within the coalescing window after one, leaves in
/// the next single write. At 500 recipients a message, one write per message per socket is
/// what limits a server (BENCHMARKS.md).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace tinychat::server {

class OutboundStream {
public:
  using socket_type = boost::asio::ip::tcp::socket;
  using executor_type = socket_type::executor_type;
  using next_layer_type = socket_type;

  using clock = std::chrono::steady_clock;

  /// `socket`'s executor must be a strand: the stream's own work runs there. Messages that
  /// arrive within `coalesce` of the last write wait and leave together; Beast's frames and
  /// messages to a quiet connection leave at once.
  OutboundStream(socket_type&& socket, clock::duration coalesce)
      : socket_(std::move(socket)), delay_(socket_.get_executor()), coalesce_(coalesce) {}

  /// Whose lifetime the stream's own operations extend (the session that holds the stream).
  void set_owner(std::weak_ptr<void> owner) { owner_ = std::move(owner); }

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  /// The socket, for Beast's get_lowest_layer (timeouts close it) and teardown.
  socket_type& next_layer() noexcept { return socket_; }

  /// What waits for the peer: queued or being written.
  struct Backlog {
    std::size_t bytes = 0;
    std::size_t messages = 0; ///< queue_text's messages; Beast's frames count only in bytes
  };
  /// Frames `payload` as one unfragmented, unmasked text message and queues it. Thread-safe.
  /// Returns the backlog including it, or nothing (zeros) when the stream stopped taking
  /// messages and dropped it.
  Backlog queue_text(std::string_view payload);

  /// Stops taking messages. With `discard`, drops what is queued and not yet being written.
  /// Frames Beast writes (the close frame) still go out. Thread-safe.
  void stop_messages(bool discard);

  /// Calls `overflow` once, on the strand, when Beast's own frames take the bytes queued or
  /// being written past `max_bytes`: a peer that pings and never reads the pongs must not
  /// grow the queue without bound. (Messages are measured by queue_text's caller.)
  void limit_own_frames(std::size_t max_bytes, std::function<void()> overflow);

  /// Calls `done` on the strand once everything queued has been written (or writing failed).
  void when_flushed(std::function<void(boost::beast::error_code)> done);

  /// Bytes that arrived before the stream took over the socket (a client's first frames,
  /// read together with its upgrade request); reads return them before reading the socket.
  /// Call before the first read.
  void set_unread(std::string bytes) { unread_ = std::move(bytes); }

  template <class MutableBufferSequence, class ReadHandler>
  auto async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler) {
    return boost::asio::async_initiate<ReadHandler, void(boost::beast::error_code, std::size_t)>(
        [this](auto handler, const MutableBufferSequence& buffers) {
          if (unread_.empty()) return socket_.async_read_some(buffers, std::move(handler));
          const std::size_t n = boost::asio::buffer_copy(buffers, boost::asio::buffer(unread_));
          unread_.erase(0, n);
          boost::asio::post(get_executor(), boost::beast::bind_front_handler(
                                                std::move(handler), boost::beast::error_code{}, n));
        },
        handler, buffers);
  }

  /// Beast's writes: the bytes are queued and the operation completes at once; a failed
  /// earlier write is reported here.
  template <class ConstBufferSequence, class WriteHandler>
  auto async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
    return boost::asio::async_initiate<WriteHandler, void(boost::beast::error_code, std::size_t)>(
        [this](auto handler, const ConstBufferSequence& buffers) {
          std::size_t n = 0;
          auto ec = queue_bytes(buffers, n);
          if (!ec && over_limit()) boost::asio::post(get_executor(), overflow_);
          boost::asio::post(get_executor(),
                            boost::beast::bind_front_handler(std::move(handler), ec, n));
        },
        handler, buffers);
  }

private:
  template <class ConstBufferSequence>
  boost::beast::error_code queue_bytes(const ConstBufferSequence& buffers, std::size_t& n) {
    std::lock_guard lock(mutex_);
    if (failed_) return failed_;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      boost::asio::const_buffer b(*it);
      if (n == 0 && b.size() > 0 && *static_cast<const unsigned char*>(b.data()) == close_frame)
        taking_messages_ = false; // RFC 6455 5.5.1: no data frame may follow a close frame
      pending_.append(static_cast<const char*>(b.data()), b.size());
      n += b.size();
    }
    schedule_flush(true);
    return {};
  }

  bool over_limit(); // once, when Beast's frames passed the limit

  // First byte of an unfragmented close frame: FIN and opcode 0x8.
  static constexpr unsigned char close_frame = 0x88;

  void schedule_flush(bool urgent); // mutex_ held
  void notify_flushed();            // mutex_ held
  void flush(std::shared_ptr<void> owner);
  void on_written(boost::beast::error_code ec);

  socket_type socket_;
  boost::asio::steady_timer delay_;
  const clock::duration coalesce_;
  std::weak_ptr<void> owner_;
  std::string unread_; // touched only on the strand
  std::mutex mutex_;   // guards everything below
  std::string pending_;
  std::string in_flight_;
  std::size_t pending_messages_ = 0;
  std::size_t in_flight_messages_ = 0;
  bool flushing_ = false; // a flush is posted or waiting, or a write is in flight
  clock::time_point last_write_{};
  bool taking_messages_ = true;
  boost::beast::error_code failed_;
  std::vector<std::function<void(boost::beast::error_code)>> flushed_waiters_;
  std::size_t max_bytes_ = 0; // 0: no limit
  std::function<void()> overflow_;
  bool overflowed_ = false;
};

/// Beast's teardown for OutboundStream: let the queue drain (it holds the close frame), then
/// the TCP teardown.
template <class TeardownHandler>
void async_teardown(boost::beast::role_type role, OutboundStream& stream,
                    TeardownHandler&& handler);

/// Synchronous teardown, which Beast wants to see declared; the server never calls it.
void teardown(boost::beast::role_type role, OutboundStream& stream, boost::beast::error_code& ec);

} // namespace tinychat::server

#include <boost/beast/websocket/teardown.hpp>

namespace tinychat::server {

template <class TeardownHandler>
void async_teardown(boost::beast::role_type role, OutboundStream& stream,
                    TeardownHandler&& handler) {
  // when_flushed takes a copyable function; Beast's handlers are move-only.
  auto shared =
      std::make_shared<std::decay_t<TeardownHandler>>(std::forward<TeardownHandler>(handler));
  stream.when_flushed([role, &stream, shared](boost::beast::error_code) {
    boost::beast::websocket::async_teardown(role, stream.next_layer(), std::move(*shared));
  });
}

} // namespace tinychat::server
