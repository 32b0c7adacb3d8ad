// HTTP beside the WebSocket (PROTOCOL.md section 8) and the command line of tinychat-server.

#include "raw_clients.hpp"
#include "support/server_process.hpp"

#include <boost/beast/http/field.hpp>
#include <doctest/doctest.h>

#include <string>

namespace tinychat::test {
namespace {

namespace http = boost::beast::http;

TEST_CASE("http: GET /healthz answers 200 ok") {
  ServerProcess server;
  const auto res = http_request(server.port(), http::verb::get, "/healthz");
  CHECK(res.result_int() == 200);
  CHECK(res[http::field::content_type].starts_with("text/plain"));
  CHECK(res.body() == "ok");
  CHECK(http_request(server.port(), http::verb::get, "/healthz?probe=1").result_int() == 200);
}

TEST_CASE("http: GET / serves an HTML page that names the WebSocket path") {
  ServerProcess server;
  const auto res = http_request(server.port(), http::verb::get, "/");
  CHECK(res.result_int() == 200);
  CHECK(res[http::field::content_type] == "text/html; charset=utf-8");
  CHECK(res.body().find("/v1/ws") != std::string::npos);
}

TEST_CASE("http: HEAD / answers 200 with the length of the page and no body") {
  ServerProcess server;
  const auto get = http_request(server.port(), http::verb::get, "/");
  const auto head = http_request(server.port(), http::verb::head, "/");
  CHECK(head.result_int() == 200);
  CHECK(head.body().empty());
  CHECK(head[http::field::content_length] == std::to_string(get.body().size()));
}

TEST_CASE("http: any other path answers 404, also for a WebSocket upgrade") {
  ServerProcess server;
  CHECK(http_request(server.port(), http::verb::get, "/nope").result_int() == 404);
  CHECK(http_request(server.port(), http::verb::get, "/v1/ws").result_int() == 404);
  CHECK(upgrade_status(server.port(), "/nope") == 404);
  CHECK(upgrade_status(server.port(), "/") == 404);
}

TEST_CASE("http: another method on a known path answers 405 with Allow") {
  ServerProcess server;
  const auto res = http_request(server.port(), http::verb::post, "/healthz");
  CHECK(res.result_int() == 405);
  CHECK(res[http::field::allow] == "GET, HEAD");
}

TEST_CASE("server: --help lists every flag with its default and exits 0") {
  const auto result = run_server_command({"--help"});
  CHECK(result.exit_code == 0);
  for (const char* flag : {"--bind",
                           "--port",
                           "--threads",
                           "--max-text-chars",
                           "--max-name-chars",
                           "--max-room-members",
                           "--max-history",
                           "--max-frame-bytes",
                           "--max-rooms-per-connection",
                           "--room-idle-seconds",
                           "--room-ttl-seconds",
                           "--rate-limit-per-second",
                           "--rate-limit-burst",
                           "--web-root",
                           "--max-queued-bytes",
                           "--coalesce-us",
                           "--max-connections",
                           "--max-connections-per-ip",
                           "--allowed-origin",
                           "--http-timeout-ms",
                           "--idle-timeout-ms",
                           "--rate-limit-close-after",
                           "--max-live-rooms-per-user",
                           "--max-rooms-per-minute",
                           "--version"})
    CHECK_MESSAGE(result.out.find(flag) != std::string::npos, flag);
  CHECK(result.out.find("(default 65536)") != std::string::npos);
}

TEST_CASE("server: a bad flag or value exits 2") {
  CHECK(run_server_command({"--no-such-flag"}).exit_code == 2);
  CHECK(run_server_command({"--port", "70000"}).exit_code == 2);
  CHECK(run_server_command({"--max-history=0"}).exit_code == 2);
  CHECK(run_server_command({"--max-text-chars", "ten"}).exit_code == 2);
  CHECK(run_server_command({"--bind", "not-an-address"}).exit_code == 2);
  CHECK(run_server_command({"--threads"}).exit_code == 2);
}

} // namespace
} // namespace tinychat::test
