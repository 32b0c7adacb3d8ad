#pragma once
/// Byte and text encodings used by the protocol: lowercase hex, base32, UTF-8.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tinychat {

/// Lowercase hex of `bytes`.
std::string to_hex(std::span<const std::uint8_t> bytes);

/// Decodes exactly `out.size()` bytes of lowercase hex; false for any other spelling.
bool from_hex(std::string_view hex, std::span<std::uint8_t> out) noexcept;

/// Lowercase RFC 4648 base32 without padding.
std::string to_base32(std::span<const std::uint8_t> bytes);

/// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool is_valid_utf8(std::string_view s) noexcept;

/// Number of code points in valid UTF-8.
std::size_t count_code_points(std::string_view utf8) noexcept;

} // namespace tinychat
