#pragma once
// Tokens for the authentication tests (PROTOCOL.md 9), made here with libsodium directly, not
// with the library under test: compact JWTs, HS256 or EdDSA, well-formed or deliberately not.

#include <sodium.h>

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tinychat::test {

/// base64url without padding (RFC 7515 2).
inline std::string base64url(std::string_view bytes) {
  if (sodium_init() < 0) throw std::runtime_error("sodium_init failed");
  constexpr int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), variant);
  out.resize(out.size() - 1); // the terminating NUL
  return out;
}

/// The JSON claims {"sub", "exp"[, "nbf"]}, times in seconds.
inline std::string claims_json(std::string_view sub, std::int64_t exp,
                               std::optional<std::int64_t> nbf = std::nullopt) {
  std::string json = R"({"sub":")" + std::string(sub) + R"(","exp":)" + std::to_string(exp);
  if (nbf) json += R"(,"nbf":)" + std::to_string(*nbf);
  return json + "}";
}

inline std::string hs256_signature(std::string_view signed_part, std::string_view secret) {
  if (sodium_init() < 0) throw std::runtime_error("sodium_init failed");
  crypto_auth_hmacsha256_state state;
  std::array<unsigned char, crypto_auth_hmacsha256_BYTES> mac{};
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(signed_part.data()),
                                signed_part.size());
  crypto_auth_hmacsha256_final(&state, mac.data());
  return base64url({reinterpret_cast<const char*>(mac.data()), mac.size()});
}

/// `header_segment.claims_segment.signature`: segments taken as they are (any spelling) and
/// signed HMAC-SHA256 with `secret`, so that only their spelling can make the token bad.
inline std::string hs256_signed_segments(std::string_view header_segment,
                                         std::string_view claims_segment, std::string_view secret) {
  const std::string signed_part = std::string(header_segment) + "." + std::string(claims_segment);
  return signed_part + "." + hs256_signature(signed_part, secret);
}

/// header.claims.signature, HMAC-SHA256 with `secret`, whatever the header says.
inline std::string hs256_token(std::string_view header, std::string_view claims,
                               std::string_view secret) {
  const std::string signed_part = base64url(header) + "." + base64url(claims);
  return signed_part + "." + hs256_signature(signed_part, secret);
}

inline std::string hs256_token(std::string_view claims, std::string_view secret) {
  return hs256_token(R"({"alg":"HS256","typ":"JWT"})", claims, secret);
}

/// An Ed25519 key pair for signing tokens.
struct TokenKey {
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> pk{};
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> sk{};

  static TokenKey generate() {
    if (sodium_init() < 0) throw std::runtime_error("sodium_init failed");
    TokenKey key;
    crypto_sign_keypair(key.pk.data(), key.sk.data());
    return key;
  }
  std::string public_hex() const {
    std::string hex(pk.size() * 2 + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), pk.data(), pk.size());
    hex.pop_back();
    return hex;
  }
  std::string public_bytes() const { return {reinterpret_cast<const char*>(pk.data()), pk.size()}; }
};

/// header.claims.signature, Ed25519 with `key`, whatever the header says.
inline std::string eddsa_token(std::string_view header, std::string_view claims,
                               const TokenKey& key) {
  const std::string signed_part = base64url(header) + "." + base64url(claims);
  std::array<unsigned char, crypto_sign_BYTES> sig{};
  crypto_sign_detached(sig.data(), nullptr,
                       reinterpret_cast<const unsigned char*>(signed_part.data()),
                       signed_part.size(), key.sk.data());
  return signed_part + "." + base64url({reinterpret_cast<const char*>(sig.data()), sig.size()});
}

inline std::string eddsa_token(std::string_view claims, const TokenKey& key) {
  return eddsa_token(R"({"alg":"EdDSA","typ":"JWT"})", claims, key);
}

} // namespace tinychat::test
