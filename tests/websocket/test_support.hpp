#pragma once
// Clients for the WebSocket integration tests: a raw Beast client for byte-level control,
// a plain HTTP client, and a chat user built from tinychat::Client over WebSocketConnection.

#include <tinychat/client.hpp>
#include <tinychat/websocket_client.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tinychat::test {

/// How long a test waits for any one event before it fails.
inline constexpr auto event_timeout = std::chrono::seconds(20);

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
  boost::beast::error_code run(const std::function<void(std::function<void(
                                   boost::beast::error_code)>)>& start);

  boost::asio::io_context ioc_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer buffer_;
};

/// One HTTP/1.1 request on a fresh connection; throws on transport errors or timeout.
boost::beast::http::response<boost::beast::http::string_body>
http_request(std::uint16_t port, boost::beast::http::verb method, std::string_view target);

/// Attempts a WebSocket upgrade at `target`; the HTTP status the server answered with.
unsigned upgrade_status(std::uint16_t port, std::string_view target);

/// A thread-safe queue that a test waits on.
template <class T>
class Mailbox {
public:
  void push(T value) {
    {
      std::lock_guard lock(mutex_);
      items_.push_back(std::move(value));
    }
    cv_.notify_all();
  }
  /// The oldest item; throws when none arrives within event_timeout.
  T pop() {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, event_timeout, [&] { return !items_.empty(); }))
      throw std::runtime_error("timed out waiting for an event");
    T value = std::move(items_.front());
    items_.pop_front();
    return value;
  }
  /// Waits until `n` items are queued, then returns a copy of all; throws on timeout.
  std::vector<T> wait_for(std::size_t n) {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, event_timeout, [&] { return items_.size() >= n; }))
      throw std::runtime_error("timed out: " + std::to_string(items_.size()) + " of " +
                               std::to_string(n) + " events arrived");
    return {items_.begin(), items_.end()};
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }

private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<T> items_;
};

/// How a WebSocketConnection ended.
struct Closed {
  std::uint16_t code = 0;
  std::string reason;
};

/// A tinychat::Client on its own WebSocket connection, with its events queued in mailboxes.
/// The constructor returns once `hello` has arrived.
class ChatUser {
public:
  explicit ChatUser(const std::string& url);
  ~ChatUser();

  Client& client() noexcept { return client_; }

  std::string create_room();
  Joined join(std::string_view room_id, std::string_view name);
  Sent send(std::string_view room_id, std::string_view text);
  HistoryPage history(std::string_view room_id, std::uint64_t after_seq, std::uint32_t limit);
  Left leave(std::string_view room_id);

  Mailbox<ChatMessage> messages;
  Mailbox<MemberJoined> member_joined;
  Mailbox<MemberLeft> member_left;
  Mailbox<Closed> closed;

private:
  /// Lets the Client exist before the connection does (the connection delivers hello at once).
  struct LateTransport final : ClientTransport {
    WebSocketConnection* connection = nullptr;
    void send_text(std::string text) override { connection->send_text(std::move(text)); }
  };
  /// Issues a request and waits for its reply; throws when it is an error frame.
  template <class Reply>
  Reply call(const std::function<void(ReplyHandler)>& issue);

  LateTransport transport_;
  Client client_;
  Mailbox<Hello> hello_;
  std::unique_ptr<WebSocketConnection> connection_; // last: closed and joined first
};

} // namespace tinychat::test
