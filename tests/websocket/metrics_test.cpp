// GET /metrics over real sockets: the Prometheus text format holds together, and real
// traffic moves the figures it should.

#include "raw_clients.hpp"
#include "support/chat_user.hpp"
#include "support/server_process.hpp"

#include <tinychat/encoding.hpp>
#include <tinychat/signature_verifier.hpp>

#include <boost/beast/http/field.hpp>
#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace tinychat::test {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;

/// A scrape, read the way a Prometheus server would read it (text format 0.0.4), with
/// everything that breaks the format listed in `problems`.
struct Exposition {
  std::map<std::string, std::string> types; // family name to TYPE
  std::set<std::string> helps;              // families with HELP
  std::map<std::string, double> samples;    // "name{labels}" to value, labels as sent
  std::vector<std::string> problems;

  explicit Exposition(const std::string& text) {
    static const std::regex sample_line(
        R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*\})? (\S+)$)");
    static const std::regex help_line(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$)");
    static const std::regex type_line(
        R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
    if (text.empty() || text.back() != '\n') problems.push_back("does not end with a newline");
    std::istringstream in(text);
    std::string line;
    std::smatch m;
    while (std::getline(in, line)) {
      if (std::regex_match(line, m, help_line)) {
        if (!helps.insert(m[1]).second) problems.push_back("second HELP: " + line);
      } else if (std::regex_match(line, m, type_line)) {
        if (!types.emplace(m[1], m[2]).second) problems.push_back("second TYPE: " + line);
        if (!helps.contains(m[1])) problems.push_back("TYPE before HELP: " + line);
      } else if (std::regex_match(line, m, sample_line)) {
        const std::string family = family_of(m[1]);
        if (!types.contains(family)) problems.push_back("sample before its TYPE: " + line);
        if (types[family] == "counter" && !family.ends_with("_total"))
          problems.push_back("counter not ending in _total: " + line);
        try {
          std::size_t used = 0;
          const std::string value = m[m.size() - 1];
          samples[line.substr(0, line.rfind(' '))] = std::stod(value, &used);
          if (used != value.size()) problems.push_back("bad value: " + line);
        } catch (const std::exception&) {
          problems.push_back("bad value: " + line);
        }
      } else {
        problems.push_back("not a sample, HELP or TYPE line: " + line);
      }
    }
  }

  // A histogram's _bucket, _sum and _count samples belong to the histogram's family.
  std::string family_of(const std::string& name) const {
    for (std::string suffix : {"_bucket", "_sum", "_count"})
      if (name.ends_with(suffix)) {
        const auto base = name.substr(0, name.size() - suffix.size());
        if (auto it = types.find(base); it != types.end() && it->second == "histogram") return base;
      }
    return name;
  }

  /// The value of sample `key` ("name" or "name{labels}"); fails the test when absent.
  double operator[](const std::string& key) const {
    const auto it = samples.find(key);
    INFO("sample " << key);
    REQUIRE(it != samples.end());
    return it->second;
  }
};

Exposition scrape(std::uint16_t port) {
  const auto res = http_request(port, http::verb::get, "/metrics");
  REQUIRE(res.result_int() == 200);
  CHECK(res[http::field::content_type] == "text/plain; version=0.0.4; charset=utf-8");
  Exposition e(res.body());
  for (const auto& p : e.problems)
    FAIL_CHECK(p);
  return e;
}

std::string append_latency(const std::string& suffix, const std::string& extra = {}) {
  return "tinychat_store_operation_duration_seconds_" + suffix + "{op=\"append_message\"" + extra +
         "}";
}

} // namespace

TEST_CASE("metrics: GET /metrics is Prometheus text 0.0.4, every family with HELP and TYPE") {
  ServerProcess server;
  const auto e = scrape(server.port());
  CHECK(e.problems.empty());
  CHECK(e.helps.size() == e.types.size());
  for (const auto& [name, type] : e.types)
    CHECK(name.starts_with("tinychat_"));
  CHECK(e.types.at("tinychat_store_operation_duration_seconds") == "histogram");
  CHECK(e.types.at("tinychat_rooms") == "gauge");
  CHECK(e["tinychat_rejects_total{code=\"invalid_signature\"}"] == 0);
  CHECK(e[append_latency("bucket", ",le=\"+Inf\"")] == 0);
  CHECK(e[append_latency("count")] == 0);
  CHECK(e["tinychat_uptime_seconds"] >= 0);
  CHECK(e["tinychat_process_start_time_seconds"] > 1.6e9);
  CHECK(e["tinychat_store_up"] == 1);
}

TEST_CASE("metrics: a message, its deliveries, a forged join and the store's timing count") {
  ServerProcess server;
  ChatUser alice(server.ws_url());
  ChatUser bob(server.ws_url());
  ChatUser carol(server.ws_url());
  const auto room = alice.create_room();
  alice.join(room, "alice");
  bob.join(room, "bob");
  carol.join(room, "carol");
  const auto before = scrape(server.port());
  CHECK(before["tinychat_members"] == 3);
  CHECK(before["tinychat_rooms"] == 1);
  CHECK(before["tinychat_connections"] == 3);
  CHECK(before["tinychat_websocket_connections"] == 3);

  alice.send(room, "hello");
  bob.wait_for_messages_from("alice");
  carol.wait_for_messages_from("alice");
  alice.wait_for_messages_from("alice");
  // A join signed over another challenge, as a replayed join would be.
  RawWebSocket mallory(server.port());
  mallory.read_text(); // hello
  const auto key = KeyPair::generate();
  const auto sig = key.sign(join_payload(Challenge{}, room, "mallory", key.public_key()));
  REQUIRE_FALSE(mallory.write(json::serialize(json::object{{"type", "join"},
                                                           {"room_id", room},
                                                           {"user_name", "mallory"},
                                                           {"pub_key", to_hex(key.public_key())},
                                                           {"sig", to_hex(sig)}})));
  REQUIRE(json::parse(mallory.read_text()).at("code") == "invalid_signature");

  const auto after = scrape(server.port());
  CHECK(after["tinychat_messages_accepted_total"] - before["tinychat_messages_accepted_total"] ==
        1);
  CHECK(after["tinychat_message_deliveries_total"] - before["tinychat_message_deliveries_total"] ==
        3);
  CHECK(after["tinychat_rejects_total{code=\"invalid_signature\"}"] == 1);
  CHECK(after["tinychat_signature_verifications_total{result=\"invalid\"}"] == 1);
  CHECK(after["tinychat_signature_verifications_total{result=\"valid\"}"] -
            before["tinychat_signature_verifications_total{result=\"valid\"}"] ==
        1);
  CHECK(after[append_latency("count")] - before[append_latency("count")] == 1);
  CHECK(after[append_latency("bucket", ",le=\"+Inf\"")] == after[append_latency("count")]);
  CHECK(after["tinychat_websocket_connections_opened_total"] == 4);
}

TEST_CASE("metrics: histogram buckets are cumulative and end in +Inf equal to _count") {
  ServerProcess server({"--rate-limit-per-second", "0"});
  ChatUser alice(server.ws_url());
  const auto room = alice.create_room();
  alice.join(room, "alice");
  for (int i = 0; i < 20; ++i)
    alice.send(room, "m" + std::to_string(i));
  const auto e = scrape(server.port());
  const std::string prefix = append_latency("bucket", ",le=\"");
  std::vector<std::pair<double, double>> buckets; // bound, count
  for (const auto& [key, value] : e.samples)
    if (key.starts_with(prefix.substr(0, prefix.size() - 1))) {
      const auto bound = key.substr(prefix.size() - 1, key.size() - prefix.size() - 1);
      buckets.emplace_back(bound == "+Inf" ? HUGE_VAL : std::stod(bound), value);
    }
  std::sort(buckets.begin(), buckets.end());
  REQUIRE(buckets.size() == 17);
  CHECK(buckets.front().first == doctest::Approx(0.00005));
  CHECK(std::isinf(buckets.back().first));
  for (std::size_t i = 1; i < buckets.size(); ++i)
    CHECK(buckets[i - 1].second <= buckets[i].second);
  CHECK(buckets.back().second == e[append_latency("count")]);
  CHECK(e[append_latency("count")] == 20);
  CHECK(e[append_latency("bucket", ",le=\"5\"")] == 20); // nothing in memory takes 5 s
  CHECK(e[append_latency("sum")] > 0);
}

TEST_CASE("metrics: a 4008 slow-consumer close is counted") {
  ServerProcess server({"--rate-limit-per-second", "0", "--max-queued-bytes", "65536"});
  ChatUser alice(server.ws_url());
  ChatUser bob(server.ws_url());
  const auto room = alice.create_room();
  alice.join(room, "alice");
  bob.join(room, "bob");

  RawWebSocket sleeper(server.port());
  CHECK(join_with_fresh_key(sleeper, room, "sleeper") == "joined");
  alice.wait_for_member(room, "sleeper");
  CHECK(scrape(server.port())["tinychat_slow_consumer_closes_total"] == 0);

  const std::string text(1000, 'z');
  for (std::size_t sent = 0; bob.member_left.size() == 0; ++sent) {
    REQUIRE(sent < 30000);
    alice.send(room, text);
  }
  CHECK(scrape(server.port())["tinychat_slow_consumer_closes_total"] == 1);
  CHECK(sleeper.read_until_closed() == 4008);
}

TEST_CASE("metrics: refused upgrades count by reason, a flood close counts") {
  ServerProcess server({"--max-connections", "1", "--rate-limit-per-second", "10",
                        "--rate-limit-burst", "5", "--rate-limit-close-after", "20"});
  {
    RawWebSocket first(server.port());
    first.read_text();
    CHECK(upgrade_status(server.port(), "/v1/ws") == 503);
    CHECK(upgrade_status(server.port(), "/v1/ws", {{"Origin", "https://evil.example"}}) == 403);
    for (int id = 1; id <= 300; ++id)
      if (first.write(R"({"type":"ping","id":)" + std::to_string(id) + "}")) break;
    CHECK(first.read_until_closed() == 1008);
  }
  const auto e = scrape(server.port());
  CHECK(e["tinychat_upgrades_refused_total{reason=\"capacity\"}"] == 1);
  CHECK(e["tinychat_upgrades_refused_total{reason=\"origin\"}"] == 1);
  CHECK(e["tinychat_flood_closes_total"] == 1);
  CHECK(e["tinychat_rejects_total{code=\"rate_limited\"}"] >= 19);
}

TEST_CASE("metrics: HEAD has no body, other methods 405, and --metrics off answers 404") {
  {
    ServerProcess server;
    const auto head = http_request(server.port(), http::verb::head, "/metrics");
    CHECK(head.result_int() == 200);
    CHECK(head.body().empty());
    CHECK(std::stoul(std::string(head[http::field::content_length])) > 1000);
    const auto post = http_request(server.port(), http::verb::post, "/metrics");
    CHECK(post.result_int() == 405);
    CHECK(post[http::field::allow] == "GET, HEAD");
    CHECK(upgrade_status(server.port(), "/metrics") == 404);
  }
  ServerProcess server({"--metrics", "off"});
  CHECK(http_request(server.port(), http::verb::get, "/metrics").result_int() == 404);
  CHECK(http_request(server.port(), http::verb::get, "/healthz").result_int() == 200);
}

} // namespace tinychat::test
