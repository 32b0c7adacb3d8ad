// tinychat-store-bench: accepted messages per second of the real tinychat-server with each
// store, measured in one run. Not a test: it prints numbers and exits 0 whatever they are.
//
// For each store it starts tinychat-server (--rate-limit-per-second 0), connects K clients,
// each alone in a room of its own, and keeps up to W signed sends in flight per client. After
// a warm-up it counts the `sent` replies for D seconds.

#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

#include <tinychat/client.hpp>
#include <tinychat/error.hpp>
#include <tinychat/websocket_client.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace tinychat;
using Clock = std::chrono::steady_clock;
using test::TempDir;

struct Settings {
  int clients = 8;
  int window = 64;
  int seconds = 5;
};

constexpr auto warm_up = 1s;
constexpr auto reply_timeout = 30s;

// Counters shared by the clients of one run; replies arrive on the connections' I/O threads.
struct Tally {
  std::atomic<bool> stopping{false};
  std::atomic<long> sent{0};
  std::atomic<long> errors{0};
  std::atomic<long> in_flight{0};
};

// One client on its own connection, alone in a room it created, sending in a loop: every
// reply issues the next send until the run stops.
class Sender {
public:
  Sender(const std::string& url, Tally& tally)
      : connection_(WebSocketConnection::open(url)), client_(*connection_, KeyPair::generate()),
        tally_(tally) {
    auto hello = std::make_shared<std::promise<void>>();
    client_.on_hello = [hello](const Hello&) { hello->set_value(); };
    connection_->start([this](std::string_view text) { client_.handle_frame(text); },
                       [this](std::uint16_t code, std::string_view reason) {
                         if (tally_.stopping) return;
                         ++tally_.errors;
                         std::fprintf(stderr, "connection closed: %u %.*s\n", code,
                                      static_cast<int>(reason.size()), reason.data());
                       });
    try {
      if (hello->get_future().wait_for(reply_timeout) != std::future_status::ready)
        throw std::runtime_error("no hello from the server");
      room_ = call<RoomCreated>([&](ReplyHandler done) {
                client_.create_room(std::move(done));
              }).room_id;
      call<Joined>([&](ReplyHandler done) { client_.join(room_, "bench", std::move(done)); });
    } catch (...) {
      connection_.reset(); // the destructor will not run
      throw;
    }
  }
  // The connection goes first: its I/O thread calls into the client.
  ~Sender() { connection_.reset(); }
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  // Every send is issued from the connection's I/O thread, the first W from the reply to a
  // ping: Client::send from two threads at once may put a room's client_seqs on the wire out
  // of order, which the server answers with stale_client_seq.
  void start(int window) {
    client_.ping([this, window](const ServerFrame&) {
      for (int i = 0; i < window; ++i)
        send_next();
    });
  }

private:
  void send_next() {
    ++tally_.in_flight;
    client_.send(room_, text_, [this](const ServerFrame& reply) {
      if (std::holds_alternative<Sent>(reply))
        ++tally_.sent;
      else
        report_error(reply);
      if (!tally_.stopping) send_next();
      --tally_.in_flight;
    });
  }

  // Counts an error reply; the first few are shown on stderr.
  void report_error(const ServerFrame& reply) {
    if (++tally_.errors > 3) return;
    const auto* error = std::get_if<ErrorFrame>(&reply);
    std::fprintf(stderr, "error reply: %s\n",
                 error ? (std::string(to_string(error->code)) + ": " + error->message).c_str()
                       : "not an error frame");
  }

  // Issues a request and waits for its reply of type Reply; throws on anything else.
  template <class Reply>
  Reply call(const std::function<void(ReplyHandler)>& issue) {
    auto promise = std::make_shared<std::promise<ServerFrame>>();
    auto future = promise->get_future();
    issue([promise](const ServerFrame& frame) { promise->set_value(frame); });
    if (future.wait_for(reply_timeout) != std::future_status::ready)
      throw std::runtime_error("timed out waiting for a reply");
    ServerFrame frame = future.get();
    if (auto* reply = std::get_if<Reply>(&frame)) return std::move(*reply);
    if (auto* error = std::get_if<ErrorFrame>(&frame))
      throw std::runtime_error("error reply " + std::string(to_string(error->code)) + ": " +
                               error->message);
    throw std::runtime_error("unexpected reply");
  }

  std::unique_ptr<WebSocketConnection> connection_;
  Client client_;
  Tally& tally_;
  std::string room_;
  std::string text_ = std::string(200, 'x'); // ~200 bytes of text per message
};

struct Result {
  double per_second = 0;
  long errors = 0;
};

// One server, one store: accepted messages per second over the timed phase.
Result measure(const Settings& settings, std::vector<std::string> store_flags) {
  store_flags.insert(store_flags.begin(), {"--rate-limit-per-second", "0"});
  test::ServerProcess server(store_flags);
  Tally tally;
  std::vector<std::unique_ptr<Sender>> senders;
  for (int i = 0; i < settings.clients; ++i)
    senders.push_back(std::make_unique<Sender>(server.ws_url(), tally));

  for (auto& sender : senders)
    sender->start(settings.window);
  std::this_thread::sleep_for(warm_up);
  const long sent_before = tally.sent;
  const auto start = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(settings.seconds));
  const long sent_after = tally.sent;
  const std::chrono::duration<double> elapsed = Clock::now() - start;

  // Let what is in flight come back before the connections close.
  tally.stopping = true;
  const auto deadline = Clock::now() + reply_timeout;
  while (tally.in_flight > 0 && Clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  if (tally.in_flight > 0) tally.errors += tally.in_flight;
  senders.clear();
  return {static_cast<double>(sent_after - sent_before) / elapsed.count(), tally.errors.load()};
}

int positive(std::string_view flag, const char* value) {
  char* end = nullptr;
  const long n = value ? std::strtol(value, &end, 10) : 0;
  if (!value || *end != '\0' || n <= 0 || n > 100000)
    throw std::invalid_argument(std::string(flag) + " needs a positive number");
  return static_cast<int>(n);
}

constexpr const char* usage =
    "usage: tinychat-store-bench [--clients K] [--window W] [--seconds D]\n"
    "  --clients K  connections, each in a room of its own (default 8)\n"
    "  --window W   sends in flight per connection (default 64)\n"
    "  --seconds D  timed phase per store, after a 1 s warm-up (default 5)\n";

} // namespace

int main(int argc, char** argv) {
  Settings settings;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string_view arg = argv[i];
      const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
      if (arg == "--help" || arg == "-h") {
        std::fputs(usage, stdout);
        return 0;
      }
      if (arg == "--clients")
        settings.clients = positive(arg, value);
      else if (arg == "--window")
        settings.window = positive(arg, value);
      else if (arg == "--seconds")
        settings.seconds = positive(arg, value);
      else
        throw std::invalid_argument("unknown argument '" + std::string(arg) + "'");
      ++i;
    }
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "tinychat-store-bench: %s\n%s", e.what(), usage);
    return 2;
  }

  std::printf("tinychat-store-bench: %s\n", test::server_path().c_str());
  std::printf("%d clients x %d in flight, ~200-byte messages, %d s per store after 1 s warm-up;\n"
              "rate limit off; includes client-side Ed25519 signing (Client::send signs)\n\n",
              settings.clients, settings.window, settings.seconds);
  std::printf("%-8s %-11s %14s %12s %8s\n", "store", "durability", "accepted/s", "vs memory",
              "errors");

  struct Row {
    const char* store;
    const char* durability;
    std::optional<TempDir> dir;
    Result result;
  };
  Row rows[] = {{"memory", "-", std::nullopt, {}},
                {"sqlite", "process", std::make_optional<TempDir>(), {}},
                {"sqlite", "power", std::make_optional<TempDir>(), {}}};
  try {
    for (Row& row : rows) {
      std::vector<std::string> flags{"--store", row.store};
      if (row.dir)
        flags.insert(flags.end(),
                     {"--data-dir", row.dir->path().string(), "--durability", row.durability});
      row.result = measure(settings, flags);
      const double memory = rows[0].result.per_second;
      std::printf("%-8s %-11s %14.0f %11.0f%% %8ld\n", row.store, row.durability,
                  row.result.per_second, memory > 0 ? 100 * row.result.per_second / memory : 0.0,
                  row.result.errors);
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tinychat-store-bench: %s\n", e.what());
    return 1;
  }

  const double memory = rows[0].result.per_second;
  const double process = rows[1].result.per_second;
  if (process < 0.8 * memory)
    std::printf("\nBELOW TARGET: sqlite/process is %.0f%% of memory (target: at least 80%%)\n",
                memory > 0 ? 100 * process / memory : 0.0);
  else
    std::printf("\nsqlite/process is within 80%% of memory (%.0f%%)\n", 100 * process / memory);
  return 0;
}
