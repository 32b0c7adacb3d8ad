#pragma once
/// The token key of --auth-hs256-secret-file and --auth-ed25519-public-key.

#include <tinychat/token_verifier.hpp>

#include <memory>
#include <string_view>

namespace tinychat::server {

/// A verifier for the HS256 secret in the file at `path`: its bytes as they are, except one
/// trailing newline ("\n" or "\r\n"), which is not part of the secret. Throws UsageError
/// when the file cannot be read, is larger than 4096 bytes, or holds fewer than 32 bytes.
std::shared_ptr<const TokenVerifier> load_hs256_secret_file(std::string_view path);

/// A verifier for an Ed25519 public key in 64 lowercase hex characters. Throws UsageError
/// for any other spelling and for keys that are not valid points.
std::shared_ptr<const TokenVerifier> parse_ed25519_public_key(std::string_view hex);

} // namespace tinychat::server
