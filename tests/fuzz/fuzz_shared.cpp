// Two nodes sharing their rooms through FakeSharedStore (tests/service), each a RoomService
// behind an InProcessTransport, on one manual clock; four connections, checked by
// FrameObserver with one message log for all, so two connections never see two different
// messages under one (room, seq). Store operations run only when the script settles the store,
// so requests race; replies must still come once each, in order.
//
// The input is a script, one operation a line. A prelude opens connections 0 and 2 on node 0,
// 1 and 3 on node 1, creates room 0 and joins connection 0 as "alice" and 1 as "bob".
// Operations (N: connection 0-3, M: node 0-1, R: room slot 0-3, K: key 0-3):
//   N<frame>         connection N sends <frame> as it is, after replacing $R0..$R3 by the
//                    room ids and $K0..$K3 by the public keys
//   cN               connection N creates a room; its id fills the next room slot
//   jNRK<name>       connection N joins room R with key K, correctly signed
//   sNR[seq ]<text>  connection N sends <text>, signed with the key it joined with; without a
//                    seq, the next one of that key
//   lNR              connection N leaves room R
//   yNR[after]       connection N asks for room R's history after seq <after> (digits)
//   xN[M]            connection N closes and opens again, on node M (default: N % 2)
//   S                the store runs what waits, and delivers the publications not held
//   hM / uM          node M's publications are held / no longer held
//   dM               node M gets its queued publications, held or not
//   pMI              node M loses its queued publication number I (digit)
//   PM               node M loses every queued publication
//   t                the clock moves 500 ms and both nodes tick
//   rM               node M is told its feed was interrupted (resync)
// Any other line is ignored. At the end, a node that lost publications resyncs, everything is
// delivered over a few ticks, and every connection still joined must have had every seq of
// its rooms, and history must agree. TINYCHAT_FUZZ_TRACE set: every frame to stderr.

#include "fake_shared_store.hpp"
#include "scripted_clients.hpp"

#include <tinychat/encoding.hpp>
#include <tinychat/in_process_transport.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>

using namespace tinychat;
using fuzz::check;
using test::FakeSharedStore;
namespace json = boost::json;

namespace {

constexpr std::size_t nodes = 2;
constexpr std::size_t max_operations = 200;

ServiceConfig small_limits() {
  ServiceConfig c;
  c.limits.max_text_chars = 64;
  c.limits.max_name_chars = 16;
  c.limits.max_room_members = 3;
  // Above the number of messages a script can send: a node that missed more than the room
  // retains skips them by design (shared_view.cpp), which would be a gap here.
  c.limits.max_history = 256;
  c.limits.max_frame_bytes = 2048;
  c.limits.max_rooms_per_connection = 3;
  c.limits.room_ttl_seconds = 30;
  c.rate_limit = {200, 400, 100};
  c.room_quota = {4, 6};
  return c;
}

class Session final : fuzz::ScriptedClients {
public:
  Session() : ScriptedClients(small_limits().limits) {
    for (std::size_t m = 0; m < nodes; ++m) {
      auto& node = store_.add_node();
      auto& t = *transports_.emplace_back(
          std::make_unique<InProcessTransport>(node, clock_, small_limits()));
      node.set_runner([this, &t](const std::function<void()>& work) {
        t.run(work);
        drain();
      });
      nodes_[m] = &node;
    }
    for (std::size_t n = 0; n < fuzz::client_count; ++n)
      open(n, n % nodes);
    run("c0");
    run("S");
    run("j000alice");
    run("j101bob");
    run("S");
  }

  void run(std::string_view line) {
    if (line.empty()) return;
    const char op = line.front();
    auto digit = [&](std::size_t i, char last = '3') -> std::optional<std::size_t> {
      if (i >= line.size() || line[i] < '0' || line[i] > last) return std::nullopt;
      return static_cast<std::size_t>(line[i] - '0');
    };
    auto node = [&]() -> FakeSharedStore::Node* {
      auto m = digit(1, '1');
      return m ? nodes_[*m] : nullptr;
    };
    if (op >= '0' && op <= '3') {
      send_raw(static_cast<std::size_t>(op - '0'), substitute(line.substr(1)));
    } else if (op == 'c' && digit(1)) {
      send_raw(*digit(1), R"({"type":"create_room","id":1})");
    } else if (op == 'j' && digit(1) && digit(2) && digit(3)) {
      join(*digit(1), *digit(2), *digit(3), line.substr(4));
    } else if (op == 's' && digit(1) && digit(2)) {
      send_signed(*digit(1), *digit(2), line.substr(3));
    } else if ((op == 'l' || op == 'y') && digit(1) && digit(2)) {
      json::object request{{"type", op == 'l' ? "leave" : "history"}, {"room_id", room(*digit(2))}};
      if (op == 'y' && line.size() > 3) request["after_seq"] = number(line.substr(3));
      send_raw(*digit(1), json::serialize(request));
    } else if (op == 'x' && digit(1)) {
      clients_[*digit(1)].conn->close();
      open(*digit(1), digit(2, '1').value_or(*digit(1) % nodes));
    } else if (op == 'S') {
      store_.settle();
    } else if ((op == 'h' || op == 'u') && node()) {
      node()->hold(op == 'h');
    } else if (op == 'd' && node()) {
      node()->deliver();
    } else if (op == 'p' && node() && digit(2, '9')) {
      lose(*digit(1, '1'), *digit(2, '9'));
    } else if (op == 'P' && node()) {
      node()->drop_all();
      lost_[*digit(1, '1')] = true;
    } else if (op == 't') {
      clock_.advance_ms(500);
      for (auto& t : transports_)
        t->tick();
      drain();
    } else if (op == 'r' && node()) {
      node()->resync();
    }
  }

  // Everything delivered, lost publications read again, waits over: every connection has
  // every message of its rooms, and history repeats them.
  void finish() {
    for (std::size_t m = 0; m < nodes; ++m) {
      nodes_[m]->hold(false);
      if (lost_[m]) nodes_[m]->resync();
    }
    for (int i = 0; i < 8; ++i) {
      store_.settle();
      run("t");
    }
    store_.settle();
    for (std::size_t n = 0; n < fuzz::client_count; ++n) {
      Client& p = clients_[n];
      if (!p.conn->is_open()) continue;
      check(p.observer->unanswered() == 0, "a request is still unanswered at the end");
      const auto joined = p.observer->joined_rooms(); // a history may close an expired room
      for (const auto& [id, last_seq] : joined) {
        const auto* shared = store_.room(id);
        check(shared != nullptr, "joined a room the store does not have", id);
        check(last_seq == shared->seq, "a connection lacks messages of its room at the end",
              id + " saw " + std::to_string(last_seq) + " of " + std::to_string(shared->seq));
        send_raw(n, json::serialize(json::object{
                        {"type", "history"}, {"id", "end"}, {"room_id", id}, {"limit", 200}}));
      }
    }
    store_.settle();
    for (const Client& p : clients_)
      check(!p.conn->is_open() || p.observer->unanswered() == 0, "a history went unanswered");
  }

private:
  void open(std::size_t n, std::size_t node) {
    attach(n, transports_[node]->connect(n < 2 ? "192.0.2.1" : "192.0.2.2"));
    node_of_[n] = node;
  }
  void reopen(std::size_t n) override { open(n, node_of_[n]); }
  void received(const json::object& frame, const std::string& text) override {
    if (const auto* id = frame.if_contains("id"); id && *id == "end")
      check(frame.at("type") == "history", "the last history of a joined room is refused", text);
  }

  void lose(std::size_t m, std::size_t index) {
    const auto& pending = nodes_[m]->pending();
    if (index >= pending.size()) return;
    lost_[m] = true;
    if (auto* message = std::get_if<ChatMessage>(&pending[index]))
      nodes_[m]->drop_message(std::string(message->room_id), message->seq);
    else
      nodes_[m]->drop_presence(std::string(std::get<PresenceEvent>(pending[index]).room_id),
                               std::get<PresenceEvent>(pending[index]).version);
  }

  ManualClock clock_;
  FakeSharedStore store_{clock_};
  std::array<FakeSharedStore::Node*, nodes> nodes_{};
  std::array<bool, nodes> lost_{};
  std::vector<std::unique_ptr<InProcessTransport>> transports_;
  std::array<std::size_t, fuzz::client_count> node_of_{};
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
  session.finish();
  return 0;
}
