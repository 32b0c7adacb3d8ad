#pragma once
/// Error codes of PROTOCOL.md section 7, as a std::error_code category.

#include <optional>
#include <string_view>
#include <system_error>

namespace tinychat {

/// The `code` of an `error` frame.
enum class error {
  bad_request = 1,
  unknown_type,
  room_not_found,
  room_full,
  name_taken,
  invalid_name,
  invalid_text,
  text_too_long,
  invalid_signature,
  not_member,
  already_joined,
  too_many_rooms,
  stale_client_seq,
  rate_limited,
  internal,
  unauthorized,
  room_quota_exceeded,
};

/// The wire spelling of a code, e.g. "room_not_found".
std::string_view to_string(error e) noexcept;

/// The code for a wire spelling; nullopt for a spelling this version does not know.
std::optional<error> error_from_string(std::string_view s) noexcept;

/// The category whose messages are human-readable sentences.
const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), error_category()};
}

} // namespace tinychat

template <>
struct std::is_error_code_enum<tinychat::error> : std::true_type {};
