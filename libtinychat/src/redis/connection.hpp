#pragma once
// One connection to Redis over Boost.Asio, with hiredis as the RESP codec only: the plumbing
// under tinychat's Redis store. Private to the library, not installed.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace tinychat::redis {

struct Reply {
  enum class Kind { nil, integer, string, status, error, array };
  Kind kind = Kind::nil;
  long long integer = 0;
  std::string str;             // string, status and error replies
  std::vector<Reply> elements; // array replies
};

struct Endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  int db = 0;
};

/// Parses redis://HOST:PORT[/DB] (PORT and /DB optional; IPv6 as [::1]); throws
/// std::invalid_argument with a message that says what is wrong and shows the expected form.
Endpoint parse_url(std::string_view url);

/// One connection to Redis: commands are pipelined, replies matched in order. After a loss it
/// reconnects by itself with backoff (100 ms doubling up to 5 s, reset on success).
///
/// Thread-safety: none of its own. Every member function but create() must be called on the
/// executor given to create() (a strand when the io_context runs on several threads), and
/// every callback runs there. Nothing blocks.
///
/// Lifetime: its pending operations hold a reference to it, so it lives until stop(). Its
/// handlers live as long, so one holding a strong reference to its owner makes a cycle.
class Connection : public std::enable_shared_from_this<Connection> {
public:
  using Callback = std::function<void(std::error_code, Reply)>;
  using StateHandler = std::function<void(bool up, const std::string& detail)>;
  using MessageHandler =
      std::function<void(const std::string& channel, const std::string& payload)>;
  enum class Mode { commands, subscriber };

  static std::shared_ptr<Connection> create(boost::asio::any_io_executor ex, Endpoint ep,
                                            Mode mode);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// up=true once connected and ready: SELECT db answered (commands mode), every remembered
  /// channel subscribed again (subscriber mode). up=false with a reason on each loss or failed
  /// attempt.
  void on_state(StateHandler handler);
  /// Subscriber mode: each message published on a subscribed channel.
  void on_message(MessageHandler handler);
  /// Begins connecting; call once, before first use.
  void start();
  /// Closes the connection for good: pending callbacks get operation_canceled (posted), no
  /// more reconnects, the state and message handlers are no longer called.
  void stop();
  bool up() const noexcept { return up_; }

  /// Commands mode: sends `argv` (e.g. {"SET", key, value}) and gives `done` the reply, or an
  /// error code: not_connected while not up, connection_reset when the connection is lost
  /// first. A Redis error reply comes with an empty error code, as Reply::Kind::error.
  /// `done` runs exactly once and never inside this call.
  void command(std::vector<std::string> argv, Callback done);

  /// Subscriber mode: subscribes to `channel`, now or once connected, and again after each
  /// reconnect. `confirmed` runs once Redis confirmed this subscription (posted at once when it
  /// already is); it is dropped when unsubscribe() or stop() comes first.
  void subscribe(const std::string& channel, std::function<void()> confirmed = {});
  void unsubscribe(const std::string& channel);

private:
  Connection(boost::asio::any_io_executor ex, Endpoint ep, Mode mode);

  struct Codec; // hiredis' reader, kept out of this header
  struct Channel {
    bool wanted = true;
    int in_flight = 0; // SUBSCRIBEs sent and not yet confirmed on this connection
    std::vector<std::function<void()>> waiters;
  };

  void connect();
  void on_connected();
  void watch_replies();
  void read();
  void on_read(std::size_t n);
  void dispatch(Reply reply);
  void on_pubsub(const Reply& reply);
  void maybe_up();
  void write_command(const std::vector<std::string>& argv);
  void flush();
  void fail(const std::string& detail);
  void close_socket();
  void fail_pending(std::error_code ec);
  std::string where() const;

  boost::asio::any_io_executor ex_;
  Endpoint ep_;
  Mode mode_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer watchdog_; // fails a connection whose replies stop coming
  std::chrono::steady_clock::time_point last_progress_; // last reply, or first pending command
  std::unique_ptr<Codec> codec_;
  std::vector<char> read_buffer_;
  std::string out_; // encoded commands waiting for the write in progress to finish
  bool writing_ = false;
  std::deque<Callback> pending_; // one per command sent, in order
  std::map<std::string, Channel> channels_;
  StateHandler state_handler_;
  MessageHandler message_handler_;
  std::chrono::milliseconds backoff_;
  // Bumped on every close: handlers of an older socket see the change and do nothing.
  std::uint64_t generation_ = 0;
  bool started_ = false;
  bool stopped_ = false;
  bool connected_ = false;      // TCP up, handshake under way or done
  bool handshake_done_ = false; // SELECT or PING answered
  bool connect_timed_out_ = false;
  bool up_ = false;
};

} // namespace tinychat::redis
