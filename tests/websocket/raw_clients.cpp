#include "raw_clients.hpp"

#include <tinychat/encoding.hpp>
#include <tinychat/signature_verifier.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <optional>
#include <stdexcept>

namespace tinychat::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = net::ip::tcp;

namespace {

const tcp::endpoint loopback(std::uint16_t port) {
  return {net::ip::make_address("127.0.0.1"), port};
}

// Runs one asynchronous operation on `ioc` to completion, bounded by event_timeout through
// the stream's expiry; returns its error.
beast::error_code run_op(net::io_context& ioc, beast::tcp_stream& stream,
                         const std::function<void(std::function<void(beast::error_code)>)>& start) {
  std::optional<beast::error_code> result;
  stream.expires_after(event_timeout);
  ioc.restart();
  start([&](beast::error_code ec) { result = ec; });
  ioc.run();
  if (!result) throw std::runtime_error("asynchronous operation did not complete");
  return *result;
}

void check(beast::error_code ec, const char* what) {
  if (ec) throw std::runtime_error(std::string(what) + ": " + ec.message());
}

} // namespace

// ---- RawWebSocket ---------------------------------------------------------------------

RawWebSocket::RawWebSocket(std::uint16_t port, std::string_view target) : ws_(ioc_) {
  check(run([&](auto done) {
          beast::get_lowest_layer(ws_).async_connect(loopback(port),
                                                     [done](beast::error_code ec) { done(ec); });
        }),
        "connect");
  const std::string host = "127.0.0.1:" + std::to_string(port);
  check(run([&](auto done) {
          ws_.async_handshake(host, std::string(target),
                              [done](beast::error_code ec) { done(ec); });
        }),
        "websocket handshake");
}

beast::error_code
RawWebSocket::run(const std::function<void(std::function<void(beast::error_code)>)>& start) {
  return run_op(ioc_, beast::get_lowest_layer(ws_), start);
}

std::string RawWebSocket::read_text() {
  buffer_.clear();
  check(run([&](auto done) {
          ws_.async_read(buffer_, [done](beast::error_code ec, std::size_t) { done(ec); });
        }),
        "websocket read");
  if (!ws_.got_text()) throw std::runtime_error("received a binary message");
  return beast::buffers_to_string(buffer_.data());
}

std::uint16_t RawWebSocket::read_until_closed() {
  for (;;) {
    buffer_.clear();
    const auto ec = run([&](auto done) {
      ws_.async_read(buffer_, [done](beast::error_code e, std::size_t) { done(e); });
    });
    if (ec == beast::error::timeout)
      throw std::runtime_error("timed out waiting for the server to close");
    if (ec) return static_cast<std::uint16_t>(ws_.reason().code);
  }
}

beast::error_code RawWebSocket::write(std::string_view data, bool binary) {
  ws_.binary(binary);
  return run([&](auto done) {
    ws_.async_write(net::buffer(data.data(), data.size()),
                    [done](beast::error_code ec, std::size_t) { done(ec); });
  });
}

std::string join_with_fresh_key(RawWebSocket& ws, const std::string& room,
                                const std::string& name) {
  const auto hello = json::parse(ws.read_text()).as_object();
  Challenge challenge{};
  if (!from_hex(hello.at("challenge").as_string(), challenge))
    throw std::runtime_error("hello without a challenge");
  const auto key = KeyPair::generate();
  const auto sig = key.sign(join_payload(challenge, room, name, key.public_key()));
  if (ws.write(json::serialize(json::object{{"type", "join"},
                                            {"id", 1},
                                            {"room_id", room},
                                            {"user_name", name},
                                            {"pub_key", to_hex(key.public_key())},
                                            {"sig", to_hex(sig)}})))
    throw std::runtime_error("join could not be written");
  return json::parse(ws.read_text()).as_object().at("type").as_string().c_str();
}

void RawWebSocket::write_fragment(std::string_view data, bool last) {
  ws_.text(true);
  check(run([&](auto done) {
          ws_.async_write_some(last, net::buffer(data.data(), data.size()),
                               [done](beast::error_code ec, std::size_t) { done(ec); });
        }),
        "websocket write");
}

// ---- HTTP -----------------------------------------------------------------------------

http::response<http::string_body> http_request(std::uint16_t port, http::verb method,
                                               std::string_view target,
                                               const HttpHeaders& headers) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  check(run_op(ioc, stream,
               [&](auto done) {
                 stream.async_connect(loopback(port), [done](beast::error_code ec) { done(ec); });
               }),
        "connect");
  http::request<http::string_body> req{method, std::string(target), 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  req.set(http::field::connection, "close");
  for (const auto& [name, value] : headers)
    req.set(name, value);
  check(run_op(ioc, stream,
               [&](auto done) {
                 http::async_write(stream, req,
                                   [done](beast::error_code ec, std::size_t) { done(ec); });
               }),
        "http write");
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  // A HEAD response announces a body length but carries no body.
  parser.skip(method == http::verb::head);
  check(run_op(ioc, stream,
               [&](auto done) {
                 http::async_read(stream, buffer, parser,
                                  [done](beast::error_code ec, std::size_t) { done(ec); });
               }),
        "http read");
  // Whatever follows the response (nothing is expected) shows up as extra bytes.
  auto res = parser.release();
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return res;
}

unsigned upgrade_status(std::uint16_t port, std::string_view target, const HttpHeaders& headers) {
  net::io_context ioc;
  websocket::stream<beast::tcp_stream> ws(ioc);
  ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
    for (const auto& [name, value] : headers)
      req.set(name, value);
  }));
  auto& stream = beast::get_lowest_layer(ws);
  check(run_op(ioc, stream,
               [&](auto done) {
                 stream.async_connect(loopback(port), [done](beast::error_code ec) { done(ec); });
               }),
        "connect");
  websocket::response_type res;
  const auto ec = run_op(ioc, stream, [&](auto done) {
    ws.async_handshake(res, "127.0.0.1", std::string(target),
                       [done](beast::error_code e) { done(e); });
  });
  if (ec && ec != websocket::error::upgrade_declined)
    throw std::runtime_error("websocket handshake: " + ec.message());
  return res.result_int();
}

} // namespace tinychat::test
