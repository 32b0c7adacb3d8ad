// tinychat-cli against a server that lies: it forwards a message whose signature does not
// verify and texts full of terminal control sequences. The CLI must mark and defuse them.

#include "support/child_process.hpp"
#include "support/timeouts.hpp"

#include <tinychat/encoding.hpp>
#include <tinychat/protocol.hpp>
#include <tinychat/signature_verifier.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <filesystem>
#include <thread>

namespace tinychat::test {
namespace {

namespace net = boost::asio;
namespace websocket = boost::beast::websocket;
namespace json = boost::json;
using tcp = net::ip::tcp;

// Serves one connection: hello, then answers join with `joined`, history with the given
// messages, and leaves the connection open until the client goes.
class HostileServer {
public:
  explicit HostileServer(std::vector<ChatMessage> history)
      : acceptor_(ioc_, {net::ip::make_address("127.0.0.1"), 0}), history_(std::move(history)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~HostileServer() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    thread_.join();
  }
  std::string url() const {
    return "ws://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/v1/ws";
  }

private:
  void serve() try {
    websocket::stream<tcp::socket> ws(acceptor_.accept());
    ws.accept();
    ws.text(true);
    write(ws, Hello{1, Challenge{}, Limits{}});
    for (boost::beast::flat_buffer buffer;; buffer.clear()) {
      ws.read(buffer);
      auto decoded = Protocol::decode_request(boost::beast::buffers_to_string(buffer.data()));
      if (!decoded.ok()) continue;
      auto& request = decoded.request();
      if (auto* join = std::get_if<JoinRequest>(&request.body))
        write(ws, Joined{request.id,
                         join->room_id,
                         "u1",
                         join->user_name,
                         history_.size(),
                         0,
                         0,
                         {Member{"u1", join->user_name, join->pub_key}}});
      else if (auto* history = std::get_if<HistoryRequest>(&request.body))
        write(ws, HistoryPage{request.id, history->room_id, history_, 1, history_.size(), false,
                              false});
    }
  } catch (const std::exception&) {
    // The client closed, or the acceptor was closed: this server's work is done.
  }

  void write(websocket::stream<tcp::socket>& ws, const ServerFrame& frame) {
    ws.write(net::buffer(Protocol::encode(frame)));
  }

  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::vector<ChatMessage> history_;
  std::thread thread_;
};

ChatMessage signed_message(const KeyPair& key, std::uint64_t seq, std::string text) {
  ChatMessage m{"aaaaaaaaaaaaaaaaaaaaaaaaaa",
                seq,
                "u2",
                "mallory",
                key.public_key(),
                seq,
                std::move(text),
                {},
                0};
  m.sig = key.sign(message_payload(m.room_id, m.user_id, m.client_seq, m.text));
  return m;
}

std::string run_cli_against(const HostileServer& server) {
  auto key = std::filesystem::temp_directory_path() /
             ("tinychat-cli-hostile-" + std::to_string(::getpid()));
  ChildProcess cli({TINYCHAT_CLI_PATH, "--url", server.url(), "--key", key.string(), "join",
                    "aaaaaaaaaaaaaaaaaaaaaaaaaa", "--name", "ann"},
                   ChildOptions::with_stdin_pipe());
  cli.close_stdin();
  auto out = cli.read_to_end(event_timeout);
  std::filesystem::remove(key);
  REQUIRE(out);
  return *out;
}

} // namespace

TEST_CASE("cli: a message whose signature does not verify is printed as UNVERIFIED") {
  auto key = KeyPair::generate();
  auto forged = signed_message(key, 2, "send your password to mallory");
  forged.text = "send your password to eve"; // altered after signing
  HostileServer server({signed_message(key, 1, "hello"), forged});
  const auto out = run_cli_against(server);
  CHECK(out.find("[1] mallory: hello\n") != std::string::npos);
  CHECK(out.find("[2] mallory (UNVERIFIED): send your password to eve\n") != std::string::npos);
}

TEST_CASE("cli: control characters from the server cannot drive the terminal") {
  auto key = KeyPair::generate();
  HostileServer server({signed_message(key, 1, "a\tb \x1b[2Jc\x7f \xc2\x85 \xc3\xa9\none\ntwo")});
  const auto out = run_cli_against(server);
  CHECK(out.find('\x1b') == std::string::npos);
  CHECK(out.find("[1] mallory: a\tb \\x1b[2Jc\\x7f \\u0085 \xc3\xa9\n    one\n    two\n") !=
        std::string::npos);
}

} // namespace tinychat::test
