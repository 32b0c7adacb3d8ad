#pragma once
/// Ed25519 signing payloads (PROTOCOL.md section 3), verification, and a key pair for clients.

#include <tinychat/types.hpp>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace tinychat {

/// The bytes a `join` signature covers. `user_name` must already be trimmed.
std::vector<std::uint8_t> join_payload(const Challenge& challenge, std::string_view room_id,
                                       std::string_view user_name, const PublicKey& pub_key);

/// The bytes a `send` signature covers.
std::vector<std::uint8_t> message_payload(std::string_view room_id, std::string_view user_id,
                                          std::uint64_t client_seq, std::string_view text);

/// Strict Ed25519 verification (RFC 8032 with S < L; small-order and non-canonical keys and
/// small-order R refused). Stateless and thread-safe.
class SignatureVerifier {
public:
  SignatureVerifier();
  bool verify(const PublicKey& key, std::span<const std::uint8_t> payload,
              const Signature& sig) const noexcept;
};

/// An Ed25519 key pair. The secret stays in this object and is wiped on destruction.
class KeyPair {
public:
  /// A fresh key from the OS CSPRNG.
  static KeyPair generate();
  /// The key of a 32-byte RFC 8032 seed (deterministic).
  static KeyPair from_seed(std::span<const std::uint8_t, 32> seed);

  KeyPair(const KeyPair&) = default;
  KeyPair& operator=(const KeyPair&) = default;
  ~KeyPair();

  const PublicKey& public_key() const noexcept { return public_key_; }
  /// The 32-byte seed, for saving the key (keep it secret).
  std::span<const std::uint8_t, 32> seed() const noexcept;
  Signature sign(std::span<const std::uint8_t> payload) const;

private:
  KeyPair() = default;
  PublicKey public_key_{};
  std::array<std::uint8_t, 64> secret_key_{};
};

/// Fills `out` from the OS CSPRNG.
void random_bytes(std::span<std::uint8_t> out);

} // namespace tinychat
