#include "outbound_stream.hpp"

#include <boost/asio/write.hpp>

#include <array>

namespace tinychat::server {

namespace net = boost::asio;
namespace beast = boost::beast;

namespace {

// RFC 6455 5.2: FIN + text opcode, then the payload length in 7, 7+16 or 7+64 bits.
// Server frames carry no mask.
void append_text_header(std::string& out, std::size_t length) {
  std::array<char, 10> header{};
  std::size_t size = 2;
  header[0] = static_cast<char>(0x81);
  if (length < 126) {
    header[1] = static_cast<char>(length);
  } else if (length <= 0xFFFF) {
    header[1] = 126;
    header[2] = static_cast<char>(length >> 8);
    header[3] = static_cast<char>(length);
    size = 4;
  } else {
    header[1] = 127;
    for (int i = 0; i < 8; ++i)
      header[2 + i] = static_cast<char>(static_cast<std::uint64_t>(length) >> (56 - 8 * i));
    size = 10;
  }
  out.append(header.data(), size);
}

// Buffer capacity an idle connection keeps; 15,000 idle connections must fit in 200 MB.
constexpr std::size_t kept_capacity = 2048;

} // namespace

OutboundStream::Backlog OutboundStream::queue_text(std::string_view payload) {
  std::lock_guard lock(mutex_);
  if (!taking_messages_ || failed_) return {};
  append_text_header(pending_, payload.size());
  pending_.append(payload);
  ++pending_messages_;
  schedule_flush(false);
  return {pending_.size() + in_flight_.size(), pending_messages_ + in_flight_messages_};
}

void OutboundStream::stop_messages(bool discard) {
  std::lock_guard lock(mutex_);
  taking_messages_ = false;
  if (discard) {
    pending_.clear();
    pending_messages_ = 0;
  }
}

void OutboundStream::limit_own_frames(std::size_t max_bytes, std::function<void()> overflow) {
  std::lock_guard lock(mutex_);
  max_bytes_ = max_bytes;
  overflow_ = std::move(overflow);
}

bool OutboundStream::over_limit() {
  std::lock_guard lock(mutex_);
  if (overflowed_ || max_bytes_ == 0 || pending_.size() + in_flight_.size() <= max_bytes_)
    return false;
  overflowed_ = true;
  return true;
}

void OutboundStream::when_flushed(std::function<void(beast::error_code)> done) {
  std::lock_guard lock(mutex_);
  if (!flushing_ && pending_.empty()) {
    net::post(get_executor(), [done = std::move(done), ec = failed_] { done(ec); });
    return;
  }
  flushed_waiters_.push_back(std::move(done));
}

void OutboundStream::schedule_flush(bool urgent) {
  if (flushing_) return;
  auto owner = owner_.lock();
  if (!owner) return; // being destroyed: nobody is left to read what a flush would say
  flushing_ = true;
  const auto due = last_write_ + coalesce_;
  if (urgent || clock::now() >= due) {
    net::post(get_executor(),
              [this, owner = std::move(owner)]() mutable { flush(std::move(owner)); });
    return;
  }
  // Wrote a moment ago: what arrives until `due` leaves in one write, not one each.
  net::post(get_executor(), [this, owner = std::move(owner), due]() mutable {
    delay_.expires_at(due);
    delay_.async_wait(
        [this, owner = std::move(owner)](beast::error_code) mutable { flush(std::move(owner)); });
  });
}

void OutboundStream::notify_flushed() {
  for (auto& done : std::exchange(flushed_waiters_, {}))
    net::post(get_executor(), [done = std::move(done), ec = failed_] { done(ec); });
}

void OutboundStream::flush(std::shared_ptr<void> owner) {
  {
    std::lock_guard lock(mutex_);
    if (failed_ || pending_.empty()) {
      flushing_ = false;
      return notify_flushed();
    }
    in_flight_.swap(pending_);
    in_flight_messages_ = std::exchange(pending_messages_, 0);
    last_write_ = clock::now();
  }
  net::async_write(
      socket_, net::buffer(in_flight_),
      // `owner` keeps the stream alive until the handler has run.
      [this, owner = std::move(owner)](beast::error_code ec, std::size_t) { on_written(ec); });
}

void OutboundStream::on_written(beast::error_code ec) {
  {
    std::lock_guard lock(mutex_);
    in_flight_.clear();
    in_flight_messages_ = 0;
    if (pending_.empty()) {
      // Idle again: an idle connection keeps no buffer a burst made big.
      if (in_flight_.capacity() > kept_capacity) std::string().swap(in_flight_);
      if (pending_.capacity() > kept_capacity) std::string().swap(pending_);
    }
    if (ec) {
      failed_ = ec;
      pending_.clear();
    }
    flushing_ = false;
    if (pending_.empty())
      notify_flushed();
    else
      schedule_flush(false);
  }
  if (ec) {
    // The read side must learn of it too, so the session ends.
    beast::error_code ignored;
    socket_.close(ignored);
  }
}

void teardown(beast::role_type role, OutboundStream& stream, beast::error_code& ec) {
  beast::websocket::teardown(role, stream.next_layer(), ec);
}

} // namespace tinychat::server
