// tinychat-cli against a real tinychat-server: a ChatUser on one side, the CLI driven through
// its stdin and stdout on the other.

#include "support/chat_user.hpp"
#include "support/child_process.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"
#include "support/timeouts.hpp"

#include <tinychat/client.hpp>
#include <tinychat/protocol.hpp>

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace tinychat::test {

namespace {

namespace fs = std::filesystem;

const std::string cli_path = TINYCHAT_CLI_PATH;

std::vector<std::string> join_command(const ServerProcess& server, const std::string& room,
                                      const std::string& name, const fs::path& key) {
  return {cli_path, "--url", server.ws_url(), "join", room, "--name", name, "--key", key};
}

// Runs the CLI to completion with `input` on its stdin; stdout (and stderr, when `merge`)
// and the exit status.
struct Run {
  int exit_status = -1;
  std::string out;
};
Run run_cli(const std::vector<std::string>& argv, const std::string& input = {},
            bool merge_stderr = false, std::map<std::string, std::string> environment = {}) {
  ChildProcess cli(
      argv,
      {.pipe_stdin = true, .merge_stderr = merge_stderr, .environment = std::move(environment)});
  cli.write_stdin(input);
  cli.close_stdin();
  auto out = cli.read_to_end(event_timeout);
  const auto status = out ? cli.wait(event_timeout) : std::nullopt;
  if (!status) throw std::runtime_error("tinychat-cli did not finish in time");
  return {*status, std::move(*out)};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

std::vector<std::string> texts_of(const std::vector<ChatMessage>& messages) {
  std::vector<std::string> texts;
  for (const auto& m : messages)
    texts.push_back(m.text);
  return texts;
}

void write_file(const fs::path& path, const std::string& content, fs::perms perms) {
  std::ofstream(path) << content;
  fs::permissions(path, perms);
}

constexpr auto owner_rw = fs::perms::owner_read | fs::perms::owner_write;
const std::string a_seed = std::string(64, 'a') + "\n";
const std::string unknown_room = std::string(26, 'a');

// A server, a scratch directory, and ann present in a fresh room.
struct AnnInRoom {
  AnnInRoom() { ann.join(room, "ann"); }
  ServerProcess server;
  TempDir dir;
  ChatUser ann{server.ws_url()};
  const std::string room = ann.create_room();
};

} // namespace

TEST_CASE("cli create: prints the id of a new room and exits 0") {
  ServerProcess server;
  const Run run = run_cli({cli_path, "--url", server.ws_url(), "create"});
  CHECK(run.exit_status == 0);
  const auto lines = lines_of(run.out);
  REQUIRE(lines.size() == 1);
  CHECK(is_valid_room_id(lines[0]));
  ChatUser user(server.ws_url());
  CHECK(user.join(lines[0], "ann").room_id == lines[0]); // the room is live
}

TEST_CASE_FIXTURE(AnnInRoom,
                  "cli join: piped lines reach another user signed and in order, then it exits 0") {

  const Run run = run_cli(join_command(server, room, "bot", dir.path() / "key"),
                          "first\n\nsecond line\nthird, without newline");
  CHECK(run.exit_status == 0);
  const auto received = ann.wait_for_messages_from("bot", 3);
  CHECK(texts_of(received) ==
        std::vector<std::string>{"first", "second line", "third, without newline"});
  for (const auto& m : received)
    CHECK(Client::verify(m));
  // It exits only once its own messages came back, so they are all on its stdout.
  CHECK(lines_of(run.out) == std::vector<std::string>{"[1] bot: first", "[2] bot: second line",
                                                      "[3] bot: third, without newline"});
}

TEST_CASE_FIXTURE(AnnInRoom, "cli join: prints history, then live messages of another user") {
  ann.send(room, "before you came");
  ann.send(room, "two\nlines");

  ChildProcess cli(join_command(server, room, "bob", dir.path() / "key"),
                   ChildOptions::with_stdin_pipe());
  CHECK(cli.read_line(event_timeout) == "[1] ann: before you came");
  CHECK(cli.read_line(event_timeout) == "[2] ann: two");
  CHECK(cli.read_line(event_timeout) == "    lines");
  ann.wait_for_member(room, "bob");
  ann.send(room, "now live");
  CHECK(cli.read_line(event_timeout) == "[3] ann: now live");

  cli.write_stdin("hi ann\n");
  CHECK(ann.wait_for_messages_from("bob").front().text == "hi ann");
  CHECK(cli.read_line(event_timeout) == "[4] bob: hi ann");
  cli.close_stdin();
  CHECK(cli.wait(event_timeout) == 0);
}

TEST_CASE_FIXTURE(AnnInRoom, "cli join: SIGINT and SIGTERM end it with status 0") {
  for (const int signal_number : {SIGINT, SIGTERM}) {
    const std::string name = signal_number == SIGINT ? "int" : "term";
    ChildProcess cli(join_command(server, room, name, dir.path() / "key"),
                     ChildOptions::with_stdin_pipe());
    ann.wait_for_member(room, name);
    cli.send_signal(signal_number);
    CHECK(cli.wait(event_timeout) == 0);
  }
}

TEST_CASE_FIXTURE(
    AnnInRoom,
    "cli key: created 0600 under XDG_CONFIG_HOME and reused: same user, counter goes on") {
  const fs::path config = dir.path() / "config";
  const std::vector<std::string> command{cli_path, "--url", server.ws_url(), "join", room,
                                         "--name", "kim"};
  const std::map<std::string, std::string> env{{"XDG_CONFIG_HOME", config.string()}};

  REQUIRE(run_cli(command, "one\n", false, env).exit_status == 0);
  const fs::path key = config / "tinychat" / "key";
  struct stat st {};
  REQUIRE(stat(key.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(st.st_size == 65); // 64 hex characters and a newline
  REQUIRE(stat(key.parent_path().c_str(), &st) == 0);
  CHECK((st.st_mode & 077) == 0); // a new directory is the user's only
  std::ostringstream first_key;
  first_key << std::ifstream(key).rdbuf();

  REQUIRE(run_cli(command, "two\n", false, env).exit_status == 0);
  const auto received = ann.wait_for_messages_from("kim", 2);
  CHECK(received[0].user_id == received[1].user_id);
  CHECK(received[0].pub_key == received[1].pub_key);
  CHECK(received[0].client_seq == 1);
  CHECK(received[1].client_seq == 2);
  std::ostringstream second_key;
  second_key << std::ifstream(key).rdbuf();
  CHECK(first_key.str() == second_key.str());
}

TEST_CASE("cli key: a key file others may read is refused, a malformed one is an error") {
  ServerProcess server;
  TempDir dir;
  ChatUser ann(server.ws_url());
  const std::string room = ann.create_room();
  const fs::path key = dir.path() / "key";

  write_file(key, a_seed, owner_rw | fs::perms::group_read);
  Run run = run_cli(join_command(server, room, "eve", key), "hello\n", true);
  CHECK(run.exit_status == 1);
  CHECK(run.out.find("accessible by other users") != std::string::npos);
  CHECK(run.out.find("chmod 600") != std::string::npos);

  write_file(key, a_seed, owner_rw | fs::perms::others_read);
  CHECK(run_cli(join_command(server, room, "eve", key), "hello\n", true).exit_status == 1);

  write_file(key, "not a key\n", owner_rw);
  run = run_cli(join_command(server, room, "eve", key), "hello\n", true);
  CHECK(run.exit_status == 1);
  CHECK(run.out.find("malformed key file") != std::string::npos);

  write_file(key, a_seed, owner_rw); // the same seed, now private, is used
  CHECK(run_cli(join_command(server, room, "eve", key), "hello\n").exit_status == 0);
}

TEST_CASE("cli join: an unknown room is exit 1 with the server's error") {
  ServerProcess server;
  TempDir dir;
  const Run run = run_cli(join_command(server, unknown_room, "ann", dir.path() / "key"), "", true);
  CHECK(run.exit_status == 1);
  CHECK(run.out.find("room_not_found") != std::string::npos);
}

TEST_CASE("cli: no server to connect to is exit 1") {
  TempDir dir;
  // Port 1 (tcpmux) is privileged and not served here.
  const Run run = run_cli({cli_path, "--url", "ws://127.0.0.1:1/v1/ws", "create"}, "", true);
  CHECK(run.exit_status == 1);
  CHECK(run.out.find("cannot connect") != std::string::npos);
}

TEST_CASE("cli join: a line over the text limit is refused and the next lines still go") {
  ServerProcess server({"--max-text-chars", "10"});
  TempDir dir;
  ChatUser ann(server.ws_url());
  const std::string room = ann.create_room();
  ann.join(room, "ann");

  const Run run = run_cli(
      join_command(server, room, "bot", dir.path() / "key"),
      "short\n" + std::string(11, 'x') + "\n" + std::string(100000, 'y') + "\nafter\n", true);
  // A line was not sent: the status says so.
  CHECK(run.exit_status == 1);
  CHECK(run.out.find("line 2 not sent: longer than 10 characters") != std::string::npos);
  CHECK(run.out.find("line 3 not sent: longer than 10 characters") != std::string::npos);
  CHECK(texts_of(ann.wait_for_messages_from("bot", 2)) ==
        std::vector<std::string>{"short", "after"});
}

TEST_CASE("cli: --help and --version exit 0, bad usage exits 2") {
  Run run = run_cli({cli_path, "--help"});
  CHECK(run.exit_status == 0);
  CHECK(run.out.starts_with("usage: tinychat-cli"));
  run = run_cli({cli_path, "--version"});
  CHECK(run.exit_status == 0);
  CHECK(run.out.starts_with("tinychat-cli "));

  const std::vector<std::vector<std::string>> bad{
      {cli_path},
      {cli_path, "fly"},
      {cli_path, "create", "extra"},
      {cli_path, "join", unknown_room}, // no --name
      {cli_path, "join", "not-a-room", "--name", "a"},
      {cli_path, "join", unknown_room, "--name"}, // no value
      {cli_path, "--colour", "create"},
      {cli_path, "--url", "http://127.0.0.1:8080/", "create"},
  };
  for (const auto& argv : bad) {
    CAPTURE(argv.size());
    run = run_cli(argv, "", true);
    CHECK(run.exit_status == 2);
    CHECK(run.out.find("usage: tinychat-cli") != std::string::npos);
  }
}

} // namespace tinychat::test
