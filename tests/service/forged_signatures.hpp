#pragma once
// Ed25519 signatures that a lax verifier accepts and a strict one (RFC 8032 with S < L,
// PROTOCOL.md 2 and 11) must refuse, built from the group's weak spots: S + L, keys of small
// order, and R of small order. For the abuse tests, service and WebSocket alike.

#include <tinychat/signature_verifier.hpp>
#include <tinychat/types.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace tinychat::test {

/// The eight points of small order (orders 1, 2, 4 and 8), canonically encoded.
const std::vector<PublicKey>& small_order_points();
/// Other encodings of small-order points: y >= p, or x = 0 with the sign bit set.
const std::vector<PublicKey>& non_canonical_small_order_points();
/// Every encoding with y >= p that is no small-order point (y = p + 2 .. 2^255 - 1, both signs).
std::vector<PublicKey> other_non_canonical_encodings();

/// `sig` with bit `bit` (0..511: R's bits, then S's) inverted.
Signature flip_bit(Signature sig, std::size_t bit);
/// `sig` with S replaced by S + times * L, L the order of the base point.
Signature add_group_order(Signature sig, unsigned times = 1);

/// For a key of small order: a signature (R = [r]B, S = r) over `payload` for which
/// [S]B = R + [k]A holds, k = SHA-512(R || A || payload) mod L, so that a verifier without
/// the small-order check accepts it. It exists only when 8 divides k; nullopt otherwise, and
/// the caller tries another payload.
std::optional<Signature> forge_for_small_order_key(const PublicKey& key,
                                                   std::span<const std::uint8_t> payload);

/// A signature by `key` over `payload` whose R is the small-order point `r` and whose
/// S = k * a (a the secret scalar). The cofactored equation [8][S]B = [8]R + [8][k]A holds for
/// every small-order R, the plain one [S]B = R + [k]A too when R is the identity.
Signature sign_with_small_order_r(const KeyPair& key, const PublicKey& r,
                                  std::span<const std::uint8_t> payload);

/// Whether [8][S]B = [8]R + [8][k]A holds (a cofactored verifier, no strictness checks).
bool cofactored_equation_holds(const PublicKey& key, std::span<const std::uint8_t> payload,
                               const Signature& sig);

} // namespace tinychat::test
