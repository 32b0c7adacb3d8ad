#include "connection.hpp"

#include <hiredis/hiredis.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <charconv>
#include <climits>
#include <new>
#include <stdexcept>
#include <utility>

namespace tinychat::redis {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr auto connect_timeout = std::chrono::seconds(2);
// A Redis that holds a connection open but stops answering (stopped, swapping, a dead link
// that TCP has not noticed) must fail the requests waiting on it, not hang them.
constexpr auto reply_timeout = std::chrono::seconds(5);
constexpr auto first_backoff = std::chrono::milliseconds(100);
constexpr auto max_backoff = std::chrono::milliseconds(5000);
constexpr std::size_t read_chunk = 64 * 1024;
// Redis caps a bulk string at 512 MiB (proto-max-bulk-len): a reply or command past that is
// not one tinychat would ever make, and holding it would only exhaust memory.
constexpr std::uint64_t max_message_bytes = std::uint64_t{512} << 20;

[[noreturn]] void bad_url(std::string_view url, std::string_view what) {
  throw std::invalid_argument("invalid Redis URL '" + std::string(url) + "': " + std::string(what) +
                              "; expected redis://HOST[:PORT][/DB], e.g. redis://127.0.0.1:6379/0");
}

// Decimal digits only (no sign, no spaces), at most `max`.
bool parse_number(std::string_view text, long long max, long long& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && text[0] != '-' && out <= max;
}

Reply convert(const redisReply& r) {
  Reply out;
  switch (r.type) {
  case REDIS_REPLY_INTEGER:
    out.kind = Reply::Kind::integer;
    out.integer = r.integer;
    break;
  case REDIS_REPLY_STRING:
  case REDIS_REPLY_STATUS:
  case REDIS_REPLY_ERROR:
    out.kind = r.type == REDIS_REPLY_STRING   ? Reply::Kind::string
               : r.type == REDIS_REPLY_STATUS ? Reply::Kind::status
                                              : Reply::Kind::error;
    out.str.assign(r.str, r.len);
    break;
  case REDIS_REPLY_ARRAY:
    out.kind = Reply::Kind::array;
    out.elements.reserve(r.elements);
    for (std::size_t i = 0; i < r.elements; ++i)
      out.elements.push_back(convert(*r.element[i]));
    break;
  default:
    break;
  }
  return out;
}

void post_error(const asio::any_io_executor& ex, Connection::Callback done, std::errc error) {
  asio::post(ex, [done = std::move(done), error] { done(std::make_error_code(error), {}); });
}

} // namespace

Endpoint parse_url(std::string_view url) {
  constexpr std::string_view scheme = "redis://";
  if (!url.starts_with(scheme)) bad_url(url, "it must start with redis://");
  const auto rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  const auto authority = rest.substr(0, slash);
  Endpoint ep;
  long long number = 0;
  if (slash != std::string_view::npos) {
    if (!parse_number(rest.substr(slash + 1), INT_MAX, number))
      bad_url(url, "the database after '/' must be a number");
    ep.db = static_cast<int>(number);
  }
  if (authority.find('@') != std::string_view::npos)
    bad_url(url, "a user name or password is not supported");

  std::string_view host = authority;
  std::string_view port;
  bool has_port = false;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) bad_url(url, "the IPv6 address lacks its closing ']'");
    host = authority.substr(1, close - 1);
    const auto after = authority.substr(close + 1);
    if (!after.empty() && after[0] != ':') bad_url(url, "only :PORT may follow ']'");
    has_port = !after.empty();
    port = has_port ? after.substr(1) : after;
  } else if (const auto colon = authority.find(':'); colon != std::string_view::npos) {
    if (authority.find(':', colon + 1) != std::string_view::npos)
      bad_url(url, "an IPv6 address must be in brackets, as [::1]");
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    has_port = true;
  }
  if (host.empty()) bad_url(url, "the host is missing");
  if (host.find_first_of("?# \t") != std::string_view::npos)
    bad_url(url, "the host has a character a host name cannot have");
  ep.host = std::string(host);
  if (has_port) {
    if (!parse_number(port, 65535, number) || number == 0)
      bad_url(url, "the port must be a number from 1 to 65535");
    ep.port = static_cast<std::uint16_t>(number);
  }
  return ep;
}

// hiredis' reader, and the bytes fed to it, to bound the size of the reply being read.
struct Connection::Codec {
  redisReader* reader = redisReaderCreate();
  std::uint64_t fed = 0;         // bytes fed in all
  std::uint64_t reply_start = 0; // of them, those before the reply being read

  Codec() {
    if (!reader) throw std::bad_alloc();
  }
  ~Codec() { redisReaderFree(reader); }
  Codec(const Codec&) = delete;
  Codec& operator=(const Codec&) = delete;
  std::uint64_t unparsed() const { return reader->len - reader->pos; }
};

std::shared_ptr<Connection> Connection::create(asio::any_io_executor ex, Endpoint ep, Mode mode) {
  return std::shared_ptr<Connection>(new Connection(std::move(ex), std::move(ep), mode));
}

Connection::Connection(asio::any_io_executor ex, Endpoint ep, Mode mode)
    : ex_(std::move(ex)), ep_(std::move(ep)), mode_(mode), resolver_(ex_), socket_(ex_),
      connect_timer_(ex_), retry_timer_(ex_), watchdog_(ex_), read_buffer_(read_chunk),
      backoff_(first_backoff) {}

Connection::~Connection() = default;

void Connection::on_state(StateHandler handler) { state_handler_ = std::move(handler); }
void Connection::on_message(MessageHandler handler) { message_handler_ = std::move(handler); }

void Connection::start() {
  if (started_ || stopped_) return;
  started_ = true;
  connect();
}

void Connection::stop() {
  if (stopped_) return;
  stopped_ = true;
  close_socket();
  fail_pending(std::make_error_code(std::errc::operation_canceled));
  channels_.clear();
}

void Connection::command(std::vector<std::string> argv, Callback done) {
  if (mode_ != Mode::commands) return post_error(ex_, std::move(done), std::errc::not_supported);
  if (!up_) return post_error(ex_, std::move(done), std::errc::not_connected);
  if (argv.empty()) return post_error(ex_, std::move(done), std::errc::invalid_argument);
  std::uint64_t size = 0;
  for (const auto& arg : argv)
    size += arg.size();
  if (size > max_message_bytes) return post_error(ex_, std::move(done), std::errc::message_size);
  if (pending_.empty()) last_progress_ = std::chrono::steady_clock::now();
  pending_.push_back(std::move(done));
  write_command(argv);
}

void Connection::subscribe(const std::string& channel, std::function<void()> confirmed) {
  if (mode_ != Mode::subscriber)
    throw std::logic_error("redis::Connection::subscribe needs a subscriber connection");
  auto [it, added] = channels_.try_emplace(channel);
  auto& c = it->second;
  const bool send = added || !c.wanted;
  c.wanted = true;
  if (!send && connected_ && c.in_flight == 0) {
    if (confirmed) asio::post(ex_, std::move(confirmed));
    return;
  }
  if (confirmed) c.waiters.push_back(std::move(confirmed));
  if (send && connected_) {
    ++c.in_flight;
    write_command({"SUBSCRIBE", channel});
  }
}

void Connection::unsubscribe(const std::string& channel) {
  const auto it = channels_.find(channel);
  if (it == channels_.end() || !it->second.wanted) return;
  if (connected_) write_command({"UNSUBSCRIBE", channel});
  // Kept while SUBSCRIBEs are in flight, so their confirmations are not taken for a later one.
  it->second.wanted = false;
  it->second.waiters.clear();
  if (it->second.in_flight == 0) channels_.erase(it);
}

void Connection::connect() {
  connect_timed_out_ = false;
  const auto gen = generation_;
  connect_timer_.expires_after(connect_timeout);
  connect_timer_.async_wait([self = shared_from_this(), gen](boost::system::error_code ec) {
    if (ec || gen != self->generation_ || self->connected_) return;
    self->connect_timed_out_ = true;
    self->resolver_.cancel();
    self->socket_.close(ec);
  });
  resolver_.async_resolve(
      ep_.host, std::to_string(ep_.port),
      [self = shared_from_this(), gen](boost::system::error_code ec,
                                       tcp::resolver::results_type results) {
        if (gen != self->generation_) return;
        if (ec)
          return self->fail(self->connect_timed_out_ ? "name lookup timed out"
                                                     : "name lookup: " + ec.message());
        asio::async_connect(self->socket_, results,
                            [self, gen](boost::system::error_code ec, const tcp::endpoint&) {
                              if (gen != self->generation_) return;
                              if (ec)
                                return self->fail(self->connect_timed_out_
                                                      ? "connect timed out"
                                                      : "connect: " + ec.message());
                              self->on_connected();
                            });
      });
}

void Connection::on_connected() {
  connect_timer_.cancel();
  boost::system::error_code ignored;
  // Commands are small and each one waits for its reply: Nagle would only add latency.
  socket_.set_option(tcp::no_delay(true), ignored);
  codec_ = std::make_unique<Codec>();
  connected_ = true;
  handshake_done_ = false;
  last_progress_ = std::chrono::steady_clock::now();
  read();
  watch_replies();

  // SELECT doubles as the proof that Redis answers; pub/sub ignores databases, so the
  // subscriber sends PING instead, then subscribes again to every channel it had.
  const bool commands = mode_ == Mode::commands;
  pending_.push_back(
      [self = shared_from_this(), gen = generation_, commands](std::error_code ec, Reply reply) {
        if (ec || gen != self->generation_) return;
        if (reply.kind != Reply::Kind::status)
          return self->fail((commands ? "SELECT " + std::to_string(self->ep_.db) : "PING") +
                            " failed: " + reply.str);
        self->handshake_done_ = true;
        self->maybe_up();
      });
  write_command(commands ? std::vector<std::string>{"SELECT", std::to_string(ep_.db)}
                         : std::vector<std::string>{"PING"});
  std::vector<std::string> subscribe{"SUBSCRIBE"};
  for (auto& [name, c] : channels_) {
    subscribe.push_back(name);
    c.in_flight = 1;
  }
  if (subscribe.size() > 1) write_command(subscribe);
}

void Connection::watch_replies() {
  watchdog_.expires_after(std::chrono::seconds(1));
  watchdog_.async_wait(
      [self = shared_from_this(), gen = generation_](boost::system::error_code ec) {
        if (ec || gen != self->generation_) return;
        if (!self->pending_.empty() &&
            std::chrono::steady_clock::now() - self->last_progress_ > reply_timeout)
          return self->fail("no reply for " + std::to_string(reply_timeout.count()) + " s");
        self->watch_replies();
      });
}

void Connection::read() {
  socket_.async_read_some(
      asio::buffer(read_buffer_),
      [self = shared_from_this(), gen = generation_](boost::system::error_code ec, std::size_t n) {
        if (gen != self->generation_) return;
        if (ec)
          return self->fail(ec == asio::error::eof ? "connection closed by Redis"
                                                   : "read: " + ec.message());
        self->on_read(n);
      });
}

void Connection::on_read(std::size_t n) {
  auto& codec = *codec_;
  if (redisReaderFeed(codec.reader, read_buffer_.data(), n) != REDIS_OK)
    return fail("out of memory reading a reply");
  codec.fed += n;
  const auto gen = generation_;
  for (;;) {
    void* raw = nullptr;
    if (redisReaderGetReply(codec.reader, &raw) != REDIS_OK)
      return fail(std::string("protocol error: ") + codec.reader->errstr);
    if (!raw) break;
    codec.reply_start = codec.fed - codec.unparsed();
    Reply reply = convert(*static_cast<const redisReply*>(raw));
    freeReplyObject(raw);
    dispatch(std::move(reply));
    // A callback may have stopped the connection, or the reply failed it.
    if (gen != generation_) return;
  }
  if (codec.fed - codec.reply_start > max_message_bytes)
    return fail("protocol error: a reply larger than 512 MiB");
  read();
}

void Connection::dispatch(Reply reply) {
  if (mode_ == Mode::subscriber && reply.kind == Reply::Kind::array && !reply.elements.empty() &&
      reply.elements[0].kind == Reply::Kind::string)
    return on_pubsub(reply);
  if (pending_.empty()) return fail("protocol error: a reply to no command");
  last_progress_ = std::chrono::steady_clock::now();
  auto done = std::move(pending_.front());
  pending_.pop_front();
  done({}, std::move(reply));
}

void Connection::on_pubsub(const Reply& reply) {
  const auto& kind = reply.elements[0].str;
  if (reply.elements.size() < 2) return;
  const auto it = channels_.find(reply.elements[1].str);
  if (it == channels_.end()) return;
  auto& c = it->second;
  if (kind == "message" && reply.elements.size() == 3) {
    // Messages still in flight when unsubscribe() was called are not wanted any more.
    if (c.wanted && message_handler_ && !stopped_)
      message_handler_(reply.elements[1].str, reply.elements[2].str);
  } else if (kind == "subscribe" && c.in_flight > 0) {
    if (--c.in_flight > 0) return;
    if (!c.wanted) {
      channels_.erase(it);
      return;
    }
    // Posted: a waiter may subscribe, unsubscribe or stop, which would upset this loop.
    for (auto& waiter : std::exchange(c.waiters, {}))
      asio::post(ex_, std::move(waiter));
    maybe_up();
  }
}

void Connection::maybe_up() {
  if (up_ || !connected_ || !handshake_done_) return;
  for (const auto& [name, c] : channels_)
    if (c.wanted && c.in_flight > 0) return;
  up_ = true;
  backoff_ = first_backoff;
  if (state_handler_) state_handler_(true, "connected to Redis at " + where());
}

void Connection::write_command(const std::vector<std::string>& argv) {
  std::vector<const char*> args;
  std::vector<std::size_t> lengths;
  for (const auto& arg : argv) {
    args.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  char* encoded = nullptr;
  const int length =
      redisFormatCommandArgv(&encoded, static_cast<int>(argv.size()), args.data(), lengths.data());
  if (length < 0) throw std::bad_alloc();
  out_.append(encoded, static_cast<std::size_t>(length));
  redisFreeCommand(encoded);
  flush();
}

void Connection::flush() {
  if (writing_ || out_.empty() || !connected_) return;
  writing_ = true;
  // Owned by the handler: a write cancelled by close() still completes after a reconnect.
  auto buffer = std::make_shared<std::string>(std::exchange(out_, {}));
  asio::async_write(socket_, asio::buffer(*buffer),
                    [self = shared_from_this(), gen = generation_,
                     buffer](boost::system::error_code ec, std::size_t) {
                      if (gen != self->generation_) return;
                      self->writing_ = false;
                      if (ec) return self->fail("write: " + ec.message());
                      self->flush();
                    });
}

void Connection::fail(const std::string& detail) {
  if (stopped_) return;
  close_socket();
  fail_pending(std::make_error_code(std::errc::connection_reset));
  // Whatever was wanted is subscribed again on the next connection; the rest is forgotten.
  std::erase_if(channels_, [](const auto& entry) { return !entry.second.wanted; });
  for (auto& [name, c] : channels_)
    c.in_flight = 0;

  const auto delay = backoff_;
  backoff_ = std::min(backoff_ * 2, max_backoff);
  retry_timer_.expires_after(delay);
  retry_timer_.async_wait(
      [self = shared_from_this(), gen = generation_](boost::system::error_code ec) {
        if (!ec && gen == self->generation_ && !self->stopped_) self->connect();
      });
  if (state_handler_)
    state_handler_(false, "Redis at " + where() + ": " + detail + "; retrying in " +
                              std::to_string(delay.count()) + " ms");
}

void Connection::close_socket() {
  ++generation_;
  boost::system::error_code ignored;
  socket_.close(ignored);
  resolver_.cancel();
  connect_timer_.cancel();
  retry_timer_.cancel();
  watchdog_.cancel();
  connected_ = up_ = handshake_done_ = writing_ = false;
  out_.clear();
}

void Connection::fail_pending(std::error_code ec) {
  for (auto& done : std::exchange(pending_, {}))
    asio::post(ex_, [done = std::move(done), ec] { done(ec, {}); });
}

std::string Connection::where() const {
  const bool ipv6 = ep_.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + ep_.host + "]" : ep_.host) + ":" + std::to_string(ep_.port);
}

} // namespace tinychat::redis
