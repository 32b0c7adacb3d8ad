#include "session.hpp"

#include "line_reader.hpp"

#include <tinychat/encoding.hpp>
#include <tinychat/error.hpp>

#include <unistd.h>

#include <algorithm>
#include <exception>
#include <iostream>
#include <string>
#include <variant>

namespace tinychat::cli {

namespace {

constexpr std::uint32_t history_page_size = 200; // the protocol's largest page
constexpr auto default_retry_delay = std::chrono::milliseconds(100);

} // namespace

Session::Session(const Options& options, KeyPair key, RunState& state)
    : options_(options), state_(state), key_(std::move(key)), view_(std::cout, std::cerr) {}

Session::~Session() { connection_.reset(); }

bool Session::connect() {
  try {
    connection_ = WebSocketConnection::open(options_.url);
  } catch (const std::exception& e) {
    state_.stop(exit_failure, "cannot connect to " + options_.url + ": " + e.what());
    return false;
  }
  client_ = std::make_unique<Client>(*connection_, key_);
  Client& client = *client_;
  client.on_hello = [this](const Hello&) { state_.update([&] { hello_ = true; }); };
  client.on_message = [this](const ChatMessage& m) { state_.update([&] { view_.message(m); }); };
  client.on_member_joined = [this](const MemberJoined& e) {
    state_.update([&] { view_.member_joined(e); });
  };
  client.on_member_left = [this](const MemberLeft& e) {
    state_.update([&] { view_.member_left(e); });
  };
  client.on_room_closed = [this](const RoomClosed& e) {
    state_.stop(exit_failure, "the room was closed (" + e.reason + ")");
  };
  client.on_error = [this](const ErrorFrame& e) {
    state_.update([&] { std::cerr << "tinychat-cli: server error: " << describe(e) << std::endl; });
  };
  // Reading starts only now, with every handler in place, so not even `hello` is missed.
  connection_->start([&client](std::string_view frame) { client.handle_frame(frame); },
                     [this](std::uint16_t code, std::string_view reason) {
                       state_.stop(exit_failure,
                                   "connection closed by the server (code " + std::to_string(code) +
                                       (reason.empty() ? "" : ", ") + std::string(reason) + ")");
                     });
  return true;
}

bool Session::authenticate() {
  if (options_.token.empty()) return true;
  const auto reply =
      state_.request([&](auto done) { client_->authenticate(options_.token, std::move(done)); });
  if (reply && std::holds_alternative<Authenticated>(*reply)) return true;
  if (!state_.stopped()) state_.stop(exit_failure, "the token was refused: " + describe(reply));
  return false;
}

int Session::create() {
  if (connect() && authenticate()) {
    const auto reply = state_.request([&](auto done) { client_->create_room(std::move(done)); });
    if (auto* created = reply ? std::get_if<RoomCreated>(&*reply) : nullptr) {
      state_.update([&] { std::cout << created->room_id << std::endl; });
      state_.stop(exit_ok, "");
    } else if (!state_.stopped()) {
      state_.stop(exit_failure, "cannot create a room: " + describe(reply));
    }
  }
  return state_.wait_until_stopped();
}

int Session::join() {
  if (connect() && enter_room()) {
    const bool all_sent = send_lines();
    if (!state_.stopped()) {
      // Every `sent` reply is in; the own messages follow on the same connection.
      const bool shown =
          state_.wait([&] { return view_.last_printed_seq() >= last_sent_seq_; }, reply_timeout);
      if (!shown && !state_.stopped())
        state_.stop(exit_failure, "the server did not deliver the sent messages");
      state_.stop(all_sent ? exit_ok : exit_failure, "");
    }
  }
  return state_.wait_until_stopped();
}

bool Session::enter_room() {
  if (!state_.wait([&] { return hello_; }, reply_timeout)) {
    state_.stop(exit_failure, "no hello from the server");
    return false;
  }
  const auto reply = state_.request([&](ReplyHandler done) {
    client_->join(options_.room_id, options_.name,
                  [this, done = std::move(done)](const ServerFrame& frame) {
                    // Before any event that follows the reply on this connection.
                    if (auto* joined = std::get_if<Joined>(&frame))
                      state_.update([&] { view_.joined(*joined); });
                    done(frame);
                  });
  });
  auto* joined = reply ? std::get_if<Joined>(&*reply) : nullptr;
  if (!joined) {
    if (!state_.stopped())
      state_.stop(exit_failure, "cannot join " + options_.room_id + ": " + describe(reply));
    return false;
  }
  return print_history(joined->last_seq);
}

bool Session::print_history(std::uint64_t history_end) {
  std::uint64_t after = 0;
  while (after < history_end) {
    const auto reply = state_.request([&](auto done) {
      client_->history(options_.room_id, after, history_page_size, std::move(done));
    });
    auto* page = reply ? std::get_if<HistoryPage>(&*reply) : nullptr;
    if (!page) {
      if (!state_.stopped()) state_.stop(exit_failure, "cannot read history: " + describe(reply));
      return false;
    }
    state_.update([&] { view_.history_page(*page); });
    if (!page->has_more || page->messages.empty()) break;
    after = page->messages.back().seq;
  }
  state_.update([&] { view_.history_done(); });
  return true;
}

bool Session::send_lines() {
  const std::uint32_t max_chars = client_->hello().value().limits.max_text_chars;
  // A code point takes at most 4 bytes: a longer line is too long whatever it holds.
  LineReader reader(STDIN_FILENO, state_.wake_fd(), std::size_t{max_chars} * 4);
  const std::string too_long =
      "longer than " + std::to_string(max_chars) + " characters, the server's limit";
  bool all_sent = true;
  std::size_t line_number = 0;
  while (auto line = reader.next()) {
    ++line_number;
    if (line->too_long) {
      report_line(line_number, too_long);
    } else if (line->text.empty()) {
      continue;
    } else if (!is_valid_utf8(line->text)) {
      report_line(line_number, "not valid UTF-8");
    } else if (count_code_points(line->text) > max_chars) {
      report_line(line_number, too_long);
    } else if (send_line(line->text, line_number)) {
      continue;
    }
    if (state_.stopped()) return false;
    all_sent = false;
  }
  return all_sent;
}

bool Session::send_line(const std::string& text, std::size_t line_number) {
  for (;;) {
    const auto reply =
        state_.request([&](auto done) { client_->send(options_.room_id, text, std::move(done)); });
    if (!reply) {
      if (!state_.stopped())
        state_.stop(exit_failure, "no reply to line " + std::to_string(line_number));
      return false;
    }
    if (auto* sent = std::get_if<Sent>(&*reply)) {
      last_sent_seq_ = std::max(last_sent_seq_, sent->seq);
      return true;
    }
    auto* error = std::get_if<ErrorFrame>(&*reply);
    if (!error || error->code != error::rate_limited) {
      report_line(line_number, describe(reply));
      return false;
    }
    // Sending again takes a new client_seq; the gap is allowed.
    const auto delay = error->retry_after_ms ? std::chrono::milliseconds(*error->retry_after_ms)
                                             : default_retry_delay;
    state_.wait([] { return false; }, delay);
    if (state_.stopped()) return false;
  }
}

void Session::report_line(std::size_t line_number, std::string_view why) {
  state_.update([&] {
    std::cerr << "tinychat-cli: line " << line_number << " not sent: " << why << std::endl;
  });
}

} // namespace tinychat::cli
