#include "raw_frames.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace tinychat::test {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::array<std::uint8_t, 4> mask_key{0x37, 0xfa, 0x21, 0x3d};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return std::string(s.substr(first, s.find_last_not_of(" \t") - first + 1));
}

} // namespace

std::string encode(const WireFrame& f) {
  std::string out;
  out += static_cast<char>((f.fin ? 0x80 : 0) | ((f.rsv & 7) << 4) | (f.opcode & 0x0F));
  const char mask_bit = f.masked ? static_cast<char>(0x80) : 0;
  const std::uint64_t n = f.payload.size();
  if (n < 126) {
    out += static_cast<char>(mask_bit | static_cast<char>(n));
  } else if (n <= 0xFFFF) {
    out += static_cast<char>(mask_bit | 126);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n);
  } else {
    out += static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8)
      out += static_cast<char>(n >> shift);
  }
  if (!f.masked) return out + f.payload;
  out.append(reinterpret_cast<const char*>(mask_key.data()), mask_key.size());
  for (std::size_t i = 0; i < f.payload.size(); ++i)
    out += static_cast<char>(f.payload[i] ^ static_cast<char>(mask_key[i % 4]));
  return out;
}

std::string frame(std::uint8_t op, std::string_view payload, bool fin) {
  return encode({op, std::string(payload), fin});
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
  std::string out{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
  return out.append(reason);
}

std::string HttpHead::header(const std::string& lower_name) const {
  const auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

FrameClient::FrameClient(std::uint16_t port) : socket_(ioc_) {
  socket_.connect({net::ip::make_address("127.0.0.1"), port});
  socket_.set_option(tcp::no_delay(true));
}

FrameClient::FrameClient(std::uint16_t port, Served) : FrameClient(port) {
  const auto head = handshake(upgrade_request());
  if (head.status != 101)
    throw std::runtime_error("upgrade answered " + std::to_string(head.status));
  const auto hello = boost::json::parse(read_text());
  if (hello.at("type") != "hello") throw std::runtime_error("the first frame is not hello");
}

std::string FrameClient::upgrade_request(std::string_view target, std::string_view extra) {
  std::string req = "GET " + std::string(target) + " HTTP/1.1\r\n";
  req += "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
  return req.append(extra).append("\r\n");
}

HttpHead FrameClient::handshake(std::string_view request) {
  if (const auto ec = send(request)) throw std::runtime_error("send: " + ec.message());
  std::size_t end;
  while ((end = in_.find("\r\n\r\n")) == std::string::npos) {
    const auto got = fill(event_timeout);
    if (!got) throw std::runtime_error("timed out waiting for a response");
    if (eof_) throw std::runtime_error("TCP closed before a response head");
  }
  const std::string head = in_.substr(0, end + 2);
  in_.erase(0, end + 4);
  HttpHead out;
  std::size_t line_end = head.find("\r\n");
  const std::string status_line = head.substr(0, line_end);
  if (status_line.size() < 12) throw std::runtime_error("bad status line: " + status_line);
  out.status = static_cast<unsigned>(std::stoul(status_line.substr(9, 3)));
  for (std::size_t pos = line_end + 2; pos < head.size(); pos = line_end + 2) {
    line_end = head.find("\r\n", pos);
    const std::string_view line(head.data() + pos, line_end - pos);
    const auto colon = line.find(':');
    if (colon != std::string_view::npos)
      out.headers[lower(std::string(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  }
  return out;
}

error_code FrameClient::send(std::string_view bytes, std::size_t chop) {
  if (chop == 0) chop = bytes.size();
  for (std::size_t pos = 0; pos < bytes.size(); pos += chop) {
    std::optional<error_code> result;
    net::async_write(socket_, net::buffer(bytes.substr(pos, chop)),
                     [&](error_code ec, std::size_t) { result = ec; });
    ioc_.restart();
    ioc_.run_for(event_timeout);
    if (!result) throw std::runtime_error("timed out writing to the server");
    if (*result) return *result;
  }
  return {};
}

std::optional<bool> FrameClient::fill(std::chrono::milliseconds wait) {
  if (eof_) return false;
  std::array<char, 65536> chunk;
  std::optional<error_code> result;
  std::size_t n = 0;
  socket_.async_read_some(net::buffer(chunk), [&](error_code ec, std::size_t bytes) {
    result = ec;
    n = bytes;
  });
  ioc_.restart();
  ioc_.run_for(wait);
  if (!result) {
    socket_.cancel();
    ioc_.restart();
    ioc_.run();
    // The read may have completed just as it was cancelled.
    if (!result || *result == net::error::operation_aborted) return std::nullopt;
  }
  in_.append(chunk.data(), n);
  if (*result == net::error::eof || *result == net::error::connection_reset) {
    eof_ = true;
    return n > 0;
  }
  if (*result) throw std::runtime_error("read: " + result->message());
  return true;
}

void FrameClient::need(std::size_t bytes) {
  while (in_.size() < bytes) {
    const auto got = fill(event_timeout);
    if (!got) throw std::runtime_error("timed out waiting for the server");
    if (!*got) throw std::runtime_error("TCP closed inside a frame");
  }
}

std::optional<WireFrame> FrameClient::read_frame() {
  if (in_.empty()) {
    const auto got = fill(event_timeout);
    if (!got) throw std::runtime_error("timed out waiting for a frame");
    if (!*got) return std::nullopt;
  }
  need(2);
  const auto b0 = static_cast<std::uint8_t>(in_[0]);
  const auto b1 = static_cast<std::uint8_t>(in_[1]);
  WireFrame f{static_cast<std::uint8_t>(b0 & 0x0F),
              {},
              (b0 & 0x80) != 0,
              static_cast<std::uint8_t>((b0 >> 4) & 7),
              (b1 & 0x80) != 0};
  std::size_t header = 2;
  std::uint64_t length = b1 & 0x7F;
  const std::size_t extended = length == 126 ? 2 : length == 127 ? 8 : 0;
  need(header + extended);
  if (extended) length = 0;
  for (std::size_t i = 0; i < extended; ++i)
    length = (length << 8) | static_cast<std::uint8_t>(in_[header + i]);
  header += extended + (f.masked ? 4 : 0);
  need(header + length);
  f.payload = in_.substr(header, length);
  in_.erase(0, header + length);
  return f;
}

std::string FrameClient::read_text() {
  const auto f = read_frame();
  if (!f) throw std::runtime_error("TCP closed while a text frame was expected");
  if (f->opcode != opcode::text || !f->fin)
    throw std::runtime_error("expected a final text frame, got opcode " +
                             std::to_string(f->opcode));
  return f->payload;
}

CloseSeen FrameClient::read_close() {
  CloseSeen seen;
  for (;;) {
    auto f = read_frame();
    if (!f) return seen; // TCP closed without a close frame
    if (f->opcode != opcode::close) {
      seen.before.push_back(std::move(*f));
      continue;
    }
    const auto& p = f->payload;
    seen.code = p.size() >= 2 ? static_cast<std::uint16_t>((static_cast<std::uint8_t>(p[0]) << 8) |
                                                           static_cast<std::uint8_t>(p[1]))
                              : 0;
    if (p.size() > 2) seen.reason = p.substr(2);
    // Echo it (the server may already have shut its side; that is not an error here).
    (void)send(frame(opcode::close, p.substr(0, 2)));
    seen.tcp_closed = wait_tcp_closed();
    // The server only shut its sending side; it waits for ours before it lets go.
    error_code ignored;
    socket_.close(ignored);
    return seen;
  }
}

bool FrameClient::wait_tcp_closed(std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    in_.clear();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    const auto got = fill(left);
    if (!got) return false;
    if (eof_) return true;
  }
}

std::string FrameClient::read_bytes() {
  if (in_.empty() && !fill(event_timeout)) throw std::runtime_error("timed out reading");
  return std::exchange(in_, {});
}

void check_served(std::uint16_t port) {
  FrameClient client(port, FrameClient::served);
  REQUIRE_FALSE(client.send(frame(opcode::text, R"({"type":"ping","id":"alive"})")));
  const auto pong = boost::json::parse(client.read_text());
  CHECK(pong.at("type") == "pong");
  CHECK(pong.at("id") == "alive");
}

} // namespace tinychat::test
