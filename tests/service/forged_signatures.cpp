#include "forged_signatures.hpp"

#include <tinychat/encoding.hpp>

#include <sodium.h>

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string_view>

namespace tinychat::test {
namespace {

using Scalar = std::array<std::uint8_t, 32>;

PublicKey point(std::string_view hex) {
  PublicKey p{};
  if (!from_hex(hex, p)) throw std::logic_error("bad point literal");
  return p;
}

constexpr Scalar group_order{0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                             0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
                             0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10};

// k = SHA-512(R || A || M) mod L, as RFC 8032 verification computes it.
Scalar challenge(std::span<const std::uint8_t> r, const PublicKey& key,
                 std::span<const std::uint8_t> payload) {
  crypto_hash_sha512_state state;
  crypto_hash_sha512_init(&state);
  crypto_hash_sha512_update(&state, r.data(), 32);
  crypto_hash_sha512_update(&state, key.data(), key.size());
  crypto_hash_sha512_update(&state, payload.data(), payload.size());
  std::array<std::uint8_t, 64> digest{};
  crypto_hash_sha512_final(&state, digest.data());
  Scalar k{};
  crypto_core_ed25519_scalar_reduce(k.data(), digest.data());
  return k;
}

// The secret scalar of a key: the clamped first half of SHA-512(seed), reduced mod L.
Scalar secret_scalar(const KeyPair& key) {
  std::array<std::uint8_t, 64> h{};
  crypto_hash_sha512(h.data(), key.seed().data(), key.seed().size());
  h[0] &= 248;
  h[31] &= 127;
  h[31] |= 64;
  std::fill(h.begin() + 32, h.end(), 0);
  Scalar a{};
  crypto_core_ed25519_scalar_reduce(a.data(), h.data());
  return a;
}

Scalar times_eight(const Scalar& s) {
  Scalar eight{8};
  Scalar out{};
  crypto_core_ed25519_scalar_mul(out.data(), s.data(), eight.data());
  return out;
}

} // namespace

const std::vector<PublicKey>& small_order_points() {
  static const std::vector<PublicKey> points{
      point("0100000000000000000000000000000000000000000000000000000000000000"), // identity
      point("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), // order 2
      point("0000000000000000000000000000000000000000000000000000000000000000"), // order 4
      point("0000000000000000000000000000000000000000000000000000000000000080"), // order 4
      point("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"), // order 8
      point("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"), // order 8
      point("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"), // order 8
      point("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"), // order 8
  };
  return points;
}

const std::vector<PublicKey>& non_canonical_small_order_points() {
  static const std::vector<PublicKey> points{
      point("0100000000000000000000000000000000000000000000000000000000000080"), // identity, -0
      point("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"), // order 2, -0
      point("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), // y = p
      point("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"), // y = p
      point("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), // y = p + 1
      point("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"), // y = p + 1
  };
  return points;
}

std::vector<PublicKey> other_non_canonical_encodings() {
  std::vector<PublicKey> out;
  for (unsigned low = 0xef; low <= 0xff; ++low)
    for (std::uint8_t sign : {0x00, 0x80}) {
      PublicKey p{};
      p.fill(0xff);
      p[0] = static_cast<std::uint8_t>(low);
      p[31] = static_cast<std::uint8_t>(0x7f | sign);
      out.push_back(p);
    }
  return out;
}

Signature flip_bit(Signature sig, std::size_t bit) {
  sig.at(bit / 8) = static_cast<std::uint8_t>(sig[bit / 8] ^ (1u << (bit % 8)));
  return sig;
}

Signature add_group_order(Signature sig, unsigned times) {
  for (unsigned t = 0; t < times; ++t) {
    unsigned carry = 0;
    for (std::size_t i = 0; i < 32; ++i) {
      unsigned sum = sig[32 + i] + group_order[i] + carry;
      sig[32 + i] = static_cast<std::uint8_t>(sum);
      carry = sum >> 8;
    }
    if (carry) throw std::logic_error("S + L does not fit in 32 bytes");
  }
  return sig;
}

std::optional<Signature> forge_for_small_order_key(const PublicKey& key,
                                                   std::span<const std::uint8_t> payload) {
  // Any fixed r will do; R = [r]B is an ordinary point, so only the key is weak.
  std::array<std::uint8_t, 64> wide{};
  crypto_hash_sha512(wide.data(), reinterpret_cast<const unsigned char*>("forged r"), 8);
  Scalar r{};
  crypto_core_ed25519_scalar_reduce(r.data(), wide.data());
  Signature sig{};
  if (crypto_scalarmult_ed25519_base_noclamp(sig.data(), r.data()) != 0)
    throw std::logic_error("[r]B failed");
  // [k]A is the identity when the order of A (1, 2, 4 or 8) divides k; then [S]B = [r]B = R.
  if (challenge(std::span(sig).first<32>(), key, payload)[0] % 8 != 0) return std::nullopt;
  std::copy(r.begin(), r.end(), sig.begin() + 32);
  return sig;
}

Signature sign_with_small_order_r(const KeyPair& key, const PublicKey& r,
                                  std::span<const std::uint8_t> payload) {
  Scalar k = challenge(r, key.public_key(), payload);
  Scalar a = secret_scalar(key);
  Signature sig{};
  std::copy(r.begin(), r.end(), sig.begin());
  crypto_core_ed25519_scalar_mul(sig.data() + 32, k.data(), a.data()); // [ka]B = [k]A
  return sig;
}

bool cofactored_equation_holds(const PublicKey& key, std::span<const std::uint8_t> payload,
                               const Signature& sig) {
  Scalar s{};
  std::copy(sig.begin() + 32, sig.end(), s.begin());
  Scalar k = challenge(std::span(sig).first<32>(), key, payload);
  PublicKey lhs{}, ka{}, r8{}, rhs{};
  if (crypto_scalarmult_ed25519_base_noclamp(lhs.data(), times_eight(s).data()) != 0 ||
      crypto_scalarmult_ed25519_noclamp(ka.data(), times_eight(k).data(), key.data()) != 0)
    return false;
  std::copy(sig.begin(), sig.begin() + 32, r8.begin());
  for (int i = 0; i < 3; ++i) // [8]R by doubling
    if (crypto_core_ed25519_add(r8.data(), r8.data(), r8.data()) != 0) return false;
  if (crypto_core_ed25519_add(rhs.data(), r8.data(), ka.data()) != 0) return false;
  return lhs == rhs;
}

} // namespace tinychat::test
