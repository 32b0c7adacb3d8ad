#include <tinychat/websocket_client.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

namespace tinychat {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

// Server frames such as history pages can be much larger than the client's own frames.
constexpr std::size_t read_message_max = std::size_t{64} << 20;

struct ParsedUrl {
  std::string host; // without IPv6 brackets, for the resolver
  std::string port;
  std::string authority; // host[:port] as written, for the Host header
  std::string target;
};

[[noreturn]] void throw_invalid_url(std::string_view url) {
  throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                          "tinychat: not a ws:// URL: " + std::string(url));
}

ParsedUrl parse_url(std::string_view url) {
  constexpr std::string_view scheme = "ws://";
  if (url.substr(0, scheme.size()) != scheme) throw_invalid_url(url);
  std::string_view rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  ParsedUrl out;
  out.authority = std::string(authority);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  out.port = "80";
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) throw_invalid_url(url);
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view tail = authority.substr(close + 1);
    if (!tail.empty()) {
      if (tail.front() != ':') throw_invalid_url(url);
      out.port = std::string(tail.substr(1));
    }
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) out.port = std::string(authority.substr(colon + 1));
  }
  if (out.host.empty() || out.port.empty()) throw_invalid_url(url);
  return out;
}

[[noreturn]] void throw_error(beast::error_code ec, const char* what) {
  throw std::system_error(static_cast<std::error_code>(ec), std::string("tinychat: ") + what);
}

} // namespace

struct WebSocketConnection::Impl {
  void open(const ParsedUrl& url) {
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    const auto results = resolver.resolve(url.host, url.port, ec);
    if (ec) throw_error(ec, "resolve");
    beast::get_lowest_layer(ws_).connect(results, ec);
    if (ec) throw_error(ec, "connect");
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ec);
    ws_.read_message_max(read_message_max);
    ws_.handshake(url.authority, url.target, ec);
    if (ec) throw_error(ec, "websocket handshake");
    ws_.text(true);
    // Bounds the close handshake, so the destructor cannot hang on a silent server.
    websocket::stream_base::timeout timeout{};
    timeout.handshake_timeout = std::chrono::seconds(5);
    timeout.idle_timeout = websocket::stream_base::none();
    timeout.keep_alive_pings = false;
    ws_.set_option(timeout);
  }

  void start(FrameHandler on_frame, CloseHandler on_close) {
    if (thread_.joinable())
      throw std::logic_error("tinychat::WebSocketConnection::start called twice");
    on_frame_ = std::move(on_frame);
    on_close_ = std::move(on_close);
    do_read();
    thread_ = std::thread([this] { ioc_.run(); });
  }

  void do_read() {
    ws_.async_read(buffer_, [this](beast::error_code ec, std::size_t) { on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) return finish();
    const auto data = buffer_.cdata();
    if (on_frame_) on_frame_(std::string_view(static_cast<const char*>(data.data()), data.size()));
    buffer_.consume(buffer_.size());
    do_read();
  }

  // The read loop is the connection's lifeline: it ends exactly once, for every cause.
  void finish() {
    finished_ = true;
    queue_.clear();
    if (on_close_) {
      const auto& reason = ws_.reason();
      on_close_(static_cast<std::uint16_t>(reason.code),
                std::string_view(reason.reason.data(), reason.reason.size()));
    }
  }

  void send(std::string text) {
    if (finished_ || close_requested_) return;
    queue_.push_back(std::move(text));
    if (queue_.size() == 1) do_write();
  }

  void do_write() {
    ws_.async_write(net::buffer(queue_.front()),
                    [this](beast::error_code ec, std::size_t) { on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    if (ec) {
      // The read loop sees the same failure and reports it.
      queue_.clear();
      return;
    }
    queue_.pop_front();
    if (!queue_.empty())
      do_write();
    else if (close_requested_)
      do_close();
  }

  void request_close() {
    if (finished_ || close_requested_) return;
    close_requested_ = true;
    // Frames sent before close() still go out first.
    if (queue_.empty()) do_close();
  }

  void do_close() {
    ws_.async_close(websocket::close_code::normal, [](beast::error_code) {});
  }

  net::io_context ioc_{1};
  websocket::stream<beast::tcp_stream> ws_{ioc_};
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  bool close_requested_ = false;
  bool finished_ = false;
  FrameHandler on_frame_;
  CloseHandler on_close_;
  std::thread thread_;
};

std::unique_ptr<WebSocketConnection> WebSocketConnection::open(std::string_view url) {
  const ParsedUrl parsed = parse_url(url);
  auto impl = std::make_unique<Impl>();
  impl->open(parsed);
  return std::unique_ptr<WebSocketConnection>(new WebSocketConnection(std::move(impl)));
}

std::unique_ptr<WebSocketConnection>
WebSocketConnection::connect(std::string_view url, FrameHandler on_frame, CloseHandler on_close) {
  auto connection = open(url);
  connection->start(std::move(on_frame), std::move(on_close));
  return connection;
}

void WebSocketConnection::start(FrameHandler on_frame, CloseHandler on_close) {
  impl_->start(std::move(on_frame), std::move(on_close));
}

WebSocketConnection::WebSocketConnection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WebSocketConnection::~WebSocketConnection() {
  // Must not run on the I/O thread (from a handler): joining it there would deadlock.
  close();
  if (impl_->thread_.joinable()) impl_->thread_.join();
}

void WebSocketConnection::send_text(std::string text) {
  net::post(impl_->ioc_, [impl = impl_.get(), text = std::move(text)]() mutable {
    impl->send(std::move(text));
  });
}

void WebSocketConnection::close() {
  net::post(impl_->ioc_, [impl = impl_.get()] { impl->request_close(); });
}

} // namespace tinychat
