// embedded_chat: two users chat through a RoomService embedded in this process.
//
// The in-process transport carries the exact frames a WebSocket would, but synchronously: by
// the time a request call returns, its reply and every event it caused have been delivered.
// That is what lets this program read top to bottom without waiting on anything.
//
// Exits 0 when every message arrived, in order, verified, and history agrees; 1 otherwise.

#include <tinychat/client.hpp>
#include <tinychat/clock.hpp>
#include <tinychat/error.hpp>
#include <tinychat/in_process_transport.hpp>
#include <tinychat/memory_store.hpp>

#include <cstddef>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace {

// Lets a Client write its frames to an in-process connection.
class ConnectionTransport final : public tinychat::ClientTransport {
public:
  explicit ConnectionTransport(tinychat::InProcessConnection& connection)
      : connection_(connection) {}
  void send_text(std::string text) override { connection_.send(text); }

private:
  tinychat::InProcessConnection& connection_;
};

// One person: a connection, the protocol client speaking over it, and what it received.
// Neither copyable nor movable (Client is not), so the callbacks may capture `this`.
struct User {
  User(tinychat::InProcessTransport& transport, std::string user_name)
      : name(std::move(user_name)), connection(transport.connect()), link(*connection),
        client(link, tinychat::KeyPair::generate()) {
    client.on_message = [this](const tinychat::ChatMessage& m) { received.push_back(m); };
    // Also hands over the `hello` that has been waiting since connect().
    connection->on_frame([this](std::string_view frame) { client.handle_frame(frame); });
  }

  std::string name;
  std::unique_ptr<tinychat::InProcessConnection> connection;
  ConnectionTransport link;
  tinychat::Client client;
  std::vector<tinychat::ChatMessage> received;
};

// Runs one request and returns its reply if it is a `Reply`; reports anything else.
template <class Reply>
std::optional<Reply> call(const std::function<void(tinychat::ReplyHandler)>& request) {
  std::optional<tinychat::ServerFrame> reply;
  request([&reply](const tinychat::ServerFrame& frame) { reply = frame; });
  if (!reply) {
    std::cerr << "no reply\n";
    return std::nullopt;
  }
  if (auto* wanted = std::get_if<Reply>(&*reply)) return *wanted;
  if (auto* e = std::get_if<tinychat::ErrorFrame>(&*reply))
    std::cerr << "error " << tinychat::to_string(e->code) << ": " << e->message << "\n";
  else
    std::cerr << "unexpected reply\n";
  return std::nullopt;
}

void print(const tinychat::ChatMessage& m) {
  // Anyone can check a message with the key it carries; no need to trust the server.
  std::cout << "[" << m.seq << "] " << m.user_name << ": " << m.text
            << (tinychat::Client::verify(m) ? " (verified)" : " (NOT VERIFIED)") << "\n";
}

// One line of the conversation.
struct Line {
  User* sender;
  std::string text;
};

// True when `got` holds exactly `script` as seq 1, 2, ..., each correctly signed.
bool matches(const std::vector<tinychat::ChatMessage>& got, const std::vector<Line>& script) {
  if (got.size() != script.size()) return false;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (got[i].seq != i + 1 || got[i].user_name != script[i].sender->name ||
        got[i].text != script[i].text || !tinychat::Client::verify(got[i]))
      return false;
  }
  return true;
}

} // namespace

int main() {
  tinychat::MemoryStore store;
  tinychat::SystemClock clock;
  tinychat::InProcessTransport transport(store, clock);

  User alice(transport, "alice");
  User bob(transport, "bob");

  const auto created = call<tinychat::RoomCreated>(
      [&](tinychat::ReplyHandler done) { alice.client.create_room(std::move(done)); });
  if (!created) return 1;
  const std::string room = created->room_id;
  std::cout << "room " << room << "\n";

  for (User* user : {&alice, &bob}) {
    const auto joined = call<tinychat::Joined>(
        [&](tinychat::ReplyHandler done) { user->client.join(room, user->name, std::move(done)); });
    if (!joined) return 1;
  }

  const std::vector<Line> script = {
      {&alice, "hi bob"},
      {&bob, "hi alice, the server cannot forge this"},
      {&alice, "nor this one"},
  };
  for (const Line& line : script) {
    const auto sent = call<tinychat::Sent>([&](tinychat::ReplyHandler done) {
      line.sender->client.send(room, line.text, std::move(done));
    });
    if (!sent) return 1;
  }

  for (const auto& message : bob.received)
    print(message);

  // Every member, the sender included, sees every message, and history repeats them exactly.
  const auto page = call<tinychat::HistoryPage>(
      [&](tinychat::ReplyHandler done) { bob.client.history(room, 0, 100, std::move(done)); });
  if (page) std::cout << "history: " << page->messages.size() << " messages\n";
  const bool ok = matches(alice.received, script) && matches(bob.received, script) && page &&
                  page->messages == bob.received;
  std::cout << (ok ? "ok: every message arrived, signed, in order\n"
                   : "FAILED: messages missing, out of order or unverified\n");
  return ok ? 0 : 1;
}
