// Compact JWT verification with libsodium. The order of the checks matters: the claims are
// read only after the signature verified, so nothing an unauthenticated party wrote is
// interpreted beyond the header's `alg`.

#include "json_fields.hpp"

#include <tinychat/token_verifier.hpp>

#include <sodium.h>

#include <stdexcept>
#include <utility>

namespace tinychat {
namespace {

void ensure_sodium() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) throw std::runtime_error("libsodium could not be initialised");
}

// base64url without padding, in its one canonical spelling: libsodium refuses `=`, other
// alphabets, a length of 4n+1 and non-zero unused bits in the last character.
std::optional<std::vector<std::uint8_t>> from_base64url(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::vector<std::uint8_t> out(text.size() * 3 / 4 + 3);
  std::size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &length, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != text.data() + text.size())
    return std::nullopt;
  out.resize(length);
  return out;
}

// A JSON object, as the frames' decoder reads them: a key twice is refused, since which copy
// counts would be ambiguous (an `alg` or `sub` read two ways).
std::optional<boost::json::object> json_object(std::span<const std::uint8_t> bytes) {
  auto value = detail::parse_json({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
  if (!value || !value->is_object()) return std::nullopt;
  return std::move(value->get_object());
}

// A NumericDate (RFC 7519 2) in whole seconds, as milliseconds. Fractions, negatives and
// values whose milliseconds would leave the protocol's integer range are refused.
std::optional<TimestampMs> numeric_date(const boost::json::value& v) {
  auto seconds = detail::as_safe_integer(v);
  if (!seconds || *seconds > max_safe_integer / 1000) return std::nullopt;
  return static_cast<TimestampMs>(*seconds * 1000);
}

bool valid_sub(std::string_view sub) {
  if (sub.empty() || sub.size() > TokenVerifier::max_sub_bytes) return false;
  // A user name for quotas and replies, not a blob: no C0 or C1 control, no DEL (the JSON
  // reader already refused invalid UTF-8).
  for (std::size_t i = 0; i < sub.size(); ++i) {
    const auto b = static_cast<unsigned char>(sub[i]);
    const auto next = i + 1 < sub.size() ? static_cast<unsigned char>(sub[i + 1]) : 0;
    if (b < 0x20 || b == 0x7f || (b == 0xc2 && next >= 0x80 && next <= 0x9f)) return false;
  }
  return true;
}

std::variant<TokenClaims, TokenError> read_claims(const boost::json::object& claims) {
  TokenClaims out;
  const auto* sub = claims.if_contains("sub");
  if (!sub || !sub->is_string() || !valid_sub(sub->get_string())) return TokenError::claims;
  out.sub = std::string(sub->get_string());
  const auto* exp = claims.if_contains("exp");
  auto expires_at = exp ? numeric_date(*exp) : std::nullopt;
  if (!expires_at) return TokenError::claims;
  out.expires_at = *expires_at;
  if (const auto* nbf = claims.if_contains("nbf")) {
    out.not_before = numeric_date(*nbf);
    if (!out.not_before) return TokenError::claims;
  }
  return out;
}

} // namespace

std::string_view describe(TokenError e) noexcept {
  switch (e) {
  case TokenError::too_long:
    return "the token is too long";
  case TokenError::malformed:
    return "the token is not a compact JWT: three base64url parts, a JSON header and claims";
  case TokenError::algorithm:
    return "the token's alg is not the one this server uses";
  case TokenError::signature:
    return "the token's signature does not verify";
  case TokenError::claims:
    return "the token needs a sub (1..255 bytes) and an exp (whole seconds); nbf, if any, too";
  case TokenError::expired:
    return "the token expired";
  case TokenError::not_yet_valid:
    return "the token is not valid yet (nbf)";
  }
  return "the token was refused";
}

TokenVerifier TokenVerifier::hs256(std::span<const std::uint8_t> secret) {
  ensure_sodium();
  if (secret.size() < min_secret_bytes)
    throw std::invalid_argument("an HS256 secret needs at least " +
                                std::to_string(min_secret_bytes) + " bytes, this one has " +
                                std::to_string(secret.size()));
  return {Algorithm::hs256, std::vector<std::uint8_t>(secret.begin(), secret.end())};
}

TokenVerifier TokenVerifier::eddsa(const PublicKey& key) {
  ensure_sodium();
  // Refuses non-canonical encodings and points of small order, which verify forgeries.
  if (crypto_core_ed25519_is_valid_point(key.data()) != 1)
    throw std::invalid_argument("not a valid Ed25519 public key");
  return {Algorithm::eddsa, std::vector<std::uint8_t>(key.begin(), key.end())};
}

TokenVerifier::TokenVerifier(TokenVerifier&& other) noexcept
    : algorithm_(other.algorithm_), key_(std::move(other.key_)) {}

TokenVerifier& TokenVerifier::operator=(TokenVerifier&& other) noexcept {
  if (this != &other) {
    sodium_memzero(key_.data(), key_.size());
    algorithm_ = other.algorithm_;
    key_ = std::move(other.key_);
  }
  return *this;
}

TokenVerifier::~TokenVerifier() { sodium_memzero(key_.data(), key_.size()); }

bool TokenVerifier::signature_valid(std::string_view signed_part,
                                    std::span<const std::uint8_t> sig) const {
  const auto* data = reinterpret_cast<const unsigned char*>(signed_part.data());
  if (algorithm_ == Algorithm::eddsa)
    return sig.size() == crypto_sign_BYTES &&
           crypto_sign_verify_detached(sig.data(), data, signed_part.size(), key_.data()) == 0;
  if (sig.size() != crypto_auth_hmacsha256_BYTES) return false;
  // crypto_auth_hmacsha256_verify takes 32-byte keys only; longer secrets go through the
  // streaming API and the same constant-time comparison it uses.
  crypto_auth_hmacsha256_state state;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_init(&state, key_.data(), key_.size());
  crypto_auth_hmacsha256_update(&state, data, signed_part.size());
  crypto_auth_hmacsha256_final(&state, mac);
  const bool valid = crypto_verify_32(mac, sig.data()) == 0;
  sodium_memzero(&state, sizeof state);
  sodium_memzero(mac, sizeof mac);
  return valid;
}

TokenResult TokenVerifier::check_signed(std::string_view token) const {
  if (token.size() > max_token_bytes) return TokenError::too_long;
  const auto first_dot = token.find('.');
  const auto second_dot = token.find('.', first_dot + 1);
  if (first_dot == std::string_view::npos || second_dot == std::string_view::npos ||
      token.find('.', second_dot + 1) != std::string_view::npos)
    return TokenError::malformed;
  const auto header_text = token.substr(0, first_dot);
  const auto claims_text = token.substr(first_dot + 1, second_dot - first_dot - 1);
  const auto sig_text = token.substr(second_dot + 1);

  auto header_bytes = from_base64url(header_text);
  auto header = header_bytes ? json_object(*header_bytes) : std::nullopt;
  if (!header) return TokenError::malformed;
  // RFC 7515 4.1.11: a `crit` names extensions the verifier must understand; it knows none.
  if (header->contains("crit")) return TokenError::malformed;
  const auto* alg = header->if_contains("alg");
  const std::string_view expected = algorithm_ == Algorithm::hs256 ? "HS256" : "EdDSA";
  if (!alg || !alg->is_string() || alg->get_string() != expected) return TokenError::algorithm;

  auto sig = from_base64url(sig_text);
  if (!sig || !signature_valid(token.substr(0, second_dot), *sig)) return TokenError::signature;

  auto claims_bytes = from_base64url(claims_text);
  auto claims = claims_bytes ? json_object(*claims_bytes) : std::nullopt;
  if (!claims) return TokenError::malformed;
  return read_claims(*claims);
}

std::optional<TokenError> TokenVerifier::check_time(const TokenClaims& claims, TimestampMs now) {
  if (claims.expires_at <= now) return TokenError::expired;
  if (claims.not_before && *claims.not_before > now) return TokenError::not_yet_valid;
  return std::nullopt;
}

TokenResult TokenVerifier::verify(std::string_view token, TimestampMs now) const {
  auto result = check_signed(token);
  if (auto* claims = std::get_if<TokenClaims>(&result))
    if (auto e = check_time(*claims, now)) return *e;
  return result;
}

} // namespace tinychat
