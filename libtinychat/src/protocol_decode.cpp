// Decoding of client frames into requests, and the field rules of PROTOCOL.md section 2.

#include "json_fields.hpp"

#include <tinychat/encoding.hpp>
#include <tinychat/protocol.hpp>

namespace tinychat {
namespace detail {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The value of a "\uXXXX" escape starting at text[i] (the backslash), or -1.
int escape_value(std::string_view text, std::size_t i) {
  if (i + 6 > text.size() || text[i] != '\\' || text[i + 1] != 'u') return -1;
  int v = 0;
  for (std::size_t k = i + 2; k < i + 6; ++k) {
    int d = hex_digit(text[k]);
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

std::optional<std::string> replace_lone_surrogates(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  bool changed = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (!in_string) {
      in_string = c == '"';
      out.push_back(c);
      continue;
    }
    if (c == '"') {
      in_string = false;
      out.push_back(c);
      continue;
    }
    if (c != '\\' || i + 1 >= text.size()) {
      out.push_back(c);
      continue;
    }
    int v = escape_value(text, i);
    bool high = v >= 0xd800 && v <= 0xdbff;
    bool low = v >= 0xdc00 && v <= 0xdfff;
    if (high) {
      int next = escape_value(text, i + 6);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out.append(text.substr(i, 12));
        i += 11;
        continue;
      }
    }
    if (high || low) {
      out.append("\\u007f");
      changed = true;
      i += 5;
      continue;
    }
    out.append(text.substr(i, 2)); // any other escape, kept whole so \\ and \" stay paired
    ++i;
  }
  if (!changed) return std::nullopt;
  return out;
}

} // namespace

std::optional<json::value> parse_json(std::string_view text) {
  json::parse_options options;
  // v1 frames are three levels deep; unknown fields may nest more, within reason.
  options.max_depth = 64;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, {}, options);
  if (!ec) {
    if (has_duplicate_keys(text, options)) return std::nullopt;
    return v;
  }
  if (auto fixed = replace_lone_surrogates(text)) {
    v = json::parse(*fixed, ec, {}, options);
    if (!ec && !has_duplicate_keys(*fixed, options)) return v;
  }
  return std::nullopt;
}

} // namespace detail

namespace {

namespace json = boost::json;

class FieldReader {
public:
  explicit FieldReader(const json::object& obj) : obj_(obj) {}

  bool failed() const { return error_.has_value(); }
  const std::string& error() const { return *error_; }

  std::string room_id() {
    auto s = detail::as_string(detail::find_field(obj_, "room_id"));
    if (!s || !is_valid_room_id(*s)) {
      fail("room_id must be 26 lowercase base32 characters");
      return {};
    }
    return std::string(*s);
  }

  std::string string(std::string_view name) {
    auto s = detail::as_string(detail::find_field(obj_, name));
    if (!s) {
      fail(std::string(name) + " must be a string");
      return {};
    }
    return std::string(*s);
  }

  PublicKey pub_key() {
    PublicKey key{};
    auto s = detail::as_string(detail::find_field(obj_, "pub_key"));
    if (!s || !from_hex(*s, key)) fail("pub_key must be 64 lowercase hex characters");
    return key;
  }

  // A missing or malformed signature is not a field error: it ranks later, as invalid_signature.
  std::optional<Signature> sig() {
    Signature sig{};
    auto s = detail::as_string(detail::find_field(obj_, "sig"));
    if (s && from_hex(*s, sig)) return sig;
    return std::nullopt;
  }

  std::uint64_t integer(std::string_view name, std::optional<std::uint64_t> fallback,
                        std::uint64_t min = 0, std::uint64_t max = max_safe_integer) {
    auto* v = detail::find_field(obj_, name);
    if (!v) {
      if (!fallback) fail(std::string(name) + " is required");
      return fallback.value_or(0);
    }
    auto n = detail::as_safe_integer(*v);
    if (!n || *n < min || *n > max) {
      fail(std::string(name) + " must be an integer from " + std::to_string(min) + " to " +
           std::to_string(max));
      return 0;
    }
    return *n;
  }

private:
  void fail(std::string message) {
    if (!error_) error_ = std::move(message);
  }
  const json::object& obj_;
  std::optional<std::string> error_;
};

ErrorFrame bad_request(RequestId id, std::string message) {
  return ErrorFrame{std::move(id), error::bad_request, std::move(message), std::nullopt};
}

// nullopt for an id the protocol does not allow.
std::optional<RequestId> read_id(const json::object& obj) {
  auto* v = detail::find_field(obj, "id");
  if (!v) return RequestId{};
  if (auto n = detail::as_safe_integer(*v)) return RequestId{*n};
  if (v->is_string()) {
    std::string_view s = v->get_string();
    if (count_code_points(s) <= 64) return RequestId{std::string(s)};
  }
  return std::nullopt;
}

std::optional<RequestBody> read_body(std::string_view type, FieldReader& f) {
  if (type == "create_room") return CreateRoomRequest{};
  if (type == "ping") return PingRequest{};
  // Any string: what makes a token bad ranks later, as `unauthorized`.
  if (type == "auth") return AuthRequest{f.string("token")};
  if (type == "join") {
    JoinRequest r;
    r.room_id = f.room_id();
    r.user_name = f.string("user_name");
    r.pub_key = f.pub_key();
    r.sig = f.sig();
    return r;
  }
  if (type == "leave") return LeaveRequest{f.room_id()};
  if (type == "send") {
    SendRequest r;
    r.room_id = f.room_id();
    r.client_seq = f.integer("client_seq", std::nullopt);
    r.text = f.string("text");
    r.sig = f.sig();
    return r;
  }
  if (type == "history") {
    HistoryRequest r;
    r.room_id = f.room_id();
    r.after_seq = f.integer("after_seq", 0);
    r.limit = static_cast<std::uint32_t>(f.integer("limit", 100, 1, 200));
    return r;
  }
  return std::nullopt;
}

} // namespace

bool is_valid_room_id(std::string_view s) noexcept {
  if (s.size() != 26) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'))) return false;
  return true;
}

namespace {

// At most `max_bytes` of the valid UTF-8 `s`, cut between characters: a cut inside one would
// put invalid UTF-8 into the reply, which no client can read.
std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  while (max_bytes > 0 && (static_cast<unsigned char>(s[max_bytes]) & 0xc0) == 0x80)
    --max_bytes;
  return s.substr(0, max_bytes);
}

} // namespace

DecodedRequest Protocol::decode_request(std::string_view text) {
  auto value = detail::parse_json(text);
  if (!value) return bad_request({}, "the frame is not valid JSON");
  auto* obj = value->if_object();
  if (!obj) return bad_request({}, "the frame must be a JSON object");

  auto id = read_id(*obj);
  if (!id)
    return bad_request(
        {}, "id must be an integer from 0 to 2^53-1 or a string of at most 64 characters");

  auto type = detail::as_string(detail::find_field(*obj, "type"));
  if (!type) return bad_request(std::move(*id), "type must be a string");

  FieldReader fields(*obj);
  auto body = read_body(*type, fields);
  if (!body)
    return ErrorFrame{std::move(*id), error::unknown_type,
                      "unknown type \"" + std::string(utf8_prefix(*type, 64)) + "\"", std::nullopt};
  if (fields.failed()) return bad_request(std::move(*id), fields.error());
  return Request{std::move(*id), std::move(*body)};
}

namespace {

// U+0000..U+001F, U+007F..U+009F, given a decoded code point.
bool is_control(char32_t c) { return c < 0x20 || (c >= 0x7f && c <= 0x9f); }

// Calls f(code point) for each code point of valid UTF-8.
template <class F>
void for_each_code_point(std::string_view s, F f) {
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    int extra = c < 0x80 ? 0 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
    char32_t cp = extra == 0 ? c : extra == 1 ? (c & 0x1f) : extra == 2 ? (c & 0x0f) : (c & 0x07);
    for (int k = 1; k <= extra && i + k < s.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    f(cp);
    i += static_cast<std::size_t>(extra) + 1;
  }
}

} // namespace

std::variant<std::string, error> Protocol::normalize_name(std::string_view name,
                                                          const Limits& limits) {
  auto is_blank = [](char c) { return c == ' ' || c == '\t'; };
  while (!name.empty() && is_blank(name.front()))
    name.remove_prefix(1);
  while (!name.empty() && is_blank(name.back()))
    name.remove_suffix(1);
  if (name.empty() || !is_valid_utf8(name) || count_code_points(name) > limits.max_name_chars)
    return error::invalid_name;
  bool has_control = false;
  for_each_code_point(name, [&](char32_t c) { has_control |= is_control(c); });
  if (has_control) return error::invalid_name;
  return std::string(name);
}

std::optional<error> Protocol::validate_text(std::string_view text, const Limits& limits) {
  if (text.empty() || !is_valid_utf8(text)) return error::invalid_text;
  bool forbidden = false;
  for_each_code_point(text,
                      [&](char32_t c) { forbidden |= is_control(c) && c != '\n' && c != '\t'; });
  if (forbidden) return error::invalid_text;
  if (count_code_points(text) > limits.max_text_chars) return error::text_too_long;
  return std::nullopt;
}

} // namespace tinychat
