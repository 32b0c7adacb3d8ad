#include "auth_key.hpp"

#include "options.hpp"

#include <tinychat/encoding.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace tinychat::server {

namespace {

// A secret file is a few dozen bytes; anything this large is the wrong file.
constexpr std::size_t max_secret_file_bytes = 4096;

// Overwrites the bytes before they go back to the allocator.
void wipe(std::vector<char>& bytes) {
  volatile char* p = bytes.data();
  for (std::size_t i = 0; i < bytes.size(); ++i)
    p[i] = 0;
}

} // namespace

std::shared_ptr<const TokenVerifier> load_hs256_secret_file(std::string_view path) {
  const std::string flag = "--auth-hs256-secret-file";
  std::error_code ec;
  if (std::filesystem::is_directory(std::filesystem::path(path), ec))
    throw UsageError(flag + ": '" + std::string(path) + "' is a directory, not a secret file");
  std::ifstream in{std::string(path), std::ios::binary};
  if (!in)
    throw UsageError(flag + ": cannot read '" + std::string(path) + "': " + std::strerror(errno));
  std::vector<char> bytes(max_secret_file_bytes + 1);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  const bool failed = in.bad();
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  if (failed || bytes.size() > max_secret_file_bytes) {
    wipe(bytes);
    throw UsageError(flag + ": '" + std::string(path) + "' " +
                     (failed ? std::string("could not be read")
                             : "is larger than " + std::to_string(max_secret_file_bytes) +
                                   " bytes; is it the secret?"));
  }
  // `echo secret > file` and editors end the file with a newline the issuer never signs with.
  std::size_t size = bytes.size();
  if (size > 0 && bytes[size - 1] == '\n') --size;
  if (size > 0 && size < bytes.size() && bytes[size - 1] == '\r') --size;
  try {
    auto verifier = std::make_shared<const TokenVerifier>(
        TokenVerifier::hs256(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), size)));
    wipe(bytes);
    return verifier;
  } catch (const std::invalid_argument&) {
    wipe(bytes);
    throw UsageError(flag + ": the secret in '" + std::string(path) + "' has " +
                     std::to_string(size) + " bytes; HS256 needs at least " +
                     std::to_string(TokenVerifier::min_secret_bytes) +
                     " (e.g. head -c 48 /dev/urandom | base64 -w0 > FILE)");
  }
}

std::shared_ptr<const TokenVerifier> parse_ed25519_public_key(std::string_view hex) {
  const std::string flag = "--auth-ed25519-public-key";
  PublicKey key{};
  if (!from_hex(hex, key))
    throw UsageError(flag + ": an Ed25519 public key is 64 lowercase hex characters, not '" +
                     std::string(hex) + "'");
  try {
    return std::make_shared<const TokenVerifier>(TokenVerifier::eddsa(key));
  } catch (const std::invalid_argument&) {
    throw UsageError(flag + ": '" + std::string(hex) + "' is not a valid Ed25519 public key");
  }
}

} // namespace tinychat::server
