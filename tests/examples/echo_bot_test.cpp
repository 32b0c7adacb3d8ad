// The echo_bot example against a real tinychat-server, driven by a user over WebSocket.

#include "support/chat_user.hpp"
#include "support/child_process.hpp"
#include "support/server_process.hpp"
#include "support/timeouts.hpp"

#include <tinychat/client.hpp>
#include <tinychat/protocol.hpp>

#include <doctest/doctest.h>

#include <csignal>
#include <string>

namespace tinychat::test {

TEST_CASE("echo_bot: answers a user's message with an echo, then exits 0 with --once") {
  ServerProcess server;
  ChatUser user(server.ws_url());
  const std::string room = user.create_room();
  user.join(room, "ann");

  ChildProcess bot({TINYCHAT_ECHO_BOT_PATH, "--url", server.ws_url(), "--room", room, "--name",
                    "bot", "--once"});
  // Sending before the bot is present would race its join: it would never see "hi".
  user.wait_for_member(room, "bot");
  user.send(room, "hi");

  const ChatMessage echo = user.wait_for_messages_from("bot").front();
  CHECK(echo.text == "echo: hi");
  CHECK(Client::verify(echo));
  CHECK(bot.wait(event_timeout) == 0);
}

TEST_CASE("echo_bot: without --room it creates a room and prints its id") {
  ServerProcess server;
  ChildProcess bot({TINYCHAT_ECHO_BOT_PATH, "--url", server.ws_url(), "--once"});
  const auto room = bot.read_line(event_timeout);
  REQUIRE(room);
  CHECK(is_valid_room_id(*room));

  ChatUser user(server.ws_url());
  user.join(*room, "ann");
  user.wait_for_member(*room, "echo-bot"); // printing the id promised that
  user.send(*room, "anyone there?");
  CHECK(user.wait_for_messages_from("echo-bot").front().text == "echo: anyone there?");
  CHECK(bot.wait(event_timeout) == 0);
}

TEST_CASE("echo_bot: never answers itself or other echoes, and stops cleanly on SIGINT") {
  ServerProcess server;
  ChatUser user(server.ws_url());
  const std::string room = user.create_room();
  user.join(room, "ann");
  ChildProcess bot({TINYCHAT_ECHO_BOT_PATH, "--url", server.ws_url(), "--room", room});
  user.wait_for_member(room, "echo-bot");

  user.send(room, "one");
  CHECK(user.wait_for_messages_from("echo-bot").front().text == "echo: one");
  user.send(room, "echo: from another bot");
  user.send(room, "two");
  // The bot sees each message in seq order, so an answer to its own "echo: one" or to the
  // other bot's echo would come before the answer to "two".
  const auto answers = user.wait_for_messages_from("echo-bot", 2);
  CHECK(answers[1].text == "echo: two");

  bot.send_signal(SIGINT);
  CHECK(bot.wait(event_timeout) == 0);
}

TEST_CASE("echo_bot: --help exits 0 and bad usage exits 2") {
  ChildProcess help({TINYCHAT_ECHO_BOT_PATH, "--help"});
  CHECK(help.read_line(event_timeout).value_or("").starts_with("usage: echo_bot"));
  CHECK(help.wait(event_timeout) == 0);

  ChildProcess bad({TINYCHAT_ECHO_BOT_PATH, "--room"});
  CHECK(bad.wait(event_timeout) == 2);
}

} // namespace tinychat::test
