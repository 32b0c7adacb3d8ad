#pragma once
// One run of tinychat-cli against a server: `create` or `join`.

#include "options.hpp"
#include "room_view.hpp"
#include "run_state.hpp"

#include <tinychat/client.hpp>
#include <tinychat/websocket_client.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace tinychat::cli {

/// A Client on its own WebSocket connection. Every outcome goes through `state`: the
/// first reason to stop (done, failure, signal, connection lost) decides the exit status.
class Session {
public:
  Session(const Options& options, KeyPair key, RunState& state);
  /// Closes the connection (1000) and joins its I/O thread before anything else goes.
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// Creates a room and prints its id on stdout, after sending `auth` with the token when
  /// there is one. Returns the exit status.
  int create();
  /// Joins, prints history and live messages, sends stdin's lines until its end (or a
  /// stop). Returns the exit status.
  int join();

private:
  // Opens the connection and starts the client; false (and stopped) when it cannot.
  bool connect();
  // Sends `auth` with the options' token, if any; false (and stopped) when it is refused.
  bool authenticate();
  bool enter_room();
  bool print_history(std::uint64_t history_end);
  // Sends stdin's lines; true at the end of stdin when every line was sent.
  bool send_lines();
  // Sends one line, waiting out rate limits; false when it was not sent.
  bool send_line(const std::string& text, std::size_t line_number);
  void report_line(std::size_t line_number, std::string_view why);

  const Options& options_;
  RunState& state_;
  KeyPair key_;
  RoomView view_;      ///< guarded by state_
  bool hello_ = false; ///< guarded by state_
  std::uint64_t last_sent_seq_ = 0;
  // The connection's I/O thread calls into the client, so the destructor resets the
  // connection first.
  std::unique_ptr<WebSocketConnection> connection_;
  std::unique_ptr<Client> client_;
};

} // namespace tinychat::cli
