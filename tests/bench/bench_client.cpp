#include "bench_client.hpp"

#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket.hpp>

#include <chrono>
#include <stdexcept>
#include <utility>

namespace tinychat::bench {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

// A `joined` reply lists up to max_room_members members; history pages are never asked for.
constexpr std::size_t read_message_max = std::size_t{16} << 20;
// Reused write buffers kept per connection.
constexpr std::size_t max_spare_buffers = 8;

} // namespace

Endpoint resolve_ws_url(std::string_view url) {
  constexpr std::string_view scheme = "ws://";
  if (!url.starts_with(scheme)) throw std::invalid_argument("not a ws:// URL: " + std::string(url));
  std::string_view rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  Endpoint out;
  out.authority = std::string(rest.substr(0, slash));
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  std::string_view authority = out.authority;
  std::string host;
  std::string port = "80";
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos)
      throw std::invalid_argument("bad URL: " + std::string(url));
    host = std::string(authority.substr(1, close - 1));
    if (authority.size() > close + 1) {
      if (authority[close + 1] != ':') throw std::invalid_argument("bad URL: " + std::string(url));
      port = std::string(authority.substr(close + 2));
    }
  } else {
    const auto colon = authority.rfind(':');
    host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = std::string(authority.substr(colon + 1));
  }
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  boost::system::error_code ec;
  const auto results = resolver.resolve(host, port, ec);
  if (ec || results.empty())
    throw std::invalid_argument("cannot resolve " + std::string(url) + ": " + ec.message());
  out.address = results.begin()->endpoint();
  return out;
}

Connection::Connection(net::io_context& ioc, const Endpoint& endpoint)
    : endpoint_(endpoint), ws_(ioc.get_executor()) {}

net::awaitable<void> Connection::open() {
  auto& socket = ws_.next_layer();
  co_await socket.async_connect(endpoint_.address, net::use_awaitable);
  socket.set_option(tcp::no_delay(true));
  ws_.read_message_max(read_message_max);
  ws_.auto_fragment(false);
  // The masking key needs no cryptographic strength here; the fast generator costs less.
  ws_.secure_prng(false);
  websocket::stream_base::timeout timeout{};
  timeout.handshake_timeout = std::chrono::seconds(30);
  timeout.idle_timeout = websocket::stream_base::none();
  timeout.keep_alive_pings = false;
  ws_.set_option(timeout);
  co_await ws_.async_handshake(endpoint_.authority, endpoint_.target, net::use_awaitable);
  ws_.text(true);
}

net::awaitable<FrameFields> Connection::read_frame() {
  buffer_.consume(buffer_.size());
  co_await ws_.async_read(buffer_, net::use_awaitable);
  const auto data = buffer_.cdata();
  FrameFields fields;
  if (!scan_frame(std::string_view(static_cast<const char*>(data.data()), data.size()), fields))
    throw std::runtime_error("a server frame that is not a JSON object");
  co_return fields;
}

net::awaitable<void> Connection::write(std::string text) {
  co_await ws_.async_write(net::buffer(text), net::use_awaitable);
}

net::awaitable<FrameFields> Connection::await_reply(std::uint64_t id, std::string_view want) {
  for (;;) {
    FrameFields fields = co_await read_frame();
    if (!fields.has_id || fields.id != id) continue; // an event
    if (fields.type == want) co_return fields;
    if (fields.type == "error")
      throw ReplyError(std::string(fields.code), "error reply " + std::string(fields.code) +
                                                     " where " + std::string(want) + " was due");
    throw ReplyError("unexpected " + std::string(fields.type),
                     "reply " + std::string(fields.type) + " instead of " + std::string(want));
  }
}

net::awaitable<void> Connection::close_and_wait() {
  closing_ = true;
  // Beast reads and discards frames until the server's close frame, then the TCP close.
  co_await ws_.async_close(websocket::close_code::normal, net::use_awaitable);
  finished_ = true;
}

void Connection::start_reading(FrameSink& sink) {
  sink_ = &sink;
  do_read();
}

void Connection::do_read() {
  buffer_.consume(buffer_.size());
  ws_.async_read(buffer_, [this](boost::system::error_code ec, std::size_t) { on_read(ec); });
}

void Connection::on_read(boost::system::error_code ec) {
  if (ec) {
    finished_ = true; // a write under way still owns queue_.front(); on_write drops the rest
    sink_->on_close(*this, static_cast<std::uint16_t>(ws_.reason().code), closing_);
    return;
  }
  const auto data = buffer_.cdata();
  const std::string_view raw(static_cast<const char*>(data.data()), data.size());
  FrameFields fields;
  if (!scan_frame(raw, fields)) fields = FrameFields{};
  sink_->on_frame(*this, fields, raw);
  if (!finished_) do_read();
}

std::string Connection::take_buffer() {
  if (spare_.empty()) return {};
  std::string s = std::move(spare_.back());
  spare_.pop_back();
  s.clear();
  return s;
}

void Connection::send(std::string text) {
  if (finished_ || close_sent_) return;
  queue_.push_back(std::move(text));
  if (queue_.size() == 1) do_write();
}

void Connection::do_write() {
  ws_.async_write(net::buffer(queue_.front()),
                  [this](boost::system::error_code ec, std::size_t) { on_write(ec); });
}

void Connection::on_write(boost::system::error_code ec) {
  if (ec || finished_) {
    queue_.clear(); // the read loop reports the failure
    return;
  }
  if (spare_.size() < max_spare_buffers) spare_.push_back(std::move(queue_.front()));
  queue_.pop_front();
  if (!queue_.empty())
    do_write();
  else if (closing_)
    do_close();
}

void Connection::close() {
  if (finished_ || closing_) return;
  closing_ = true;
  if (queue_.empty()) do_close();
}

void Connection::do_close() {
  if (close_sent_ || finished_) return;
  close_sent_ = true;
  ws_.async_close(websocket::close_code::normal, [](boost::system::error_code) {});
}

IoThreads::IoThreads(unsigned count) {
  for (unsigned i = 0; i < count; ++i) {
    contexts_.push_back(std::make_unique<net::io_context>(1));
    guards_.emplace_back(contexts_.back()->get_executor());
  }
  for (auto& ioc : contexts_)
    threads_.emplace_back([&ioc] { ioc->run(); });
}

IoThreads::~IoThreads() { stop(); }

void IoThreads::join() {
  for (auto& guard : guards_)
    guard.reset();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void IoThreads::stop() {
  for (auto& ioc : contexts_)
    ioc->stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

} // namespace tinychat::bench
