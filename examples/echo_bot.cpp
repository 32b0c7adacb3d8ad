// echo_bot: joins a tinychat room over WebSocket and answers every message from others with
// "echo: <text>".
//
// Three threads meet here: main (setup, then waits), the connection's I/O thread (every
// Client callback runs there) and a signal thread (SIGINT/SIGTERM). They share one Events
// object; the first reason to stop wins and decides the exit code.

#include <tinychat/client.hpp>
#include <tinychat/error.hpp>
#include <tinychat/websocket_client.hpp>

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <variant>

namespace {

constexpr std::string_view usage =
    "usage: echo_bot --url URL [--room ROOM_ID] [--name NAME] [--once]\n"
    "\n"
    "Joins a tinychat room and answers every message from others with \"echo: <text>\"\n"
    "(except messages that are echoes themselves, so two bots cannot loop).\n"
    "\n"
    "  --url URL       the server's WebSocket endpoint, e.g. ws://127.0.0.1:8080/v1/ws\n"
    "  --room ROOM_ID  the room to join; without it the bot creates a room, joins it and\n"
    "                  then prints its id on stdout\n"
    "  --name NAME     the name to join under (default: echo-bot)\n"
    "  --once          exit 0 after answering one message\n"
    "  -h, --help      show this help\n"
    "\n"
    "Runs until SIGINT or SIGTERM (exit 0) or until the connection or room ends (exit 1).\n"
    "Exit status 2 means bad usage.\n";

constexpr auto reply_timeout = std::chrono::seconds(10);
constexpr std::string_view echo_prefix = "echo: ";

struct Options {
  std::string url;
  std::string room;
  std::string name = "echo-bot";
  bool once = false;
};

// Returns the options, or the exit status when the program should stop right away.
std::variant<Options, int> parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << usage;
      return 0;
    }
    if (arg == "--once") {
      options.once = true;
      continue;
    }
    std::string* value = arg == "--url"    ? &options.url
                         : arg == "--room" ? &options.room
                         : arg == "--name" ? &options.name
                                           : nullptr;
    if (!value || i + 1 == argc) {
      std::cerr << "echo_bot: " << (value ? "missing value for " : "unknown argument ") << arg
                << "\n"
                << usage;
      return 2;
    }
    *value = argv[++i];
  }
  if (options.url.empty()) {
    std::cerr << "echo_bot: --url is required\n" << usage;
    return 2;
  }
  return options;
}

// What the other threads tell main.
class Events {
public:
  // Runs one request and waits for its reply; nullopt on timeout or once stopped.
  std::optional<tinychat::ServerFrame>
  request(const std::function<void(tinychat::ReplyHandler)>& issue) {
    // Shared, so a reply arriving after the timeout has somewhere to go.
    auto slot = std::make_shared<std::optional<tinychat::ServerFrame>>();
    issue([this, slot](const tinychat::ServerFrame& frame) {
      std::lock_guard lock(mutex_);
      *slot = frame;
      changed_.notify_all();
    });
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, reply_timeout, [&] { return slot->has_value() || exit_code_; });
    return exit_code_ ? std::nullopt : *slot;
  }

  void hello_received() {
    std::lock_guard lock(mutex_);
    hello_ = true;
    changed_.notify_all();
  }
  bool wait_for_hello() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, reply_timeout, [&] { return hello_ || exit_code_; }) &&
           !exit_code_;
  }

  // The first call decides the exit code; later ones are ignored.
  void stop(int exit_code, std::string_view why) {
    std::lock_guard lock(mutex_);
    if (exit_code_) return;
    std::cerr << "echo_bot: " << why << "\n";
    exit_code_ = exit_code;
    changed_.notify_all();
  }
  int wait_until_stopped() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return exit_code_.has_value(); });
    return *exit_code_;
  }

private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool hello_ = false;
  std::optional<int> exit_code_;
};

std::string describe(const tinychat::ServerFrame& frame) {
  if (auto* e = std::get_if<tinychat::ErrorFrame>(&frame))
    return std::string(tinychat::to_string(e->code)) + ": " + e->message;
  return "unexpected reply";
}

// Prefix + text, cut at a code point boundary to fit the server's text limit.
std::string echo_of(std::string_view text, std::size_t max_chars) {
  std::string out(echo_prefix);
  std::size_t chars = out.size();
  for (char c : text) {
    const bool starts_code_point = (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    if (starts_code_point && ++chars > max_chars) break;
    out += c;
  }
  return out;
}

// Answers messages from others. Runs on the I/O thread.
void answer(tinychat::Client& client, const tinychat::ChatMessage& m, const Options& options,
            Events& events, std::atomic<bool>& answered) {
  // Our own echoes come back to us, and other bots echo too: answering either would never
  // end.
  if (m.pub_key == client.key().public_key() || m.text.starts_with(echo_prefix)) return;
  if (!tinychat::Client::verify(m)) {
    std::cerr << "echo_bot: ignoring message " << m.seq << ": bad signature\n";
    return;
  }
  if (options.once && answered.exchange(true)) return;
  std::cerr << "[" << m.seq << "] " << m.user_name << ": " << m.text << "\n";
  const auto limits = client.hello().value().limits;
  client.send(m.room_id, echo_of(m.text, limits.max_text_chars),
              [&events, once = options.once](const tinychat::ServerFrame& reply) {
                if (!std::holds_alternative<tinychat::Sent>(reply))
                  std::cerr << "echo_bot: echo not sent: " << describe(reply) << "\n";
                else if (once)
                  events.stop(0, "answered one message (--once)");
              });
}

// SIGINT and SIGTERM are blocked everywhere and taken by this thread with sigwait, the one
// way to turn a signal into an ordinary event that may lock and notify.
void wait_for_signal(const sigset_t& signals, Events& events) {
  int signal_number = 0;
  if (sigwait(&signals, &signal_number) == 0)
    events.stop(0, signal_number == SIGINT ? "interrupted" : "terminated");
}

// Creates the room when none was given, then joins it. On failure, stops `events`.
void enter_room(tinychat::Client& client, Events& events, const Options& options) {
  if (!events.wait_for_hello()) return events.stop(1, "no hello from the server");
  std::string room = options.room;
  if (room.empty()) {
    const auto reply = events.request([&](auto done) { client.create_room(std::move(done)); });
    auto* created = reply ? std::get_if<tinychat::RoomCreated>(&*reply) : nullptr;
    if (!created)
      return events.stop(1, "cannot create a room: " + (reply ? describe(*reply) : "no reply"));
    room = created->room_id;
  }
  const auto reply =
      events.request([&](auto done) { client.join(room, options.name, std::move(done)); });
  if (!reply || !std::holds_alternative<tinychat::Joined>(*reply))
    return events.stop(1, "cannot join: " + (reply ? describe(*reply) : "no reply"));
  std::cerr << "echo_bot: joined " << room << " as " << options.name << "\n";
  // The one line on stdout, printed once the bot listens, so that a script reading it can
  // talk to the bot right away.
  if (options.room.empty()) std::cout << room << std::endl;
}

// Connects, joins the room and answers messages until `events` stops; returns the exit code.
int serve(const Options& options, Events& events) {
  // The client is built on the connection, so the connection is declared first; it is reset
  // explicitly at the end, before the client: its I/O thread calls into the client.
  std::unique_ptr<tinychat::WebSocketConnection> connection;
  try {
    connection = tinychat::WebSocketConnection::open(options.url);
  } catch (const std::exception& e) {
    events.stop(1, std::string("cannot connect: ") + e.what());
    return events.wait_until_stopped();
  }
  tinychat::Client client(*connection, tinychat::KeyPair::generate());
  std::atomic<bool> answered = false;
  client.on_hello = [&](const tinychat::Hello&) { events.hello_received(); };
  client.on_message = [&](const tinychat::ChatMessage& m) {
    answer(client, m, options, events, answered);
  };
  client.on_room_closed = [&](const tinychat::RoomClosed&) { events.stop(1, "room closed"); };
  client.on_error = [](const tinychat::ErrorFrame& e) {
    std::cerr << "echo_bot: server error " << tinychat::to_string(e.code) << "\n";
  };
  // Reading starts only now, with every handler in place, so not even `hello` is missed.
  connection->start([&client](std::string_view frame) { client.handle_frame(frame); },
                    [&events](std::uint16_t code, std::string_view) {
                      events.stop(1, "connection closed (code " + std::to_string(code) + ")");
                    });

  enter_room(client, events, options);
  const int exit_code = events.wait_until_stopped();
  // Closes (1000) and joins the I/O thread, so no callback outlives `client` or `answered`.
  connection.reset();
  return exit_code;
}

int run(const Options& options) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  // Before any thread starts, so every thread inherits the mask.
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Events events;
  std::thread signal_thread(wait_for_signal, std::cref(signals), std::ref(events));
  const int exit_code = serve(options, events);
  // The signal thread may still be waiting: wake it with a signal only it takes.
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  return exit_code;
}

} // namespace

int main(int argc, char** argv) {
  auto parsed = parse_options(argc, argv);
  if (auto* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  return run(std::get<Options>(parsed));
}
