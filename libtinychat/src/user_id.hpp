#pragma once
// The user id of a key (PROTOCOL.md implementation choices): "u" + base32 of a 15-byte
// BLAKE2b hash of the public key.

#include <tinychat/encoding.hpp>
#include <tinychat/types.hpp>

#include <sodium.h>

#include <array>
#include <string>

namespace tinychat::detail {

// Derived from the key, so a key gets the same id every time it joins a room, also after a
// restart, and a connection can know its id without asking.
inline std::string user_id_for(const PublicKey& key) {
  std::array<std::uint8_t, 15> digest{};
  crypto_generichash(digest.data(), digest.size(), key.data(), key.size(), nullptr, 0);
  return "u" + to_base32(digest);
}

} // namespace tinychat::detail
