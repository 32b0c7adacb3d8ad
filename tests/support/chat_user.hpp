#pragma once
// A chat user for the integration tests: tinychat::Client over its own WebSocketConnection.

#include "mailbox.hpp"

#include <tinychat/client.hpp>
#include <tinychat/protocol.hpp>
#include <tinychat/websocket_client.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tinychat::test {

/// How a WebSocketConnection ended.
struct Closed {
  std::uint16_t code = 0;
  std::string reason;
};

/// A tinychat::Client on its own WebSocket connection, with its events queued in mailboxes
/// (pushed from the connection's I/O thread). The constructor returns once `hello` has
/// arrived; the destructor closes the connection (1000) and joins its I/O thread. Requests
/// wait for their reply and throw std::runtime_error on an error reply or after
/// event_timeout.
class ChatUser {
public:
  /// Connects to `url` (ws://host:port/path). Throws std::system_error when it cannot
  /// connect, std::runtime_error when no hello arrives.
  explicit ChatUser(const std::string& url, KeyPair key = KeyPair::generate());
  ~ChatUser();
  ChatUser(const ChatUser&) = delete;
  ChatUser& operator=(const ChatUser&) = delete;

  Client& client() noexcept { return client_; }

  std::string create_room();
  Joined join(std::string_view room_id, std::string_view name);
  Sent send(std::string_view room_id, std::string_view text);
  HistoryPage history(std::string_view room_id, std::uint64_t after_seq, std::uint32_t limit);
  Left leave(std::string_view room_id);

  /// Waits until a member named `user_name` is known in `room_id`: listed in the reply to
  /// this user's join, or announced by `member_joined` since. Throws on timeout.
  void wait_for_member(std::string_view room_id, std::string_view user_name);
  /// The first `count` messages from `user_name` (in any room), in arrival order, once that
  /// many have arrived. `messages` keeps them. Throws on timeout.
  std::vector<ChatMessage> wait_for_messages_from(std::string_view user_name,
                                                  std::size_t count = 1);

  Mailbox<ChatMessage> messages;
  Mailbox<MemberJoined> member_joined;
  Mailbox<MemberLeft> member_left;
  Mailbox<Closed> closed;

private:
  /// Issues a request and waits for its reply; throws when it is an error frame.
  template <class Reply>
  Reply call(const std::function<void(ReplyHandler)>& issue);

  Mailbox<Hello> hello_;
  /// Everyone seen in a room: join's member list, then member_joined events.
  Mailbox<MemberJoined> arrivals_;
  // The Client is built on the connection, so the connection comes first; the destructor
  // resets it before anything else goes, since its I/O thread calls into the client and the
  // mailboxes.
  std::unique_ptr<WebSocketConnection> connection_;
  Client client_;
};

} // namespace tinychat::test
