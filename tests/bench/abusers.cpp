#include "abusers.hpp"

#include <tinychat/encoding.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>

#include <thread>

namespace tinychat::bench {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using Stream = websocket::stream<TcpSocket>;
using namespace std::chrono_literals;

const char* abuse_kind_name(AbuseKind kind) {
  switch (kind) {
  case AbuseKind::junk:
    return "junk";
  case AbuseKind::bad_signature:
    return "bad signature";
  case AbuseKind::history:
    return "history";
  case AbuseKind::create_room:
    return "create_room";
  case AbuseKind::ping:
    return "ping";
  case AbuseKind::oversized:
    return "oversized";
  case AbuseKind::binary:
    return "binary";
  }
  return "?";
}

struct Abusers::State {
  std::vector<Endpoint> endpoints; // abuser i floods through endpoints[i % size]
  std::string room_id;
  AbuseStats stats;
  std::atomic<bool> stopping{false};
  std::atomic<unsigned> running{0};

  void count(std::map<std::string, std::uint64_t>& map, std::string key) {
    std::lock_guard lock(stats.mutex);
    ++map[std::move(key)];
  }
};

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// One connection's frames: a replayed signature is as costly to check as a fresh one.
struct Script {
  AbuseKind kind;
  const std::string& room_id;
  std::string replayed_sig; // hex, of client_seq 1
  std::string big;          // oversized: one message over the default max_frame_bytes

  std::string frame(std::uint64_t n) const {
    switch (kind) {
    case AbuseKind::junk:
      return R"({"type":"send","room_id":)";
    case AbuseKind::bad_signature:
      return R"({"type":"send","room_id":")" + room_id + R"(","client_seq":)" + std::to_string(n) +
             R"(,"text":"flood","sig":")" + replayed_sig + R"("})";
    case AbuseKind::history:
      return R"({"type":"history","room_id":")" + room_id + R"(","limit":200})";
    case AbuseKind::create_room:
      return R"({"type":"create_room"})";
    case AbuseKind::ping:
      return R"({"type":"ping","id":)" + std::to_string(n) + "}";
    case AbuseKind::oversized:
      return big;
    case AbuseKind::binary:
      return R"({"type":"ping"})";
    }
    return {};
  }
  bool joins() const { return kind == AbuseKind::bad_signature || kind == AbuseKind::history; }
};

net::awaitable<void> read_replies(std::shared_ptr<Stream> ws, std::shared_ptr<Abusers::State> s,
                                  std::size_t kind, std::shared_ptr<bool> done) {
  auto& k = s->stats.kinds[kind];
  beast::flat_buffer buffer;
  for (;;) {
    auto [ec, n] = co_await ws->async_read(buffer, use_tuple);
    if (ec) {
      if (ec == websocket::error::closed)
        s->count(s->stats.closes, std::to_string(ws->reason().code) + " " +
                                      std::string(ws->reason().reason.c_str()));
      else if (!s->stopping)
        s->count(s->stats.closes, "no close frame: " + ec.message());
      break;
    }
    k.replies.add();
    const std::string text = beast::buffers_to_string(buffer.data());
    FrameFields f;
    if (scan_frame(text, f) && f.type == "error") {
      if (f.code == "rate_limited")
        k.rate_limited.add();
      else
        s->count(s->stats.errors, std::string(f.code));
    }
    buffer.consume(n);
  }
  *done = true;
}

// Reads frames until the reply to request 1; returns it (user_id of a join), or empty.
net::awaitable<std::string> await_join(Stream& ws) {
  beast::flat_buffer buffer;
  for (;;) {
    co_await ws.async_read(buffer, net::use_awaitable);
    const std::string text = beast::buffers_to_string(buffer.data());
    buffer.consume(buffer.size());
    FrameFields f;
    if (!scan_frame(text, f) || !f.has_id || f.id != 1) continue;
    co_return f.type == "joined" ? std::string(f.user_id) : std::string();
  }
}

// One connection of an abuser, from connect to close. Throws when it cannot be set up.
net::awaitable<void> abuse_once(std::shared_ptr<Abusers::State> s, std::size_t index,
                                net::io_context& ioc, Script& script, const KeyPair& key,
                                std::uint64_t generation) {
  const std::size_t kind = static_cast<std::size_t>(script.kind);
  auto& k = s->stats.kinds[kind];
  const Endpoint& endpoint = s->endpoints[index % s->endpoints.size()];
  auto ws = std::make_shared<Stream>(ioc);
  co_await beast::get_lowest_layer(*ws).async_connect(endpoint.address, net::use_awaitable);
  ws->read_message_max(std::size_t{16} << 20);
  co_await ws->async_handshake(endpoint.authority, endpoint.target, net::use_awaitable);
  k.connections.add();
  beast::flat_buffer buffer;
  co_await ws->async_read(buffer, net::use_awaitable);
  FrameFields hello;
  const std::string hello_text = beast::buffers_to_string(buffer.data());
  if (!scan_frame(hello_text, hello)) throw std::runtime_error("no hello");
  if (script.joins()) {
    const std::string name = "abuser-" + std::to_string(index) + "-" + std::to_string(generation);
    co_await ws->async_write(
        net::buffer(join_request(1, s->room_id, name, key, challenge_of(hello))),
        net::use_awaitable);
    const std::string user_id = co_await await_join(*ws);
    script.replayed_sig = to_hex(key.sign(message_payload(s->room_id, user_id, 1, "flood")));
  }
  auto done = std::make_shared<bool>(false);
  net::co_spawn(ioc, read_replies(ws, s, kind, done), net::detached);
  ws->binary(script.kind == AbuseKind::binary);
  std::uint64_t n = 2;
  while (!s->stopping && !*done) {
    auto [ec, bytes] = co_await ws->async_write(net::buffer(script.frame(n++)), use_tuple);
    if (ec) break;
    k.frames.add();
  }
  if (!*done) co_await ws->async_close(websocket::close_code::normal, use_tuple);
  net::steady_timer pause(ioc);
  while (!*done) {
    pause.expires_after(5ms);
    co_await pause.async_wait(use_tuple);
  }
  k.closed.add();
}

net::awaitable<void> flood(std::shared_ptr<Abusers::State> s, std::size_t index,
                           net::io_context& ioc) {
  Script script{static_cast<AbuseKind>(index % abuse_kind_count), s->room_id, {}, {}};
  if (script.kind == AbuseKind::oversized)
    script.big = R"({"type":"ping","pad":")" + std::string(70000, 'x') + R"("})";
  const KeyPair key = KeyPair::generate();
  net::steady_timer pause(ioc);
  for (std::uint64_t generation = 0; !s->stopping; ++generation) {
    auto [failure] = co_await net::co_spawn(ioc, abuse_once(s, index, ioc, script, key, generation),
                                            net::as_tuple(net::use_awaitable));
    if (failure) { // a 503, or a reset during set-up: try again in a moment
      pause.expires_after(10ms);
      co_await pause.async_wait(use_tuple);
    }
  }
  --s->running;
}

net::awaitable<std::string> create_on(net::io_context& ioc, const Endpoint& endpoint) {
  Connection c(ioc, endpoint);
  co_await c.open();
  co_await c.read_frame();
  co_await c.write(R"({"type":"create_room","id":1})");
  std::string room_id((co_await c.await_reply(1, "room_created")).room_id);
  co_await c.close_and_wait();
  co_return room_id;
}

} // namespace

std::string create_room(Run& run) {
  net::io_context& ioc = run.threads.at(0);
  return net::co_spawn(ioc, create_on(ioc, run.endpoints.front()), net::use_future).get();
}

Abusers::Abusers(Run& run, unsigned count, std::string room_id)
    : state_(std::make_shared<State>()), run_(run), count_(count) {
  state_->endpoints = run.endpoints;
  state_->room_id = std::move(room_id);
}

Abusers::~Abusers() { state_->stopping = true; }

void Abusers::start() {
  for (unsigned i = 0; i < count_; ++i) {
    ++state_->running;
    net::io_context& ioc = run_.threads.at(i);
    net::co_spawn(ioc, flood(state_, i, ioc), net::detached);
  }
}

void Abusers::stop(double seconds) {
  state_->stopping = true;
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (state_->running > 0 && Clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
}

std::uint64_t Abusers::frames() const {
  std::uint64_t n = 0;
  for (const auto& k : state_->stats.kinds)
    n += k.frames.get();
  return n;
}

std::vector<std::string> Abusers::summary() const {
  std::vector<std::string> rows;
  for (std::size_t i = 0; i < abuse_kind_count; ++i) {
    const auto& k = state_->stats.kinds[i];
    rows.push_back(std::string("abuse ") + abuse_kind_name(static_cast<AbuseKind>(i)) + ": " +
                   std::to_string(k.frames.get()) + " frames on " +
                   std::to_string(k.connections.get()) + " connections, " +
                   std::to_string(k.replies.get()) + " replies (" +
                   std::to_string(k.rate_limited.get()) + " rate_limited)");
  }
  std::lock_guard lock(state_->stats.mutex);
  for (const auto& [what, n] : state_->stats.closes)
    rows.push_back("abuse closes: " + what + " x" + std::to_string(n));
  for (const auto& [code, n] : state_->stats.errors)
    rows.push_back("abuse errors: " + code + " x" + std::to_string(n));
  return rows;
}

} // namespace tinychat::bench
