// Token authentication over real sockets: tinychat-server with --auth-hs256-secret-file or
// --auth-ed25519-public-key, the flags' start-up errors, and tokens kept out of its output.

#include "raw_clients.hpp"
#include "support/child_process.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_tokens.hpp"
#include "support/timeouts.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <ctime>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace tinychat::test {
namespace {

namespace json = boost::json;

const std::string secret = "0123456789abcdef0123456789abcdef"; // exactly 32 bytes

std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string write_file(const TempDir& dir, const std::string& name, std::string_view content) {
  const auto path = dir.path() / name;
  std::ofstream(path, std::ios::binary) << content;
  return path.string();
}

// A connection that read its hello; `hello` keeps it.
struct Connection {
  explicit Connection(std::uint16_t port)
      : ws(port), hello(json::parse(ws.read_text()).as_object()) {}
  json::object call(std::string_view request) {
    REQUIRE_FALSE(ws.write(request));
    return json::parse(ws.read_text()).as_object();
  }
  json::object auth(std::string_view token) {
    return call(json::serialize(json::object{{"type", "auth"}, {"id", 1}, {"token", token}}));
  }
  std::string create_room() {
    const auto reply = call(R"({"type":"create_room","id":2})");
    if (reply.at("type") == "room_created") return "room_created";
    return std::string(reply.at("code").as_string());
  }
  RawWebSocket ws;
  json::object hello;
};

// Starts the server expecting it to fail; its exit status and everything it printed.
CommandResult failed_start(const std::vector<std::string>& flags) {
  std::vector<std::string> args{"--port", "0", "--store", "memory"};
  args.insert(args.end(), flags.begin(), flags.end());
  return run_server_command(args, true);
}

} // namespace

TEST_CASE("auth: an HS256 server wants a token for create_room; the file's newline is no part") {
  TempDir dir;
  ServerProcess server({"--auth-hs256-secret-file", write_file(dir, "secret", secret + "\n")});
  Connection alice(server.port());
  CHECK(alice.hello.at("limits").at("auth_required") == true);
  CHECK(alice.create_room() == "unauthorized");

  const auto exp = now_s() + 600;
  const auto reply = alice.auth(hs256_token(claims_json("alice", exp), secret));
  CHECK(reply ==
        json::object{
            {"type", "authenticated"}, {"id", 1}, {"sub", "alice"}, {"expires_at", exp * 1000}});
  CHECK(alice.create_room() == "room_created");

  Connection mallory(server.port());
  // Signed with the file's bytes including the newline: not the secret.
  const auto with_newline = hs256_token(claims_json("mallory", exp), secret + "\n");
  CHECK(mallory.auth(with_newline).at("code") == "unauthorized");
  CHECK(mallory.auth(hs256_token(claims_json("mallory", now_s() - 1), secret)).at("code") ==
        "unauthorized");
  CHECK(mallory.create_room() == "unauthorized");
}

TEST_CASE("auth: an EdDSA server accepts its key's tokens, not HS256 ones nor other keys'") {
  const auto key = TokenKey::generate();
  ServerProcess server({"--auth-ed25519-public-key", key.public_hex()});
  Connection bob(server.port());
  CHECK(bob.hello.at("limits").at("auth_required") == true);
  const auto claims = claims_json("bob", now_s() + 600);
  CHECK(bob.auth(hs256_token(claims, secret)).at("code") == "unauthorized");
  CHECK(bob.auth(hs256_token(claims, key.public_bytes())).at("code") == "unauthorized");
  CHECK(bob.auth(eddsa_token(claims, TokenKey::generate())).at("code") == "unauthorized");
  CHECK(bob.create_room() == "unauthorized");
  CHECK(bob.auth(eddsa_token(claims, key)).at("type") == "authenticated");
  CHECK(bob.create_room() == "room_created");
}

TEST_CASE("auth: without a token key hello says so, auth is refused, rooms need no token") {
  ServerProcess server;
  Connection alice(server.port());
  CHECK(alice.hello.at("limits").at("auth_required") == false);
  const auto reply = alice.auth(hs256_token(claims_json("alice", now_s() + 600), secret));
  CHECK(reply.at("code") == "unauthorized");
  CHECK(alice.create_room() == "room_created");
}

TEST_CASE("room quota: with auth, room creations count per user, whatever the connection") {
  TempDir dir;
  ServerProcess server({"--auth-hs256-secret-file", write_file(dir, "secret", secret),
                        "--max-rooms-per-minute", "1"});
  const auto exp = now_s() + 600;
  Connection alice(server.port()), alice_again(server.port()), bob(server.port());
  for (auto* c : {&alice, &alice_again})
    REQUIRE(c->auth(hs256_token(claims_json("alice", exp), secret)).at("type") == "authenticated");
  REQUIRE(bob.auth(hs256_token(claims_json("bob", exp), secret)).at("type") == "authenticated");
  CHECK(alice.create_room() == "room_created");
  CHECK(alice_again.create_room() == "room_quota_exceeded");
  // Same address, another user: a quota of its own.
  CHECK(bob.create_room() == "room_created");
}

TEST_CASE("auth: neither tokens nor the secret appear in the server's output") {
  TempDir dir;
  const std::string long_secret = "a secret that must never be printed, 40b";
  const auto file = write_file(dir, "secret", long_secret);
  const std::vector<std::string> argv{
      server_path(), "--port", "0", "--store", "memory", "--auth-hs256-secret-file", file};
  ChildOptions options;
  options.merge_stderr = true;
  ChildProcess server(argv, options);
  // stdout's "listening on http://..." line, after stderr's log lines before it.
  auto line = server.read_line(event_timeout);
  while (line && line->find("listening on http://") == std::string::npos)
    line = server.read_line(event_timeout);
  REQUIRE(line);
  const auto port = static_cast<std::uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
  const auto good = hs256_token(claims_json("alice", now_s() + 600), long_secret);
  const auto bad = hs256_token(claims_json("mallory", now_s() + 600), "guessed");
  {
    Connection c(port);
    CHECK(c.auth(bad).at("code") == "unauthorized");
    CHECK(c.auth(good).at("type") == "authenticated");
    CHECK(c.auth("x." + good).at("code") == "unauthorized");
    CHECK(c.create_room() == "room_created");
  }
  server.send_signal(SIGTERM);
  const auto output = server.read_to_end(event_timeout);
  REQUIRE(output);
  CHECK(output->find("event=shutdown_begin") != std::string::npos); // the output was captured
  for (const auto& token : {good, bad})
    for (std::size_t at = 0; at + 16 <= token.size(); at += 16)
      CHECK(output->find(token.substr(at, 16)) == std::string::npos);
  CHECK(output->find(long_secret.substr(0, 16)) == std::string::npos);
}

TEST_CASE("server: --help lists the token flags") {
  const auto result = run_server_command({"--help"});
  CHECK(result.exit_code == 0);
  CHECK(result.out.find("--auth-hs256-secret-file FILE") != std::string::npos);
  CHECK(result.out.find("--auth-ed25519-public-key HEX") != std::string::npos);
}

TEST_CASE("server: a token key it cannot use stops it at start with exit 2 and a reason") {
  TempDir dir;
  const auto key = TokenKey::generate();
  struct Case {
    std::vector<std::string> flags;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"--auth-hs256-secret-file", (dir.path() / "missing").string()}, "cannot read"},
      {{"--auth-hs256-secret-file", dir.path().string()}, "is a directory"},
      {{"--auth-hs256-secret-file", write_file(dir, "short", secret.substr(1) + "\n")},
       "has 31 bytes; HS256 needs at least 32"},
      {{"--auth-hs256-secret-file", write_file(dir, "empty", "")}, "has 0 bytes"},
      {{"--auth-hs256-secret-file", write_file(dir, "huge", std::string(5000, 'x'))},
       "larger than 4096 bytes"},
      {{"--auth-ed25519-public-key", "not-hex"}, "64 lowercase hex characters"},
      {{"--auth-ed25519-public-key", key.public_hex().substr(2)}, "64 lowercase hex characters"},
      {{"--auth-ed25519-public-key", "AB" + key.public_hex().substr(2)},
       "64 lowercase hex characters"},
      // The neutral element: a point of small order, which would verify forged signatures.
      {{"--auth-ed25519-public-key", "01" + std::string(62, '0')},
       "not a valid Ed25519 public key"},
      {{"--auth-ed25519-public-key", key.public_hex(), "--auth-hs256-secret-file",
        write_file(dir, "secret", secret)},
       "give one token key"},
  };
  for (const auto& c : cases) {
    INFO("flags: " << c.flags.front() << " " << c.flags.at(1));
    const auto [status, output] = failed_start(c.flags);
    CHECK(status == 2);
    CHECK(output.find(c.flags.front()) != std::string::npos);
    CHECK_MESSAGE(output.find(c.says) != std::string::npos, output);
    CHECK(output.find(secret.substr(1, 16)) == std::string::npos);
  }
}

} // namespace tinychat::test
