// Creates a room and exchanges one signed message through the in-process transport: enough to
// prove the package's headers, library and dependencies (libsodium, Boost.JSON) all link.

#include <tinychat/client.hpp>
#include <tinychat/clock.hpp>
#include <tinychat/in_process_transport.hpp>
#include <tinychat/memory_store.hpp>

#include <iostream>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace {

class ConnectionTransport final : public tinychat::ClientTransport {
public:
  explicit ConnectionTransport(tinychat::InProcessConnection& c) : connection_(c) {}
  void send_text(std::string text) override { connection_.send(text); }

private:
  tinychat::InProcessConnection& connection_;
};

} // namespace

int main() {
  tinychat::MemoryStore store;
  tinychat::ManualClock clock;
  tinychat::InProcessTransport transport(store, clock);
  auto connection = transport.connect();
  ConnectionTransport link(*connection);
  tinychat::Client client(link, tinychat::KeyPair::generate());
  std::vector<tinychat::ChatMessage> received;
  client.on_message = [&](const tinychat::ChatMessage& m) { received.push_back(m); };
  connection->on_frame([&](std::string_view frame) { client.handle_frame(frame); });

  // The in-process transport is synchronous: each reply has arrived when the call returns.
  std::optional<tinychat::ServerFrame> reply;
  auto keep = [&](const tinychat::ServerFrame& f) { reply = f; };
  client.create_room(keep);
  auto* created = reply ? std::get_if<tinychat::RoomCreated>(&*reply) : nullptr;
  if (!created) return 1;
  const std::string room = created->room_id;
  client.join(room, "consumer", keep);
  if (!reply || !std::holds_alternative<tinychat::Joined>(*reply)) return 1;
  client.send(room, "hello from outside", keep);

  const bool ok = received.size() == 1 && received[0].text == "hello from outside" &&
                  tinychat::Client::verify(received[0]);
  std::cout << (ok ? "consumer: ok\n" : "consumer: FAILED\n");
  return ok ? 0 : 1;
}
