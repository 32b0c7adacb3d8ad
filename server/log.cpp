#include "log.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/error.hpp>

#include <iostream>
#include <string>

namespace tinychat::server {

namespace net = boost::asio;
namespace beast = boost::beast;

bool is_routine(beast::error_code ec) noexcept {
  return ec == net::error::operation_aborted || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == net::error::not_connected || ec == beast::error::timeout ||
         ec.category() ==
             beast::http::make_error_code(beast::http::error::end_of_stream).category() ||
         ec.category() ==
             beast::websocket::make_error_code(beast::websocket::error::closed).category();
}

void fail(beast::error_code ec, std::string_view what) {
  if (!ec || is_routine(ec)) return;
  log_line(std::string(what) + ": " + ec.message());
}

void log_line(std::string_view line) {
  // One insertion per line keeps lines from different threads apart.
  std::cerr << ("tinychat-server: " + std::string(line) + "\n") << std::flush;
}

} // namespace tinychat::server
