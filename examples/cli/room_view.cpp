#include "room_view.hpp"

#include <tinychat/client.hpp>

#include <cstdio>
#include <string_view>

namespace tinychat::cli {

namespace {

constexpr std::string_view continuation_indent = "    ";

// Appends `text` with control characters escaped; with `keep_newlines`, LF starts an
// indented continuation line instead.
void append_printable(std::string& out, std::string_view text, bool keep_newlines) {
  char escaped[8];
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const auto next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0;
    if (c == '\n' && keep_newlines) {
      out += '\n';
      out += continuation_indent;
    } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
    } else if (c == 0xc2 && next >= 0x80 && next <= 0x9f) { // C1 control, U+0080..U+009F
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(next));
      out += escaped;
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
}

} // namespace

std::string format_message(const ChatMessage& message, bool verified) {
  std::string out = "[" + std::to_string(message.seq) + "] ";
  append_printable(out, message.user_name, false);
  if (!verified) out += " (UNVERIFIED)";
  out += ": ";
  append_printable(out, message.text, true);
  out += '\n';
  return out;
}

void RoomView::joined(const Joined& joined) {
  history_end_ = joined.last_seq;
  live_ = false;
  names_.clear();
  std::string present;
  for (const Member& member : joined.members) {
    names_[member.user_id] = member.user_name;
    if (!present.empty()) present += ", ";
    append_printable(present, member.user_name, false);
  }
  std::string me;
  append_printable(me, joined.user_name, false);
  err_ << "* joined " << joined.room_id << " as " << me << "; present: " << present << std::endl;
}

void RoomView::history_page(const HistoryPage& page) {
  if (page.truncated && last_printed_ == 0)
    err_ << "* older messages were dropped by the room's history limit" << std::endl;
  for (const ChatMessage& message : page.messages)
    if (message.seq <= history_end_) print(message);
}

void RoomView::history_done() {
  live_ = true;
  for (const ChatMessage& message : held_)
    print(message);
  held_.clear();
}

void RoomView::message(const ChatMessage& message) {
  if (live_)
    print(message);
  else
    held_.push_back(message);
}

void RoomView::member_joined(const MemberJoined& event) {
  names_[event.member.user_id] = event.member.user_name;
  std::string name;
  append_printable(name, event.member.user_name, false);
  err_ << "* " << name << " joined" << std::endl;
}

void RoomView::member_left(const MemberLeft& event) {
  const auto it = names_.find(event.user_id);
  std::string name;
  append_printable(name, it != names_.end() ? it->second : event.user_id, false);
  if (it != names_.end()) names_.erase(it);
  err_ << "* " << name << " left" << std::endl;
}

void RoomView::print(const ChatMessage& message) {
  // History and live delivery may overlap; each seq prints once, in order.
  if (message.seq <= last_printed_) return;
  out_ << format_message(message, Client::verify(message)) << std::flush;
  last_printed_ = message.seq;
}

} // namespace tinychat::cli
