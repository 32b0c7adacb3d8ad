#pragma once
/// Accepts TCP connections and gives each an HttpSession on its own strand.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>

#include <memory>

namespace tinychat::server {

class ServerState;
class WebAssets;

/// Owns the listening socket. Create with make_shared, then run().
class Listener : public std::enable_shared_from_this<Listener> {
public:
  /// Binds and listens; throws boost::system::system_error when that fails.
  Listener(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& endpoint,
           ServerState& state, const WebAssets& assets);

  /// The bound endpoint (the real port when 0 was asked for).
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  void run();
  /// Stops accepting. Thread-safe.
  void stop();

private:
  void do_accept();
  void on_accept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_; // after running out of descriptors
  ServerState& state_;
  const WebAssets& assets_;
};

} // namespace tinychat::server
