#include <tinychat/signature_verifier.hpp>

#include <sodium.h>

#include <stdexcept>

namespace tinychat {
namespace {

void ensure_sodium() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) throw std::runtime_error("libsodium could not be initialised");
}

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t n) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<std::uint8_t>(n >> shift));
}

void put_u64(std::vector<std::uint8_t>& out, std::uint64_t n) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<std::uint8_t>(n >> shift));
}

// str(b) of PROTOCOL.md section 3: 4-byte big-endian length, then the bytes.
void put_str(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> bytes) {
  put_u32(out, static_cast<std::uint32_t>(bytes.size()));
  out.insert(out.end(), bytes.begin(), bytes.end());
}

void put_str(std::vector<std::uint8_t>& out, std::string_view s) {
  put_str(out, std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

} // namespace

std::vector<std::uint8_t> join_payload(const Challenge& challenge, std::string_view room_id,
                                       std::string_view user_name, const PublicKey& pub_key) {
  std::vector<std::uint8_t> out;
  out.reserve(4 * 5 + 16 + 32 + room_id.size() + user_name.size() + 32);
  put_str(out, "tinychat/v1/join");
  put_str(out, challenge);
  put_str(out, room_id);
  put_str(out, user_name);
  put_str(out, pub_key);
  return out;
}

std::vector<std::uint8_t> message_payload(std::string_view room_id, std::string_view user_id,
                                          std::uint64_t client_seq, std::string_view text) {
  std::vector<std::uint8_t> out;
  out.reserve(4 * 4 + 15 + room_id.size() + user_id.size() + 8 + text.size());
  put_str(out, "tinychat/v1/msg");
  put_str(out, room_id);
  put_str(out, user_id);
  put_u64(out, client_seq);
  put_str(out, text);
  return out;
}

SignatureVerifier::SignatureVerifier() { ensure_sodium(); }

bool SignatureVerifier::verify(const PublicKey& key, std::span<const std::uint8_t> payload,
                               const Signature& sig) const noexcept {
  // libsodium 1.0.18 checks S < L, rejects small-order R and A and non-canonical A.
  return crypto_sign_verify_detached(sig.data(), payload.data(), payload.size(), key.data()) == 0;
}

KeyPair KeyPair::generate() {
  ensure_sodium();
  KeyPair k;
  crypto_sign_keypair(k.public_key_.data(), k.secret_key_.data());
  return k;
}

KeyPair KeyPair::from_seed(std::span<const std::uint8_t, 32> seed) {
  ensure_sodium();
  KeyPair k;
  crypto_sign_seed_keypair(k.public_key_.data(), k.secret_key_.data(), seed.data());
  return k;
}

KeyPair::~KeyPair() { sodium_memzero(secret_key_.data(), secret_key_.size()); }

std::span<const std::uint8_t, 32> KeyPair::seed() const noexcept {
  // libsodium's secret key is seed || public key.
  return std::span<const std::uint8_t, 32>(secret_key_.data(), 32);
}

Signature KeyPair::sign(std::span<const std::uint8_t> payload) const {
  Signature sig;
  crypto_sign_detached(sig.data(), nullptr, payload.data(), payload.size(), secret_key_.data());
  return sig;
}

void random_bytes(std::span<std::uint8_t> out) {
  ensure_sodium();
  randombytes_buf(out.data(), out.size());
}

} // namespace tinychat
