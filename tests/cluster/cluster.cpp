#include "cluster.hpp"

#include "support/timeouts.hpp"

#include <algorithm>
#include <future>
#include <stdexcept>
#include <utility>

namespace tinychat::test {

Cluster::Cluster(std::size_t nodes, std::vector<std::string> extra_flags) {
  flags_ = {"--store", "redis", "--redis-url", redis_.url()};
  if (std::find(extra_flags.begin(), extra_flags.end(), "--redis-node-timeout-ms") ==
      extra_flags.end())
    flags_.insert(flags_.end(), {"--redis-node-timeout-ms", std::to_string(node_timeout.count())});
  flags_.insert(flags_.end(), extra_flags.begin(), extra_flags.end());
  for (std::size_t i = 0; i < nodes; ++i)
    add_node();
}

ServerProcess& Cluster::add_node() {
  nodes_.push_back(std::make_unique<ServerProcess>(flags_));
  return *nodes_.back();
}

ServerFrame request(const std::function<void(ReplyHandler)>& issue) {
  auto promise = std::make_shared<std::promise<ServerFrame>>();
  auto future = promise->get_future();
  issue([promise](const ServerFrame& frame) { promise->set_value(frame); });
  if (future.wait_for(event_timeout) != std::future_status::ready)
    throw std::runtime_error("timed out waiting for a reply");
  return future.get();
}

ServerFrame try_join(ChatUser& user, std::string_view room_id, std::string_view name) {
  return request([&](ReplyHandler done) { user.client().join(room_id, name, std::move(done)); });
}

ServerFrame try_history(ChatUser& user, std::string_view room_id) {
  return request([&](ReplyHandler done) { user.client().history(room_id, 0, 1, std::move(done)); });
}

std::optional<error> error_code(const ServerFrame& frame) {
  if (const auto* e = std::get_if<ErrorFrame>(&frame)) return e->code;
  return std::nullopt;
}

std::vector<ChatMessage> full_history(ChatUser& user, std::string_view room_id,
                                      std::uint64_t after_seq) {
  std::vector<ChatMessage> all;
  for (;;) {
    HistoryPage page = user.history(room_id, after_seq, 200);
    all.insert(all.end(), page.messages.begin(), page.messages.end());
    if (!page.has_more || page.messages.empty()) return all;
    after_seq = page.messages.back().seq;
  }
}

bool is_run(const std::vector<ChatMessage>& messages, std::uint64_t first, std::uint64_t last,
            std::string* why) {
  std::uint64_t expected = first;
  for (std::size_t i = 0; i < messages.size(); ++i, ++expected)
    if (messages[i].seq != expected) {
      if (why)
        *why = "message " + std::to_string(i) + " has seq " + std::to_string(messages[i].seq) +
               ", expected " + std::to_string(expected);
      return false;
    }
  if (expected != last + 1) {
    if (why)
      *why = "ends before seq " + std::to_string(last) + " (last: " + std::to_string(expected - 1) +
             ")";
    return false;
  }
  return true;
}

std::vector<ChatMessage> received(ChatUser& user, std::string_view room_id) {
  std::vector<ChatMessage> out;
  for (auto& m : user.messages.wait_for(0))
    if (m.room_id == room_id) out.push_back(std::move(m));
  return out;
}

std::vector<ChatMessage> wait_for_seq(ChatUser& user, std::string_view room_id, std::uint64_t seq) {
  user.messages.wait_for(
      1, [&](const ChatMessage& m) { return m.room_id == room_id && m.seq >= seq; });
  return received(user, room_id);
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// ---- Sender ----------------------------------------------------------------------------------

Sender::Sender(ChatUser& user, std::string room_id, std::string label,
               std::chrono::milliseconds pause)
    : user_(user), room_id_(std::move(room_id)), label_(std::move(label)), pause_(pause),
      thread_([this] { run(); }) {}

Sender::~Sender() { stop(); }

void Sender::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::vector<Attempt> Sender::attempts() const {
  std::lock_guard lock(mutex_);
  return attempts_;
}

std::size_t Sender::acknowledged() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(
      std::count_if(attempts_.begin(), attempts_.end(), [](const Attempt& a) { return a.sent; }));
}

void Sender::run() {
  for (std::uint64_t n = 1; !stop_; ++n) {
    Attempt attempt;
    attempt.text = label_ + " #" + std::to_string(n);
    auto promise = std::make_shared<std::promise<ServerFrame>>();
    auto future = promise->get_future();
    user_.client().send(room_id_, attempt.text,
                        [promise](const ServerFrame& frame) { promise->set_value(frame); });
    // Waits for the answer; once stopped, a little longer only (the node may be dead).
    auto give_up = std::chrono::steady_clock::now() + event_timeout;
    while (future.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
      if (stop_)
        give_up =
            std::min(give_up, std::chrono::steady_clock::now() + std::chrono::milliseconds(500));
      if (std::chrono::steady_clock::now() > give_up) break;
    }
    bool internal = false;
    if (future.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
      const ServerFrame frame = future.get();
      attempt.answered_at = std::chrono::steady_clock::now();
      if (const auto* s = std::get_if<Sent>(&frame)) attempt.sent = *s;
      if (const auto* e = std::get_if<ErrorFrame>(&frame)) {
        attempt.error = *e;
        internal = e->code == error::internal;
      }
    }
    const bool answered = attempt.sent || attempt.error;
    {
      std::lock_guard lock(mutex_);
      attempts_.push_back(std::move(attempt));
    }
    if (!answered) return; // the connection is gone
    std::this_thread::sleep_for(internal ? std::chrono::milliseconds(20) : pause_);
  }
}

} // namespace tinychat::test
