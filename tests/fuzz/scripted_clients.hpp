#pragma once
// The four clients a fuzz script drives (fuzz_service, fuzz_shared): correctly signed requests
// built from the script's words, keys from fixed seeds, and every frame they receive handed to
// a FrameObserver. A target says how a client connects and what else it checks.

#include "frame_observer.hpp"

#include <tinychat/in_process_transport.hpp>
#include <tinychat/signature_verifier.hpp>

#include <boost/json.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace tinychat::fuzz {

inline constexpr std::size_t client_count = 4;

/// Key K of a script: fixed seeds, so a finding replays.
const std::array<KeyPair, client_count>& client_keys();

class ScriptedClients {
public:
  virtual ~ScriptedClients() = default;

protected:
  struct Joined {
    std::size_t key = 0;
    std::string user_id;
  };
  struct Client {
    std::unique_ptr<InProcessConnection> conn;
    std::optional<FrameObserver> observer;
    Challenge challenge{};
    std::map<std::string, Joined, std::less<>> joined;       ///< by room id, from `joined`
    std::map<std::string, std::size_t, std::less<>> joining; ///< key of a join in flight
  };

  explicit ScriptedClients(const Limits& limits) : limits_(limits) {}

  /// Connects client `n` again (a client closed by the server reconnects before it sends).
  virtual void reopen(std::size_t n) = 0;
  /// After a frame of `c` went out and what came back was drained.
  virtual void sent(Client& c) { (void)c; }
  /// Each frame a client received, after the common bookkeeping.
  virtual void received(const boost::json::object& frame, const std::string& text) {
    (void)frame;
    (void)text;
  }

  /// Makes `conn` client `n`: reads its hello and takes the challenge.
  void attach(std::size_t n, std::unique_ptr<InProcessConnection> conn);
  Client& usable(std::size_t n);
  /// The id in room slot `slot`: a well-formed id of no room until the slot is filled.
  std::string room(std::size_t slot) const;
  /// `text` with $R0..$R3 replaced by the room ids and $K0..$K3 by the public keys.
  std::string substitute(std::string_view text) const;
  void send_raw(std::size_t n, const std::string& text);
  void join(std::size_t n, std::size_t slot, std::size_t k, std::string_view name);
  /// `rest` is "[client_seq ]text"; without a seq, the next one of that key in that room.
  void send_signed(std::size_t n, std::size_t slot, std::string_view rest);
  /// Hands every delivered frame to its client's observer; learns rooms and user ids.
  void drain();
  /// The value of up to 16 leading digits (others skipped).
  static std::uint64_t number(std::string_view digits);

  MessageLog log_;
  std::array<Client, client_count> clients_;

private:
  Limits limits_;
  std::array<std::string, 4> rooms_;
  std::size_t next_slot_ = 0;
  std::map<std::pair<std::string, std::size_t>, std::uint64_t> client_seqs_;
};

/// With TINYCHAT_FUZZ_TRACE set, prints frame `text` of client `n` to stderr.
void trace(std::size_t n, const char* direction, std::string_view text);

} // namespace tinychat::fuzz
