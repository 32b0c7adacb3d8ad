#pragma once
// A WebSocket client built from bytes, for the conformance tests: frames are encoded by hand
// (FIN, RSV bits, any opcode, masked or not, 7/16/64-bit lengths), so a test can send what
// no well-behaved library would, and see exactly what the server answers down to the TCP
// close.

#include "support/timeouts.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tinychat::test {

/// RFC 6455 5.2 opcodes.
namespace opcode {
inline constexpr std::uint8_t continuation = 0x0, text = 0x1, binary = 0x2, close = 0x8, ping = 0x9,
                              pong = 0xA;
}

/// One frame as it travels on the wire.
struct WireFrame {
  std::uint8_t opcode = opcode::text;
  std::string payload;
  bool fin = true;
  std::uint8_t rsv = 0; ///< RSV1..RSV3 as the bits 4, 2, 1
  bool masked = true;   ///< clients must mask; the server must not
};

/// The bytes of `frame`. Masked frames use a fixed key, so every byte of a test is known.
std::string encode(const WireFrame& frame);
/// A final, masked frame of `op` carrying `payload`.
std::string frame(std::uint8_t op, std::string_view payload, bool fin = true);
/// A close frame's payload: the code in two bytes, then the reason.
std::string close_payload(std::uint16_t code, std::string_view reason = {});

/// Status line and headers of an HTTP response.
struct HttpHead {
  unsigned status = 0;
  std::map<std::string, std::string> headers; ///< names in lower case
  std::string header(const std::string& lower_name) const;
};

/// What the end of a connection looked like from the client.
struct CloseSeen {
  std::optional<std::uint16_t> code; ///< nothing: TCP closed without a close frame
  std::string reason;
  std::vector<WireFrame> before; ///< frames that came before the close
  bool tcp_closed = false;       ///< the server ended its side of TCP after its close frame
};

/// One TCP connection to the server. Every wait fails (throws std::runtime_error) after
/// event_timeout instead of hanging. Use from one thread.
class FrameClient {
public:
  /// Picks the constructor that upgrades and reads `hello`.
  struct Served {};
  static constexpr Served served{};

  /// Connects without sending anything.
  explicit FrameClient(std::uint16_t port);
  /// Connects, upgrades at /v1/ws and reads `hello`: a client the server is serving.
  FrameClient(std::uint16_t port, Served);

  /// The upgrade request this client sends by default, with `extra` header lines
  /// ("Name: value\r\n" each) added.
  static std::string upgrade_request(std::string_view target = "/v1/ws",
                                     std::string_view extra = {});
  /// Sends `request` and reads the response head; bytes after it stay unread.
  HttpHead handshake(std::string_view request);

  /// Writes `bytes`, in pieces of `chop` bytes when given (each its own write). An error
  /// (the server closed) is returned, not thrown.
  boost::system::error_code send(std::string_view bytes, std::size_t chop = 0);

  /// The next frame from the server; nothing when TCP closed first.
  std::optional<WireFrame> read_frame();
  /// The next frame, which must be a text frame (throws otherwise).
  std::string read_text();
  /// Reads until the server's close frame, answers it with the same code as RFC 6455 5.5.1
  /// asks, waits for the server to end its side of TCP, then closes this side.
  CloseSeen read_close();
  /// Reads until the server closes TCP, discarding what comes; false when `wait` passed
  /// first.
  bool wait_tcp_closed(std::chrono::milliseconds wait = event_timeout);

  /// Reads raw bytes, for answers that are not frames; empty when TCP closed.
  std::string read_bytes();

private:
  // Appends what arrives to in_; false on TCP close, nothing when `wait` passed.
  std::optional<bool> fill(std::chrono::milliseconds wait);
  void need(std::size_t bytes);

  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
  std::string in_;
  bool eof_ = false;
};

/// A fresh client is greeted with `hello` and gets `pong` for a `ping`: after a hostile
/// case, the server still serves.
void check_served(std::uint16_t port);

} // namespace tinychat::test
