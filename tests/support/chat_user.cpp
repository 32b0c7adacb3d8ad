#include "chat_user.hpp"

#include <tinychat/error.hpp>

#include <future>
#include <stdexcept>
#include <variant>

namespace tinychat::test {

ChatUser::ChatUser(const std::string& url, KeyPair key)
    : connection_(WebSocketConnection::open(url)), client_(*connection_, std::move(key)) {
  client_.on_hello = [this](const Hello& h) { hello_.push(h); };
  client_.on_message = [this](const ChatMessage& m) { messages.push(m); };
  client_.on_member_joined = [this](const MemberJoined& m) {
    arrivals_.push(m);
    member_joined.push(m);
  };
  client_.on_member_left = [this](const MemberLeft& m) { member_left.push(m); };
  // Reading starts only now, with every handler in place, so not even hello is missed.
  connection_->start([this](std::string_view text) { client_.handle_frame(text); },
                     [this](std::uint16_t code, std::string_view reason) {
                       closed.push({code, std::string(reason)});
                     });
  try {
    hello_.pop();
  } catch (...) {
    connection_.reset(); // the destructor will not run
    throw;
  }
}

ChatUser::~ChatUser() { connection_.reset(); }

template <class Reply>
Reply ChatUser::call(const std::function<void(ReplyHandler)>& issue) {
  auto promise = std::make_shared<std::promise<ServerFrame>>();
  auto future = promise->get_future();
  issue([promise](const ServerFrame& frame) { promise->set_value(frame); });
  if (future.wait_for(event_timeout) != std::future_status::ready)
    throw std::runtime_error("timed out waiting for a reply");
  const ServerFrame frame = future.get();
  if (const auto* reply = std::get_if<Reply>(&frame)) return *reply;
  if (const auto* error = std::get_if<ErrorFrame>(&frame))
    throw std::runtime_error("error reply " + std::string(to_string(error->code)) + ": " +
                             error->message);
  throw std::runtime_error("unexpected reply frame");
}

std::string ChatUser::create_room() {
  return call<RoomCreated>([&](ReplyHandler done) { client_.create_room(std::move(done)); })
      .room_id;
}

Joined ChatUser::join(std::string_view room_id, std::string_view name) {
  Joined joined =
      call<Joined>([&](ReplyHandler done) { client_.join(room_id, name, std::move(done)); });
  for (const Member& member : joined.members)
    arrivals_.push({joined.room_id, member});
  return joined;
}

Sent ChatUser::send(std::string_view room_id, std::string_view text) {
  return call<Sent>([&](ReplyHandler done) { client_.send(room_id, text, std::move(done)); });
}

HistoryPage ChatUser::history(std::string_view room_id, std::uint64_t after_seq,
                              std::uint32_t limit) {
  return call<HistoryPage>(
      [&](ReplyHandler done) { client_.history(room_id, after_seq, limit, std::move(done)); });
}

Left ChatUser::leave(std::string_view room_id) {
  return call<Left>([&](ReplyHandler done) { client_.leave(room_id, std::move(done)); });
}

void ChatUser::wait_for_member(std::string_view room_id, std::string_view user_name) {
  arrivals_.wait_for(1, [&](const MemberJoined& m) {
    return m.room_id == room_id && m.member.user_name == user_name;
  });
}

std::vector<ChatMessage> ChatUser::wait_for_messages_from(std::string_view user_name,
                                                          std::size_t count) {
  return messages.wait_for(count, [&](const ChatMessage& m) { return m.user_name == user_name; });
}

} // namespace tinychat::test
