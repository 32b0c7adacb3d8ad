#pragma once
/// The part of receiving a client message that needs no shared state: decoding it, and
/// checking a `send` signature. It runs on the connection's own thread, so the RoomService's
/// serialised core never waits for Ed25519.

#include <tinychat/limits.hpp>
#include <tinychat/protocol.hpp>
#include <tinychat/signature_verifier.hpp>
#include <tinychat/token_verifier.hpp>

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace tinychat {

/// A `send` signature checked against one key. RoomService trusts `valid` only when `pub_key`
/// is the key its member really joined with; otherwise it verifies again itself.
struct SignatureCheck {
  PublicKey pub_key{};
  bool valid = false;
};

/// An `auth` token checked (all but its times) by `verifier`. RoomService trusts `result`
/// only when `verifier` is its own.
struct TokenCheck {
  const TokenVerifier* verifier = nullptr;
  TokenResult result;
};

/// A client message decoded and, where possible, signature-checked. Pass it to
/// RoomService::receive.
struct PreparedRequest {
  DecodedRequest decoded;
  std::optional<SignatureCheck> signature;
  std::optional<TokenCheck> token = std::nullopt;
};

/// One connection's decoder and signature checker. A `send` is checked against the key of
/// the connection's latest `join` to that room, which is the key its membership was granted
/// for unless that join failed; RoomService notices a mismatch and falls back to checking
/// itself, so a wrong guess costs time, never correctness.
///
/// Given the service's RateLimit, it also leaves out the check for a `send` that arrives
/// while the connection is clearly over its rate, which the service will refuse anyway: a
/// flood of badly signed messages then costs no Ed25519 work. Its bucket runs on the steady
/// clock and is a little more generous than the service's, so a request the service accepts
/// is rarely left for the service to check.
///
/// Not thread-safe: use one per connection, from that connection's thread.
class Ingress {
public:
  /// `rate_limit`: the service's; the default (0 per second) checks every `send`. `tokens`:
  /// the service's token verifier (ServiceConfig::token_verifier), or null.
  explicit Ingress(const Limits& limits, const RateLimit& rate_limit = {0, 0, 0},
                   std::shared_ptr<const TokenVerifier> tokens = {});

  /// Decodes `text` (one complete client message) and checks its signature when it is a
  /// `send` to a room this connection asked to join, or its token when it is an `auth`.
  PreparedRequest prepare(std::string_view text);

private:
  bool over_rate();

  Limits limits_;
  RateLimit rate_limit_;
  double rate_tokens_ = 0;
  std::chrono::steady_clock::time_point refilled_at_;
  std::shared_ptr<const TokenVerifier> tokens_;
  SignatureVerifier verifier_;
  /// Room id to the key of the latest join; at most max_rooms_per_connection entries.
  std::map<std::string, PublicKey, std::less<>> join_keys_;
};

} // namespace tinychat
