#pragma once
// The key file of tinychat-cli: one Ed25519 seed, 32 bytes as 64 lowercase hex characters
// (and an optional newline), readable by its owner only.

#include <tinychat/signature_verifier.hpp>

#include <stdexcept>
#include <string>

namespace tinychat::cli {

/// Why a key could not be loaded or created; what() is a sentence for the user.
class KeyFileError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// $XDG_CONFIG_HOME/tinychat/key, or $HOME/.config/tinychat/key when XDG_CONFIG_HOME is unset
/// or not absolute. Throws KeyFileError when neither variable helps.
std::string default_key_path();

/// Loads the key at `path`, or creates it (and missing parent directories, mode 0700) when
/// no file is there. A new file never exists with a mode other than 0600: it is written and
/// synced under a temporary name created 0600, then linked into place, so two programs
/// creating it at once end up with the same key. Throws KeyFileError when the file is
/// readable or writable by group or others, is not a regular file, is malformed, or cannot
/// be read or written.
KeyPair load_or_create_key(const std::string& path);

} // namespace tinychat::cli
