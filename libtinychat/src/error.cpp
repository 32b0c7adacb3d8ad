#include <tinychat/error.hpp>

#include <array>
#include <string>

namespace tinychat {
namespace {

struct ErrorText {
  std::string_view code;
  std::string_view message;
};

// Indexed by the enum value; the order must follow `enum class error`.
constexpr std::array<ErrorText, 18> error_texts{{
    {"", ""},
    {"bad_request", "the request is not a valid protocol v1 frame"},
    {"unknown_type", "unknown request type"},
    {"room_not_found", "no such room"},
    {"room_full", "the room is full"},
    {"name_taken", "another member of the room uses this name"},
    {"invalid_name", "the name is empty, too long, or has forbidden characters"},
    {"invalid_text", "the text is empty or has forbidden characters"},
    {"text_too_long", "the text is too long"},
    {"invalid_signature", "the signature is missing, malformed, or not valid"},
    {"not_member", "this connection has not joined the room"},
    {"already_joined", "this connection already joined the room"},
    {"too_many_rooms", "this connection joined too many rooms"},
    {"stale_client_seq", "client_seq must be above the last accepted one"},
    {"rate_limited", "too many requests"},
    {"internal", "the server could not complete the request"},
    {"unauthorized", "a valid token is needed for this"},
    {"room_quota_exceeded", "too many live rooms, or rooms created in the last minute"},
}};

class Category final : public std::error_category {
public:
  const char* name() const noexcept override { return "tinychat"; }
  std::string message(int value) const override {
    if (value <= 0 || static_cast<std::size_t>(value) >= error_texts.size())
      return "unknown tinychat error";
    return std::string(error_texts[static_cast<std::size_t>(value)].message);
  }
};

} // namespace

std::string_view to_string(error e) noexcept {
  auto i = static_cast<std::size_t>(e);
  return i < error_texts.size() ? error_texts[i].code : std::string_view{};
}

std::optional<error> error_from_string(std::string_view s) noexcept {
  for (std::size_t i = 1; i < error_texts.size(); ++i)
    if (error_texts[i].code == s) return static_cast<error>(i);
  return std::nullopt;
}

const std::error_category& error_category() noexcept {
  static const Category category;
  return category;
}

} // namespace tinychat
