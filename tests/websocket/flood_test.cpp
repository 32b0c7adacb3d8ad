// Floods over real sockets: every request still gets its answer, in order, and the server
// keeps serving everyone else.

#include "raw_clients.hpp"
#include "support/server_process.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <string>

namespace tinychat::test {
namespace {

namespace json = boost::json;

constexpr int flood_size = 500;

} // namespace

TEST_CASE("flood: pipelined requests over the rate limit are answered rate_limited, in order") {
  ServerProcess server({"--rate-limit-per-second", "10", "--rate-limit-burst", "20"});
  RawWebSocket flooder(server.port());
  flooder.read_text(); // hello
  for (int id = 1; id <= flood_size; ++id)
    REQUIRE_FALSE(flooder.write(R"({"type":"ping","id":)" + std::to_string(id) + "}"));

  int pongs = 0, limited = 0;
  for (int id = 1; id <= flood_size; ++id) {
    const auto reply = json::parse(flooder.read_text()).as_object();
    REQUIRE(reply.at("id") == id);
    if (reply.at("type") == "pong") {
      ++pongs;
    } else {
      CHECK(reply.at("code") == "rate_limited");
      CHECK(reply.at("retry_after_ms").to_number<std::int64_t>() > 0);
      ++limited;
    }
  }
  CHECK(pongs >= 20);
  CHECK(limited > 0);

  RawWebSocket other(server.port()); // a polite client is not affected
  other.read_text();
  REQUIRE_FALSE(other.write(R"({"type":"ping","id":"still here"})"));
  CHECK(json::parse(other.read_text()).at("type") == "pong");
}

TEST_CASE("flood: a stream of malformed frames gets one error each and the connection stays") {
  ServerProcess server({"--rate-limit-per-second", "0"});
  RawWebSocket flooder(server.port());
  flooder.read_text(); // hello
  for (int i = 0; i < flood_size; ++i)
    REQUIRE_FALSE(flooder.write("{not json"));
  for (int i = 0; i < flood_size; ++i) {
    const auto reply = json::parse(flooder.read_text()).as_object();
    REQUIRE(reply.at("code") == "bad_request");
    CHECK(reply.at("id").is_null());
  }
  REQUIRE_FALSE(flooder.write(R"({"type":"ping","id":1})"));
  CHECK(json::parse(flooder.read_text()).at("type") == "pong");
}

} // namespace tinychat::test
