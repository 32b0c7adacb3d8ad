// Whole frames through the in-process transport into a RoomService (MemoryStore, manual
// clock, small limits so that every limit is within reach), checked by FrameObserver.
//
// The input is a script, one operation a line. A prelude first creates room 0, where
// connection 0 joins as "alice" and connection 1 as "bob", with keys from fixed seeds, so
// fuzzed frames reach rooms, members and messages. Operations (N: connection 0-3, R: room
// slot 0-3, K: key 0-3):
//   N<frame>         connection N sends <frame> as it is, after replacing $R0..$R3 by the
//                    room ids and $K0..$K3 by the public keys
//   cN               connection N creates a room; its id fills the next room slot
//   jNRK<name>       connection N joins room R with key K, correctly signed
//   sNR[seq ]<text>  connection N sends <text>, correctly signed with the key it joined
//                    with; without a seq, the next one of that key
//   tS               the clock moves S seconds (digits) and the service ticks
//   xN               connection N closes, and opens again (new challenge)
// Any other line is ignored. With TINYCHAT_FUZZ_TRACE set, every frame is printed to stderr.

#include "frame_observer.hpp"

#include <tinychat/encoding.hpp>
#include <tinychat/in_process_transport.hpp>
#include <tinychat/memory_store.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>

using namespace tinychat;
using fuzz::check;
namespace json = boost::json;

namespace {

constexpr std::size_t peers = 4;
constexpr std::size_t max_operations = 200;

ServiceConfig small_limits() {
  ServiceConfig c;
  c.limits.max_text_chars = 64;
  c.limits.max_name_chars = 16;
  c.limits.max_room_members = 3;
  c.limits.max_history = 8;
  c.limits.max_frame_bytes = 2048;
  c.limits.max_rooms_per_connection = 3;
  c.limits.room_idle_seconds = 60;
  c.limits.room_ttl_seconds = 600;
  c.rate_limit = {50, 100, 40};
  c.room_quota = {4, 6};
  return c;
}

const std::array<KeyPair, peers>& keys() {
  static const auto all = [] {
    auto key = [](std::uint8_t n) {
      std::array<std::uint8_t, 32> seed{};
      seed.fill(n);
      return KeyPair::from_seed(seed);
    };
    return std::array<KeyPair, peers>{key(1), key(2), key(3), key(4)};
  }();
  return all;
}

// For reading what a finding did.
void trace(std::size_t n, const char* direction, std::string_view text) {
  static const bool on = std::getenv("TINYCHAT_FUZZ_TRACE") != nullptr;
  if (on)
    std::fprintf(stderr, "%zu %s %.*s\n", n, direction, static_cast<int>(text.size()), text.data());
}

struct Joined {
  std::size_t key = 0;
  std::string user_id;
};

struct Peer {
  std::unique_ptr<InProcessConnection> conn;
  std::optional<fuzz::FrameObserver> observer;
  Challenge challenge{};
  std::map<std::string, Joined, std::less<>> joined;       ///< by room id, from `joined` replies
  std::map<std::string, std::size_t, std::less<>> joining; ///< key of a join in flight
};

class Session {
public:
  Session() : transport_(store_, clock_, small_limits()) {
    for (std::size_t n = 0; n < peers; ++n)
      open(n);
    create_room(0);
    join(0, 0, 0, "alice");
    join(1, 0, 1, "bob");
  }

  void run(std::string_view line) {
    if (line.empty()) return;
    const char op = line.front();
    auto digit = [&](std::size_t i) -> std::optional<std::size_t> {
      if (i >= line.size() || line[i] < '0' || line[i] > '3') return std::nullopt;
      return static_cast<std::size_t>(line[i] - '0');
    };
    if (op >= '0' && op <= '3') {
      send_raw(static_cast<std::size_t>(op - '0'), substitute(line.substr(1)));
    } else if (op == 'c' && digit(1)) {
      create_room(*digit(1));
    } else if (op == 'j' && digit(1) && digit(2) && digit(3)) {
      join(*digit(1), *digit(2), *digit(3), line.substr(4));
    } else if (op == 's' && digit(1) && digit(2)) {
      send_signed(*digit(1), *digit(2), line.substr(3));
    } else if (op == 't') {
      std::int64_t seconds = 0;
      for (char c : line.substr(1, 6))
        if (c >= '0' && c <= '9') seconds = seconds * 10 + (c - '0');
      clock_.advance_seconds(seconds);
      transport_.tick();
      drain();
    } else if (op == 'x' && digit(1)) {
      peers_[*digit(1)].conn->close();
      open(*digit(1));
    }
  }

private:
  void open(std::size_t n) {
    Peer& p = peers_[n];
    p = Peer{};
    p.observer.emplace(log_);
    p.conn = transport_.connect(n < 2 ? "192.0.2.1" : "192.0.2.2");
    auto hello = p.conn->take();
    check(hello.has_value(), "no hello");
    auto frame = Protocol::decode_server_frame(*hello);
    check(frame && std::holds_alternative<Hello>(*frame), "the first frame is not hello", *hello);
    p.challenge = std::get<Hello>(*frame).challenge;
    drain();
  }

  Peer& usable(std::size_t n) {
    if (!peers_[n].conn->is_open()) open(n); // closed by the server: a client reconnects
    return peers_[n];
  }

  std::string room(std::size_t slot) const {
    // A well-formed id of no room until the slot is filled.
    return rooms_[slot].empty() ? std::string(26, 'a') : rooms_[slot];
  }

  std::string substitute(std::string_view text) const {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '$' && i + 2 < text.size() && text[i + 2] >= '0' && text[i + 2] <= '3') {
        auto n = static_cast<std::size_t>(text[i + 2] - '0');
        if (text[i + 1] == 'R') {
          out += room(n);
          i += 2;
          continue;
        }
        if (text[i + 1] == 'K') {
          out += to_hex(keys()[n].public_key());
          i += 2;
          continue;
        }
      }
      out += text[i];
    }
    return out;
  }

  // Sends one frame and checks that it was answered once, with its id.
  void send_raw(std::size_t n, const std::string& text) {
    Peer& p = usable(n);
    DecodedRequest decoded = Protocol::decode_request(text);
    p.observer->expect_reply(decoded.ok() ? decoded.request().id : decoded.error().id);
    if (decoded.ok())
      if (auto* join = std::get_if<JoinRequest>(&decoded.request().body))
        for (std::size_t k = 0; k < peers; ++k)
          if (keys()[k].public_key() == join->pub_key) p.joining[join->room_id] = k;
    trace(n, ">", text);
    p.conn->send(text);
    drain();
    p.observer->request_done(p.conn->is_open());
  }

  void create_room(std::size_t n) { send_raw(n, R"({"type":"create_room","id":1})"); }

  void join(std::size_t n, std::size_t slot, std::size_t k, std::string_view name) {
    Peer& p = usable(n);
    const std::string id = room(slot);
    // The signature covers the trimmed name, as a client computes it.
    auto trimmed = Protocol::normalize_name(name, transport_.service().config().limits);
    auto* signed_name = std::get_if<std::string>(&trimmed);
    const KeyPair& key = keys()[k];
    auto sig = key.sign(
        join_payload(p.challenge, id, signed_name ? *signed_name : name, key.public_key()));
    json::object request{{"type", "join"},
                         {"id", 2},
                         {"room_id", id},
                         {"user_name", name},
                         {"pub_key", to_hex(key.public_key())},
                         {"sig", to_hex(sig)}};
    send_raw(n, json::serialize(request));
  }

  void send_signed(std::size_t n, std::size_t slot, std::string_view rest) {
    Peer& p = usable(n);
    const std::string id = room(slot);
    auto joined = p.joined.find(id);
    const std::size_t k = joined != p.joined.end() ? joined->second.key : n;
    const std::string user_id = joined != p.joined.end() ? joined->second.user_id : "u";
    std::uint64_t client_seq = ++client_seqs_[{id, k}];
    if (auto space = rest.find(' ');
        space != std::string_view::npos && space > 0 &&
        rest.substr(0, space).find_first_not_of("0123456789") == std::string_view::npos) {
      client_seq = 0;
      for (char c : rest.substr(0, std::min<std::size_t>(space, 16)))
        client_seq = client_seq * 10 + static_cast<std::uint64_t>(c - '0');
      rest.remove_prefix(space + 1);
    }
    auto sig = keys()[k].sign(message_payload(id, user_id, client_seq, rest));
    json::object request{{"type", "send"},           {"id", "s"},    {"room_id", id},
                         {"client_seq", client_seq}, {"text", rest}, {"sig", to_hex(sig)}};
    send_raw(n, json::serialize(request));
  }

  // Hands every delivered frame to its connection's observer, and learns rooms and user ids.
  void drain() {
    for (std::size_t n = 0; n < peers; ++n) {
      Peer& p = peers_[n];
      if (!p.conn) continue; // not opened yet
      while (auto text = p.conn->take()) {
        trace(n, "<", *text);
        json::object frame = p.observer->observe(*text);
        const auto type = frame.at("type").as_string();
        if (type == "room_created") {
          rooms_[next_slot_++ % rooms_.size()] = std::string(frame.at("room_id").as_string());
        } else if (type == "joined") {
          std::string id(frame.at("room_id").as_string());
          auto k = p.joining.count(id) ? p.joining[id] : n;
          p.joined[id] = Joined{k, std::string(frame.at("user_id").as_string())};
        } else if (type == "left" || type == "room_closed") {
          p.joined.erase(std::string(frame.at("room_id").as_string()));
        }
      }
    }
  }

  ManualClock clock_;
  MemoryStore store_;
  InProcessTransport transport_;
  fuzz::MessageLog log_;
  std::array<Peer, peers> peers_;
  std::array<std::string, 4> rooms_;
  std::size_t next_slot_ = 0;
  std::map<std::pair<std::string, std::size_t>, std::uint64_t> client_seqs_;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view script(reinterpret_cast<const char*>(data), size);
  Session session;
  for (std::size_t i = 0; i < max_operations && !script.empty(); ++i) {
    auto end = script.find('\n');
    session.run(script.substr(0, end));
    script.remove_prefix(end == std::string_view::npos ? script.size() : end + 1);
  }
  return 0;
}
