#include <tinychat/client.hpp>

#include <utility>

namespace tinychat {

Client::Client(ClientTransport& transport, KeyPair key)
    : transport_(transport), key_(std::move(key)) {}

std::optional<Hello> Client::hello() const {
  std::lock_guard lock(mutex_);
  return hello_;
}

void Client::request(RequestBody body, ReplyHandler done) {
  std::string text;
  {
    std::lock_guard lock(mutex_);
    std::uint64_t id = next_id_++;
    pending_.emplace(id, std::move(done));
    text = Protocol::encode(Request{id, std::move(body)});
  }
  transport_.send_text(std::move(text));
}

void Client::authenticate(std::string_view token, ReplyHandler done) {
  request(AuthRequest{std::string(token)}, std::move(done));
}

void Client::create_room(ReplyHandler done) { request(CreateRoomRequest{}, std::move(done)); }

void Client::join(std::string_view room_id, std::string_view user_name, ReplyHandler done) {
  auto h = hello();
  if (!h) throw std::logic_error("tinychat::Client::join before hello");
  // The signature covers the name as the server will trim it.
  auto trimmed = user_name;
  while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\t'))
    trimmed.remove_prefix(1);
  while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\t'))
    trimmed.remove_suffix(1);
  JoinRequest req{std::string(room_id), std::string(user_name), key_.public_key(), std::nullopt};
  req.sig = key_.sign(join_payload(h->challenge, room_id, trimmed, key_.public_key()));
  request(std::move(req), std::move(done));
}

void Client::send(std::string_view room_id, std::string_view text, ReplyHandler done) {
  // Held until the frame is handed to the transport, so frames leave in client_seq order
  // even when several threads send to one room. Recursive: over the in-process transport a
  // reply handler may send again from inside this call.
  std::lock_guard order(send_order_);
  SendRequest req{std::string(room_id), 0, std::string(text), std::nullopt};
  std::string user_id;
  {
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(room_id);
    if (it != rooms_.end()) {
      req.client_seq = it->second.next_client_seq++;
      user_id = it->second.user_id;
    }
  }
  if (user_id.empty()) {
    // Without a join there is no user id to sign for; answer as the server would.
    if (done) done(ErrorFrame{{}, error::not_member, "join the room before sending", {}});
    return;
  }
  req.sig = key_.sign(message_payload(room_id, user_id, req.client_seq, text));
  request(std::move(req), std::move(done));
}

void Client::history(std::string_view room_id, std::uint64_t after_seq, std::uint32_t limit,
                     ReplyHandler done) {
  request(HistoryRequest{std::string(room_id), after_seq, limit}, std::move(done));
}

void Client::leave(std::string_view room_id, ReplyHandler done) {
  request(LeaveRequest{std::string(room_id)}, std::move(done));
}

void Client::ping(ReplyHandler done) { request(PingRequest{}, std::move(done)); }

bool Client::verify(const ChatMessage& m) {
  static const SignatureVerifier verifier;
  return verifier.verify(m.pub_key, message_payload(m.room_id, m.user_id, m.client_seq, m.text),
                         m.sig);
}

void Client::handle_frame(std::string_view text) {
  auto frame = Protocol::decode_server_frame(text);
  if (!frame) return; // not a v1 frame: nothing a client can act on
  std::visit(
      [&](auto& f) {
        using T = std::decay_t<decltype(f)>;
        if constexpr (std::is_same_v<T, Hello>) {
          {
            std::lock_guard lock(mutex_);
            hello_ = f;
          }
          if (on_hello) on_hello(f);
        } else if constexpr (std::is_same_v<T, MessageEvent>) {
          if (on_message) on_message(f.message);
        } else if constexpr (std::is_same_v<T, MemberJoined>) {
          if (on_member_joined) on_member_joined(f);
        } else if constexpr (std::is_same_v<T, MemberLeft>) {
          if (on_member_left) on_member_left(f);
        } else if constexpr (std::is_same_v<T, RoomClosed>) {
          {
            std::lock_guard lock(mutex_);
            rooms_.erase(f.room_id);
          }
          if (on_room_closed) on_room_closed(f);
        } else {
          on_reply(*frame, f.id);
        }
      },
      *frame);
}

void Client::on_reply(const ServerFrame& frame, const RequestId& id) {
  ReplyHandler handler;
  {
    std::lock_guard lock(mutex_);
    if (auto* joined = std::get_if<Joined>(&frame)) {
      // The server's counter wins over ours: another device of this key may have sent.
      rooms_[joined->room_id] = RoomState{joined->user_id, joined->last_client_seq + 1};
    } else if (auto* left = std::get_if<Left>(&frame)) {
      rooms_.erase(left->room_id);
    }
    auto* n = std::get_if<std::uint64_t>(&id);
    auto it = n ? pending_.find(*n) : pending_.end();
    if (it != pending_.end()) {
      handler = std::move(it->second);
      pending_.erase(it);
    }
  }
  if (handler)
    handler(frame);
  else if (auto* e = std::get_if<ErrorFrame>(&frame); e && on_error)
    on_error(*e);
}

} // namespace tinychat
