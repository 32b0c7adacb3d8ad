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

#include "scripted_clients.hpp"

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

class Session final : fuzz::ScriptedClients {
public:
  Session() : ScriptedClients(small_limits().limits), transport_(store_, clock_, small_limits()) {
    for (std::size_t n = 0; n < fuzz::client_count; ++n)
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
      clients_[*digit(1)].conn->close();
      open(*digit(1));
    }
  }

private:
  void open(std::size_t n) { attach(n, transport_.connect(n < 2 ? "192.0.2.1" : "192.0.2.2")); }
  void reopen(std::size_t n) override { open(n); }
  // In-process and on a synchronous store, every reply comes within the send.
  void sent(Client& c) override { c.observer->request_done(c.conn->is_open()); }
  void create_room(std::size_t n) { send_raw(n, R"({"type":"create_room","id":1})"); }

  ManualClock clock_;
  MemoryStore store_;
  InProcessTransport transport_;
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
