#pragma once
// What tinychat-cli shows of a room: messages on stdout in seq order, history first and then
// live ones, and presence on stderr.
//
// Output format (one message per line):
//   [seq] name: text
//   [seq] name (UNVERIFIED): text      when the signature does not verify (Client::verify)
// A text with several lines continues on lines indented by four spaces. Control characters
// other than TAB are shown escaped (\x1b, \u0085), so no message can drive the terminal.
// Presence goes to stderr as "* name joined" and "* name left".

#include <tinychat/protocol.hpp>

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace tinychat::cli {

/// The lines of stdout for one message, each ending in '\n'.
std::string format_message(const ChatMessage& message, bool verified);

/// Not thread-safe: tinychat-cli calls it under RunState's lock.
class RoomView {
public:
  RoomView(std::ostream& out, std::ostream& err) : out_(out), err_(err) {}

  /// The join reply: who is present, and how far history reaches (`last_seq`). Live
  /// messages are held back from now on until history_done().
  void joined(const Joined& joined);
  /// Prints a page of history, up to the join's last_seq.
  void history_page(const HistoryPage& page);
  /// Prints the live messages held back meanwhile; later ones print at once.
  void history_done();
  /// A live message.
  void message(const ChatMessage& message);
  void member_joined(const MemberJoined& event);
  void member_left(const MemberLeft& event);

  /// The room's last seq when this connection joined: history goes that far.
  std::uint64_t history_end() const noexcept { return history_end_; }
  /// The highest seq printed so far.
  std::uint64_t last_printed_seq() const noexcept { return last_printed_; }

private:
  void print(const ChatMessage& message);

  std::ostream& out_;
  std::ostream& err_;
  std::uint64_t history_end_ = 0;
  std::uint64_t last_printed_ = 0;
  bool live_ = false;
  std::vector<ChatMessage> held_;
  std::map<std::string, std::string> names_; ///< user_id -> user_name of present users
};

} // namespace tinychat::cli
