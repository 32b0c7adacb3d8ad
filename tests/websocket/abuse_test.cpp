// Abuse over real sockets: the server defends itself and keeps serving everyone else.

#include "raw_clients.hpp"
#include "support/server_process.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace tinychat::test {
namespace {

namespace json = boost::json;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// utime + stime of a process, in clock ticks (/proc/PID/stat fields 14 and 15).
long cpu_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i)
    fields >> skip;
  long utime = 0, stime = 0;
  fields >> utime >> stime;
  return utime + stime;
}

std::size_t open_descriptors(pid_t pid) {
  const std::filesystem::directory_iterator fds("/proc/" + std::to_string(pid) + "/fd");
  return static_cast<std::size_t>(std::distance(begin(fds), end(fds)));
}

} // namespace

TEST_CASE("accept: out of descriptors the server waits instead of spinning, then accepts again") {
  ServerProcess server;
  const auto limit = static_cast<rlim_t>(open_descriptors(server.pid()) + 3);
  const rlimit tight{limit, limit};
  REQUIRE(prlimit(server.pid(), RLIMIT_NOFILE, &tight, nullptr) == 0);

  net::io_context ioc;
  std::vector<tcp::socket> crowd;
  for (int i = 0; i < 20; ++i) {
    auto& s = crowd.emplace_back(ioc);
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server.port()));
  }
  // A server retrying accept at once would burn a whole core meanwhile.
  const long before = cpu_ticks(server.pid());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const long used = cpu_ticks(server.pid()) - before;
  CHECK(used < sysconf(_SC_CLK_TCK) / 2);

  crowd.clear();
  CHECK(http_request(server.port(), boost::beast::http::verb::get, "/healthz").result_int() == 200);
}

TEST_CASE("origin: a page of another origin cannot open a WebSocket; listed ones and the own can") {
  ServerProcess server({"--allowed-origin", "https://chat.example.org"});
  // The handshake's Host is 127.0.0.1, so the server's own page has origin http://127.0.0.1.
  CHECK(upgrade_status(server.port(), "/v1/ws", {{"Origin", "http://127.0.0.1"}}) == 101);
  CHECK(upgrade_status(server.port(), "/v1/ws", {{"Origin", "https://chat.example.org"}}) == 101);
  CHECK(upgrade_status(server.port(), "/v1/ws", {}) == 101); // not a browser
  CHECK(upgrade_status(server.port(), "/v1/ws", {{"Origin", "https://evil.example"}}) == 403);
  CHECK(upgrade_status(server.port(), "/v1/ws", {{"Origin", "https://chat.example.org.evil"}}) ==
        403);
  CHECK(upgrade_status(server.port(), "/v1/ws", {{"Origin", "null"}}) == 403);
}

TEST_CASE("connections: beyond the per-address cap an upgrade gets 503 until one closes") {
  ServerProcess server({"--max-connections-per-ip", "2"});
  std::optional<RawWebSocket> first(std::in_place, server.port());
  RawWebSocket second(server.port());
  CHECK(upgrade_status(server.port(), "/v1/ws") == 503);
  CHECK(http_request(server.port(), boost::beast::http::verb::get, "/healthz").result_int() == 200);

  first.reset();
  // The server gives the place back once it has seen the close.
  const auto deadline = std::chrono::steady_clock::now() + event_timeout;
  unsigned status = 0;
  while ((status = upgrade_status(server.port(), "/v1/ws")) == 503 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(status == 101);
}

TEST_CASE("connections: beyond the global cap an upgrade gets 503") {
  ServerProcess server({"--max-connections", "1"});
  RawWebSocket only(server.port());
  CHECK(upgrade_status(server.port(), "/v1/ws") == 503);
  only.read_text(); // hello: the admitted connection works
}

TEST_CASE("room quota: without authentication room creations count per client address") {
  ServerProcess server({"--max-rooms-per-minute", "1"});
  RawWebSocket first(server.port());
  RawWebSocket second(server.port());
  first.read_text();
  second.read_text();
  REQUIRE_FALSE(first.write(R"({"type":"create_room","id":1})"));
  CHECK(json::parse(first.read_text()).at("type") == "room_created");
  // Another connection from the same address shares the quota.
  REQUIRE_FALSE(second.write(R"({"type":"create_room","id":2})"));
  const auto refused = json::parse(second.read_text()).as_object();
  CHECK(refused.at("code") == "room_quota_exceeded");
  CHECK(refused.at("id") == 2);
}

} // namespace tinychat::test
