#pragma once
/// A WebSocket ClientTransport (target tinychat::client_ws), so a Client can talk to a
/// tinychat server over the network. Beast stays inside the library.

#include <tinychat/client.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace tinychat {

/// One WebSocket connection running its own I/O thread.
class WebSocketConnection final : public ClientTransport {
public:
  using FrameHandler = std::function<void(std::string_view)>;
  /// Called once when the connection ends; code 0 when it ended without a close frame.
  using CloseHandler = std::function<void(std::uint16_t code, std::string_view reason)>;

  /// Connects to `url` (ws://host:port/path) and completes the handshake, but reads nothing
  /// until start(): a Client can be built on the connection before `hello` arrives.
  /// Throws std::system_error when the connection cannot be made.
  static std::unique_ptr<WebSocketConnection> open(std::string_view url);

  /// Starts the I/O thread; every received text message goes to `on_frame`. Handlers run on
  /// that thread. Call once.
  void start(FrameHandler on_frame, CloseHandler on_close = {});

  /// open() and start() in one step.
  static std::unique_ptr<WebSocketConnection> connect(std::string_view url, FrameHandler on_frame,
                                                      CloseHandler on_close = {});

  /// Closes (1000) and joins the I/O thread. Must not run on that thread, i.e. not from a
  /// handler of this connection (joining itself would deadlock).
  ~WebSocketConnection() override;

  /// Thread-safe; frames go out in call order.
  void send_text(std::string text) override;
  /// Starts a normal close (1000). Thread-safe.
  void close();

  struct Impl;

private:
  explicit WebSocketConnection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

} // namespace tinychat
