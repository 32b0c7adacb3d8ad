// Abuse below the message level, byte by byte: slow and idle clients, floods of pings and
// fragments, and shutdown in the middle of it. The server bounds what each costs and
// keeps serving everyone else.

#include "raw_frames.hpp"
#include "support/server_process.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace tinychat::test {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// Resident memory of a process, in KiB.
long resident_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  return -1;
}

TEST_CASE("slowloris: an upgrade request trickled slower than --http-timeout-ms is cut off, "
          "while other clients are served") {
  ServerProcess server({"--http-timeout-ms", "1000"});
  FrameClient slow(server.port());
  const auto start = clock::now();
  REQUIRE_FALSE(slow.send("GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
  bool served_meanwhile = false;
  bool cut_off = false;
  // One byte every 100 ms, never the end of the request: cut off by the deadline of the
  // whole request, not by any one pause.
  while (!cut_off && clock::now() - start < event_timeout) {
    cut_off = slow.wait_tcp_closed(100ms) || slow.send("a");
    if (!cut_off && !served_meanwhile && clock::now() - start > 300ms) {
      check_served(server.port());
      served_meanwhile = true;
    }
  }
  CHECK(cut_off);
  CHECK(served_meanwhile);
  CHECK(clock::now() - start >= 900ms);
  check_served(server.port());
}

TEST_CASE("slowloris: connections that never send a request hold no WebSocket place and are "
          "closed at --http-timeout-ms") {
  ServerProcess server({"--http-timeout-ms", "1000", "--max-connections", "1"});
  std::vector<std::unique_ptr<FrameClient>> idle;
  for (int i = 0; i < 100; ++i)
    idle.push_back(std::make_unique<FrameClient>(server.port()));
  // The caps count WebSockets: the one allowed is still free.
  check_served(server.port());
  for (auto& client : idle)
    CHECK(client->wait_tcp_closed());
}

TEST_CASE("keep-alive: a silent WebSocket is pinged at half --idle-timeout-ms and closed at "
          "it") {
  ServerProcess server({"--idle-timeout-ms", "1000"});
  FrameClient silent(server.port(), FrameClient::served);
  const auto start = clock::now();
  const auto ping = silent.read_frame();
  REQUIRE(ping);
  CHECK(ping->opcode == opcode::ping);
  CHECK(clock::now() - start >= 400ms);
  CHECK(silent.wait_tcp_closed()); // the ping goes unanswered
  CHECK(clock::now() - start >= 900ms);
  check_served(server.port());
}

TEST_CASE("keep-alive: a client that answers the pings stays connected past --idle-timeout-ms") {
  // A ping every second: only a pong that a busy machine delays by a whole second would end
  // the connection.
  ServerProcess server({"--idle-timeout-ms", "2000"});
  FrameClient client(server.port(), FrameClient::served);
  const auto start = clock::now();
  int pings = 0;
  while (clock::now() - start < 4500ms) {
    const auto ping = client.read_frame();
    REQUIRE(ping);
    REQUIRE(ping->opcode == opcode::ping);
    ++pings;
    REQUIRE_FALSE(client.send(frame(opcode::pong, ping->payload)));
  }
  CHECK(pings >= 3);
  REQUIRE_FALSE(client.send(frame(opcode::text, R"({"type":"ping","id":"awake"})")));
  CHECK(client.read_text() == R"({"type":"pong","id":"awake"})");
}

TEST_CASE("limits: a client that pings and never reads the pongs is closed with 4008 instead "
          "of growing its queue") {
  ServerProcess server({"--max-queued-bytes", "65536"});
  FrameClient client(server.port(), FrameClient::served);
  // 16 MiB of pongs would be owed; the kernel's socket buffers hold a few MiB of them.
  const std::string ping = frame(opcode::ping, std::string(125, 'p'));
  std::string burst;
  for (int i = 0; i < 1000; ++i)
    burst += ping;
  int sent = 0;
  for (; sent < 128'000; sent += 1000)
    if (client.send(burst)) break; // the server gave up on us
  int pongs = 0;
  std::optional<std::uint16_t> code;
  for (;;) {
    const auto f = client.read_frame();
    if (!f) break;
    if (f->opcode == opcode::close && f->payload.size() >= 2) {
      code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(f->payload[0]) << 8) |
                                        static_cast<std::uint8_t>(f->payload[1]));
      break;
    }
    REQUIRE(f->opcode == opcode::pong);
    REQUIRE_MESSAGE(++pongs < sent, "every pong was queued: the queue is unbounded");
  }
  // The close frame, unless the client's silence outlasted the close deadline (TCP close).
  if (code) CHECK(*code == 4008);
  CHECK(pongs < sent);
  check_served(server.port());
}

TEST_CASE("limits: a flood of empty fragments inside one message costs no memory; the "
          "message then completes and others are served meanwhile") {
  ServerProcess server;
  FrameClient client(server.port(), FrameClient::served);
  check_served(server.port()); // the server's memory at rest includes one served client
  const long before = resident_kib(server.pid());
  REQUIRE_FALSE(client.send(frame(opcode::text, R"({"type":"ping",)", false)));
  const std::string empty = frame(opcode::continuation, "", false);
  std::string burst;
  for (int i = 0; i < 10'000; ++i)
    burst += empty;
  for (int i = 0; i < 30; ++i) // 300,000 fragments
    REQUIRE_FALSE(client.send(burst));
  check_served(server.port());
  REQUIRE_FALSE(client.send(frame(opcode::continuation, R"("id":"end"})", true)));
  CHECK(client.read_text() == R"({"type":"pong","id":"end"})");
  // Fragment headers are not kept: a few MiB of them leave no trace.
  CHECK(resident_kib(server.pid()) - before < 2048);
}

TEST_CASE("shutdown: SIGTERM sends 1001 to every connection, one in the middle of a message "
          "too, and closes TCP after the echo") {
  // `shutdown: SIGTERM closes every WebSocket with 1001 and exits 0` (shutdown_test.cpp)
  // covers the clean case with a Beast client; this one watches the bytes.
  ServerProcess server;
  std::vector<std::unique_ptr<FrameClient>> clients;
  for (int i = 0; i < 5; ++i)
    clients.push_back(std::make_unique<FrameClient>(server.port(), FrameClient::served));
  REQUIRE_FALSE(clients[0]->send(frame(opcode::text, R"({"type":)", false)));
  server.signal(SIGTERM);
  for (auto& client : clients) {
    const auto seen = client->read_close();
    CHECK(seen.code == 1001);
    CHECK(seen.tcp_closed);
  }
  CHECK(server.wait_for_exit(event_timeout) == 0);
}

} // namespace
} // namespace tinychat::test
