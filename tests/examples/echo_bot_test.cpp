// The echo_bot example against a real tinychat-server, driven by a user over WebSocket.

#include "child_process.hpp"

#include <tinychat/client.hpp>
#include <tinychat/protocol.hpp>
#include <tinychat/websocket_client.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace tinychat::test {
namespace {

// Generous: a loaded CI machine may be slow, and a passing run never waits this long.
constexpr auto timeout = std::chrono::seconds(30);

// The Client must exist before the connection (hello may arrive before connect() returns).
class LateTransport final : public ClientTransport {
public:
  void attach(WebSocketConnection* connection) { connection_ = connection; }
  void send_text(std::string text) override {
    if (auto* connection = connection_.load())
      connection->send_text(std::move(text));
  }

private:
  std::atomic<WebSocketConnection*> connection_ = nullptr;
};

// A user on its own WebSocket connection. Everything the I/O thread reports is recorded
// under one mutex; the test thread waits for it on a condition variable.
class User {
public:
  explicit User(const std::string& url) : client_(link_, KeyPair::generate()) {
    client_.on_hello = [this](const Hello&) { record([] {}); };
    client_.on_message = [this](const ChatMessage& m) {
      record([&] { messages_.push_back(m); });
    };
    client_.on_member_joined = [this](const MemberJoined& e) {
      record([&] { arrivals_.push_back(e.member.user_name); });
    };
    connection_ = WebSocketConnection::connect(
        url, [this](std::string_view frame) { client_.handle_frame(frame); });
    link_.attach(connection_.get());
    std::unique_lock lock(mutex_);
    REQUIRE(changed_.wait_for(lock, timeout, [&] { return client_.hello().has_value(); }));
  }

  // Runs one request and returns its reply, which must be a `Reply`.
  template <class Reply>
  Reply call(const std::function<void(ReplyHandler)>& issue) {
    auto slot = std::make_shared<std::optional<ServerFrame>>();
    issue([this, slot](const ServerFrame& frame) { record([&] { *slot = frame; }); });
    std::unique_lock lock(mutex_);
    REQUIRE(changed_.wait_for(lock, timeout, [&] { return slot->has_value(); }));
    if (auto* e = std::get_if<ErrorFrame>(&**slot))
      FAIL("error reply: " << e->message);
    REQUIRE(std::holds_alternative<Reply>(**slot));
    return std::get<Reply>(**slot);
  }

  std::string create_room() {
    return call<RoomCreated>([&](ReplyHandler done) { client_.create_room(std::move(done)); })
        .room_id;
  }
  void join(const std::string& room, const std::string& name) {
    const auto joined =
        call<Joined>([&](ReplyHandler done) { client_.join(room, name, std::move(done)); });
    record([&] {
      for (const auto& member : joined.members)
        arrivals_.push_back(member.user_name);
    });
  }
  void send(const std::string& room, const std::string& text) {
    call<Sent>([&](ReplyHandler done) { client_.send(room, text, std::move(done)); });
  }

  // Waits until `name` is present: in the member list on joining, or joined later.
  void wait_for_arrival_of(const std::string& name) {
    std::unique_lock lock(mutex_);
    REQUIRE(changed_.wait_for(lock, timeout, [&] {
      return std::find(arrivals_.begin(), arrivals_.end(), name) != arrivals_.end();
    }));
  }
  // The first `count` messages from `name`, once there are that many.
  std::vector<ChatMessage> wait_for_messages_from(const std::string& name, std::size_t count) {
    std::unique_lock lock(mutex_);
    auto from = [&] {
      std::vector<ChatMessage> found;
      for (const auto& m : messages_)
        if (m.user_name == name && found.size() < count)
          found.push_back(m);
      return found;
    };
    REQUIRE(changed_.wait_for(lock, timeout, [&] { return from().size() == count; }));
    return from();
  }
  ChatMessage wait_for_message_from(const std::string& name) {
    return wait_for_messages_from(name, 1).front();
  }

private:
  template <class Change>
  void record(Change change) {
    std::lock_guard lock(mutex_);
    change();
    changed_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<ChatMessage> messages_;
  std::vector<std::string> arrivals_;
  LateTransport link_;
  Client client_;
  std::unique_ptr<WebSocketConnection> connection_; // last: its I/O thread stops first
};

// A tinychat-server on an ephemeral port.
struct Server {
  Server() : process({TINYCHAT_SERVER_PATH, "--port", "0"}) {
    const auto line = process.read_line(timeout);
    REQUIRE(line);
    const std::string prefix = "tinychat-server listening on http://";
    REQUIRE(line->starts_with(prefix));
    url = "ws://" + line->substr(prefix.size()) + "/v1/ws";
  }
  ChildProcess process;
  std::string url;
};

} // namespace

TEST_CASE("echo_bot: answers a user's message with an echo, then exits 0 with --once") {
  Server server;
  User user(server.url);
  const std::string room = user.create_room();
  user.join(room, "ann");

  ChildProcess bot({TINYCHAT_ECHO_BOT_PATH, "--url", server.url, "--room", room, "--name",
                    "bot", "--once"});
  // Sending before the bot is present would race its join: it would never see "hi".
  user.wait_for_arrival_of("bot");
  user.send(room, "hi");

  const ChatMessage echo = user.wait_for_message_from("bot");
  CHECK(echo.text == "echo: hi");
  CHECK(Client::verify(echo));
  CHECK(bot.wait(timeout) == 0);
}

TEST_CASE("echo_bot: without --room it creates a room and prints its id") {
  Server server;
  ChildProcess bot({TINYCHAT_ECHO_BOT_PATH, "--url", server.url, "--once"});
  const auto room = bot.read_line(timeout);
  REQUIRE(room);
  CHECK(is_valid_room_id(*room));

  User user(server.url);
  user.join(*room, "ann");
  user.wait_for_arrival_of("echo-bot"); // printing the id promised that
  user.send(*room, "anyone there?");
  CHECK(user.wait_for_message_from("echo-bot").text == "echo: anyone there?");
  CHECK(bot.wait(timeout) == 0);
}

TEST_CASE("echo_bot: never answers itself or other echoes, and stops cleanly on SIGINT") {
  Server server;
  User user(server.url);
  const std::string room = user.create_room();
  user.join(room, "ann");
  ChildProcess bot({TINYCHAT_ECHO_BOT_PATH, "--url", server.url, "--room", room});
  user.wait_for_arrival_of("echo-bot");

  user.send(room, "one");
  CHECK(user.wait_for_message_from("echo-bot").text == "echo: one");
  user.send(room, "echo: from another bot");
  user.send(room, "two");
  // The bot sees each message in seq order, so an answer to its own "echo: one" or to the
  // other bot's echo would come before the answer to "two".
  const auto answers = user.wait_for_messages_from("echo-bot", 2);
  CHECK(answers[1].text == "echo: two");

  bot.send_signal(SIGINT);
  CHECK(bot.wait(timeout) == 0);
}

TEST_CASE("echo_bot: --help exits 0 and bad usage exits 2") {
  ChildProcess help({TINYCHAT_ECHO_BOT_PATH, "--help"});
  CHECK(help.read_line(timeout).value_or("").starts_with("usage: echo_bot"));
  CHECK(help.wait(timeout) == 0);

  ChildProcess bad({TINYCHAT_ECHO_BOT_PATH, "--room"});
  CHECK(bad.wait(timeout) == 2);
}

} // namespace tinychat::test
