#pragma once
// What the fuzz targets share: a check that stops the run with a message (libFuzzer then
// saves the input), and the shape test every server frame must pass.

#include <boost/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>

namespace tinychat::fuzz {

namespace json = boost::json;

/// Aborts with `what` unless `ok`: an abort is a finding, and libFuzzer keeps the input.
inline void check(bool ok, const char* what, std::string_view detail = {}) {
  if (ok) return;
  std::fprintf(stderr, "fuzz check failed: %s\n", what);
  std::fwrite(detail.data(), 1, detail.size(), stderr);
  std::fputc('\n', stderr);
  std::abort();
}

/// `text` as one JSON object, or nullopt.
inline std::optional<json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

/// PROTOCOL.md 1 and 11: every server frame is one JSON object with a string `type`.
inline json::object check_server_frame(std::string_view text) {
  auto frame = parse_object(text);
  check(frame.has_value(), "a server frame is not one JSON object", text);
  auto* type = frame->if_contains("type");
  check(type && type->is_string(), "a server frame has no string type", text);
  return std::move(*frame);
}

} // namespace tinychat::fuzz
