#pragma once
/// Verification of the tokens of PROTOCOL.md section 9: compact JWTs (RFC 7519) signed with
/// HS256 (HMAC-SHA256, a shared secret) or EdDSA (Ed25519, RFC 8037), checked strictly.

#include <tinychat/types.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tinychat {

/// Why a token was refused. The messages of describe() never quote the token.
enum class TokenError {
  too_long,      ///< more than TokenVerifier::max_token_bytes
  malformed,     ///< not three base64url segments, or a header or claims that are not JSON
  algorithm,     ///< header `alg` is not exactly the configured one (`none` included)
  signature,     ///< the signature does not verify
  claims,        ///< `sub`, `exp` or `nbf` missing, of the wrong type, or out of range
  expired,       ///< `exp` is not in the future
  not_yet_valid, ///< `nbf` is in the future
};

/// A sentence for people, e.g. "the token expired".
std::string_view describe(TokenError e) noexcept;

/// The claims of a token whose signature and structure are valid.
struct TokenClaims {
  std::string sub;
  TimestampMs expires_at = 0;            ///< `exp`, in milliseconds
  std::optional<TimestampMs> not_before; ///< `nbf`, in milliseconds, when present
  friend bool operator==(const TokenClaims&, const TokenClaims&) = default;
};

/// A token's claims, or why it was refused.
using TokenResult = std::variant<TokenClaims, TokenError>;

/// Verifies tokens against one key: an HS256 secret or an Ed25519 public key. The header's
/// `alg` must name that key's algorithm exactly, so a token can never pick how it is checked.
///
/// Immutable after construction and thread-safe. A secret is wiped when the verifier is
/// destroyed.
class TokenVerifier {
public:
  enum class Algorithm { hs256, eddsa };

  /// Longest token accepted, in bytes.
  static constexpr std::size_t max_token_bytes = 4096;
  /// Longest `sub` accepted, in bytes of UTF-8.
  static constexpr std::size_t max_sub_bytes = 255;
  /// Shortest HS256 secret (RFC 7518 3.2: a key of at least the hash's size).
  static constexpr std::size_t min_secret_bytes = 32;

  /// Checks HS256 tokens with `secret`, used byte for byte as the HMAC key.
  /// Throws std::invalid_argument when it is shorter than min_secret_bytes.
  static TokenVerifier hs256(std::span<const std::uint8_t> secret);
  /// Checks EdDSA tokens with an Ed25519 public key. Throws std::invalid_argument for a key
  /// that is not a valid point, or of small order (it would accept forged signatures).
  static TokenVerifier eddsa(const PublicKey& key);

  TokenVerifier(const TokenVerifier&) = delete;
  TokenVerifier& operator=(const TokenVerifier&) = delete;
  TokenVerifier(TokenVerifier&&) noexcept;
  TokenVerifier& operator=(TokenVerifier&&) noexcept;
  ~TokenVerifier();

  Algorithm algorithm() const noexcept { return algorithm_; }

  /// Checks a compact token's form, header, signature and claims, but not the time: what
  /// stays true of the token at any time. Run it where crypto may take time; then
  /// check_time().
  TokenResult check_signed(std::string_view token) const;

  /// `expired` or `not_yet_valid` for claims at `now`, or nullopt when they hold now.
  static std::optional<TokenError> check_time(const TokenClaims& claims, TimestampMs now);

  /// check_signed() and check_time() together.
  TokenResult verify(std::string_view token, TimestampMs now) const;

private:
  TokenVerifier(Algorithm algorithm, std::vector<std::uint8_t> key)
      : algorithm_(algorithm), key_(std::move(key)) {}
  bool signature_valid(std::string_view signed_part, std::span<const std::uint8_t> sig) const;

  Algorithm algorithm_;
  std::vector<std::uint8_t> key_; ///< The secret, or the 32-byte public key.
};

} // namespace tinychat
