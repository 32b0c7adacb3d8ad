#pragma once
// Private helpers shared by the codec's decoders: typed access to JSON object fields that
// never throw.

#include <tinychat/protocol.hpp>

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace tinychat::detail {

namespace json = boost::json;

/// nullopt when the field is missing or null (both mean "absent" in protocol v1).
inline const json::value* find_field(const json::object& obj, std::string_view key) {
  auto* v = obj.if_contains(key);
  return v && !v->is_null() ? v : nullptr;
}

/// A protocol integer: 0..2^53-1, written without fraction or exponent.
inline std::optional<std::uint64_t> as_safe_integer(const json::value& v) {
  if (v.is_uint64()) {
    if (v.get_uint64() <= max_safe_integer) return v.get_uint64();
  } else if (v.is_int64()) {
    auto n = v.get_int64();
    if (n >= 0 && static_cast<std::uint64_t>(n) <= max_safe_integer)
      return static_cast<std::uint64_t>(n);
  }
  return std::nullopt;
}

inline std::optional<std::string_view> as_string(const json::value* v) {
  if (v && v->is_string()) return std::string_view(v->get_string());
  return std::nullopt;
}

/// True when an object in `json_text` (valid JSON) has some key twice.
bool has_duplicate_keys(std::string_view json_text, const json::parse_options& options);

/// Parses text into a JSON value; nullopt when it is not JSON, or has an object with a key
/// twice. Lone UTF-16 surrogate escapes
/// (which Boost.JSON refuses) become U+007F, a control character, so a text or name holding
/// one is answered `invalid_text` / `invalid_name` instead of failing the whole frame.
std::optional<json::value> parse_json(std::string_view text);

} // namespace tinychat::detail
